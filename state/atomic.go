package state

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// tempMarker is part of the name of every temporary file WriteFileAtomic
// creates: ".<base>.rockon-tmp-<random>". The leading dot keeps it out of
// listings that look for "*.toml", "*.service" or "*.env", and the marker
// lets RemoveStaleTemps recognise the files it may delete after a crash
// without touching anything else in the directory.
const tempMarker = ".rockon-tmp-"

// WriteFileAtomic replaces path with data so that at any instant, including
// after a crash or power loss, path holds either its old content or the new
// one, never a mix or a truncated file:
//
//  1. a temporary file is created in the same directory (a rename is only
//     atomic within one file system), with O_EXCL and mode 0600 so nobody
//     can read secrets through it while it is written;
//  2. the data is written, the mode is set with fchmod (so the umask has no
//     say) and the file is fsynced;
//  3. it is renamed over path, and the directory is fsynced so that the
//     rename itself is on disk when WriteFileAtomic returns.
//
// On any error the temporary file is removed and path is untouched. A crash
// between steps 1 and 3 leaves a temporary file behind, which
// RemoveStaleTemps deletes.
//
// It is written here rather than taken from github.com/google/renameio
// because renameio does not fsync the directory after the rename (so a
// completed write may vanish after a power cut), may place the temporary
// file in $TMPDIR, and names it in a way that cannot be told apart from
// other dot files when cleaning up after a crash.
func WriteFileAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" || base == "." || base == ".." {
		return fmt.Errorf("writing %s: not a file name", path)
	}
	tmp, f, err := createTemp(dir, base)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	renamed := false
	defer func() {
		if err != nil && !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err = f.Chmod(mode.Perm()); err != nil {
		return fmt.Errorf("setting mode of %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	renamed = true
	// The new content is in place but may not survive a power cut yet.
	if err = syncDir(dir); err != nil {
		return fmt.Errorf("wrote %s but %w", path, err)
	}
	return nil
}

func createTemp(dir, base string) (string, *os.File, error) {
	var b [8]byte
	for range 100 {
		if _, err := rand.Read(b[:]); err != nil {
			return "", nil, err
		}
		name := filepath.Join(dir, "."+base+tempMarker+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
		if err == nil {
			return name, f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", nil, err
		}
	}
	return "", nil, fmt.Errorf("no free temporary name in %s", dir)
}

// syncDir makes a directory's entries (a rename, a removal) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// isTempName reports whether a directory entry is a temporary file of
// WriteFileAtomic.
func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempMarker)
}

// RemoveStaleTemps deletes the temporary files WriteFileAtomic left in dir
// when the process died mid-write, and returns their names. Call it only
// while no other process or goroutine writes into dir (the Store does so
// right after taking its directory lock). Files not made by
// WriteFileAtomic are never touched. A missing dir is not an error.
func RemoveStaleTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cleaning %s: %w", dir, err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempName(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing stale %s: %w", e.Name(), err))
			continue
		}
		removed = append(removed, e.Name())
	}
	if len(removed) > 0 {
		if err := syncDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}
