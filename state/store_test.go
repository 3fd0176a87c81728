package state

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rockon/rockon/model"
)

// definitionJSON is a registry-style definition with containers
// containers, about 1.3 KB each, like the larger files of the catalog.
func definitionJSON(name string, containers int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n  %q: {\n    \"description\": \"<p>%s keeps your things.</p>\",\n", name, name)
	b.WriteString("    \"version\": \"1.0\",\n    \"website\": \"https://example.org/\",\n")
	b.WriteString("    \"ui\": {\"slug\": \"\"},\n    \"volume_add_support\": true,\n    \"containers\": {\n")
	for i := range containers {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `      "c%d": {
        "image": "example.org/app/c%d",
        "tag": "2.%d",
        "launch_order": %d,
        "ports": {
          "%d": {"description": "Web UI. Suggested default: %d.", "host_default": %d, "label": "Web port", "protocol": "tcp", "ui": true}
        },
        "volumes": {
          "/config": {"description": "Choose a share for the configuration. Example: app-config", "label": "Config"},
          "/data": {"description": "Choose a share for the data. Example: app-data", "label": "Data"}
        },
        "environment": {
          "PUID": {"description": "Enter a valid UID to run as. Example: 1000", "label": "UID", "index": 1},
          "PGID": {"description": "Enter a valid GID to run as. Example: 1000", "label": "GID", "index": 2},
          "TZ": {"description": "Time zone, e.g. Europe/Paris", "label": "Time zone", "index": 3}
        },
        "opts": [["--shm-size", "1g"], ["--init", ""]]
      }`, i, i, i, i+1, 8000+i, 8000+i, 8000+i)
	}
	b.WriteString("\n    }\n  }\n}\n")
	return []byte(b.String())
}

var t0 = time.Date(2026, 11, 24, 10, 30, 15, 123456789, time.UTC)

// fullInstalled sets every field, so a round trip covers them all
// (TestFullInstalledHasNoZeroField keeps it so).
func fullInstalled(name string) *Installed {
	return &Installed{
		Schema:      CurrentSchema,
		Name:        name,
		Phase:       PhaseUpdating,
		PhaseSince:  t0.Add(5 * time.Hour),
		Desired:     DesiredOn,
		Last:        LastState{State: "partial", At: t0.Add(6 * time.Hour), Message: "rockon-x-db.service failed: exit code 1\n\"quoted\""},
		AutoUpdate:  true,
		InstalledAt: t0,
		UpdatedAt:   t0.Add(time.Hour),
		Source:      "http://rockstor.com/rockons/x.json",
		Definition:  definitionJSON(name, 2),
		Choices:     fullChoices("c0", "c1"),
		Images: []Image{
			{Container: "c0", Ref: "example.org/app/c0:2.0", ID: "sha256:" + strings.Repeat("a", 64), Digest: "example.org/app/c0@sha256:" + strings.Repeat("b", 64), PulledAt: t0.Add(time.Minute), Volumes: []string{"/data/db", "/state"}},
			{Container: "c1", Ref: "example.org/app/c1:2.1", ID: "sha256:" + strings.Repeat("c", 64), Digest: "example.org/app/c1@sha256:" + strings.Repeat("d", 64), PulledAt: t0.Add(2 * time.Minute), Volumes: []string{"/var/lib/x"}},
		},
		Units: []GeneratedFile{
			{Name: "rockon-x.target", SHA256: ContentHash([]byte("target"))},
			{Name: "rockon-x-c0.service", SHA256: ContentHash([]byte("c0"))},
		},
		EnvFiles: []GeneratedFile{{Name: "rockon-x-c0.env", SHA256: ContentHash([]byte("PUID=1000\n"))}},
		Pending: &Change{
			Source:     "/etc/rockon/rockons.d/x.json",
			Definition: definitionJSON(name, 3),
			Choices:    fullChoices("c2"),
			Images:     []Image{{Container: "c2", Ref: "example.org/app/c2:2.2", ID: "sha256:" + strings.Repeat("e", 64), Digest: "d", PulledAt: t0.Add(3 * time.Hour), Volumes: []string{"/v"}}},
		},
	}
}

func fullChoices(containers ...string) model.Choices {
	ch := model.Choices{
		Containers:   map[string]model.ContainerChoices{},
		CustomConfig: map[string]string{"iface": "eth0", "odd key = \"x\"": "odd value\n"},
		Consent:      []string{"privileged", "cap-add:NET_ADMIN"},
	}
	for i, c := range containers {
		ch.Containers[c] = model.ContainerChoices{
			Ports:    map[string]int{fmt.Sprint(8000 + i): 18000 + i, "53/udp": 0},
			Volumes:  map[string]string{"/config": "app-config", "/data": "/srv/rockon/data", "/extra": "media"},
			Env:      map[string]string{"PUID": "1000", "PASSWORD": "s3cr3t \"=' \\ \n\t ünï"},
			Devices:  map[string]string{"GPU": "/dev/dri", "UNUSED": ""},
			Labels:   map[string]string{"traefik.enable": "true"},
			Networks: []string{"proxy", "backend"},
			Memory:   "512M",
			CPUs:     "1.5",
		}
	}
	return ch
}

func TestFullInstalledHasNoZeroField(t *testing.T) {
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				t.Errorf("%s is nil", path)
				return
			}
			walk(path, v.Elem())
		case reflect.Struct:
			if v.Type() == reflect.TypeOf(time.Time{}) {
				if v.Interface().(time.Time).IsZero() {
					t.Errorf("%s is zero", path)
				}
				return
			}
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Slice, reflect.Map:
			if v.Len() == 0 {
				t.Errorf("%s is empty", path)
			}
			if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct {
				for i := range v.Len() {
					walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
				}
			}
			if v.Kind() == reflect.Map && v.Type().Elem().Kind() == reflect.Struct {
				for _, k := range v.MapKeys() {
					walk(fmt.Sprintf("%s[%v]", path, k), v.MapIndex(k))
				}
			}
		default:
			if v.IsZero() {
				t.Errorf("%s is zero", path)
			}
		}
	}
	walk("Installed", reflect.ValueOf(fullInstalled("X")))
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRoundTripEveryField(t *testing.T) {
	s := openStore(t)
	in := fullInstalled("X")
	if err := s.Save(in); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, fullInstalled("X")) {
		t.Error("Save modified its argument")
	}
	got, err := s.Load("X")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		data, _ := os.ReadFile(s.Path("X"))
		t.Errorf("round trip differs\n got %+v\nwant %+v\nfile:\n%s", got, in, data)
	}

	// The steady state (no pending change) round-trips too.
	in.Phase, in.Pending = PhaseInstalled, nil
	if err := s.Save(in); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load("X"); err != nil || !reflect.DeepEqual(got, in) {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestTimesAreStoredInUTC(t *testing.T) {
	s := openStore(t)
	in := fullInstalled("X")
	in.InstalledAt = time.Now() // local zone, monotonic clock reading
	if err := s.Save(in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("X")
	if err != nil {
		t.Fatal(err)
	}
	if !got.InstalledAt.Equal(in.InstalledAt) || got.InstalledAt.Location() != time.UTC {
		t.Errorf("got %v, want %v in UTC", got.InstalledAt, in.InstalledAt)
	}
}

// The definition is kept byte for byte, whichever TOML string form its
// bytes need.
func TestDefinitionBytesExact(t *testing.T) {
	s := openStore(t)
	for _, def := range []string{
		`{"X":{}}`,
		"{\n\t\"X\": {\"description\": \"it's 'quoted'\"}\n}\n",
		"\n\n{\"X\": {}}\n\n",
		"{\"X\": {\"d\": \"'''\"}}",
		"{\"X\": {}}\r\n",
		"{\"X\": {\"d\": \"\x7f\"}} ",
		`{"X": {"d": "tail'"}}`,
		"{\"X\": {\"d\": \"ünïcödé \\u0000 \\\\ \\\"\"}}",
	} {
		in := fullInstalled("X")
		in.Pending, in.Phase = nil, PhaseInstalled
		in.Definition = Definition(def)
		if err := s.Save(in); err != nil {
			t.Fatalf("%q: %v", def, err)
		}
		got, err := s.Load("X")
		if err != nil {
			t.Fatalf("%q: %v", def, err)
		}
		if !bytes.Equal(got.Definition, in.Definition) {
			t.Errorf("definition %q came back as %q", def, got.Definition)
		}
	}
	// The common case is readable in the file: no escapes.
	in := fullInstalled("X")
	if err := s.Save(in); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(s.Path("X"))
	if !bytes.Contains(data, []byte("definition = '''\n"+string(in.Definition)+"'''")) {
		t.Errorf("definition not stored as a literal string:\n%s", data)
	}
}

func TestPermissions(t *testing.T) {
	for _, umask := range []int{0, 0o022, 0o077} {
		t.Run(fmt.Sprintf("umask %03o", umask), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			dir := filepath.Join(t.TempDir(), "state")
			// A directory that already exists with a lax mode is
			// tightened too.
			if err := os.Mkdir(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Save(fullInstalled("X")); err != nil {
				t.Fatal(err)
			}
			checkMode(t, dir, 0o700|fs.ModeDir)
			checkMode(t, s.Path("X"), 0o600)

			env := filepath.Join(t.TempDir(), "env")
			if err := EnsurePrivateDir(env); err != nil {
				t.Fatal(err)
			}
			checkMode(t, env, 0o700|fs.ModeDir)
			p := filepath.Join(env, "rockon-x-c0.env")
			if err := WriteFileAtomic(p, []byte("PASSWORD=x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			checkMode(t, p, 0o600)
			if err := WriteFileAtomic(filepath.Join(env, "u.service"), []byte("[Unit]\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			checkMode(t, filepath.Join(env, "u.service"), 0o644)
			if os.Geteuid() == 0 {
				other := filepath.Join(t.TempDir(), "other")
				if err := os.Mkdir(other, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Chown(other, 1000, 1000); err != nil {
					t.Fatal(err)
				}
				if err := EnsurePrivateDir(other); err != nil {
					t.Fatal(err)
				}
				var st syscall.Stat_t
				if err := syscall.Stat(other, &st); err != nil || st.Uid != 0 || st.Gid != 0 || st.Mode&0o777 != 0o700 {
					t.Errorf("directory of another user: uid %d gid %d mode %o (%v), want root 0700", st.Uid, st.Gid, st.Mode&0o777, err)
				}

				if err := syscall.Stat(s.Path("X"), &st); err != nil || st.Uid != 0 {
					t.Errorf("record owned by uid %d (%v), want root", st.Uid, err)
				}
			}
		})
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModeDir | fs.ModePerm); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}

func writeRaw(t *testing.T, s *Store, file, content string) string {
	t.Helper()
	p := filepath.Join(s.Dir(), file)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// recordTOML is a minimal valid record file, to edit by hand in tests.
func recordTOML(name string) string {
	return fmt.Sprintf(`schema = 1
name = %q
phase = "installed"
desired = "off"
definition = '{"%s": {}}'
`, name, name)
}

func TestRecordErrorsNameFileLineKey(t *testing.T) {
	s := openStore(t)
	for _, tc := range []struct {
		name, data string
		line       int
		key        string
		reason     string
	}{
		{"unknown key", recordTOML("X") + "desierd = \"on\"\n", 6, "desierd", "unknown key"},
		{"unknown key in table", recordTOML("X") + "[last]\nstate = \"running\"\nwhen = 2026-01-01T00:00:00Z\n", 8, "last.when", "unknown key"},
		{"unknown key in array of tables", recordTOML("X") + "[[units]]\nname = \"a.service\"\nsha = \"x\"\n", 8, "units.sha", "unknown key"},
		{"wrong type", strings.Replace(recordTOML("X"), `desired = "off"`, "desired = true", 1), 4, "desired", "invalid desired state"},
		{"wrong type in table", recordTOML("X") + "[last]\nstate = 1\n", 7, "last.state", "incompatible types"},
		{"wrong type in choices", recordTOML("X") + "[choices.containers.c0.ports]\n\"80\" = \"eighty\"\n", 7, `choices.containers.c0.ports.80`, "incompatible types"},
		{"invalid phase", strings.Replace(recordTOML("X"), `"installed"`, `"installd"`, 1), 3, "phase", "invalid phase"},
		{"escaping unit name", recordTOML("X") + "[[units]]\nname = \"../../etc/passwd\"\nsha256 = \"" + strings.Repeat("0", 64) + "\"\n", 6, "units", "not a plain file name"},
		{"bad hash", recordTOML("X") + "[[env_files]]\nname = \"x.env\"\nsha256 = \"abc\"\n", 6, "env_files", "64 lower-case hex"},
		{"bad definition", strings.Replace(recordTOML("X"), `'{"X": {}}'`, `'{"X": '`, 1), 5, "definition", "not valid JSON"},
		{"pending when not updating", recordTOML("X") + "[pending]\ndefinition = '{}'\n", 6, "pending", "only while updating"},
		{"syntax", recordTOML("X") + "last = [\n", 6, "last", "expected value"},
		{"wrong name", strings.Replace(recordTOML("X"), `name = "X"`, `name = "Y"`, 1), 2, "name", "does not belong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeRaw(t, s, "x.toml", tc.data)
			_, err := s.Load("X")
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want a *FileError", err, err)
			}
			if fe.File != p || fe.Line != tc.line || (tc.key != "" && fe.Key != tc.key) {
				t.Errorf("got file %q line %d key %q, want line %d key %q (%v)", fe.File, fe.Line, fe.Key, tc.line, tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not say %q", err, tc.reason)
			}
		})
	}
}

func TestNewerSchemaRefusedUntouched(t *testing.T) {
	s := openStore(t)
	content := strings.Replace(recordTOML("X"), "schema = 1", "schema = 2", 1) +
		"\n[future]\nfeature = \"something a newer rockon knows\"\n"
	p := writeRaw(t, s, "x.toml", content)
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(p, past, past); err != nil {
		t.Fatal(err)
	}

	_, err := s.Load("X")
	var se *SchemaError
	if !errors.As(err, &se) || se.Found != 2 || se.Supported != 1 || se.File != p {
		t.Fatalf("Load: got %v, want a SchemaError for schema 2", err)
	}
	if !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), "untouched") {
		t.Errorf("message not clear: %v", err)
	}
	if err := s.Save(fullInstalled("X")); !errors.Is(err, ErrUnreadable) || !errors.As(err, &se) {
		t.Errorf("Save over it: got %v, want ErrUnreadable with the SchemaError", err)
	}
	if err := s.Update("X", func(*Installed) error { return nil }); !errors.As(err, &se) {
		t.Errorf("Update: got %v", err)
	}
	if err := s.Delete("X"); !errors.Is(err, ErrUnreadable) {
		t.Errorf("Delete: got %v, want ErrUnreadable", err)
	}
	if _, errs := s.List(); len(errs) != 1 || !errors.As(errs[0], &se) {
		t.Errorf("List: got %v", errs)
	}
	data, err := os.ReadFile(p)
	if err != nil || string(data) != content {
		t.Errorf("file changed: %q, %v", data, err)
	}
	if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(past) {
		t.Errorf("file was rewritten (mtime %v)", fi.ModTime())
	}
}

// A file of schema 0, the layout before versioning, loads through the
// migration.
func TestSchema0Migrates(t *testing.T) {
	s := openStore(t)
	p := writeRaw(t, s, "home-assistant.toml", `schema = 0
name = "Home Assistant"
enabled = true
installed = 2024-03-01T12:00:00Z
definition = '{"Home Assistant": {}}'

[choices.containers.home-assistant.ports]
8123 = 8123

[images.home-assistant]
ref = "homeassistant/home-assistant:stable"
id = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

[images.db]
ref = "postgres:16"
id = "sha256:2222222222222222222222222222222222222222222222222222222222222222"

[unit_hashes]
"rockon-home-assistant.target" = "3333333333333333333333333333333333333333333333333333333333333333"
"rockon-home-assistant-db.service" = "4444444444444444444444444444444444444444444444444444444444444444"
`)
	before, _ := os.ReadFile(p)
	got, err := s.Load("Home Assistant")
	if err != nil {
		t.Fatal(err)
	}
	want := &Installed{
		Schema:      0,
		Name:        "Home Assistant",
		Phase:       PhaseInstalled,
		Desired:     DesiredOn,
		InstalledAt: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		Definition:  Definition(`{"Home Assistant": {}}`),
		Choices: model.Choices{Containers: map[string]model.ContainerChoices{
			"home-assistant": {Ports: map[string]int{"8123": 8123}},
		}},
		Images: []Image{
			{Container: "db", Ref: "postgres:16", ID: "sha256:" + strings.Repeat("2", 64)},
			{Container: "home-assistant", Ref: "homeassistant/home-assistant:stable", ID: "sha256:" + strings.Repeat("1", 64)},
		},
		Units: []GeneratedFile{
			{Name: "rockon-home-assistant-db.service", SHA256: strings.Repeat("4", 64)},
			{Name: "rockon-home-assistant.target", SHA256: strings.Repeat("3", 64)},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("migrated\n got %+v\nwant %+v", got, want)
	}
	// Loading does not rewrite; the next Save writes schema 1.
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Error("Load rewrote the file")
	}
	if err := s.Save(got); err != nil {
		t.Fatal(err)
	}
	again, err := s.Load("Home Assistant")
	if err != nil {
		t.Fatal(err)
	}
	want.Schema = CurrentSchema
	if !reflect.DeepEqual(again, want) {
		t.Errorf("after save\n got %+v\nwant %+v", again, want)
	}
}

func TestSchemaProblems(t *testing.T) {
	s := openStore(t)
	for _, tc := range []struct{ name, data, reason string }{
		{"missing", strings.Replace(recordTOML("X"), "schema = 1\n", "", 1), "schema: missing"},
		{"negative", strings.Replace(recordTOML("X"), "schema = 1", "schema = -1", 1), "unknown schema -1"},
		{"not a number", strings.Replace(recordTOML("X"), "schema = 1", `schema = "1"`, 1), "incompatible types"},
		{"bad old file", "schema = 0\nname = \"X\"\nenabled = \"yes\"\n", "enabled must be a boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeRaw(t, s, "x.toml", tc.data)
			_, err := s.Load("X")
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("got %v, want %q", err, tc.reason)
			}
		})
	}
}

func TestBrokenFileReportedOthersLoad(t *testing.T) {
	s := openStore(t)
	for _, n := range []string{"Alpha", "Gamma"} {
		if err := s.Save(fullInstalled(n)); err != nil {
			t.Fatal(err)
		}
	}
	broken := writeRaw(t, s, "beta.toml", recordTOML("Beta")+"oops\n")
	empty := writeRaw(t, s, "delta.toml", "")
	writeRaw(t, s, "notes.txt", "not a record")
	writeRaw(t, s, ".hidden.toml", "not a record either")

	recs, errs := s.List()
	if len(recs) != 2 || recs[0].Name != "Alpha" || recs[1].Name != "Gamma" {
		t.Errorf("got %d records, want Alpha and Gamma", len(recs))
	}
	if len(errs) != 2 {
		t.Fatalf("got errors %v, want 2", errs)
	}
	var fe *FileError
	if !errors.As(errs[0], &fe) || fe.File != broken || fe.Line != 6 {
		t.Errorf("first error %v, want %s line 6", errs[0], broken)
	}
	if !errors.Is(errs[1], ErrEmptyFile) || !strings.Contains(errs[1].Error(), empty) {
		t.Errorf("second error %v, want empty file %s", errs[1], empty)
	}

	// Save and Delete leave the broken file alone.
	before, _ := os.ReadFile(broken)
	if err := s.Save(fullInstalled("Beta")); !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "line 6") && !strings.Contains(err.Error(), ":6:") {
		t.Errorf("Save over broken: %v", err)
	}
	if err := s.Create(fullInstalled("Beta")); !errors.Is(err, ErrUnreadable) {
		t.Errorf("Create over broken: %v", err)
	}
	if err := s.Delete("Beta"); !errors.Is(err, ErrUnreadable) {
		t.Errorf("Delete broken: %v", err)
	}
	if after, _ := os.ReadFile(broken); !bytes.Equal(before, after) {
		t.Error("broken file changed")
	}

	// Quarantine resolves it; the content is kept aside.
	moved, err := s.Quarantine("Beta")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(moved), "beta.toml.broken-") {
		t.Errorf("quarantined as %s", moved)
	}
	if kept, _ := os.ReadFile(moved); !bytes.Equal(kept, before) {
		t.Error("quarantined content differs")
	}
	if _, err := s.Quarantine("Delta"); err != nil {
		t.Fatal(err)
	}
	if recs, errs := s.List(); len(recs) != 2 || len(errs) != 0 {
		t.Errorf("after quarantine: %d records, errors %v", len(recs), errs)
	}
	if err := s.Save(fullInstalled("Beta")); err != nil {
		t.Errorf("Save after quarantine: %v", err)
	}
	if _, err := s.Quarantine("Nothing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("quarantining a missing record: %v", err)
	}
}

func TestCreateDeleteAndNames(t *testing.T) {
	s := openStore(t)
	in := fullInstalled("Foo Bar")
	if err := s.Create(in); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(s.Path("Foo Bar")) != "foo-bar.toml" {
		t.Errorf("path %s", s.Path("Foo Bar"))
	}
	if err := s.Create(in); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create: %v, want fs.ErrExist", err)
	}
	// Another rock-on whose name has the same slug must not replace it.
	if err := s.Save(fullInstalled("foo-bar")); err == nil || !strings.Contains(err.Error(), "different rock-on") {
		t.Errorf("slug collision: %v", err)
	}
	if _, err := s.Load("Missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load missing: %v", err)
	}
	if err := s.Delete("foo-bar"); err == nil {
		t.Error("Delete removed the record of another name with the same slug")
	}
	if err := s.Delete("Foo Bar"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Path("Foo Bar")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file still there: %v", err)
	}
	if err := s.Delete("Foo Bar"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second Delete: %v", err)
	}
	if err := s.Save(fullInstalled("!!!")); err == nil {
		t.Error("a name without letters or digits was saved")
	}
	if err := s.Save(fullInstalled(strings.Repeat("long", 20))); err == nil {
		t.Error("a name whose slug cannot name units was saved")
	}
	bad := fullInstalled("X")
	bad.Units[0].Name = "../x"
	if err := s.Save(bad); err == nil || !strings.Contains(err.Error(), "units") {
		t.Errorf("invalid record saved: %v", err)
	}
	if _, err := os.Stat(s.Path("X")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("invalid record left a file")
	}
}

// Concurrent read-modify-writes of one rock-on lose no update.
func TestUpdateSerialized(t *testing.T) {
	s := openStore(t)
	in := fullInstalled("X")
	in.Last.Message = "0"
	if err := s.Save(in); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			err := s.Update("X", func(in *Installed) error {
				var v int
				fmt.Sscan(in.Last.Message, &v)
				in.Last.Message = fmt.Sprint(v + 1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
		// Readers run alongside and never see a partial file.
		wg.Go(func() {
			if _, err := s.Load("X"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := s.Load("X")
	if err != nil {
		t.Fatal(err)
	}
	if got.Last.Message != fmt.Sprint(n) {
		t.Errorf("counter %s, want %d", got.Last.Message, n)
	}
	failed := errors.New("no")
	if err := s.Update("X", func(in *Installed) error { in.Desired = DesiredOff; return failed }); !errors.Is(err, failed) {
		t.Errorf("got %v", err)
	}
	if got, _ := s.Load("X"); got.Desired != DesiredOn {
		t.Error("a failed Update wrote")
	}
	if err := s.Update("X", func(in *Installed) error { in.Name = "Y"; return nil }); err == nil {
		t.Error("Update renamed the rock-on")
	}
}

func TestOpenLocksDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: %v, want ErrLocked", err)
	}
	s.Close()
	s2, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestOpenRemovesOnlyStaleTemps(t *testing.T) {
	dir := t.TempDir()
	stale := []string{".x.toml" + tempMarker + "0123abcd", ".y.toml" + tempMarker + "ff"}
	keep := []string{".x.toml.swp", "x.toml", "notes" + tempMarker + "1", ".hidden"}
	for _, n := range append(stale, keep...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.CleanedTemps(); !reflect.DeepEqual(got, stale) {
		t.Errorf("cleaned %v, want %v", got, stale)
	}
	for _, n := range keep {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed", n)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, content := range []string{"one", "two, longer", ""} {
		if err := WriteFileAtomic(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != content {
			t.Errorf("got %q, want %q", got, content)
		}
	}
	checkMode(t, p, 0o640)
	// A symlink at the destination is replaced, not followed.
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(target, link)
	if err := WriteFileAtomic(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(target); string(got) != "keep" {
		t.Error("write followed the symlink")
	}
	// Failing writes leave nothing behind.
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "d"), []byte("x"), 0o600); err == nil {
		t.Error("replacing a directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if isTempName(e.Name()) {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// The fast decoder must read every record exactly as the reference one
// does, and must not accept what the reference refuses.
func TestDecodersAgree(t *testing.T) {
	var docs [][]byte
	for k := range 12 {
		in := crashValue("Some App", k)
		data, err := encodeInstalled(in)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, data)
	}
	in := fullInstalled("X")
	in.Definition = Definition("{\"X\": {\"d\": \"'''\\r\\n\"}}\r\n")
	data, err := encodeInstalled(in)
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, data, []byte(recordTOML("X")+"[choices.containers.c]\nnetworks = []\n[choices.custom_config]\n"))
	for i, data := range docs {
		fast, ok := decodeFast(data)
		if !ok {
			t.Errorf("doc %d: fast decoder refused it", i)
			continue
		}
		normalizeTimes(fast)
		canonical(fast)
		ref, err := decodeReference("x", data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Errorf("doc %d: decoders differ\nfast %+v\n ref %+v", i, fast, ref)
		}
	}
	for _, bad := range []string{
		recordTOML("X") + "extra = 1\n",
		recordTOML("X") + "[last]\nstate = 1\n",
		strings.Replace(recordTOML("X"), "schema = 1", "schema = 2", 1),
		strings.Replace(recordTOML("X"), "schema = 1", "schema = 0", 1),
		recordTOML("X") + "name = \"again\"\n",
		"",
	} {
		if _, ok := decodeFast([]byte(bad)); ok {
			t.Errorf("fast decoder accepted %q", bad)
		}
	}
}
