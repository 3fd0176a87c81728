package state

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	gotoml "github.com/pelletier/go-toml/v2"
	"github.com/rockon/rockon/model"
)

// CurrentSchema is the version of the installed rock-on file format this
// code writes. Files of older versions are migrated when read; files of a
// newer version are refused.
const CurrentSchema = 1

const (
	fileExt       = ".toml"
	brokenMarker  = ".broken-"
	fileMode      = 0o600
	dirMode       = 0o700
	recordHeading = "# Installed rock-on, managed by rockond. Stop rockond before editing by hand;\n" +
		"# a file it cannot read is reported and left alone.\n\n"
)

// ErrLocked is returned by Open when another process holds the state
// directory.
var ErrLocked = errors.New("state directory is in use by another process")

// ErrUnreadable wraps the reason why Save, Update or Delete refused to
// touch an existing file: it could not be read, and replacing it would lose
// whatever it holds. Quarantine moves it aside.
var ErrUnreadable = errors.New("existing file cannot be read")

// SchemaError is a file written by a newer rockon (or not a version this
// code knows). The file is left untouched.
type SchemaError struct {
	File      string
	Found     int
	Supported int
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%s: schema %d is newer than the %d this rockon understands; "+
		"the file was left untouched (upgrade rockon, or move the file aside)", e.File, e.Found, e.Supported)
}

// Store keeps the installed rock-on records of one directory, one file per
// rock-on named after its slug ("immich.toml"). It holds an exclusive
// flock on the directory for its lifetime, so that two daemons never write
// the same directory, and serializes writes per rock-on. Reads need no
// lock: every write replaces a file atomically.
type Store struct {
	dir     string
	dirFile *os.File // holds the flock
	cleaned []string

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per slug; never shrinks (one per rock-on ever seen)
}

// Open takes the state directory dir, creating it if needed, sets its mode
// to 0700, locks it, and removes temporary files a crash left behind.
func Open(dir string) (*Store, error) {
	if err := EnsurePrivateDir(dir); err != nil {
		return nil, err
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening state directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("locking %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	s := &Store{dir: dir, dirFile: f, locks: map[string]*sync.Mutex{}}
	s.cleaned, err = RemoveStaleTemps(dir)
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// EnsurePrivateDir creates dir (and missing parents) and sets its mode to
// 0700 whatever the umask, for directories holding secrets.
func EnsurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("checking %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm() != dirMode {
		if err := os.Chmod(dir, dirMode); err != nil {
			return fmt.Errorf("setting mode of %s: %w", dir, err)
		}
	}
	// A root daemon keeps its secrets root's: a directory created by
	// someone else (a restored backup, a hand-made directory) is taken
	// over rather than left readable by its owner.
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && (st.Uid != 0 || st.Gid != 0) {
		if err := os.Chown(dir, 0, 0); err != nil {
			return fmt.Errorf("setting owner of %s: %w", dir, err)
		}
	}
	return nil
}

// Close releases the directory lock.
func (s *Store) Close() error {
	if s.dirFile == nil {
		return nil
	}
	err := s.dirFile.Close() // closing the last descriptor drops the flock
	s.dirFile = nil
	return err
}

// Dir is the state directory.
func (s *Store) Dir() string { return s.dir }

// CleanedTemps are the stale temporary files Open removed.
func (s *Store) CleanedTemps() []string { return s.cleaned }

// Path is the file that holds the rock-on called name.
func (s *Store) Path(name string) string { return filepath.Join(s.dir, model.Slug(name)+fileExt) }

func (s *Store) lock(name string) (unlock func(), err error) {
	slug, err := model.CheckSlug(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	m := s.locks[slug]
	if m == nil {
		m = new(sync.Mutex)
		s.locks[slug] = m
	}
	s.mu.Unlock()
	m.Lock()
	return m.Unlock, nil
}

// Load reads the record of the rock-on called name. A missing record is an
// error wrapping fs.ErrNotExist; a file that cannot be read is a
// *FileError or *SchemaError.
func (s *Store) Load(name string) (*Installed, error) {
	if _, err := model.CheckSlug(name); err != nil {
		return nil, err
	}
	return s.loadFile(s.Path(name))
}

func (s *Store) loadFile(path string) (*Installed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading installed rock-on: %w", err)
	}
	in, err := decodeInstalled(path, data)
	if err != nil {
		return nil, err
	}
	if want := strings.TrimSuffix(filepath.Base(path), fileExt); model.Slug(in.Name) != want {
		return nil, &FileError{File: path, Line: keyLine(data, toml.Key{"name"}), Key: "name",
			Err: fmt.Errorf("%q does not belong in this file (its file would be %s%s)", in.Name, model.Slug(in.Name), fileExt)}
	}
	return in, nil
}

// List reads every record. Files that cannot be read are reported in the
// error list (one error each) and do not stop the others from loading.
// Records are sorted by name. Files are decoded in parallel.
func (s *Store) List() ([]*Installed, []error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, []error{fmt.Errorf("listing installed rock-ons: %w", err)}
	}
	var paths []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, fileExt) || e.IsDir() {
			continue
		}
		paths = append(paths, filepath.Join(s.dir, n))
	}
	recs := make([]*Installed, len(paths))
	errs := make([]error, len(paths))
	workers := min(runtime.GOMAXPROCS(0), len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				recs[i], errs[i] = s.loadFile(paths[i])
			}
		})
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	recs = slices.DeleteFunc(recs, func(in *Installed) bool { return in == nil })
	slices.SortFunc(recs, func(a, b *Installed) int { return cmp.Compare(a.Name, b.Name) })
	return recs, slices.DeleteFunc(errs, func(e error) bool { return e == nil })
}

// Save writes the record, creating or replacing its file atomically. It
// refuses to replace a file it cannot read (ErrUnreadable: move it aside
// with Quarantine first) or one that holds another rock-on whose name has
// the same slug. in is not modified.
func (s *Store) Save(in *Installed) error { return s.lockedSave(in, false) }

// Create is Save for a new record: it fails with an error wrapping
// fs.ErrExist when the rock-on already has one. Checking and writing under
// one lock makes two concurrent installs of the same rock-on impossible.
func (s *Store) Create(in *Installed) error { return s.lockedSave(in, true) }

// lockedSave is save under the rock-on's lock.
func (s *Store) lockedSave(in *Installed, create bool) error {
	unlock, err := s.lock(in.Name)
	if err != nil {
		return err
	}
	defer unlock()
	return s.save(in, create)
}

// Update loads the record of name, lets fn change it and saves it, all
// under the rock-on's lock. If fn fails nothing is written. fn must not
// rename the rock-on.
func (s *Store) Update(name string, fn func(*Installed) error) error {
	unlock, err := s.lock(name)
	if err != nil {
		return err
	}
	defer unlock()
	in, err := s.Load(name)
	if err != nil {
		return err
	}
	if err := fn(in); err != nil {
		return err
	}
	if model.Slug(in.Name) != model.Slug(name) {
		return fmt.Errorf("updating %q: the rock-on cannot be renamed to %q", name, in.Name)
	}
	return s.save(in, false)
}

func (s *Store) save(in *Installed, create bool) error {
	path := s.Path(in.Name)
	if err := s.checkReplaceable(path, in.Name, create); err != nil {
		return err
	}
	data, err := encodeInstalled(in)
	if err != nil {
		return fmt.Errorf("saving %q: %w", in.Name, err)
	}
	if err := WriteFileAtomic(path, data, fileMode); err != nil {
		return fmt.Errorf("saving %q: %w", in.Name, err)
	}
	return nil
}

// checkReplaceable refuses to overwrite what must not be lost.
func (s *Store) checkReplaceable(path, name string, create bool) error {
	old, err := s.loadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("not replacing %s: %w: %w (move it aside with Quarantine)", path, ErrUnreadable, err)
	case create:
		return fmt.Errorf("installing %q: %w: %s already holds %q", name, fs.ErrExist, path, old.Name)
	case old.Name != name:
		return fmt.Errorf("not replacing %s: it holds %q, a different rock-on than %q", path, old.Name, name)
	}
	return nil
}

// Delete removes the record of name. Like Save it refuses to remove a file
// it cannot read. A missing record is an error wrapping fs.ErrNotExist.
func (s *Store) Delete(name string) error {
	unlock, err := s.lock(name)
	if err != nil {
		return err
	}
	defer unlock()
	path := s.Path(name)
	old, err := s.loadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting %q: %w", name, err)
	}
	if err != nil {
		return fmt.Errorf("not deleting %s: %w: %w (move it aside with Quarantine)", path, ErrUnreadable, err)
	}
	if old.Name != name {
		return fmt.Errorf("not deleting %s: it holds %q, not %q", path, old.Name, name)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("deleting %q: %w", name, err)
	}
	return syncDir(s.dir)
}

// Quarantine moves the file of name aside to "<slug>.toml.broken-<UTC
// time>", where List no longer sees it, and returns the new path. It is
// how a caller resolves a file that cannot be read; the content is kept
// for the administrator. When the name cannot be read from the file, its
// slug (the file name without ".toml") does as the name.
func (s *Store) Quarantine(name string) (string, error) {
	unlock, err := s.lock(name)
	if err != nil {
		return "", err
	}
	defer unlock()
	path := s.Path(name)
	if _, err := os.Lstat(path); err != nil {
		return "", fmt.Errorf("quarantining %q: %w", name, err)
	}
	base := path + brokenMarker + time.Now().UTC().Format("20060102T150405Z")
	dst := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("quarantining %q: %w", name, err)
	}
	return dst, syncDir(s.dir)
}

// ContentHash is the hex SHA-256 recorded for a generated file.
func ContentHash(content []byte) string {
	h := sha256.Sum256(content)
	return hex.EncodeToString(h[:])
}

// encodeInstalled renders a record as the file content, then decodes it
// again: a record that would not load back identically is never written.
func encodeInstalled(in *Installed) ([]byte, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := *in
	c.Schema = CurrentSchema
	normalizeTimes(&c)
	var buf bytes.Buffer
	buf.WriteString(recordHeading)
	if err := toml.NewEncoder(&buf).Encode(&c); err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	if _, err := decodeInstalled("(new content)", buf.Bytes()); err != nil {
		return nil, fmt.Errorf("content does not read back: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeInstalled reads a record from file content, migrating older
// schemas.
//
// BurntSushi/toml is the reference decoder here as for the configuration
// (its errors carry lines and keys), but it spends about 300 µs of CPU on
// a 5 KB record, which makes loading 1,000 rock-ons take far more than the
// 100 ms budget. So a record is first decoded strictly with
// pelletier/go-toml, about four times faster; only a file that decoder
// refuses, or one of another schema, goes through the reference path,
// which then reports the problem precisely or migrates the file. Both
// decoders implement TOML 1.0 and TestDecodersAgree checks they read the
// same records identically.
func decodeInstalled(file string, data []byte) (*Installed, error) {
	if in, ok := decodeFast(data); ok {
		return finishDecode(file, data, in)
	}
	return decodeReference(file, data)
}

// decodeFast is the strict go-toml decode of a current-schema record; any
// doubt returns false.
func decodeFast(data []byte) (*Installed, bool) {
	in := new(Installed)
	d := gotoml.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(in); err != nil || in.Schema != CurrentSchema {
		return nil, false
	}
	return in, true
}

// decodeReference is the BurntSushi/toml decode: strict, with located
// errors, schema checks and migration. Files that pass the strict decode
// with the current schema only take one decode.
func decodeReference(file string, data []byte) (*Installed, error) {
	in := new(Installed)
	err := decodeStrict(file, data, in)
	if errors.Is(err, ErrEmptyFile) {
		return nil, err
	}
	if err == nil && in.Schema == CurrentSchema {
		return finishDecode(file, data, in)
	}
	var peek struct {
		Schema *int `toml:"schema"`
	}
	if _, perr := toml.Decode(string(data), &peek); perr != nil {
		if err != nil {
			return nil, err
		}
		return nil, tomlError(file, data, perr)
	}
	switch {
	case peek.Schema == nil:
		return nil, &FileError{File: file, Key: "schema", Err: errors.New("missing (every record starts with schema = N)")}
	case *peek.Schema > CurrentSchema:
		return nil, &SchemaError{File: file, Found: *peek.Schema, Supported: CurrentSchema}
	case *peek.Schema == CurrentSchema:
		return nil, err
	case *peek.Schema < 0 || migrations[*peek.Schema] == nil:
		return nil, &FileError{File: file, Line: keyLine(data, toml.Key{"schema"}), Key: "schema",
			Err: fmt.Errorf("unknown schema %d", *peek.Schema)}
	}
	from := *peek.Schema
	migrated, err := migrate(file, data, from)
	if err != nil {
		return nil, err
	}
	in = new(Installed)
	mfile := fmt.Sprintf("%s (migrated from schema %d)", file, from)
	if err := decodeStrict(mfile, migrated, in); err != nil {
		return nil, err
	}
	in, err = finishDecode(mfile, migrated, in)
	if err != nil {
		return nil, err
	}
	in.Schema = from
	return in, nil
}

func finishDecode(file string, data []byte, in *Installed) (*Installed, error) {
	normalizeTimes(in)
	canonical(in)
	if errs := in.check(); len(errs) > 0 {
		return nil, fileErrors(file, data, errs)
	}
	return in, nil
}

// canonical gives "absent" one representation: TOML cannot tell an empty
// table or array from a missing one once written with omitempty, and the
// two decoders differ on which they return.
func canonical(in *Installed) {
	in.Choices = in.Choices.Canonical()
	if len(in.Images) == 0 {
		in.Images = nil
	}
	if len(in.Units) == 0 {
		in.Units = nil
	}
	if len(in.EnvFiles) == 0 {
		in.EnvFiles = nil
	}
	if in.Pending != nil {
		in.Pending.Choices = in.Pending.Choices.Canonical()
		if len(in.Pending.Images) == 0 {
			in.Pending.Images = nil
		}
	}
}

func normalizeTimes(in *Installed) {
	utc := func(t *time.Time) { *t = t.UTC() }
	utc(&in.PhaseSince)
	utc(&in.Last.At)
	utc(&in.InstalledAt)
	utc(&in.UpdatedAt)
	if len(in.Images) > 0 {
		in.Images = slices.Clone(in.Images)
		for i := range in.Images {
			utc(&in.Images[i].PulledAt)
		}
	}
	if in.Pending != nil {
		p := *in.Pending
		p.Images = slices.Clone(p.Images)
		for i := range p.Images {
			utc(&p.Images[i].PulledAt)
		}
		in.Pending = &p
	}
}
