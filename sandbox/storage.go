package sandbox

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing"
)

// FillStorage fills the filesystem of dir (inside the sandbox; /var/lib/containers or
// /var/lib/docker of a sandbox with Options.StorageSize) until only leave bytes are
// free, with one file that the returned function removes. A test can so make a pull
// really run out of space without writing gigabytes.
func (s *Sandbox) FillStorage(t testing.TB, dir string, leave int64) (free func()) {
	t.Helper()
	if s.opt.StorageSize == "" {
		t.Fatal("FillStorage: the sandbox's storage is not a filesystem of its own (Options.StorageSize)")
	}
	out := strings.Fields(s.Run(t, "df", "--output=avail", "-B1", dir))
	if len(out) != 2 {
		t.Fatalf("df %s: %q", dir, out)
	}
	avail, err := strconv.ParseInt(out[1], 10, 64)
	if err != nil {
		t.Fatalf("df %s: %v", dir, err)
	}
	filler := path.Join(dir, "rockon-test-filler")
	if avail > leave {
		s.Run(t, "fallocate", "-l", fmt.Sprint(avail-leave), filler)
	}
	return func() {
		t.Helper()
		s.Run(t, "rm", "-f", filler)
	}
}
