package packaging

import (
	"os"
	"strings"
	"testing"

	"github.com/rockon/rockon/sandbox"
)

// hubDefinition names its image as Rockstor's catalog does: a Docker Hub
// repository without a registry host.
const hubDefinition = `{
  "Hub Package Test": {
    "description": "A rock-on whose image is named as on Docker Hub.",
    "version": "1",
    "website": "https://example.org/",
    "containers": {
      "pkghub-web": {
        "image": "rockontest/pkghub",
        "tag": "1",
        "launch_order": 1,
        "ports": {
          "8080": {"description": "Web port.", "label": "Web [e.g. 18490]", "host_default": 18490, "protocol": "tcp", "ui": true}
        }
      }
    }
  }
}
`

// TestDebDockerHubNamePodman installs the .deb on a host with podman only
// (no docker, registries.conf as Debian ships it) and installs a rock-on
// whose image has a Docker Hub name; the image comes over HTTPS from the
// sandbox's stand-in Docker Hub, pulled by rockond under the unit's
// confinement as packaged.
func TestDebDockerHubNamePodman(t *testing.T) {
	requireTools(t, "dpkg-deb", "unshare", "nsenter")
	sandbox.RequireRoot(t)
	deb, _ := buildPackages(t)
	s := sandbox.New(t, sandbox.Options{VendorUnits: true, Registry: true})
	s.PushTestImage(t, "1", "rockontest/pkghub:1")
	// the pushed-from image shares the layers: without it every byte is pulled
	s.Run(t, "podman", "rmi", "--force", "localhost/rockon-test:1", "localhost/rockon-test:2", "localhost/rockon-test:broken")
	s.Run(t, "rm", "-f", "/usr/sbin/policy-rc.d")
	if _, err := os.Stat(s.HostPath("/usr/bin/docker")); err == nil {
		// the host has docker installed: hide it, this host has podman only
		s.Run(t, "rm", "-f", "/usr/bin/docker")
	}
	s.Run(t, "mkdir", "-p", "/etc/rockon/rockons.d")
	if err := os.WriteFile(s.HostPath("/etc/rockon/rockons.d/pkghub.json"), []byte(hubDefinition), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dpkg -i:\n%s", s.Run(t, "dpkg", "-i", deb))
	// no configuration edit: the shipped rockond.toml names no engine and
	// rockond takes the one installed
	s.Run(t, "systemctl", "restart", "rockon.service")
	waitActive(t, s, "rockon.service")
	if got := strings.TrimSpace(s.Run(t, "cat", "/var/lib/rockon/engine")); !strings.Contains(got, "podman") {
		t.Fatalf("rockond chose engine %q on a host with podman only", got)
	}
	out := s.Run(t, "rockon", "--no-color", "install", "--no-input", "Hub Package Test")
	t.Logf("rockon install:\n%s", out)
	if got := strings.TrimSpace(waitHTTP(t, s, "http://127.0.0.1:18490/version")); got != "1" {
		t.Errorf("the rock-on serves version %q, want 1", got)
	}
	if got := strings.TrimSpace(s.Run(t, "podman", "image", "inspect", "--format", "{{index .Labels \"org.rockon.test.version\"}}", "docker.io/rockontest/pkghub:1")); got != "1" {
		t.Errorf("podman has docker.io/rockontest/pkghub:1 with version %q", got)
	}
	check := s.Run(t, "rockon", "--no-color", "update", "--check", "Hub Package Test")
	if !strings.Contains(check, "docker.io/rockontest/pkghub:1") || !strings.Contains(check, "current") {
		t.Errorf("rockon update --check:\n%s", check)
	}
	s.Run(t, "rockon", "uninstall", "Hub Package Test")
	s.Run(t, "apt-get", "purge", "-y", "rockon")
}
