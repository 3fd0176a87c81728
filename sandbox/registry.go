package sandbox

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RegistryHosts are the registry host names a sandbox with Options.Registry resolves to
// its own registry: Docker Hub under each name the engines use for it, and the other
// hosts the catalog's images come from. One registry serves them all, so a repository
// path means the same image under every host.
var RegistryHosts = []string{"docker.io", "registry-1.docker.io", "index.docker.io", "lscr.io", "ghcr.io", "quay.io"}

// Registry faults StartRegistryFault serves, each under its own host name (FaultHost).
const (
	FaultUnauthorized = "unauthorized" // every request answered 401, as a registry wanting a login
	FaultServerError  = "error"        // manifests answered 500
	FaultCut          = "cut"          // manifests served, blobs cut off after a few bytes
	FaultStall        = "stall"        // manifests served, blobs stop after a few bytes and never finish
	FaultSilent       = "silent"       // every request read and never answered
	// FaultNone passes every request to the sandbox's registry (SetFlakyRegistry).
	FaultNone = "none"
)

// FaultHost is the registry host name under which StartRegistryFault serves fault. The
// sandbox's registry certificate covers it, but it resolves only once the fault is
// started.
func FaultHost(fault string) string { return fault + ".registry.rockon.test" }

var faults = []string{FaultUnauthorized, FaultServerError, FaultCut, FaultStall, FaultSilent}

// FlakyHost is a registry host name that SetFlakyRegistry serves on FlakyIP: the
// sandbox's registry itself, or one of the faults, switched at will, so that an image
// installed from it can later meet each fault.
const (
	FlakyHost = "flaky.registry.rockon.test"
	FlakyIP   = "127.0.0.9"
)

// registryConfDir is where, inside the sandbox, the registry's configuration,
// certificate and key live (the /etc overlay of the sandbox: the host's /etc is not
// touched).
const registryConfDir = "/etc/rockon-sandbox-registry"

// prepareRegistry writes, before the sandbox boots, what boot.sh needs to run Debian's
// docker-registry (the distribution server) on 127.0.0.1:443 with a certificate for
// RegistryHosts signed by a CA made here. boot.sh points the names at 127.0.0.1 in
// /etc/hosts and adds the CA to the system's trusted bundle, which podman, docker (for
// Docker Hub it takes no certs.d), skopeo and curl all read.
func (s *Sandbox) prepareRegistry() error {
	dir := filepath.Join(s.dir, "overlay", "etc", "upper", strings.TrimPrefix(registryConfDir, "/etc/"))
	if _, err := os.Stat(filepath.Join(dir, "config.yml")); err == nil {
		return nil // made at the first boot: kept, so that trust survives a reboot
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rockon sandbox registry CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, caKey, err := certificate(caTmpl, nil, nil)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: RegistryHosts[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		DNSNames: append(append([]string{}, RegistryHosts...), faultHosts()...), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, key, err := certificate(tmpl, ca, caKey)
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := pemEncode(der, key)
	if err != nil {
		return err
	}
	config := fmt.Sprintf(`# written by the rockon sandbox
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/rockon-sandbox-registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:443
  tls:
    certificate: %[1]s/server.crt
    key: %[1]s/server.key
`, registryConfDir)
	for name, data := range map[string][]byte{
		"ca.crt":     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"server.crt": certPEM,
		"server.key": keyPEM,
		"hosts":      []byte(strings.Join(RegistryHosts, " ") + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	// last: its presence says the rest is complete
	return os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o644)
}

func faultHosts() []string {
	var hosts []string
	for _, f := range faults {
		hosts = append(hosts, FaultHost(f))
	}
	return append(hosts, FlakyHost)
}

// faultScript answers one HTTP request read from stdin as registry fault $1 (socat runs
// it per TLS connection; every answer closes the connection, so a client's next request
// comes on a new one). Fault "none" hands the connection to the sandbox's registry. The version check (/v2/) succeeds except for a registry wanting a
// login; the cut registry takes its manifests from the sandbox's registry, so that the
// client goes on to the blobs, which then stop short of their length.
const faultScript = `#!/bin/sh
fault=$1
[ "$fault" = none ] && exec socat - OPENSSL:127.0.0.1:443,verify=0
read -r method path proto
while read -r line; do [ "$(printf %s "$line" | tr -d '\r')" = "" ] && break; done
answer() { printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\nDocker-Distribution-Api-Version: registry/2.0\r\nContent-Length: %s\r\nConnection: close\r\n%b\r\n%s' "$1" "${#2}" "$3" "$2"; }
case "$fault:$path" in
silent:*) exec sleep 3600 ;;
unauthorized:*) answer '401 Unauthorized' '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}' 'Www-Authenticate: Basic realm="rockon"\r\n' ;;
*:/v2/) answer '200 OK' '{}' ;;
error:*) answer '500 Internal Server Error' '{"errors":[{"code":"UNKNOWN","message":"internal server error"}]}' ;;
cut:*/manifests/*|stall:*/manifests/*) exec curl -s -i --http1.1 -X "$method" -H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "https://registry-1.docker.io$path" ;;
cut:*/blobs/*) printf 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n'; head -c 1000 /dev/zero ;;
stall:*/blobs/*) printf 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n'; head -c 1000 /dev/zero; exec sleep 3600 ;;
*) answer '404 Not Found' '{"errors":[{"code":"NAME_UNKNOWN","message":"unknown"}]}' ;;
esac
`

// StartRegistryFault serves a broken registry as FaultHost(fault) on ip:443 (a loopback
// address other than 127.0.0.1, one per fault), over HTTPS with the sandbox registry's
// certificate, so that engines trust it and reach the fault itself. The sandbox must
// have been started with Options.Registry.
func (s *Sandbox) StartRegistryFault(t testing.TB, fault, ip string) {
	t.Helper()
	s.Run(t, "sh", "-c", fmt.Sprintf("echo '%s %s' >>/etc/hosts", ip, FaultHost(fault)))
	s.serveFault(t, "registry-fault-"+fault, ip, fault)
	if fault != FaultSilent {
		s.waitRegistry(t, FaultHost(fault))
	}
}

// serveFault runs unit, a server of faultScript as fault on ip:443.
func (s *Sandbox) serveFault(t testing.TB, unit, ip, fault string) {
	t.Helper()
	script := registryConfDir + "/fault.sh"
	if err := os.WriteFile(s.HostPath(script), []byte(faultScript), 0o755); err != nil {
		t.Fatal(err)
	}
	// --collect: a stopped server's unit goes, so the name can serve again
	s.Run(t, "systemd-run", "--collect", "--unit="+unit, "socat",
		fmt.Sprintf("OPENSSL-LISTEN:443,bind=%s,fork,reuseaddr,verify=0,cert=%s/server.crt,key=%s/server.key", ip, registryConfDir, registryConfDir),
		fmt.Sprintf("SYSTEM:%s %s", script, fault))
}

// waitRegistry returns once host answers (its version check, or its 401).
func (s *Sandbox) waitRegistry(t testing.TB, host string) {
	t.Helper()
	s.Run(t, "curl", "-s", "-o", "/dev/null", "--retry", "30", "--retry-delay", "1", "--retry-connrefused", "https://"+host+"/v2/")
}

// SetFlakyRegistry makes FlakyHost answer as fault: FaultNone serves the sandbox's
// registry (every repository pushed is there under FlakyHost too), any other fault as
// StartRegistryFault serves it. Each call starts a new server, so no connection a
// client kept open reaches the previous one. The sandbox must have been started with
// Options.Registry.
func (s *Sandbox) SetFlakyRegistry(t testing.TB, fault string) {
	t.Helper()
	if strings.TrimSpace(s.Run(t, "systemctl", "list-units", "--no-legend", "registry-flaky-*")) != "" {
		s.Run(t, "systemctl", "stop", "registry-flaky-*")
	} else {
		s.Run(t, "sh", "-c", fmt.Sprintf("grep -q ' %[2]s$' /etc/hosts || echo '%[1]s %[2]s' >>/etc/hosts", FlakyIP, FlakyHost))
	}
	// a new unit each time: the stopped one may not be unloaded yet
	s.serveFault(t, fmt.Sprintf("registry-flaky-%d", time.Now().UnixNano()), FlakyIP, fault)
	if fault != FaultSilent && fault != FaultStall {
		s.waitRegistry(t, FlakyHost)
	}
}

// PushTestImage pushes a version of the test image (one of TestImageVersions) to the
// sandbox's registry as ref (a catalog-shaped name such as "someorg/app:1" or
// "lscr.io/someorg/app:1"; a name without a registry host goes to Docker Hub), over
// HTTPS with podman. Pushing another version under the same ref is how a newer image
// under the same tag is made: no engine's local images change. The sandbox must have
// been started with Options.Registry.
func (s *Sandbox) PushTestImage(t testing.TB, version, ref string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.LoadImages(ctx, "podman"); err != nil {
		t.Fatal(err)
	}
	dst := ref
	if first, _, ok := strings.Cut(ref, "/"); !ok || !strings.ContainsAny(first, ".:") {
		dst = "docker.io/" + ref
	}
	out, err := s.Command(ctx, "podman", "push", "--quiet", TestImage+":"+version, "docker://"+dst).CombinedOutput()
	if err != nil {
		t.Fatalf("podman push %s:%s to %s: %v\n%s", TestImage, version, dst, err, out)
	}
}
