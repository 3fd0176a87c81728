package state

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rockon/rockon/model"
)

// crashChildEnv, when set to a directory, turns the test binary into the
// writer the crash test kills.
const crashChildEnv = "ROCKON_STATE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		if err := crashChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var crashNames = []string{"Alpha", "Beta Gamma", "Delta"}

// crashValue is step k of a rock-on's deterministic sequence of records.
// Sizes, phases and optional parts change from step to step so that
// consecutive files differ in length and layout.
func crashValue(name string, k int) *Installed {
	in := fullInstalled(name)
	in.Last.Message = "step " + strconv.Itoa(k)
	in.Definition = definitionJSON(name, 1+k%5)
	in.UpdatedAt = t0.Add(time.Duration(k) * time.Second)
	in.Choices.Containers["c0"].Env["STEP"] = strings.Repeat("x", k%300) + strconv.Itoa(k)
	in.Units = in.Units[:1+k%2]
	switch k % 4 {
	case 0:
		in.Phase, in.Pending = PhaseInstalling, nil
	case 1:
		in.Phase, in.Pending = PhaseInstalled, nil
		in.Desired = DesiredOff
	case 2:
		// updating, with the Pending of fullInstalled
	case 3:
		in.Phase, in.Pending = PhaseUninstalling, nil
	}
	return in
}

func crashStep(in *Installed) (int, error) {
	s, ok := strings.CutPrefix(in.Last.Message, "step ")
	if !ok {
		return 0, fmt.Errorf("no step in %q", in.Last.Message)
	}
	return strconv.Atoi(s)
}

// crashEnvContent is step k of an env file written with WriteFileAtomic.
func crashEnvContent(name string, k int) []byte {
	return fmt.Appendf(nil, "STEP=%d\nNAME=%s\nPAD=%s\n", k, name, strings.Repeat("p", (k*37)%5000))
}

func crashEnvPath(dir, name string) string {
	return filepath.Join(dir, "env", "rockon-"+model.Slug(name)+".env")
}

// crashChild writes forever: each round advances every rock-on by one
// step (read-modify-write through Update), rewrites its env file, and now
// and then deletes and re-creates a record.
func crashChild(dir string) error {
	s, err := Open(dir)
	if err != nil {
		return err
	}
	if err := EnsurePrivateDir(filepath.Join(dir, "env")); err != nil {
		return err
	}
	for round := 0; ; round++ {
		for i, name := range crashNames {
			if round == 0 && i == 1 {
				// The parent's random delay starts once writing is
				// under way, so that kills land among writes, not
				// during start-up.
				os.Stdout.WriteString("ready\n")
			}
			next := 0
			err := s.Update(name, func(in *Installed) error {
				k, err := crashStep(in)
				if err != nil {
					return err
				}
				next = k + 1
				*in = *crashValue(name, next)
				return nil
			})
			if errors.Is(err, fs.ErrNotExist) {
				err = s.Create(crashValue(name, 0))
			}
			if err != nil {
				return err
			}
			if name == "Delta" && next%7 == 6 {
				if err := s.Delete(name); err != nil {
					return err
				}
				if err := s.Create(crashValue(name, next)); err != nil {
					return err
				}
			}
			if err := WriteFileAtomic(crashEnvPath(dir, name), crashEnvContent(name, next), 0o600); err != nil {
				return err
			}
		}
	}
}

// TestCrashSafety kills a writer with SIGKILL at random moments and checks
// after each kill that every file is one of the values written, whole.
func TestCrashSafety(t *testing.T) {
	kills := 300
	if testing.Short() {
		kills = 30
	}
	dir := filepath.Join(crashTestDir(t), "state")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	start := time.Now()
	var tempsSeen, maxStep, absent int
	everSeen := map[string]bool{}
	for i := range kills {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("kill %d: child did not start: %q %v %s", i, line, err, stderr.String())
		}
		time.Sleep(time.Duration(rng.Int64N(int64(10 * time.Millisecond))))
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: child ended by itself: %v %s", i, err, stderr.String())
		}

		tempsSeen += countTemps(t, dir) + countTemps(t, filepath.Join(dir, "env"))
		s, err := Open(dir)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		if _, err := RemoveStaleTemps(filepath.Join(dir, "env")); err != nil {
			t.Fatal(err)
		}
		if n := countTemps(t, dir) + countTemps(t, filepath.Join(dir, "env")); n != 0 {
			t.Fatalf("kill %d: %d temporary files remain after cleanup", i, n)
		}
		recs, errs := s.List()
		for _, err := range errs {
			t.Errorf("kill %d: %v", i, err)
		}
		seen := map[string]bool{}
		for _, in := range recs {
			seen[in.Name] = true
			everSeen[in.Name] = true
			k, err := crashStep(in)
			if err != nil {
				t.Fatalf("kill %d: %s: %v", i, in.Name, err)
			}
			want := crashValue(in.Name, k)
			if !reflect.DeepEqual(in, want) {
				t.Fatalf("kill %d: %s is not step %d of its sequence", i, in.Name, k)
			}
			maxStep = max(maxStep, k)
		}
		for _, name := range crashNames {
			if !seen[name] {
				// Only before a first write, or between Delete and
				// Create of Delta.
				if name != "Delta" && everSeen[name] {
					t.Errorf("kill %d: %s vanished", i, name)
				}
				absent++
			}
			data, err := os.ReadFile(crashEnvPath(dir, name))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			var k int
			if _, serr := fmt.Sscanf(string(data), "STEP=%d\n", &k); err != nil || serr != nil ||
				string(data) != string(crashEnvContent(name, k)) {
				t.Fatalf("kill %d: env file of %s is not one of the values written: %.60q %v", i, name, data, err)
			}
			checkMode(t, crashEnvPath(dir, name), 0o600)
		}
		s.Close()
		if t.Failed() {
			return
		}
	}
	if maxStep == 0 {
		t.Fatal("the writer never got past its first step")
	}
	t.Logf("%d kills in %v; up to step %d; %d kills left temporary files; %d times a record was absent",
		kills, time.Since(start).Round(time.Millisecond), maxStep, tempsSeen, absent)
}

// crashTestDir is a fresh directory, on tmpfs when there is one: a
// SIGKILL tests what the process leaves behind (rename is atomic in every
// file system), not the disk, and without fsync latency the hundreds of
// kills stay within seconds on a busy machine.
func crashTestDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "rockon-state-crash-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func countTemps(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if isTempName(e.Name()) {
			n++
		}
	}
	return n
}
