package state

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

const packagedConfig = "../packaging/rockond.toml"

// The packaged, commented configuration must be exactly the defaults, and
// must mention every key, so that it documents them all.
func TestPackagedConfigIsDefaults(t *testing.T) {
	data, err := os.ReadFile(packagedConfig)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseConfig(packagedConfig, data)
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("packaged configuration differs from DefaultConfig:\n got %+v\nwant %+v", got, want)
	}

	var doc map[string]any
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	for _, k := range md.Keys() {
		inFile[k.String()] = true
	}
	for _, k := range configKeys(reflect.TypeOf(Config{}), "") {
		if !inFile[k] {
			t.Errorf("key %s is not in %s", k, packagedConfig)
		}
	}
}

// configKeys lists every TOML key of a config struct type.
func configKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("toml"), ",")[0]
		key := prefix + name
		keys = append(keys, key)
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, configKeys(f.Type, key+".")...)
		}
	}
	return keys
}

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigPartialFileKeepsDefaults(t *testing.T) {
	c, err := ParseConfig("x.toml", []byte(`
[engine]
name = "podman"
[volumes]
allowed_roots = ["/data"]
[metrics]
listen = ""
[metrics.basic_auth_users]
prom = "$2y$10$abcdefghijklmnopqrstuuJ0123456789abcdefghijklmnopqrsA"
[timeouts]
pull = "90s"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Engine = Engine{Name: "podman", Binary: "/usr/bin/podman"}
	want.Volumes.AllowedRoots = []string{"/data"}
	want.Metrics.Listen = ""
	want.Metrics.BasicAuthUsers = map[string]string{"prom": "$2y$10$abcdefghijklmnopqrstuuJ0123456789abcdefghijklmnopqrsA"}
	want.Timeouts.Pull = Duration(90 * time.Second)
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadConfig(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
	p := filepath.Join(dir, "rockond.toml")
	if err := os.WriteFile(p, []byte("unit_dir = \"/run/systemd/system\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.UnitDir != "/run/systemd/system" || c.StateDir != "/var/lib/rockon" {
		t.Errorf("got unit_dir %q state_dir %q", c.UnitDir, c.StateDir)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p); !errors.Is(err, ErrEmptyFile) {
		// An empty file is most likely a failed copy, not a wish for
		// the defaults.
		t.Errorf("empty file: got %v, want ErrEmptyFile", err)
	}
}

// Each bad file must yield a *FileError naming the file, the line and the
// key.
func TestConfigErrorsNameFileLineKey(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		line       int
		key        string
		reason     string
	}{
		{"unknown top-level key", "state_dir = \"/var/lib/rockon\"\nstatedir = \"/x\"\n", 2, "statedir", "unknown key"},
		{"unknown key in table", "[engine]\nname = \"docker\"\n\nbinray = \"/usr/bin/docker\"\n", 4, "engine.binray", "unknown key"},
		{"unknown table", "[metrics]\nlisten = \":1\"\n[metric]\nlisten = \":2\"\n", 3, "metric", "unknown key"},
		{"unknown dotted key", "[dbus]\npolkit = true\nfoo.bar = 1\n", 3, "dbus.foo.bar", "unknown key"},
		{"wrong type bool", "[dbus]\nbus = \"system\"\npolkit = \"yes\"\n", 3, "dbus.polkit", "incompatible types"},
		{"wrong type string", "\n\nunit_dir = 5\n", 3, "unit_dir", "incompatible types"},
		{"wrong type array", "[volumes]\nallowed_roots = \"/mnt2\"\n", 2, "volumes.allowed_roots", "incompatible types"},
		{"bad duration", "[timeouts]\npull = \"10m\"\nstart = \"5x\"\n", 3, "timeouts.start", "invalid duration"},
		{"syntax error", "[engine]\nname = docker\n", 2, "engine.name", "expected value"},
		{"unknown engine", "[engine]\nname = \"dokcer\"\n", 2, "engine.name", "unknown engine"},
		{"binary without engine", "[engine]\nbinary = \"/opt/podman\"\n", 2, "engine.binary", "set engine.name too"},
		{"relative path", "\nstate_dir = \"var/lib/rockon\"\n", 2, "state_dir", "not absolute"},
		{"unclean path", "env_dir = \"/var/lib/rockon/../env\"\n", 1, "env_dir", "not clean"},
		{"relative allowed root", "[volumes]\nallowed_roots = [\"/mnt2\", \"srv\"]\n", 2, "volumes.allowed_roots", "entry 2"},
		{"listen without port", "[metrics]\n\nlisten = \"127.0.0.1\"\n", 3, "metrics.listen", "invalid listen address"},
		{"listen bad port", "[metrics]\nlisten = \"127.0.0.1:99999\"\n", 2, "metrics.listen", "invalid port"},
		{"listen bad host", "[metrics]\nlisten = \"bad host:80\"\n", 2, "metrics.listen", "invalid host"},
		{"tls half", "[metrics]\ntls_cert = \"/etc/rockon/cert.pem\"\n", 2, "metrics.tls_cert", "set together"},
		{"bad bcrypt", "[metrics.basic_auth_users]\nprom = \"secret\"\n", 2, "metrics.basic_auth_users.prom", "not a bcrypt hash"},
		{"bad bus", "[dbus]\nbus = \"sytem\"\n", 2, "dbus.bus", "invalid bus"},
		{"bad url", "[metastore]\nremote_url = \"ftp://example.org/x\"\n", 2, "metastore.remote_url", "scheme"},
		{"bad root file", "[metastore]\nroot_file = \"../root.json\"\n", 2, "metastore.root_file", "invalid root file"},
		{"negative timeout", "[timeouts]\nstop = \"-5s\"\n", 2, "timeouts.stop", "must be positive"},
		{"bad consent", "[install]\nconsent = [\"cap add\"]\n", 2, "install.consent", "invalid privilege"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("/etc/rockon/rockond.toml", []byte(tc.data))
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want a *FileError", err, err)
			}
			if fe.File != "/etc/rockon/rockond.toml" || fe.Line != tc.line || fe.Key != tc.key {
				t.Errorf("got file %q line %d key %q, want line %d key %q (%v)", fe.File, fe.Line, fe.Key, tc.line, tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not say %q", err, tc.reason)
			}
			if !strings.HasPrefix(err.Error(), "/etc/rockon/rockond.toml:") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

func TestConfigSeveralErrorsReportedTogether(t *testing.T) {
	_, err := ParseConfig("c.toml", []byte("[engine]\nname = \"x\"\n[dbus]\nbus = \"y\"\n"))
	msg := err.Error()
	if !strings.Contains(msg, "c.toml:2: engine.name") || !strings.Contains(msg, "c.toml:4: dbus.bus") {
		t.Errorf("want both errors with lines, got:\n%s", msg)
	}
}

func TestKeyLineScanner(t *testing.T) {
	data := []byte(`# comment with key = 1
a = 1
s = """
b = not a key
"""
"quoted.key" = 2
[t . "x y"]
c.d = 3
arr = [
  { e = 4 },
]
[[aot]]
f = 5
`)
	for _, tc := range []struct {
		key  toml.Key
		line int
	}{
		{toml.Key{"a"}, 2},
		{toml.Key{"b"}, 0},
		{toml.Key{"quoted.key"}, 6},
		{toml.Key{"t", "x y"}, 7},
		{toml.Key{"t", "x y", "c", "d"}, 8},
		{toml.Key{"t", "x y", "e"}, 0},
		{toml.Key{"aot", "f"}, 13},
	} {
		if got := keyLine(data, tc.key); got != tc.line {
			t.Errorf("keyLine(%v) = %d, want %d", tc.key, got, tc.line)
		}
	}
}

func TestHost(t *testing.T) {
	c := DefaultConfig()
	c.Engine = Engine{Name: "docker", Binary: "/usr/bin/docker"}
	o := c.Host()
	if o.Engine != "docker" || o.EngineBinary != "/usr/bin/docker" || o.SharesRoot != "/srv" || o.EnvDir != "/var/lib/rockon/env" {
		t.Errorf("got %+v", o)
	}
	// Encoding the defaults and reading them back is the identity, so the
	// daemon can show its effective configuration as a valid file.
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig("effective", buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip differs:\n%s", buf.String())
	}
}
