package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// testExport: the kube export of the two-container CLI Pair runs under
// `podman kube play` in the sandbox and answers on the rock-on's host
// port, its containers reaching each other by name; the Compose export is
// accepted by docker-compose (Debian's). The rock-on is stopped while the
// pod runs (the same host port) and uninstalled at the end.
func testExport(t *testing.T, e *daemonEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(name string, args ...string) (string, string, error) {
		cmd := e.command(ctx, "/root", "", e.program(name), args...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	must := func(name string, args ...string) (string, string) {
		t.Helper()
		out, errs, err := run(name, args...)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, errs)
		}
		return out, errs
	}
	const hostile = `x: y # z --- $HOME`
	must("rockon", "install", "CLI Pair", "--no-input", "--no-start",
		"--env", "cp-b:PEER=cp-a", "--env", "cp-b:PORT=8081", "--env", "cp-b:HOSTILE="+hostile)
	defer run("rockon", "uninstall", "CLI Pair") //nolint:errcheck

	_, errs := must("rockon", "export", "CLI Pair", "--format", "kube", "--out", "/root/pair.yaml")
	if !strings.Contains(errs, "warning: ") || !strings.Contains(errs, "mode 0600") {
		t.Errorf("export kube: stderr %q, want the warnings and the file's mode", errs)
	}
	if mode, _ := must("stat", "-c", "%a", "/root/pair.yaml"); strings.TrimSpace(mode) != "600" {
		t.Errorf("export file mode %s, want 600", mode)
	}
	manifest, _ := must("cat", "/root/pair.yaml")
	if !strings.Contains(manifest, "# - containers \"cp-a\" and \"cp-b\" both listen on port 8080/tcp") {
		t.Errorf("kube export has no comment on the shared port:\n%s", manifest)
	}

	must("podman", "kube", "play", "/root/pair.yaml")
	defer run("podman", "kube", "down", "/root/pair.yaml") //nolint:errcheck
	// cp-a answers on the rock-on's host port; it reaches cp-b by name
	var body string
	for i := 0; i < 60; i++ {
		body, _, _ = run("curl", "-fsS", "--max-time", "5", "http://127.0.0.1:18190/connect?addr=cp-b:8081")
		body = strings.TrimSpace(body)
		if body == "ok" {
			break
		}
		time.Sleep(time.Second)
	}
	if body != "ok" {
		out, _, _ := run("podman", "pod", "ps")
		ps, _, _ := run("podman", "ps", "-a")
		t.Fatalf("the played pod does not answer on 18190 or cp-a does not reach cp-b: %q\n%s\n%s", body, out, ps)
	}
	must("podman", "kube", "down", "/root/pair.yaml")

	must("rockon", "export", "CLI Pair", "--format", "compose", "--out", "/root/compose.yaml")
	out, _ := must("docker-compose", "-f", "/root/compose.yaml", "config")
	// what docker-compose understood, read back
	var cfg struct {
		Services map[string]struct {
			Environment map[string]string
			Ports       []struct{ Published, Target int }
			DependsOn   any `yaml:"depends_on"`
		}
	}
	if err := yaml.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatalf("docker-compose config output: %v\n%s", err, out)
	}
	a, b := cfg.Services["cp-a"], cfg.Services["cp-b"]
	if len(cfg.Services) != 2 || len(a.Ports) != 1 || a.Ports[0].Published != 18190 || a.Ports[0].Target != 8080 || b.DependsOn == nil {
		t.Errorf("docker-compose read another project:\n%s", out)
	}
	// config prints "$" escaped again as "$$"
	if got := b.Environment["HOSTILE"]; got != hostile && got != strings.ReplaceAll(hostile, "$", "$$") {
		t.Errorf("docker-compose read HOSTILE=%q, want %q", got, hostile)
	}
}
