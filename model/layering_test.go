package model_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// layers lists, for each package of rockon, the packages of rockon it may
// import (directly; test files aside). The arrows point down only:
//
//   - model is the leaf: the shared words, importing nothing of rockon;
//   - catalog reads definitions; unitgen compiles them and stays pure (no
//     state, engine, systemd or bus); export writes what unitgen decided;
//   - state stores records and the configuration; engine runs the CLIs;
//     metrics counts; backup is a file format;
//   - daemon ties them together and does not know the bus: dbus is the
//     transport alone, it knows only model;
//   - the commands sit on top. The CLI never links the daemon.
//
// A package not listed here fails the test until its layer is chosen.
var layers = map[string][]string{
	"model":                      {},
	"catalog":                    {"model"},
	"unitgen":                    {"catalog", "model"},
	"export":                     {"catalog", "model", "unitgen"},
	"state":                      {"catalog", "model"},
	"engine":                     {"model"},
	"metrics":                    {"model"},
	"backup":                     {"catalog", "model", "state"},
	"daemon":                     {"backup", "catalog", "engine", "export", "metrics", "model", "state", "unitgen"},
	"dbus":                       {"model"},
	"cmd/rockon":                 {"backup", "catalog", "dbus", "model", "state", "unitgen"},
	"cmd/rockond":                {"daemon", "dbus", "metrics", "model", "state", "unitgen"},
	"sandbox":                    {},
	"sandbox/cmd/rockon-sandbox": {"sandbox"},
	"testimage":                  {},
	"bench":                      {"catalog", "dbus", "model", "sandbox"},
	"hardening":                  {},
	"cockpit":                    {},
	"packaging":                  {},
}

const module = "github.com/rockon/rockon/"

func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		name := strings.TrimPrefix(p.ImportPath, module)
		allowed, ok := layers[name]
		if !ok {
			t.Errorf("package %s has no layer: add it to layers with the packages it may import", name)
			continue
		}
		for _, imp := range p.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if ours && !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s, which the layering forbids (it may import: %s)", name, dep, strings.Join(allowed, ", "))
			}
		}
	}
	if seen < 10 {
		t.Errorf("go list found %d packages; the module has more", seen)
	}
}
