package catalog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// RootFile is the index of a metastore: lower-case rock-on names mapped to
// definition file names.
const RootFile = "root.json"

// Catalog is an immutable set of rock-ons, looked up by name
// case-insensitively (root.json keys are lower-case, definitions Title
// Case). The zero value and nil are empty catalogs.
type Catalog struct {
	defs     map[string]*RockOn // by strings.ToLower(Name)
	keys     []string           // sorted lower-case names
	problems Problems
}

// Len is the number of rock-ons.
func (c *Catalog) Len() int {
	if c == nil {
		return 0
	}
	return len(c.keys)
}

// Names lists the rock-on names as defined (e.g. "Immich"), sorted
// case-insensitively.
func (c *Catalog) Names() []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.keys))
	for i, k := range c.keys {
		out[i] = c.defs[k].Name
	}
	return out
}

// Get finds a rock-on by name, ignoring case.
func (c *Catalog) Get(name string) (*RockOn, bool) {
	if c == nil {
		return nil, false
	}
	r, ok := c.defs[strings.ToLower(name)]
	return r, ok
}

// All lists the rock-ons in Names order.
func (c *Catalog) All() []*RockOn {
	if c == nil {
		return nil
	}
	out := make([]*RockOn, len(c.keys))
	for i, k := range c.keys {
		out[i] = c.defs[k]
	}
	return out
}

// Problems lists what was found wrong while building the catalog: errors
// (the rock-on concerned is left out) and warnings (it is kept).
func (c *Catalog) Problems() Problems {
	if c == nil {
		return nil
	}
	return c.problems
}

// Errors returns the errors among Problems, as errors.
func (c *Catalog) Errors() []error {
	var out []error
	for _, p := range c.Problems() {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// fileResult is one decoded file of a metastore.
type fileResult struct {
	file  string
	defs  []*RockOn
	probs Problems
}

// build assembles a catalog from layers of decoded files; a rock-on of a
// later layer replaces one of the same name from an earlier layer (local
// definitions override remote ones, as in Rockstor). Within a layer a
// second definition of a name is an error. Then, in name order, a rock-on
// reusing a container name already taken by an earlier one is refused:
// container names are engine names, unique on the host, and Rockstor
// refuses such a catalog entry too.
func build(layers ...[]fileResult) *Catalog {
	c := &Catalog{defs: map[string]*RockOn{}}
	for _, layer := range layers {
		inLayer := map[string]*RockOn{}
		for _, fr := range layer {
			c.problems = append(c.problems, fr.probs...)
			for _, r := range fr.defs {
				k := strings.ToLower(r.Name)
				if prev, dup := inLayer[k]; dup {
					c.problems = append(c.problems, problemf(r.File, childPath("$", r.Name),
						"rock-on %q is already defined in %s", r.Name, prev.File))
					continue
				}
				inLayer[k] = r
				c.defs[k] = r
			}
		}
	}
	keys := make([]string, 0, len(c.defs))
	for k := range c.defs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	owner := map[string]*RockOn{} // container name -> rock-on
	for _, k := range keys {
		r := c.defs[k]
		ok := true
		for _, ct := range r.Containers {
			if o, taken := owner[ct.Name]; taken {
				c.problems = append(c.problems, problemf(r.File,
					childPath(childPath(childPath("$", r.Name), "containers"), ct.Name),
					"container name %q is already used by rock-on %q (%s)", ct.Name, o.Name, o.File))
				ok = false
			}
		}
		if !ok {
			delete(c.defs, k)
			continue
		}
		for _, ct := range r.Containers {
			owner[ct.Name] = r
		}
		c.keys = append(c.keys, k)
	}
	return c
}

// FromDefs builds a catalog from decoded rock-ons, applying the same
// catalog-wide checks as LoadDir (for callers that decode themselves).
func FromDefs(defs []*RockOn) *Catalog {
	return build([]fileResult{{defs: defs}})
}

// LoadDir reads a local metastore: the files root.json lists when there is
// one, else every *.json file. A broken file never hides the others: the
// catalog keeps every valid rock-on, and the returned errors (each a
// Problem) say what was left out and why.
func LoadDir(dir string) (*Catalog, []error) {
	c := build(loadDir(dir, false))
	return c, c.Errors()
}

// loadDir decodes a metastore directory; problems name files by base name,
// or by their path when fullNames is set (for a report the user reads).
func loadDir(dir string, fullNames bool) []fileResult {
	name := func(base string) string {
		if fullNames {
			return filepath.Join(dir, base)
		}
		return base
	}
	root := filepath.Join(dir, RootFile)
	data, err := readCapped(root)
	switch {
	case err == nil:
		entries, probs := decodeRoot(name(RootFile), data)
		out := []fileResult{{file: name(RootFile), probs: probs}}
		for _, e := range entries {
			out = append(out, loadFile(filepath.Join(dir, e.File), name(e.File)))
		}
		return out
	case !errors.Is(err, fs.ErrNotExist):
		return []fileResult{{file: name(RootFile), probs: Problems{problemf(name(RootFile), "", "%v", err)}}}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return []fileResult{{file: dir, probs: Problems{problemf(dir, "", "%v", err)}}}
	}
	if _, err := os.Stat(dir); err != nil {
		return []fileResult{{file: dir, probs: Problems{problemf(dir, "", "%v", err)}}}
	}
	sort.Strings(files)
	var out []fileResult
	for _, f := range files {
		out = append(out, loadFile(f, name(filepath.Base(f))))
	}
	return out
}

// loadFile reads and decodes one definition file; name is how problems
// refer to it.
func loadFile(path, name string) fileResult {
	data, err := readCapped(path)
	if err != nil {
		return fileResult{file: name, probs: Problems{problemf(name, "", "%v", err)}}
	}
	defs, probs := decodeFile(name, data)
	return fileResult{file: name, defs: defs, probs: probs}
}

// readCapped reads a file refusing more than MaxFileSize bytes, so that a
// huge or endless file (a FIFO, /dev/zero) costs nothing.
func readCapped(path string) ([]byte, error) { return readCappedN(path, MaxFileSize) }

func readCappedN(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("reading %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("reading %s: file larger than %d bytes", path, limit)
	}
	return data, nil
}

// RootEntry is one line of root.json.
type RootEntry struct {
	Name string // lower-case rock-on name, e.g. "immich"
	File string // definition file, e.g. "immich.json"
}

// decodeRoot reads root.json. File names must be plain *.json base names:
// the index may come from a remote server and must not reach outside the
// metastore (or the cache directory) with "../" or "/".
func decodeRoot(file string, data []byte) ([]RootEntry, Problems) {
	if len(data) > MaxFileSize {
		return nil, Problems{problemf(file, "", "file larger than %d bytes", MaxFileSize)}
	}
	var probs Problems
	root, err := parseTree(data, func(p, msg string) { probs = append(probs, problemf(file, p, "%s", msg)) })
	if err != nil {
		var pe pathError
		if errors.As(err, &pe) {
			return nil, Problems{problemf(file, pe.path, "%s", pe.msg)}
		}
		return nil, Problems{problemf(file, "", "%v", err)}
	}
	if root.kind != kindObject {
		return nil, Problems{problemf(file, "$", "must be an object mapping rock-on names to file names, got %s", describe(root))}
	}
	var out []RootEntry
	seen := map[string]bool{}
	for i, k := range root.keys {
		v := root.vals[i]
		if v.kind != kindString {
			probs = append(probs, problemf(file, v.path, "must be a file name string, got %s", describe(v)))
			continue
		}
		if msg := checkFileName(v.str); msg != "" {
			probs = append(probs, problemf(file, v.path, "file name %q %s", v.str, msg))
			continue
		}
		if seen[v.str] {
			continue
		}
		seen[v.str] = true
		out = append(out, RootEntry{Name: k, File: v.str})
	}
	return out, probs
}

func checkFileName(s string) string {
	switch {
	case !strings.HasSuffix(s, ".json") || s == ".json":
		return "must end in .json"
	case s == RootFile:
		return "must not be the index itself"
	case strings.ContainsAny(s, `/\`) || strings.HasPrefix(s, "."):
		return "must be a plain file name (no '/', '\\' or leading '.')"
	case len(s) > 255:
		return "longer than 255 bytes"
	case checkText(s, false) != "":
		return "contains control characters"
	}
	return ""
}

// ValidatePaths checks definition files and metastore directories offline,
// for `rockon validate [FILES|DIRS...]`: each file is decoded, each
// directory loaded as LoadDir does (a root.json given as a file stands for
// its directory), and everything given is then checked together as one
// catalog (duplicate rock-on names, container names used twice). The report
// has one Problem per line to print (Problem.String gives
// "file: $.json.path: message"), errors and warnings; ok is false when any
// is an error.
func ValidatePaths(paths []string) (report Problems, ok bool) {
	_, report, ok = ValidatePathsCatalog(paths)
	return report, ok
}

// ValidatePathsCatalog is ValidatePaths, also returning the definitions
// that decoded, for checks that belong to other packages (what their
// engine options need: unitgen.RequiredConsent).
func ValidatePathsCatalog(paths []string) (cat *Catalog, report Problems, ok bool) {
	var results []fileResult
	for _, p := range paths {
		st, err := os.Stat(p)
		switch {
		case err != nil:
			results = append(results, fileResult{file: p, probs: Problems{problemf(p, "", "%v", err)}})
		case st.IsDir():
			results = append(results, loadDir(p, true)...)
		case filepath.Base(p) == RootFile:
			results = append(results, loadDir(filepath.Dir(p), true)...)
		default:
			results = append(results, loadFile(p, p))
		}
	}
	c := build(results)
	return c, c.problems, !c.problems.HasErrors()
}
