package backup

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
)

const def = `{"Web": {"description": "d", "version": "1", "website": "https://example.org",
  "containers": {"web": {"image": "localhost/x", "tag": "1", "launch_order": 1,
    "environment": {"PASSWORD": {"description": "p", "label": "Password"}}}}}}`

func sample() *File {
	return &File{Format: Format, Version: Version, CreatedAt: time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC), Host: "nas",
		Config: *state.DefaultConfig(),
		RockOns: []RockOn{{Name: "Web", Desired: state.DesiredOn, AutoUpdate: true, Source: "https://example.org/web.json", Definition: state.Definition(def),
			Choices: model.Choices{Containers: map[string]model.ContainerChoices{"web": {Env: map[string]string{"PASSWORD": "s3cret'''\"\n$x"}, Ports: map[string]int{"80": 8080}}}, Consent: []string{"privileged"}}}},
	}
}

// TestRoundTrip: what Encode writes, Decode reads back the same, secrets
// (with quotes and newlines) included.
func TestRoundTrip(t *testing.T) {
	f := sample()
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Decode("b.toml", b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if !reflect.DeepEqual(f.RockOns, g.RockOns) || !f.CreatedAt.Equal(g.CreatedAt) || g.Host != "nas" {
		t.Errorf("round trip:\n%+v\n%+v", f.RockOns, g.RockOns)
	}
	if !reflect.DeepEqual(f.Config, g.Config) {
		t.Errorf("config round trip:\n%+v\n%+v", f.Config, g.Config)
	}
	if !strings.HasPrefix(string(b), "# rockon backup") || !strings.Contains(string(b), "secrets") {
		t.Errorf("no header saying it holds secrets:\n%s", b)
	}
}

// TestDecodeRefuses: files that are not backups this rockon can restore.
func TestDecodeRefuses(t *testing.T) {
	good, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ from, to, want string }{
		"newer":        {"version = 2", "version = 3", "version 3; this rockon reads versions 1 to 2"},
		"other format": {`format = "rockon-backup"`, `format = "x"`, `not a rockon backup`},
		"unknown key":  {"version = 2", "version = 2\nextra = 1", "unknown key extra"},
		"bad desired":  {`desired = "on"`, `desired = "maybe"`, `desired state "maybe"`},
		"other name":   {`name = "Web"`, `name = "Other"`, `does not define "Other"`},
	} {
		b := strings.Replace(string(good), tc.from, tc.to, 1)
		if b == string(good) {
			t.Fatalf("%s: %q not in the file", name, tc.from)
		}
		if _, err := Decode("b.toml", []byte(b)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	f := sample()
	f.RockOns = append(f.RockOns, f.RockOns[0])
	b, _ := Encode(f)
	if _, err := Decode("b.toml", b); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("duplicate: %v", err)
	}
}

// TestReadsVersion1: a file of version 1 (before auto_update) still
// reads, with no rock-on opted in.
func TestReadsVersion1(t *testing.T) {
	f := sample()
	f.Version, f.RockOns[0].AutoUpdate = 1, false
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Decode("v1.toml", b)
	if err != nil || g.Version != 1 || g.RockOns[0].AutoUpdate {
		t.Errorf("version 1: %v, %+v", err, g)
	}
}

func TestSelect(t *testing.T) {
	f := sample()
	f.RockOns = append(f.RockOns, RockOn{Name: "Home Assistant"})
	sel, missing := f.Select([]string{"home-assistant", "nope"})
	if len(sel) != 1 || sel[0].Name != "Home Assistant" || !reflect.DeepEqual(missing, []string{"nope"}) {
		t.Errorf("Select = %v, %v", sel, missing)
	}
	if sel, _ := f.Select(nil); len(sel) != 2 {
		t.Errorf("Select(nil) = %d rock-ons", len(sel))
	}
}
