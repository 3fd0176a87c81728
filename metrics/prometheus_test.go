package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealPrometheusTLSBasicAuth has a real Prometheus server scrape Serve
// over HTTPS with basic auth, the way an administrator would configure it
// (tls_config.ca_file, basic_auth), plus a second job with a wrong password
// that must be refused. It needs no systemd: both run on the host's loopback.
func TestRealPrometheusTLSBasicAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (a real Prometheus server): not with -short")
	}
	prometheus := needTool(t, "prometheus")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, "rockond")
	hash := hashPassword(t, "scrape-pass")
	addr, stop := serve(t, sampleRegistryHandler(), WebConfig{
		TLSCertFile: certFile, TLSKeyFile: keyFile,
		BasicAuthUsers: map[string]string{"prometheus": hash},
	})
	defer stop()

	promAddr := freeLoopbackAddr(t)
	config := fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: rockond
    scheme: https
    tls_config:
      ca_file: %[1]q
    basic_auth:
      username: prometheus
      password: scrape-pass
    static_configs:
      - targets: [%[2]q]
  - job_name: wrong-password
    scheme: https
    tls_config:
      ca_file: %[1]q
    basic_auth:
      username: prometheus
      password: guess
    static_configs:
      - targets: [%[2]q]
`, certFile, addr)
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs strings.Builder
	cmd := exec.CommandContext(ctx, prometheus,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	// stopPrometheus ends the server; its log may be read after that.
	stopPrometheus := func() {
		if !exited {
			cancel()
			cmd.Wait()
			exited = true
		}
	}
	defer stopPrometheus()

	ask := func(q string) (string, error) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var r struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return "", err
		}
		if r.Status != "success" || len(r.Data.Result) != 1 {
			return "", fmt.Errorf("status %s, %d series", r.Status, len(r.Data.Result))
		}
		v, _ := r.Data.Result[0].Value[1].(string)
		return v, nil
	}
	for _, c := range []struct{ query, want string }{
		{`up{job="rockond"}`, "1"},
		{`rockon_catalog_entries{job="rockond"}`, "89"},
		{`rockon_rockon_state{job="rockond",rockon="Syncthing",state="running"}`, "1"},
		{`up{job="wrong-password"}`, "0"},
		{`count(rockon_catalog_entries{job="wrong-password"}) or vector(0)`, "0"},
	} {
		var got string
		var err error
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if got, err = ask(c.query); err == nil && got == c.want {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if err != nil || got != c.want {
			stopPrometheus()
			t.Fatalf("Prometheus: %s = %q (%v), want %s\nprometheus log:\n%s", c.query, got, err, c.want, logs.String())
		}
	}
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
