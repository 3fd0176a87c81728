package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The percentage shown never goes back, whatever the steps report.
func TestProgressNeverGoesBackwards(t *testing.T) {
	var errOut strings.Builder
	p := newProgress(&output{out: &strings.Builder{}, err: &errOut}, "install x")
	for _, u := range []struct {
		f   float64
		msg string
	}{{0.1, "pulling"}, {0.85, "pulled"}, {0.2, "starting web"}, {0.5, "starting db"}, {0.3, "waiting"}, {1, "done"}} {
		p.update(u.f, u.msg)
	}
	p.finish(true)
	last := -1
	lines := regexp.MustCompile(`(?m)^install x: (\d+)% (.*)$`).FindAllStringSubmatch(errOut.String(), -1)
	if len(lines) < 5 {
		t.Fatalf("too few progress lines:\n%s", errOut.String())
	}
	for _, m := range lines {
		n, _ := strconv.Atoi(m[1])
		if n < last {
			t.Errorf("progress went back from %d%% to %d%% (%s):\n%s", last, n, m[2], errOut.String())
		}
		last = n
	}
}

// A failure is one line; the rest (journal lines) is behind --verbose.
func TestFailureIsOneLine(t *testing.T) {
	msg := "starting web: unit rockon-x-web.service failed\n-- journal --\nline 1\nline 2"
	got := shorten(msg, "X")
	if strings.Contains(got, "\n") || !strings.HasPrefix(got, "starting web: unit rockon-x-web.service failed") || !strings.Contains(got, "--verbose") {
		t.Errorf("shorten = %q", got)
	}
	if got := shorten(strings.Repeat("a", 400), ""); len(got) > 330 || !strings.Contains(got, "(more: --verbose)") {
		t.Errorf("a long line: %q", got)
	}
	if got := shorten("one line", "X"); got != "one line" {
		t.Errorf("a short line changed: %q", got)
	}
	verbose = true
	defer func() { verbose = false }()
	if got := shorten(msg, "X"); got != msg {
		t.Errorf("--verbose: %q", got)
	}
}

// A warning is shown whole on a line of its own, not cut as steps are.
func TestProgressWarningWhole(t *testing.T) {
	var errOut strings.Builder
	p := newProgress(&output{out: &strings.Builder{}, err: &errOut}, "installing x")
	warn := "warning: image docker.io/a/b:1 from registry docker.io: pulling docker.io/a/b:1: " + strings.Repeat("connection refused ", 10) + "; the local image 0123456789ab is used"
	p.update(0.1, "pulling docker.io/a/b:1")
	p.update(0.1, warn)
	p.update(0.8, "writing units")
	p.finish(true)
	if !strings.Contains(errOut.String(), "\ninstalling x: "+warn+"\n") {
		t.Errorf("the warning is not a whole line:\n%s", errOut.String())
	}
}
