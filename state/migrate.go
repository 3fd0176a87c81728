package state

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/BurntSushi/toml"
)

// migrations[v] turns a decoded schema-v document into a schema v+1 one.
// They work on the generic TOML tree, so that an old file never has to fit
// the current Go types. A new schema adds an entry here and a test with a
// hand-written file of the old version.
var migrations = map[int]func(doc map[string]any) error{
	0: migrate0to1,
}

// migrate brings a file of schema from up to CurrentSchema and returns the
// result as TOML. The file on disk is not changed: the next Save writes the
// current schema.
func migrate(file string, data []byte, from int) ([]byte, error) {
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil, tomlError(file, data, err)
	}
	for v := from; v < CurrentSchema; v++ {
		if err := migrations[v](doc); err != nil {
			return nil, &FileError{File: file, Err: fmt.Errorf("migrating from schema %d: %w", v, err)}
		}
		doc["schema"] = int64(v + 1)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(doc); err != nil {
		return nil, &FileError{File: file, Err: fmt.Errorf("re-encoding after migration: %w", err)}
	}
	return buf.Bytes(), nil
}

// migrate0to1 converts the layout of the development builds that predate
// versioning (schema = 0):
//
//	enabled = true                           -> desired = "on"
//	installed = <datetime>                   -> installed_at
//	[images] <container> = {ref=…, id=…}     -> [[images]] container=…, ref=…, id=…
//	[unit_hashes] "<unit>" = "<sha256>"      -> [[units]] name=…, sha256=…
//
// and sets phase = "installed": schema 0 had no transaction marker and only
// recorded finished installs.
func migrate0to1(doc map[string]any) error {
	if v, ok := doc["enabled"]; ok {
		on, ok := v.(bool)
		if !ok {
			return fmt.Errorf("enabled must be a boolean, not %T", v)
		}
		doc["desired"] = string(DesiredOff)
		if on {
			doc["desired"] = string(DesiredOn)
		}
		delete(doc, "enabled")
	}
	if v, ok := doc["installed"]; ok {
		doc["installed_at"] = v
		delete(doc, "installed")
	}
	if err := tableToList(doc, "images", "images", func(container string, v any) (map[string]any, error) {
		im, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("images.%s must be a table, not %T", container, v)
		}
		e := map[string]any{"container": container}
		for k, v := range im {
			e[k] = v
		}
		return e, nil
	}); err != nil {
		return err
	}
	if err := tableToList(doc, "unit_hashes", "units", func(name string, h any) (map[string]any, error) {
		return map[string]any{"name": name, "sha256": h}, nil
	}); err != nil {
		return err
	}
	if _, ok := doc["phase"]; !ok {
		doc["phase"] = string(PhaseInstalled)
	}
	return nil
}

// tableToList replaces doc[from], a table of entries by name, with
// doc[to], an array of the tables entry makes of them in the order of
// their names.
func tableToList(doc map[string]any, from, to string, entry func(name string, v any) (map[string]any, error)) error {
	v, ok := doc[from]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s must be a table, not %T", from, v)
	}
	var list []map[string]any
	for _, name := range slices.Sorted(maps.Keys(m)) {
		e, err := entry(name, m[name])
		if err != nil {
			return err
		}
		list = append(list, e)
	}
	delete(doc, from)
	doc[to] = list
	return nil
}
