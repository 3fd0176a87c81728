package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rockon/rockon/sandbox"
)

// Ports inside the sandbox's private network namespace.
const (
	rockondMetrics = "127.0.0.1:19387"
	prometheusAddr = "127.0.0.1:19090"
	probeName      = "Metrics Probe"
	probeHostPort  = 18093
)

// probeDefinition is a one-container rock-on running the offline test image.
var probeDefinition = fmt.Sprintf(`{
  "%s": {
    "description": "Test rock-on for the metrics integration test.",
    "version": "1.0",
    "website": "https://example.org",
    "containers": {
      "web": {
        "image": "localhost/rockon-test",
        "tag": "1",
        "launch_order": 1,
        "ports": {
          "8080": {
            "description": "Web port.",
            "label": "Web [e.g. %d]",
            "host_default": %d,
            "ui": true
          }
        }
      }
    }
  }
}
`, probeName, probeHostPort, probeHostPort)

// TestPrometheusScrapesRockond runs rockond and a real Prometheus server in
// the sandbox, Prometheus scraping rockond every second, and asks
// Prometheus (over its HTTP API, with curl) what it saw: the install counted
// as an operation, the rock-on running, then stopped after `rockon stop`.
func TestPrometheusScrapesRockond(t *testing.T) {
	s := sandbox.New(t, sandbox.Options{})
	bin := sandbox.Binaries(t)
	s.LoadTestImages(t, "podman")

	// rockond: podman, a local catalog holding only the probe, metrics on
	// a test port; only root may call it (no polkit in the sandbox). Its
	// unit does not restart it: the first start must fail.
	s.InstallRockondForTest(t, sandbox.Rockond{
		Definitions: map[string]string{"metrics-probe.json": probeDefinition},
		Config: sandbox.Config("podman", sandbox.Settings{
			"metrics": {"listen": rockondMetrics},
			"dbus":    {"bus": "system", "polkit": false},
		}),
		Unit: fmt.Sprintf(`[Unit]
Description=rockond under test
[Service]
Type=notify
NotifyAccess=main
ExecStart=%s --config /etc/rockon/rockond.toml
`, filepath.Join(bin, "rockond")),
	})
	write := func(path, content string) { s.Write(t, path, content, 0o644) }

	// Prometheus: scrapes rockond every second, keeps its data in the
	// sandbox's private /tmp.
	write("/etc/rockon-test/prometheus.yml", fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: rockond
    static_configs:
      - targets: [%q]
`, rockondMetrics))
	write("/etc/systemd/system/prometheus-test.service", fmt.Sprintf(`[Unit]
Description=Prometheus scraping rockond
[Service]
ExecStart=/usr/bin/prometheus --config.file=/etc/rockon-test/prometheus.yml --storage.tsdb.path=/tmp/prometheus-data --web.listen-address=%s
`, prometheusAddr))

	s.Run(t, "systemctl", "daemon-reload")

	// With the metrics port taken, rockond fails to start, and says why.
	s.Run(t, "systemd-run", "--unit=port-holder", "--", "socat",
		"TCP-LISTEN:"+strings.TrimPrefix(rockondMetrics, "127.0.0.1:")+",bind=127.0.0.1,reuseaddr,fork", "EXEC:/bin/true")
	waitListening(t, s, rockondMetrics)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	out, err := s.Command(ctx, "systemctl", "start", "rockon.service").CombinedOutput()
	cancel()
	if err == nil {
		t.Fatalf("rockond started with its metrics port taken: %s", out)
	}
	journal := s.Run(t, "journalctl", "--no-pager", "-u", "rockon.service")
	if !strings.Contains(journal, `binding metrics listen address \"`+rockondMetrics+`\"`) ||
		!strings.Contains(journal, "address already in use") {
		t.Fatalf("rockond's journal does not say the metrics address is taken:\n%s", journal)
	}
	s.Run(t, "systemctl", "stop", "port-holder.service")
	s.Run(t, "systemctl", "reset-failed", "rockon.service")

	// rockond is Type=notify and binds the metrics socket before READY=1:
	// once start returns, the endpoint answers.
	s.Run(t, "systemctl", "start", "rockon.service")
	exposition := s.Run(t, "curl", "-fsS", "http://"+rockondMetrics+"/metrics")
	if !strings.Contains(exposition, "rockon_catalog_entries 1\n") {
		t.Fatalf("rockond /metrics right after start lacks rockon_catalog_entries 1:\n%.2000s", exposition)
	}
	checkWithPromtool(t, s, exposition)

	s.Run(t, "systemctl", "start", "prometheus-test.service")
	waitFor(t, s, `up{job="rockond"}`, 1)
	// Before the install: the operation counter exists at zero.
	waitFor(t, s, `rockon_operations_total{job="rockond",operation="install",result="success"}`, 0)

	rockon := filepath.Join(bin, "rockon")
	s.Run(t, rockon, "--bus", "system", "install", "--no-input", probeName)
	waitFor(t, s, `rockon_operations_total{job="rockond",operation="install",result="success"}`, 1)
	waitFor(t, s, fmt.Sprintf(`rockon_rockon_state{rockon=%q,state="running"}`, probeName), 1)
	waitFor(t, s, fmt.Sprintf(`rockon_rockon_info{rockon=%q,engine="podman",version="1.0"}`, probeName), 1)
	waitFor(t, s, fmt.Sprintf(`rockon_container_state{rockon=%q,container="web",state="active"}`, probeName), 1)
	waitFor(t, s, fmt.Sprintf(`rockon_container_start_time_seconds{rockon=%q,container="web"} > bool 0`, probeName), 1)

	s.Run(t, rockon, "--bus", "system", "stop", probeName)
	waitFor(t, s, fmt.Sprintf(`rockon_rockon_state{rockon=%q,state="stopped"}`, probeName), 1)
	waitFor(t, s, fmt.Sprintf(`rockon_rockon_state{rockon=%q,state="running"}`, probeName), 0)
	waitFor(t, s, fmt.Sprintf(`rockon_container_state{rockon=%q,container="web",state="inactive"}`, probeName), 1)
	waitFor(t, s, `rockon_operations_total{job="rockond",operation="stop",result="success"}`, 1)

	// The real output once more, with a rock-on installed.
	checkWithPromtool(t, s, s.Run(t, "curl", "-fsS", "http://"+rockondMetrics+"/metrics"))
}

// waitListening waits until something accepts connections on addr inside
// the sandbox.
func waitListening(t *testing.T, s *sandbox.Sandbox, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.Command(ctx, "socat", "-u", "OPEN:/dev/null", "TCP:"+addr).Run()
		cancel()
		if err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

func checkWithPromtool(t *testing.T, s *sandbox.Sandbox, exposition string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := s.Command(ctx, "promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("promtool check metrics on rockond's output: %v\n%s", err, out)
	}
}

// promResponse is the part of Prometheus' /api/v1/query answer used here.
type promResponse struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

// query asks Prometheus for an instant vector and returns its single value
// (ok false when the vector is empty).
func query(s *sandbox.Sandbox, q string) (value float64, ok bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.Command(ctx, "curl", "-fsS", "-G", "http://"+prometheusAddr+"/api/v1/query", "--data-urlencode", "query="+q).Output()
	if err != nil {
		return 0, false, fmt.Errorf("curl: %w", err)
	}
	var resp promResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, false, fmt.Errorf("decoding %q: %w", out, err)
	}
	if resp.Status != "success" || resp.Data.ResultType != "vector" {
		return 0, false, fmt.Errorf("%s %s (%s)", resp.Status, resp.Error, resp.Data.ResultType)
	}
	switch len(resp.Data.Result) {
	case 0:
		return 0, false, nil
	case 1:
	default:
		return 0, false, fmt.Errorf("%d series, want one: %s", len(resp.Data.Result), out)
	}
	str, _ := resp.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return 0, false, fmt.Errorf("value %q: %w", str, err)
	}
	return v, true, nil
}

// waitFor polls Prometheus until q has one series of value want. Scrapes
// happen every second; state changes reach systemd within seconds.
func waitFor(t *testing.T, s *sandbox.Sandbox, q string, want float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var (
		got float64
		ok  bool
		err error
	)
	for time.Now().Before(deadline) {
		if got, ok, err = query(s, q); err == nil && ok && got == want {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	journal := s.Run(t, "journalctl", "--no-pager", "-n", "60", "-u", "rockon.service", "-u", "prometheus-test.service")
	switch {
	case err != nil:
		t.Fatalf("Prometheus query %s: %v\njournal:\n%s", q, err, journal)
	case !ok:
		t.Fatalf("Prometheus never had a series for %s\njournal:\n%s", q, journal)
	default:
		t.Fatalf("Prometheus: %s = %v, want %v\njournal:\n%s", q, got, want, journal)
	}
}
