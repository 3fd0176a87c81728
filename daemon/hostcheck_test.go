package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCheckDevice: a node or a directory of nodes under /dev is accepted
// (/dev/dri); anything else, and the memory nodes directly or inside a
// directory, are refused. The nodes are made with mknod in a directory
// standing for /dev.
func TestCheckDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	dev := t.TempDir()
	mk := func(name string, major, minor uint32) {
		t.Helper()
		p := filepath.Join(dev, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(major, minor))); err != nil {
			t.Fatal(err)
		}
	}
	mk("dri/card0", 226, 0)
	mk("dri/renderD128", 226, 128)
	if err := os.MkdirAll(filepath.Join(dev, "dri/by-path"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../card0", filepath.Join(dev, "dri/by-path/pci-card")); err != nil {
		t.Fatal(err)
	}
	mk("null", 1, 3)
	mk("mem", 1, 1)
	mk("evil/card0", 226, 0)
	mk("evil/sub/port", 1, 4)
	mk("kmemcopy", 1, 2)
	if err := os.MkdirAll(filepath.Join(dev, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dev, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dev, "files/f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.Symlink(filepath.Join(outside), filepath.Join(dev, "link-out")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"dri":          "",
		"dri/card0":    "",
		"null":         "",
		"mem":          "exposes host memory",
		"kmemcopy":     "exposes host memory",
		"evil":         "sub/port exposes host memory",
		"empty":        "has no device node",
		"files":        "files/f is not a device node",
		"missing":      "does not exist",
		"link-out":     "is not a device node under /dev",
		"../not-there": "does not exist",
	} {
		got := checkDevice(filepath.Join(dev, path), dev)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("checkDevice(%s) = %q, want %q", path, got, want)
		}
	}
	if got := checkDevice(outside, dev); !strings.Contains(got, "not a device node under /dev") {
		t.Errorf("checkDevice(outside) = %q", got)
	}
}
