package state

import (
	"bytes"
	"cmp"
	"fmt"
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
	if v, ok := doc["images"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("images must be a table, not %T", v)
		}
		var list []map[string]any
		for container, iv := range m {
			im, ok := iv.(map[string]any)
			if !ok {
				return fmt.Errorf("images.%s must be a table, not %T", container, iv)
			}
			e := map[string]any{"container": container}
			for k, v := range im {
				e[k] = v
			}
			list = append(list, e)
		}
		slices.SortFunc(list, func(a, b map[string]any) int {
			return cmp.Compare(a["container"].(string), b["container"].(string))
		})
		doc["images"] = list
	}
	if v, ok := doc["unit_hashes"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("unit_hashes must be a table, not %T", v)
		}
		var list []map[string]any
		for name, h := range m {
			list = append(list, map[string]any{"name": name, "sha256": h})
		}
		slices.SortFunc(list, func(a, b map[string]any) int {
			return cmp.Compare(a["name"].(string), b["name"].(string))
		})
		doc["units"] = list
		delete(doc, "unit_hashes")
	}
	if _, ok := doc["phase"]; !ok {
		doc["phase"] = string(PhaseInstalled)
	}
	return nil
}
