package hardening

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/unitgen"
)

// FuzzUnitStructure: whatever a command argument from the catalog and an
// env value from the user hold, the compiled units have exactly the
// directives of the same rock-on with harmless values, and the env file
// exactly one line per variable. (TestUnitInjection runs the hand-picked
// values through real systemd and podman.)
func FuzzUnitStructure(f *testing.F) {
	for _, iv := range injectionValues {
		f.Add(iv.value, iv.value)
	}
	f.Add("a\\", "%%")
	ref, err := compileStructure("plain", "plain")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, arg, env string) {
		got, err := compileStructure(arg, env)
		if err != nil {
			return // refused: fine (the value tests check the field is named)
		}
		for name, keys := range ref.keys {
			if !slices.Equal(got.keys[name], keys) {
				t.Fatalf("arg %q env %q: %s has directives\n%q\nwant\n%q", arg, env, name, got.keys[name], keys)
			}
		}
		if got.envLines != ref.envLines {
			t.Fatalf("arg %q env %q: env file has %d lines, want %d", arg, env, got.envLines, ref.envLines)
		}
	})
}

type structure struct {
	keys     map[string][]string
	envLines int
}

func compileStructure(arg, env string) (*structure, error) {
	c := webContainer()
	c["cmd_arguments"] = [][]string{{arg, ""}}
	defs, err := catalog.Decode("fuzz.json", defJSON("Fuzz", map[string]container{"web": c}))
	if err != nil {
		return nil, err
	}
	res, err := unitgen.Compile(defs[0], webChoices(env), options())
	if err != nil {
		return nil, err
	}
	s := &structure{keys: map[string][]string{}}
	for _, f := range res.Units {
		s.keys[f.Name] = unitKeys(f.Content)
	}
	for _, f := range res.EnvFiles {
		s.envLines += bytes.Count(f.Content, []byte("\n"))
	}
	return s, nil
}
