package unitgen

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenOptions are fixed host answers so that golden output is stable:
// every volume is owned by 1000:100, the docker group is 998.
func goldenOptions(engine string) Options {
	return Options{
		Host:      model.Host{Engine: engine},
		PathOwner: func(string) (int, int, error) { return 1000, 100, nil },
		DockerGID: func() (int, error) { return 998, nil },
	}
}

func loadDef(t testing.TB, file string) *catalog.RockOn {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := catalog.Decode(file, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 {
		t.Fatalf("%s: %d definitions, want 1", file, len(defs))
	}
	return defs[0]
}

// TestGolden compiles each testdata/golden/CASE/definition.json with
// CASE/install.toml for both engines and compares every file with
// CASE/ENGINE/ (units, env/ for env files, warnings.txt). -update
// rewrites them.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/golden/*/definition.json")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, defFile := range cases {
		dir := filepath.Dir(defFile)
		def := loadDef(t, defFile)
		data, err := os.ReadFile(filepath.Join(dir, "install.toml"))
		if err != nil {
			t.Fatal(err)
		}
		ch, err := model.DecodeChoices(data)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, engine := range []string{Docker, Podman} {
			t.Run(filepath.Base(dir)+"/"+engine, func(t *testing.T) {
				res, err := Compile(def, ch, goldenOptions(engine))
				if err != nil {
					t.Fatal(err)
				}
				got := map[string][]byte{}
				for _, f := range res.Units {
					if f.Mode != 0o644 {
						t.Errorf("%s: mode %o, want 644", f.Name, f.Mode)
					}
					got[f.Name] = f.Content
				}
				for _, f := range res.EnvFiles {
					if f.Mode != 0o600 {
						t.Errorf("%s: mode %o, want 600", f.Name, f.Mode)
					}
					got["env/"+f.Name] = f.Content
				}
				var w bytes.Buffer
				for _, s := range res.Warnings {
					fmt.Fprintln(&w, s)
				}
				got["warnings.txt"] = w.Bytes()
				compareGolden(t, filepath.Join(dir, engine), got)
			})
		}
	}
}

func compareGolden(t *testing.T, dir string, got map[string][]byte) {
	t.Helper()
	if *update {
		os.RemoveAll(dir)
		for name, content := range got {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var want []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			want = append(want, rel)
		}
		return nil
	})
	sort.Strings(want)
	var gotNames []string
	for n := range got {
		gotNames = append(gotNames, n)
	}
	sort.Strings(gotNames)
	if strings.Join(want, " ") != strings.Join(gotNames, " ") {
		t.Errorf("files differ (run with -update?):\n got  %v\n want %v", gotNames, want)
	}
	for _, n := range want {
		exp, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := got[n]; ok && !bytes.Equal(g, exp) {
			t.Errorf("%s differs from %s (run with -update?):\n--- got\n%s\n--- want\n%s", n, dir, g, exp)
		}
	}
}
