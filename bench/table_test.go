package main

import (
	"math"
	"strings"
	"testing"
)

func TestMedianSpread(t *testing.T) {
	if m := Median([]float64{5, 1, 3}); m != 3 {
		t.Errorf("median of 5 1 3 = %v", m)
	}
	if m := Median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median of 4 1 3 2 = %v", m)
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("median of nothing is not NaN")
	}
	if s := Spread([]float64{120, 101.4, 250}); s != "101–250" {
		t.Errorf("spread = %q", s)
	}
	if s := Spread([]float64{0.5}); s != "0.500" {
		t.Errorf("spread of one = %q", s)
	}
}

func TestHolds(t *testing.T) {
	r := Row{Samples: []float64{110, 120, 130}, Base: []float64{100}, Target: &Target{Ratio: true, Max: 1.15}}
	if got := r.Holds(); got != "NO" {
		t.Errorf("ratio 1.2 <= 1.15 holds = %q", got)
	}
	r.Samples = []float64{100, 115, 500}
	if got := r.Holds(); got != "yes" {
		t.Errorf("ratio 1.15 <= 1.15 holds = %q", got)
	}
	r = Row{Samples: []float64{31}, Target: &Target{Max: 30}}
	if got := r.Holds(); got != "NO" {
		t.Errorf("31 <= 30 holds = %q", got)
	}
	r = Row{Samples: []float64{0}, Target: &Target{Max: 0}}
	if got := r.Holds(); got != "yes" {
		t.Errorf("0 <= 0 holds = %q", got)
	}
	if got := (Row{Samples: []float64{1}}).Holds(); got != "" {
		t.Errorf("no target holds = %q", got)
	}
	if got := (Row{Samples: []float64{1}, Target: &Target{Ratio: true, Max: 1}}).Holds(); got != "NO" {
		t.Errorf("ratio without a baseline holds = %q", got)
	}
}

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{Name: "toggle on", Unit: "ms", Samples: []float64{500, 520, 480}, Baseline: "podman run -d", Base: []float64{400, 420},
			Target: &Target{Ratio: true, Max: 1.15}},
		{Name: "rss", Note: "a|b", Unit: "MB", Samples: []float64{12.25}, Target: &Target{Max: 30}},
	}
	var b strings.Builder
	if err := WriteTable(&b, rows, true); err != nil {
		t.Fatal(err)
	}
	want := `| Measurement | Median | Spread (min–max) | n | Baseline | Baseline median | Ratio | Target | Holds |
|---|---|---|---|---|---|---|---|---|
| toggle on | 500 ms | 480–520 | 3 | podman run -d | 410 ms (400–420) | 1.22 | ratio <= 1.15 | NO |
| rss (a\|b) | 12.2 MB | 12.2 | 1 |  |  |  | <= 30 | yes |
`
	if b.String() != want {
		t.Errorf("markdown table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteTable(&b, rows, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "toggle on ") || !strings.HasSuffix(lines[1], "NO") {
		t.Errorf("text table:\n%s", b.String())
	}
}

func TestExecWords(t *testing.T) {
	w, err := execWords(`-"/usr/bin/podman" "run" "--name" "a b" "-e" "X=\"q\"" bare "100%%"`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/usr/bin/podman", "run", "--name", "a b", "-e", `X="q"`, "bare", "100%"}
	if strings.Join(w, "|") != strings.Join(want, "|") {
		t.Errorf("words = %q, want %q", w, want)
	}
	if _, err := execWords(`"open`); err == nil {
		t.Error("unterminated quote accepted")
	}
}

func TestBaselineRun(t *testing.T) {
	podman := `[Service]
ExecStart="/usr/bin/podman" "run" "--name" "gotify" "--replace" "--rm" "--sdnotify=conmon" "--cgroups=split" "-p" "8070:80/tcp" "gotify/server:latest"
ExecStop="/usr/bin/podman" "stop" "--ignore" "--time" "10" "gotify"
`
	got, err := baselineRun(podman, "podman")
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(got, " "); g != "/usr/bin/podman run -d --name gotify --rm -p 8070:80/tcp gotify/server:latest" {
		t.Errorf("podman baseline = %s", g)
	}
	docker := `[Service]
ExecStartPre=-"/usr/bin/docker" "rm" "--force" "gotify"
ExecStartPre="/usr/bin/docker" "create" "--rm" "--name" "gotify" "-p" "8070:80/tcp" "gotify/server:latest"
ExecStartPre="/usr/bin/docker" "start" "gotify"
ExecStart="/usr/bin/docker" "attach" "--no-stdin" "--sig-proxy=true" "gotify"
`
	got, err = baselineRun(docker, "docker")
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(got, " "); g != "/usr/bin/docker run -d --rm --name gotify -p 8070:80/tcp gotify/server:latest" {
		t.Errorf("docker baseline = %s", g)
	}
	if containerName(got) != "gotify" {
		t.Errorf("container name = %q", containerName(got))
	}
	// the unit of a container with no network to connect runs it at once
	docker = `[Service]
ExecStartPre=-"/usr/bin/docker" "rm" "--force" "gotify"
ExecStart="/usr/bin/docker" "run" "--rm" "--name" "gotify" "-p" "8070:80/tcp" "gotify/server:latest"
`
	got, err = baselineRun(docker, "docker")
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(got, " "); g != "/usr/bin/docker run -d --rm --name gotify -p 8070:80/tcp gotify/server:latest" {
		t.Errorf("docker baseline of a run unit = %s", g)
	}
	if _, err := baselineRun(podman, "docker"); err == nil {
		t.Error("a podman unit gave a docker command")
	}
}
