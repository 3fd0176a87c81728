package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRegistry: images pushed under catalog-shaped names (Docker Hub without a host,
// an official image, lscr.io, ghcr.io) are pulled by both engines over HTTPS from the
// sandbox's registry, and the host's /etc/hosts and CA bundle are not touched.
func TestRegistry(t *testing.T) {
	hosts, _ := os.ReadFile("/etc/hosts")
	bundle, _ := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	s := New(t, Options{Docker: true, Registry: true})
	s.PushTestImage(t, "1", "rockontest/app:1")
	s.PushTestImage(t, "2", "rockontest:2")
	s.PushTestImage(t, "1", "lscr.io/rockontest/app:1")
	s.PushTestImage(t, "2", "ghcr.io/rockontest/app:2")
	label := "{{index .Config.Labels \"org.rockon.test.version\"}}"
	for _, c := range []struct{ engine, ref, version string }{
		{"podman", "docker.io/rockontest/app:1", "1"},
		{"podman", "docker.io/library/rockontest:2", "2"},
		{"podman", "lscr.io/rockontest/app:1", "1"},
		{"docker", "rockontest/app:1", "1"},
		{"docker", "rockontest:2", "2"},
		{"docker", "ghcr.io/rockontest/app:2", "2"},
	} {
		if c.engine == "podman" {
			// podman has the pushed-from images: remove the name first, so the pull
			// really fetches
			s.Command(t.Context(), "podman", "image", "rm", c.ref).Run()
		}
		s.Run(t, c.engine, "pull", c.ref)
		if got := strings.TrimSpace(s.Run(t, c.engine, "image", "inspect", "--format", label, c.ref)); got != c.version {
			t.Errorf("%s pull %s: version label %q, want %q", c.engine, c.ref, got, c.version)
		}
	}
	// the pulls went through the registry: its storage has the repositories
	for _, repo := range []string{"rockontest/app", "library/rockontest"} {
		if _, err := os.Stat(s.HostPath(filepath.Join("/var/lib/rockon-sandbox-registry/docker/registry/v2/repositories", repo))); err != nil {
			t.Errorf("registry storage: %v", err)
		}
	}
	if out, err := s.Command(t.Context(), "docker", "pull", "rockontest/missing:1").CombinedOutput(); err == nil {
		t.Errorf("docker pulled a repository the registry does not have: %s", out)
	}
	if h, _ := os.ReadFile("/etc/hosts"); string(h) != string(hosts) {
		t.Error("the host's /etc/hosts changed")
	}
	if b, _ := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); string(b) != string(bundle) {
		t.Error("the host's CA bundle changed")
	}
}
