package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// Binaries builds cmd/rockon and cmd/rockond once per test binary into a directory that
// every sandbox sees at the same path, and returns that directory.
func Binaries(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir = filepath.Join(SharedDir(), "bin-"+strconv.Itoa(os.Getpid()))
		binErr = buildPackages(binDir, "./cmd/rockon", "./cmd/rockond")
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

// buildPackages builds the module's packages into dir, after removing the directories
// left by test binaries that are gone.
func buildPackages(dir string, pkgs ...string) error {
	removeStaleBinDirs()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

func removeStaleBinDirs() {
	dirs, _ := filepath.Glob(filepath.Join(SharedDir(), "bin-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "bin-"))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}
