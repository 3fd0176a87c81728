package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// terminal drives a program through a pseudo-terminal: it waits for
// prompts and types answers, as a person would.
type terminal struct {
	t    *testing.T
	ptmx *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	buf  bytes.Buffer // everything the program wrote
	seen int          // how much of buf expect has consumed
	done chan struct{}
}

func startTerminal(t *testing.T, cmd *exec.Cmd) *terminal {
	t.Helper()
	// pty.Start puts the program in a new session with the terminal as
	// its controlling terminal; the sandbox's process-group kill does
	// not apply, so cancel kills the process itself.
	cmd.SysProcAttr = nil
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	ptmx, err := pty.StartWithAttrs(cmd, &pty.Winsize{Rows: 40, Cols: 120}, &syscall.SysProcAttr{Setsid: true, Setctty: true})
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, ptmx: ptmx, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			tm.mu.Lock()
			tm.buf.Write(b[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { ptmx.Close() })
	return tm
}

// expect waits until the program has written s (after what earlier
// expects consumed).
func (tm *terminal) expect(s string) {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out := tm.output()
		if tm.consume(out, s) {
			return
		}
		select {
		case <-tm.done:
			if out = tm.output(); tm.consume(out, s) {
				return
			}
			tm.t.Fatalf("program ended without writing %q; it wrote:\n%s", s, out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	tm.t.Fatalf("timed out waiting for %q; the program wrote:\n%s", s, tm.output())
}

// consume moves past s when out holds it after what was consumed.
func (tm *terminal) consume(out, s string) bool {
	i := strings.Index(out[tm.seen:], s)
	if i >= 0 {
		tm.seen += i + len(s)
	}
	return i >= 0
}

// reply waits for the prompt and types a line.
func (tm *terminal) reply(prompt, line string) {
	tm.t.Helper()
	tm.expect(prompt)
	tm.answer(line)
}

// answer types a line.
func (tm *terminal) answer(line string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.ptmx, line+"\r"); err != nil {
		tm.t.Fatal(err)
	}
}

func (tm *terminal) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.buf.String()
}

// wait returns the program's exit code.
func (tm *terminal) wait() int {
	tm.t.Helper()
	err := tm.cmd.Wait()
	<-tm.done
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		tm.t.Fatal(err)
	}
	return ee.ExitCode()
}

// testWizard installs CLI Pair by answering the wizard's questions at a
// terminal: defaults taken with Enter, a bad answer asked again, then a
// cancelled run that changes nothing.
func testWizard(t *testing.T, e *daemonEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// Cancelled at the confirmation: nothing installed, exit 1.
	tm := startTerminal(t, e.command(ctx, "/", "", e.bin+"/rockon", "install", "CLI Pair"))
	tm.expect("CLI Pair needs 3 more value(s)")
	tm.reply("Host port for container port 8080/tcp [18190]: ", "")
	tm.reply("Host port for container port 8080/tcp [18191]: ", "")
	tm.expect("Peer [e.g. cp-a]")
	tm.expect("Who B talks to.")
	tm.reply("Value of PEER: ", "cp-a")
	tm.reply("Install CLI Pair now? [Y/n] ", "n")
	tm.expect("cancelled; nothing was changed")
	if code := tm.wait(); code != exitFailed {
		t.Fatalf("cancelled wizard: exit code %d, want %d\n%s", code, exitFailed, tm.output())
	}
	if out := e.s.Run(t, e.bin+"/rockon", "--json", "list", "--installed"); strings.Contains(out, "CLI Pair") {
		t.Fatalf("cancelled wizard installed CLI Pair:\n%s", out)
	}

	// A full run. The first port comes from the command line, so it is
	// not asked.
	tm = startTerminal(t, e.command(ctx, "/", "", e.bin+"/rockon", "install", "CLI Pair", "--port", "cp-a:8080=18290"))
	tm.expect("CLI Pair needs 2 more value(s)")
	tm.expect("Container cp-b")
	tm.expect("B port")
	tm.reply("Host port for container port 8080/tcp [18191]: ", "not-a-port")
	tm.expect("a port number 1-65535 is required")
	tm.reply("Host port for container port 8080/tcp [18191]: ", "18291")
	tm.reply("Value of PEER: ", "")
	tm.expect("a value is required")
	tm.reply("Value of PEER: ", "cp-a says hi")
	tm.reply("Install CLI Pair now? [Y/n] ", "")
	tm.expect("CLI Pair installed and started")
	if code := tm.wait(); code != 0 {
		t.Fatalf("wizard install: exit code %d\n%s", code, tm.output())
	}
	if !strings.Contains(tm.output(), "installing CLI Pair [") || !strings.Contains(tm.output(), "\r\x1b[K") {
		t.Errorf("no progress bar on the terminal:\n%q", tm.output())
	}
	if strings.Contains(tm.output(), "18190]") {
		t.Errorf("the wizard asked for a port given on the command line:\n%s", tm.output())
	}

	var st statusJSON
	if err := json.Unmarshal([]byte(e.s.Run(t, e.bin+"/rockon", "--json", "status", "CLI Pair")), &st); err != nil {
		t.Fatal(err)
	}
	ports := map[string]uint32{}
	for _, p := range st.Ports {
		ports[p.Container] = p.HostPort
	}
	if ports["cp-a"] != 18290 || ports["cp-b"] != 18291 {
		t.Errorf("ports after the wizard: %v, want cp-a 18290, cp-b 18291", ports)
	}
	env := e.s.Run(t, "curl", "-s", "http://127.0.0.1:18291/env")
	if !strings.Contains(env, "PEER=cp-a says hi\n") {
		t.Errorf("cp-b's environment lacks the answer:\n%s", env)
	}
	defer e.s.Run(t, e.bin+"/rockon", "uninstall", "CLI Pair")
	testLogsFollow(t, e)

	// A volume answer is checked on the spot: a missing directory is
	// asked again.
	tm = startTerminal(t, e.command(ctx, "/", "", e.bin+"/rockon", "install", "--no-start", "CLI Web"))
	tm.reply("Host port for container port 8080/tcp [18180]: ", "")
	tm.expect("Data [e.g. web-data]")
	tm.reply("Host directory or share for /data: ", "/srv/rockon/not-there")
	tm.expect("/srv/rockon/not-there does not exist")
	tm.reply("Host directory or share for /data: ", "/srv/rockon/web2")
	tm.reply("Value of GREETING: ", "hi")
	tm.reply("Install CLI Web now? [Y/n] ", "y")
	tm.expect("CLI Web installed (stopped")
	if code := tm.wait(); code != 0 {
		t.Fatalf("wizard with a volume: exit code %d\n%s", code, tm.output())
	}
	if err := json.Unmarshal([]byte(e.s.Run(t, e.bin+"/rockon", "--json", "status", "CLI Web")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Volumes) != 1 || st.Volumes[0].Host != "/srv/rockon/web2" {
		t.Errorf("volumes after the wizard: %+v", st.Volumes)
	}
	e.s.Run(t, e.bin+"/rockon", "start", "CLI Web")
	testBusy(t, e)
	e.s.Run(t, e.bin+"/rockon", "uninstall", "CLI Web")

	// A risky privilege is confirmed, and refusing it installs nothing.
	tm = startTerminal(t, e.command(ctx, "/", "", e.bin+"/rockon", "install", "CLI Priv"))
	tm.expect("CLI Priv asks for a risky privilege: cap-add:SYS_ADMIN (a kernel capability beyond the engines' default set)")
	tm.reply("Allow it? [y/N] ", "")
	tm.expect(`CLI Priv cannot be installed without "cap-add:SYS_ADMIN"; nothing was changed`)
	if code := tm.wait(); code != exitFailed {
		t.Fatalf("refused consent: exit code %d, want %d\n%s", code, exitFailed, tm.output())
	}
	tm = startTerminal(t, e.command(ctx, "/", "", e.bin+"/rockon", "install", "--no-start", "CLI Priv"))
	tm.reply("Allow it? [y/N] ", "yes")
	tm.reply("Install CLI Priv now? [Y/n] ", "y")
	tm.expect("CLI Priv installed (stopped")
	if code := tm.wait(); code != 0 {
		t.Fatalf("accepted consent: exit code %d\n%s", code, tm.output())
	}
	e.s.Run(t, e.bin+"/rockon", "uninstall", "CLI Priv")
}

// testLogsFollow checks that logs -f keeps printing: a restart while it
// runs shows up in its output.
func testLogsFollow(t *testing.T, e *daemonEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tm := startTerminal(t, e.command(ctx, "/", "", e.bin+"/rockon", "logs", "CLI Pair", "-f", "--container", "cp-b"))
	tm.expect("rockon-test: version 1 listening")
	// Let the initial lines arrive, then look only at what comes after.
	time.Sleep(time.Second)
	tm.mu.Lock()
	tm.seen = tm.buf.Len()
	tm.mu.Unlock()
	e.s.Run(t, e.bin+"/rockon", "restart", "CLI Pair")
	tm.expect("rockon-test: version 1 listening")
	if strings.Contains(tm.output(), "cp-a[") {
		t.Errorf("--container cp-b printed cp-a's lines:\n%s", tm.output())
	}
	tm.cmd.Process.Signal(os.Interrupt) //nolint:errcheck
	tm.wait()
}

// testBusy runs a second change while an update of the same rock-on is
// under way: exit 6 with a line saying to try again.
func testBusy(t *testing.T, e *daemonEnv) {
	for attempt := 0; attempt < 10; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		update := e.command(ctx, "/", "", e.bin+"/rockon", "update", "CLI Web")
		var uerr syncBuffer
		update.Stderr = &uerr
		if err := update.Start(); err != nil {
			t.Fatal(err)
		}
		// The first progress line means the daemon runs the job.
		for i := 0; i < 200 && !strings.Contains(uerr.String(), "updating CLI Web:"); i++ {
			time.Sleep(5 * time.Millisecond)
		}
		var out, errOut bytes.Buffer
		stop := e.command(ctx, "/", "", e.bin+"/rockon", "stop", "CLI Web")
		stop.Stdout, stop.Stderr = &out, &errOut
		err := stop.Run()
		update.Wait() //nolint:errcheck
		cancel()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == exitBusy {
			if !strings.HasPrefix(errOut.String(), "rockon: ") || !strings.Contains(errOut.String(), "try again when it has finished") {
				t.Errorf("busy line: %q", errOut.String())
			}
			e.s.Run(t, e.bin+"/rockon", "start", "CLI Web")
			return
		}
		if err == nil {
			e.s.Run(t, e.bin+"/rockon", "start", "CLI Web")
		}
		t.Logf("attempt %d: stop ended with %v (%s); the update was already done", attempt, err, errOut.String())
	}
	t.Error("never saw the busy error in 10 attempts")
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
