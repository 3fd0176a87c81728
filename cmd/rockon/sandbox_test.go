package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rockon/rockon/sandbox"
)

// The daemon tests run the real rockon binary inside a systemd sandbox
// against the real rockond (a systemd service on the sandbox's system
// bus), with podman and the test image.

// testCatalog is the local metastore the daemon reads: small rock-ons built
// from the test image.
var testCatalog = map[string]string{
	"cli-web.json": `{
  "CLI Web": {
    "description": "A web test app. <p>Based on the <a href='https://example.org/img' target='_blank'>test image</a>.</p>",
    "version": "1.0",
    "website": "https://example.org/web",
    "more_info": "<p>Log in with <code>admin</code>.</p>",
    "ui": {"slug": "ui"},
    "containers": {
      "cw-web": {
        "image": "localhost/rockon-test",
        "tag": "1",
        "launch_order": 1,
        "ports": {"8080": {"description": "Web interface port.", "label": "Web port [e.g. 18180]", "host_default": 18180, "protocol": "tcp", "ui": true}},
        "volumes": {"/data": {"description": "Where the data lives.", "label": "Data [e.g. web-data]"}},
        "environment": {"GREETING": {"description": "What the app says.", "label": "Greeting", "index": 1}}
      }
    }
  }
}`,
	"cli-priv.json": `{
  "CLI Priv": {
    "description": "Asks for a risky capability.",
    "version": "1.0",
    "website": "https://example.org/priv",
    "containers": {
      "priv": {
        "image": "localhost/rockon-test",
        "tag": "1",
        "launch_order": 1,
        "opts": [["--cap-add", "SYS_ADMIN"]]
      }
    }
  }
}`,
	"cli-broken.json": `{
  "CLI Broken": {
    "description": "Its container exits at once, before its port answers.",
    "version": "1.0",
    "website": "https://example.org/broken",
    "containers": {
      "broken": {
        "image": "localhost/rockon-test",
        "tag": "broken",
        "launch_order": 1,
        "ports": {"8080": {"description": "Never answers.", "label": "Web", "host_default": 18197, "protocol": "tcp"}}
      }
    }
  }
}`,
	"cli-pair.json": `{
  "CLI Pair": {
    "description": "Two containers with the same port.",
    "version": "2.0",
    "website": "https://example.org/pair",
    "containers": {
      "cp-a": {
        "image": "localhost/rockon-test",
        "tag": "1",
        "launch_order": 1,
        "ports": {"8080": {"description": "A's port.", "label": "A port", "host_default": 18190, "protocol": "tcp"}}
      },
      "cp-b": {
        "image": "localhost/rockon-test",
        "tag": "1",
        "launch_order": 2,
        "ports": {"8080": {"description": "B's port.", "label": "B port", "host_default": 18191, "protocol": "tcp"}},
        "environment": {"PEER": {"description": "Who B talks to.", "label": "Peer [e.g. cp-a]", "index": 1}}
      }
    }
  }
}`,
}

// daemonEnv is a sandbox running rockond with the test catalog.
type daemonEnv struct {
	s   *sandbox.Sandbox
	bin string // directory of rockon and rockond, same path inside
}

func startDaemon(t *testing.T) *daemonEnv {
	return setupDaemon(t, sandbox.New(t, sandbox.Options{}), testCatalog)
}

// setupDaemon starts rockond in the sandbox s with the given definition
// files as its catalog.
func setupDaemon(t testing.TB, s *sandbox.Sandbox, defs map[string]string) *daemonEnv {
	return setupDaemonEngine(t, s, defs, "podman")
}

// setupDaemonEngine is setupDaemon with the given engine (the sandbox
// runs dockerd for "docker").
func setupDaemonEngine(t testing.TB, s *sandbox.Sandbox, defs map[string]string, engine string) *daemonEnv {
	bin := sandbox.Binaries(t)
	s.LoadTestImages(t, engine)
	e := &daemonEnv{s: s, bin: bin}
	s.Run(t, "mkdir", "-p", "/srv/rockon/web", "/srv/rockon/web2")
	s.BootRockond(t, sandbox.Rockond{Definitions: defs, Config: sandbox.Config(engine, sandbox.Settings{"dbus": {"polkit": false}})})
	return e
}

func (e *daemonEnv) command(ctx context.Context, dir, ids string, name string, args ...string) *exec.Cmd {
	argv := append([]string{"--chdir=" + dir, name}, args...)
	if ids == "" {
		return e.s.Command(ctx, "env", argv...)
	}
	uid, gid, _ := strings.Cut(ids, ":")
	return e.s.Command(ctx, "setpriv", append([]string{"--reuid=" + uid, "--regid=" + gid, "--clear-groups", "env"}, argv...)...)
}

// program maps "rockon" to the binary under test.
func (e *daemonEnv) program(name string) string {
	if name == "rockon" {
		return e.bin + "/rockon"
	}
	return name
}

// runIn runs a program inside the sandbox for a script; its output
// becomes the script's stdout and stderr, its exit code $EXIT.
func (e *daemonEnv) runIn(ts *testscript.TestScript, neg bool, ids, name string, args []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := e.command(ctx, ts.Getenv("WORK"), ids, name, args...)
	cmd.Env = append(cmd.Env, "NO_COLOR=", "COLUMNS=200", "ROCKON_DEBUG="+os.Getenv("ROCKON_DEBUG"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	ts.Stdout().Write(stdout.Bytes()) //nolint:errcheck
	ts.Stderr().Write(stderr.Bytes()) //nolint:errcheck
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("running %s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	ts.Setenv("EXIT", strconv.Itoa(code))
	if (code != 0) != neg {
		ts.Fatalf("%s %s: exit code %d\n%s", name, strings.Join(args, " "), code, stderr.String())
	}
}

// TestDaemonCommands runs every command against the real daemon.
func TestDaemonCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a systemd sandbox")
	}
	e := startDaemon(t)
	root := filepath.Join(sandbox.SharedDir(), "cli-scripts-"+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	t.Run("wizard", func(t *testing.T) { testWizard(t, e) })
	t.Run("export", func(t *testing.T) { testExport(t, e) })
	testscript.Run(t, testscript.Params{
		Dir:         "testdata/daemon",
		WorkdirRoot: root,
		Setup: func(env *testscript.Env) error {
			// Scripts run as root and as an unprivileged user inside.
			return os.Chmod(env.WorkDir, 0o755)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"json":  cmdJSON,
			"count": cmdCount,
			// in PROGRAM ARGS: a program inside the sandbox, as root;
			// "rockon" is the CLI under test. (A bare "rockon" would run
			// this test binary on the host.)
			"in": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) == 0 {
					ts.Fatalf("usage: in PROGRAM [ARGS...]")
				}
				e.runIn(ts, neg, "", e.program(args[0]), args[1:])
			},
			// as USER PROGRAM ARGS: the same as an unprivileged user.
			"as": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: as USER PROGRAM [ARGS...]")
				}
				ids := strings.TrimSpace(e.s.Run(t, "id", "-u", args[0])) + ":" + strings.TrimSpace(e.s.Run(t, "id", "-g", args[0]))
				e.runIn(ts, neg, ids, e.program(args[1]), args[2:])
			},
			// rc N: the exit code of the last "in" or "as".
			"rc": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 || neg {
					ts.Fatalf("usage: rc N")
				}
				if got := ts.Getenv("EXIT"); got != args[0] {
					ts.Fatalf("exit code %s, want %s", got, args[0])
				}
			},
		},
	})
}
