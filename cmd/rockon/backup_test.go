package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rockon/rockon/sandbox"
)

func TestBackupRestorePodman(t *testing.T) { testBackupRestore(t, "podman") }
func TestBackupRestoreDocker(t *testing.T) { testBackupRestore(t, "docker") }

// run runs a program inside the sandbox as root ("rockon": the CLI under
// test) and returns its stdout, stderr and error.
func (e *daemonEnv) run(t *testing.T, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := e.command(ctx, "/root", "", e.program(name), args...)
	cmd.Env = append(cmd.Env, "NO_COLOR=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (e *daemonEnv) must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, errs, err := e.run(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, errs)
	}
	return out + errs
}

// settings are what must come back: each installed rock-on's desired
// state, its settings with the secrets and its automatic-update opt-in.
func (e *daemonEnv) settings(t *testing.T) map[string]string {
	var list []struct {
		Name         string `json:"name"`
		DesiredState string `json:"desired_state"`
	}
	if err := json.Unmarshal([]byte(e.must(t, "rockon", "--json", "list", "--installed")), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range list {
		var st struct {
			AutoUpdate bool `json:"auto_update"`
		}
		if err := json.Unmarshal([]byte(e.must(t, "rockon", "--json", "status", r.Name)), &st); err != nil {
			t.Fatal(err)
		}
		out[r.Name] = r.DesiredState + "\n" + e.must(t, "rockon", "config", r.Name, "--show-secrets") + fmt.Sprintf("auto_update %v\n", st.AutoUpdate)
	}
	return out
}

// testBackupRestore: rock-ons installed in one sandbox (one running, one
// stopped, with secrets) come back in a fresh sandbox from the backup with
// the same settings, desired states and automatic-update opt-in; a host port taken in the new
// sandbox refuses that rock-on with its reason while the other comes back,
// and it restores once the port is free.
func testBackupRestore(t *testing.T, engine string) {
	if testing.Short() {
		t.Skip("boots systemd sandboxes")
	}
	var file []byte
	var want map[string]string
	t.Run("backup", func(t *testing.T) {
		e := setupDaemonEngine(t, sandbox.New(t, sandbox.Options{Docker: engine == "docker"}), testCatalog, engine)
		e.must(t, "rockon", "install", "CLI Web", "--no-input", "--volume", "/data=/srv/rockon/web", "--env", "GREETING=secret hello $x 'q'", "--port", "8080=18180")
		e.must(t, "rockon", "install", "CLI Pair", "--no-input", "--no-start", "--env", "cp-b:PEER=cp-a", "--env", "cp-b:TOKEN=s3cret")
		e.must(t, "rockon", "config", "CLI Pair", "--auto-update", "on")
		want = e.settings(t)
		if len(want) != 2 || !strings.HasPrefix(want["CLI Web"], "on\n") || !strings.HasPrefix(want["CLI Pair"], "off\n") || !strings.Contains(want["CLI Pair"], "s3cret") ||
			!strings.HasSuffix(want["CLI Pair"], "auto_update true\n") || !strings.HasSuffix(want["CLI Web"], "auto_update false\n") {
			t.Fatalf("installed: %q", want)
		}
		out := e.must(t, "rockon", "backup", "--out", "/root/backup.toml")
		if !strings.Contains(out, "2 rock-on(s)") || !strings.Contains(out, "holds secrets") {
			t.Errorf("rockon backup said %q", out)
		}
		if mode := e.must(t, "stat", "-c", "%a", "/root/backup.toml"); strings.TrimSpace(mode) != "600" {
			t.Errorf("backup file mode %s, want 600", mode)
		}
		var err error
		if file, err = os.ReadFile(e.s.HostPath("/root/backup.toml")); err != nil {
			t.Fatal(err)
		}
	})
	if file == nil {
		t.FailNow()
	}

	e := setupDaemonEngine(t, sandbox.New(t, sandbox.Options{Docker: engine == "docker"}), testCatalog, engine)
	e.s.Write(t, "/root/backup.toml", string(file), 0o600)
	// a host service on CLI Web's port
	e.must(t, "systemd-run", "--unit=port-taker", "socat", "TCP-LISTEN:18180,bind=127.0.0.1,fork,reuseaddr", "SYSTEM:true")
	for i := 0; ; i++ {
		if out, _, _ := e.run(t, "ss", "-Hltn", "sport = :18180"); strings.Contains(out, "18180") {
			break
		}
		if i == 60 {
			t.Fatal("socat does not listen on 18180")
		}
		time.Sleep(time.Second)
	}

	out, _, err := e.run(t, "rockon", "restore", "/root/backup.toml", "--dry-run")
	if err == nil || !strings.Contains(out, "CLI Pair: can be restored (off, automatic update)") || !strings.Contains(out, "CLI Web: refused: port 18180/tcp") {
		t.Errorf("restore --dry-run: %v\n%s", err, out)
	}
	if got := e.settings(t); len(got) != 0 {
		t.Errorf("the dry run installed %v", got)
	}

	out, errs, err := e.run(t, "rockon", "restore", "/root/backup.toml")
	if err == nil || !strings.Contains(out, "CLI Pair: restored (off, automatic update)") || !strings.Contains(out, "CLI Web: refused: port 18180/tcp") ||
		!strings.Contains(errs, "1 of 2 rock-on(s) not restored") {
		t.Errorf("restore with the port taken: %v\n%s%s", err, out, errs)
	}
	t.Logf("restore with the port taken:\n%s%s", out, errs)
	got := e.settings(t)
	if len(got) != 1 || got["CLI Pair"] != want["CLI Pair"] {
		t.Errorf("after the partial restore: %q, want CLI Pair as %q", got, want["CLI Pair"])
	}

	e.must(t, "systemctl", "stop", "port-taker")
	e.must(t, "mkdir", "-p", "/srv/rockon/web")
	out = e.must(t, "rockon", "restore", "/root/backup.toml")
	if !strings.Contains(out, "CLI Pair: left alone: already installed") || !strings.Contains(out, "CLI Web: restored (on)") {
		t.Errorf("restore once the port is free:\n%s", out)
	}
	got = e.settings(t)
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s restored as\n%s\nwant\n%s", name, got[name], w)
		}
	}
	// docker's proxy may take the port's connections a moment before
	// the app listens behind it
	var body string
	for i := 0; i < 60; i++ {
		if body, _, err = e.run(t, "curl", "-fsS", "--max-time", "10", "http://127.0.0.1:18180/env"); err == nil {
			break
		}
		time.Sleep(time.Second)
	}
	if !strings.Contains(body, "GREETING=secret hello $x 'q'") {
		t.Errorf("restored CLI Web's environment (%v):\n%s", err, body)
	}

	// --replace installs an installed one again from the backup: a
	// changed setting and opt-in go back to the backup's
	e.must(t, "rockon", "reconfigure", "CLI Pair", "--env", "cp-b:TOKEN=changed")
	e.must(t, "rockon", "config", "CLI Pair", "--auto-update", "off")
	if out := e.must(t, "rockon", "restore", "/root/backup.toml", "--only", "CLI Pair", "--replace"); !strings.Contains(out, "CLI Pair: replaced from the backup (off, automatic update)") {
		t.Errorf("restore --replace:\n%s", out)
	}
	if got := e.settings(t); got["CLI Pair"] != want["CLI Pair"] || got["CLI Web"] != want["CLI Web"] {
		t.Errorf("after --replace: %q, want %q", got, want)
	}
}
