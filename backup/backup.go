// Package backup is the format of `rockon backup`: one TOML file with
// rockond's configuration and every installed rock-on's definition,
// choices, desired state and automatic-update opt-in, from which `rockon restore` installs them
// again on a fresh host. It holds no container data, and it holds secrets
// (the choices' environment and custom values).
//
// The file is versioned: Decode refuses a file of a newer version, and a
// later version of rockon reads every older one.
package backup

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
)

// Format names the kind of file; Version is the version this rockon
// writes. Version 2 added a rock-on's auto_update; a version 1 file reads
// as one with none opted in.
const (
	Format  = "rockon-backup"
	Version = 2
)

// File is a backup.
type File struct {
	Format    string    `toml:"format"`
	Version   int       `toml:"version"`
	CreatedAt time.Time `toml:"created_at"`
	Host      string    `toml:"host,omitempty"`
	// Config is rockond's configuration as it was in force (every key,
	// defaults included).
	Config state.Config `toml:"config"`
	// RockOns are the installed rock-ons, sorted by name.
	RockOns []RockOn `toml:"rockon"`
}

// RockOn is one installed rock-on.
type RockOn struct {
	Name    string        `toml:"name"`
	Desired state.Desired `toml:"desired"`
	Source  string        `toml:"source,omitempty"`
	// Definition is the definition JSON exactly as installed.
	Definition state.Definition `toml:"definition"`
	Choices    model.Choices    `toml:"choices,omitempty"`
	// AutoUpdate: the rock-on was opted in to the automatic update one by
	// one (state.Installed.AutoUpdate); a restore opts it in again.
	AutoUpdate bool `toml:"auto_update,omitempty"`
}

// Encode writes f as TOML.
func Encode(f *File) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# rockon backup: rockond's configuration and the installed rock-ons with their\n" +
		"# settings. It holds secrets (environment values): keep it private.\n")
	if err := toml.NewEncoder(&b).Encode(f); err != nil {
		return nil, fmt.Errorf("encoding the backup: %w", err)
	}
	return b.Bytes(), nil
}

// Decode reads a backup, strictly: an unknown key, another format, a newer
// version, a rock-on without a name, a duplicate name, a definition that
// does not decode or does not define the named rock-on, are errors naming
// what is wrong.
func Decode(file string, data []byte) (*File, error) {
	var f File
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return nil, fmt.Errorf("reading backup %s: %w", file, err)
	}
	if f.Format != Format {
		return nil, fmt.Errorf("reading backup %s: not a rockon backup (format %q, want %q)", file, f.Format, Format)
	}
	if f.Version < 1 || f.Version > Version {
		return nil, fmt.Errorf("reading backup %s: version %d; this rockon reads versions 1 to %d", file, f.Version, Version)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("reading backup %s: unknown key %s", file, und[0])
	}
	seen := map[string]bool{}
	for i, r := range f.RockOns {
		where := fmt.Sprintf("reading backup %s: rockon %d", file, i+1)
		if r.Name == "" {
			return nil, fmt.Errorf("%s: no name", where)
		}
		slug := model.Slug(r.Name)
		if seen[slug] {
			return nil, fmt.Errorf("%s: %q appears twice", where, r.Name)
		}
		seen[slug] = true
		if r.Desired != state.DesiredOn && r.Desired != state.DesiredOff {
			return nil, fmt.Errorf("%s (%s): desired state %q (want on or off)", where, r.Name, r.Desired)
		}
		if _, err := r.Decode(); err != nil {
			return nil, fmt.Errorf("%s (%s): %w", where, r.Name, err)
		}
	}
	return &f, nil
}

// Decode returns the rock-on's definition.
func (r RockOn) Decode() (*catalog.RockOn, error) {
	defs, err := catalog.Decode(r.Name+" (backup)", r.Definition)
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		if d.Name == r.Name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("its definition does not define %q", r.Name)
}

// Select returns the rock-ons named (all when names is empty), in the
// file's order, and the names no rock-on of the file has.
func (f *File) Select(names []string) (sel []RockOn, missing []string) {
	if len(names) == 0 {
		return f.RockOns, nil
	}
	for _, n := range names {
		if !slices.ContainsFunc(f.RockOns, func(r RockOn) bool { return sameName(r.Name, n) }) {
			missing = append(missing, n)
		}
	}
	for _, r := range f.RockOns {
		if slices.ContainsFunc(names, func(n string) bool { return sameName(r.Name, n) }) {
			sel = append(sel, r)
		}
	}
	return sel, missing
}

// sameName: a rock-on is named by its name or its slug, as everywhere.
func sameName(name, n string) bool {
	return name == n || strings.EqualFold(name, n) || model.Slug(name) == n
}
