package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// registryDir is the snapshot of the real registry kept beside the
// repository (../shared/registry from the repository root).
func registryDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "registry")
	if _, err := os.Stat(filepath.Join(dir, RootFile)); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("registry snapshot missing: %v", err)
		}
		t.Skipf("registry snapshot not found beside the repository: %v", err)
	}
	return dir
}

func registryFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(registryDir(t), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if filepath.Base(f) != RootFile {
			out = append(out, f)
		}
	}
	return out
}

func TestDecodeWholeRegistry(t *testing.T) {
	files := registryFiles(t)
	if len(files) != 89 {
		t.Errorf("registry has %d definition files, want 89", len(files))
	}
	names := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		defs, err := Decode(filepath.Base(f), data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(defs) != 1 {
			t.Errorf("%s: %d rock-ons, want 1", f, len(defs))
			continue
		}
		r := defs[0]
		names[strings.ToLower(r.Name)] = true
		if string(r.Raw) != string(data) {
			t.Errorf("%s: Raw differs from the file", f)
		}
		if len(r.Containers) == 0 {
			t.Errorf("%s: no containers", f)
		}
		for _, c := range r.Containers {
			if c.Image == "" || c.Tag == "" || c.LaunchOrder < 1 {
				t.Errorf("%s: container %q incomplete: %+v", f, c.Name, c)
			}
			for _, o := range c.Opts {
				if unmanagedOpt(o) != "" {
					t.Errorf("%s: unmanaged option %v kept", f, o)
				}
			}
		}
	}
	// The whole directory is one consistent catalog: every root.json
	// entry resolves and no container name is used twice.
	c, errs := LoadDir(registryDir(t))
	for _, err := range errs {
		t.Error(err)
	}
	if c.Len() != 89 {
		t.Errorf("catalog has %d rock-ons, want 89", c.Len())
	}
	for n := range names {
		if _, ok := c.Get(n); !ok {
			t.Errorf("catalog lacks %q", n)
		}
	}
	// Every root.json key (lower-case) finds its rock-on.
	data, err := os.ReadFile(filepath.Join(registryDir(t), RootFile))
	if err != nil {
		t.Fatal(err)
	}
	entries, probs := decodeRoot(RootFile, data)
	if len(probs) != 0 || len(entries) != 89 {
		t.Errorf("root.json: %d entries, problems %v", len(entries), probs)
	}
	for _, e := range entries {
		if r, ok := c.Get(e.Name); !ok || r.File != e.File {
			t.Errorf("root.json key %q (%s) resolves to %v", e.Name, e.File, r)
		}
	}
}

func decodeTestdata(t *testing.T, file string) *RockOn {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "registry", file))
	if err != nil {
		t.Fatal(err)
	}
	defs, err := Decode(file, data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(defs) != 1 {
		t.Fatalf("%s: %d rock-ons", file, len(defs))
	}
	return defs[0]
}

func containerNames(r *RockOn) []string {
	var out []string
	for _, c := range r.Containers {
		out = append(out, c.Name)
	}
	return out
}

// The expected values below were read off the JSON files by hand.

func TestDecodeImmich(t *testing.T) {
	r := decodeTestdata(t, "immich.json")
	if r.Name != "Immich" || r.Version != "1.0" || r.Website != "https://immich.app" ||
		r.Icon != "https://immich.app/img/logomark-light.svg" || !r.VolumeAddSupport || r.UI != nil {
		t.Errorf("header fields: %+v", r)
	}
	// Four containers (the issue said five; the file has four), in
	// launch order.
	want := []string{"immich-database", "immich-redis", "immich-machine-learning", "immich-server"}
	if got := containerNames(r); !reflect.DeepEqual(got, want) {
		t.Errorf("containers = %v, want %v", got, want)
	}
	db := r.Containers[0]
	if db.Image != "ghcr.io/immich-app/postgres" || db.Tag != "14-vectorchord0.4.3-pgvectors0.2.0" || db.LaunchOrder != 1 {
		t.Errorf("database: %+v", db)
	}
	if len(db.Opts) != 6 || db.Opts[0] != (Pair{"--shm-size", "128mb"}) || db.Opts[5] != (Pair{"-e", "DB_STORAGE_TYPE=HDD"}) {
		t.Errorf("database opts: %v", db.Opts)
	}
	if len(db.Volumes) != 1 || db.Volumes[0].Path != "/var/lib/postgresql/data" || db.Volumes[0].Label != "Database Share [e.g. immich-db]" {
		t.Errorf("database volumes: %+v", db.Volumes)
	}
	srv, _ := r.Container("immich-server")
	if srv.Tag != "release" || srv.LaunchOrder != 4 {
		t.Errorf("server: %+v", srv)
	}
	if want := []Port{{ContainerPort: 2283, HostDefault: 2283, Protocol: "tcp", UI: true,
		Label: "Web interface port [e.g. 2283]", Description: "Immich API/Server port."}}; !reflect.DeepEqual(srv.Ports, want) {
		t.Errorf("server ports = %+v", srv.Ports)
	}
	if len(srv.Env) != 2 || srv.Env[0].Name != "IMMICH_IGNORE_MOUNT_CHECK_ERRORS" || srv.Env[1].Name != "IMMICH_LOG_LEVEL" {
		t.Errorf("server env: %+v", srv.Env)
	}
	wantLinks := []Link{
		{Target: "immich-server", Network: "ImmichToDatabase", Source: "immich-database"},
		{Target: "immich-server", Network: "ImmichToMachineLearning", Source: "immich-machine-learning"},
		{Target: "immich-server", Network: "ImmichToRedis", Source: "immich-redis"},
	}
	if !reflect.DeepEqual(r.Links, wantLinks) {
		t.Errorf("links = %+v", r.Links)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}
}

func TestDecodeOpenVPN(t *testing.T) {
	r := decodeTestdata(t, "openvpn.json")
	if want := []CustomField{{Key: "servername", Label: "Server address [mytag.duckdns.org]",
		Description: "Your Rockstor system's public IP address or FQDN."}}; !reflect.DeepEqual(r.CustomConfig, want) {
		t.Errorf("custom_config = %+v", r.CustomConfig)
	}
	if got := containerNames(r); !reflect.DeepEqual(got, []string{"ovpn-data", "openvpn"}) {
		t.Errorf("containers = %v", got)
	}
	data := r.Containers[0]
	if data.Image != "busybox" || data.Tag != "latest" || !reflect.DeepEqual(data.Opts, []Pair{{"-v", "/etc/openvpn"}}) {
		t.Errorf("ovpn-data: %+v", data)
	}
	vpn := r.Containers[1]
	if !reflect.DeepEqual(vpn.Opts, []Pair{{"--cap-add=NET_ADMIN", ""}, {"--volumes-from", "ovpn-data"}}) {
		t.Errorf("openvpn opts = %v", vpn.Opts)
	}
	if len(vpn.Ports) != 1 || vpn.Ports[0].Protocol != "udp" || vpn.Ports[0].HostDefault != 1194 ||
		!reflect.DeepEqual(vpn.Ports[0].Protocols(), []string{"udp"}) {
		t.Errorf("openvpn ports = %+v", vpn.Ports)
	}
}

func TestDecodeUIDGID(t *testing.T) {
	j := decodeTestdata(t, "jenkins.json").Containers[0]
	if j.UID == nil || *j.UID != -1 || j.GID == nil || *j.GID != -1 || j.Tag != "lts" {
		t.Errorf("jenkins: uid %v gid %v tag %q", j.UID, j.GID, j.Tag)
	}
	f := decodeTestdata(t, "forgejo-runner.json").Containers[0]
	if f.UID == nil || *f.UID != 1000 || f.GID == nil || *f.GID != -2 {
		t.Errorf("forgejo-runner: uid %v gid %v", f.UID, f.GID)
	}
	// Environment without index sorts by name.
	if env := envNames(f); !reflect.DeepEqual(env, []string{"INSTANCE", "LABELS", "NAME", "TOKEN"}) {
		t.Errorf("env order = %v", env)
	}
}

// envNames lists the names of c's environment variables in their order.
func envNames(c Container) []string {
	var names []string
	for _, e := range c.Env {
		names = append(names, e.Name)
	}
	return names
}

func TestDecodeDevicesAndEnvIndex(t *testing.T) {
	h := decodeTestdata(t, "handbrake.json").Containers[0]
	want := []Device{
		{Name: "opticaldrive", Label: "Optical Drive", Description: "Optional: path to optical drive device (e.g., DVD drive at /dev/sr0).Optical drives usually have /dev/srX as device. E.g., the first drive is /dev/sr0, the second /dev/sr1, etc. Leave blank if not needed."},
		{Name: "quicksync", Label: "Intel Quick Sync device", Description: "Optional: path to hardware transcoding device for Intel Quick Sync (/dev/dri). Leave blank if not needed."},
	}
	if !reflect.DeepEqual(h.Devices, want) {
		t.Errorf("devices = %+v", h.Devices)
	}
	// Sorted by index (USER_ID 1, GROUP_ID 2, ..._PRESET 3, ..._FORMAT 4),
	// not by name or document order.
	if env := envNames(h); !reflect.DeepEqual(env, []string{"USER_ID", "GROUP_ID", "AUTOMATED_CONVERSION_PRESET", "AUTOMATED_CONVERSION_FORMAT"}) {
		t.Errorf("env order = %v", env)
	}
}

func TestDecodeProtocolLessPort(t *testing.T) {
	r := decodeTestdata(t, "dashy.json")
	c := r.Containers[0]
	if len(c.Ports) != 1 {
		t.Fatalf("ports = %+v", c.Ports)
	}
	p := c.Ports[0]
	if p.ContainerPort != 8080 || p.HostDefault != 8080 || p.Protocol != "" || !p.UI ||
		!reflect.DeepEqual(p.Protocols(), []string{"tcp", "udp"}) {
		t.Errorf("port = %+v", p)
	}
	// The trailing slash of the registry's volume path is kept as written.
	if c.Volumes[0].Path != "/app/user-data/" {
		t.Errorf("volume = %+v", c.Volumes)
	}
}

func TestDecodeDropsUnmanagedOpts(t *testing.T) {
	z := decodeTestdata(t, "zabbix-xxl.json")
	st, _ := z.Container("zabbix-db-storage")
	if len(st.Opts) != 0 {
		t.Errorf("zabbix-db-storage opts = %v, want --restart dropped", st.Opts)
	}
	if len(z.Warnings) != 1 || !strings.Contains(z.Warnings[0].String(),
		`zabbix-xxl.json: $.Zabbix-XXL.containers.zabbix-db-storage.opts[0]: warning: option --restart no dropped`) {
		t.Errorf("warnings = %v", z.Warnings)
	}
	p := decodeTestdata(t, "pocketmine.json")
	if len(p.Containers[0].Opts) != 0 || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0].Msg, "-it dropped") {
		t.Errorf("pocketmine opts %v warnings %v", p.Containers[0].Opts, p.Warnings)
	}
}

func TestUnmanagedOpt(t *testing.T) {
	drop := []Pair{{"-d", ""}, {"-i", ""}, {"-t", ""}, {"-it", ""}, {"-ti", ""}, {"-dit", ""},
		{"--restart", "no"}, {"--restart=always", ""}, {"--restart", ""}, {"--rm", ""}, {"--rm=true", ""},
		{"--name", "x"}, {"--name=x", ""}, {"--detach", ""}, {"--tty=true", ""}, {"--interactive", ""}}
	for _, p := range drop {
		if unmanagedOpt(p) == "" {
			t.Errorf("%v kept", p)
		}
	}
	keep := []Pair{{"-e", "A=B"}, {"--net", "host"}, {"--device", "/dev/net/tun"}, {"-v", "/a:/b"},
		{"--restart-policy", ""}, {"--names", ""}, {"-dv", ""}, {"--privileged", ""}, {"--tmpfs", "/run"}}
	for _, p := range keep {
		if why := unmanagedOpt(p); why != "" {
			t.Errorf("%v dropped: %s", p, why)
		}
	}
}

// bad decodes a one-container definition with the container JSON replaced
// and returns the problems as strings.
func decodeProblems(t *testing.T, doc string) []string {
	t.Helper()
	defs, err := Decode("t.json", []byte(doc))
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T is not Problems: %v", err, err)
	}
	if len(defs) != 0 {
		t.Errorf("invalid definition returned: %+v", defs[0])
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func wrap(container string) string {
	return `{"App": {"description": "d", "version": "1", "website": "w", "containers": {"app": ` + container + `}}}`
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"top-level array", `[1]`, `t.json: $: unknown top-level shape`},
		{"top-level empty", `{}`, `t.json: $: unknown top-level shape`},
		{"index given as definition", `{"immich": "immich.json"}`, `t.json: $: unknown top-level shape: this maps names to file names like a root.json index`},
		{"rock-on not object", `{"A": 3}`, `t.json: $.A: a rock-on definition must be an object, got a number`},
		{"missing containers", `{"A": {"description": "d", "version": "1", "website": "w"}}`, `t.json: $.A: missing "containers"`},
		{"missing image", wrap(`{"launch_order": 1}`), `t.json: $.App.containers.app: missing "image"`},
		{"image and IMAGE", wrap(`{"image": "a", "IMAGE": "b", "launch_order": 1}`), `t.json: $.App.containers.app.IMAGE: key differs from "image" only by case`},
		{"duplicate key", wrap(`{"image": "a", "image": "b", "launch_order": 1}`), `t.json: $.App.containers.app.image: duplicate key`},
		{"launch_order string", wrap(`{"image": "a", "launch_order": "1"}`), `t.json: $.App.containers.app.launch_order: must be an integer 1-1000`},
		{"launch_order float", wrap(`{"image": "a", "launch_order": 1.5}`), `$.App.containers.app.launch_order: must be an integer`},
		{"launch_order zero", wrap(`{"image": "a", "launch_order": 0}`), `$.App.containers.app.launch_order: must be an integer`},
		{"image type", wrap(`{"image": 5, "launch_order": 1}`), `$.App.containers.app.image: must be a string, got a number`},
		{"image dash", wrap(`{"image": "-v", "launch_order": 1}`), `$.App.containers.app.image: invalid image reference "-v"`},
		{"image space", wrap(`{"image": "a b", "launch_order": 1}`), `invalid image reference "a b"`},
		{"image semicolon", wrap(`{"image": "a;rm", "launch_order": 1}`), `invalid image reference "a;rm"`},
		{"image upper", wrap(`{"image": "foo/Bar", "launch_order": 1}`), `invalid component "Bar"`},
		{"image bad host", wrap(`{"image": "a_b.io/bar", "launch_order": 1}`), `invalid registry host "a_b.io"`},
		{"image tag", wrap(`{"image": "postgres:16", "launch_order": 1}`), `must not contain a tag`},
		{"image digest", wrap(`{"image": "a@sha256:00", "launch_order": 1}`), `must not contain a digest`},
		{"tag bad", wrap(`{"image": "a", "tag": "-x", "launch_order": 1}`), `$.App.containers.app.tag: invalid tag "-x"`},
		{"tag empty", wrap(`{"image": "a", "tag": "", "launch_order": 1}`), `$.App.containers.app.tag: invalid tag ""`},
		{"port key", wrap(`{"image": "a", "launch_order": 1, "ports": {"0": {"host_default": 1, "label": "l"}}}`), `$.App.containers.app.ports.0: container port "0" must be an integer 1-65535`},
		{"port key text", wrap(`{"image": "a", "launch_order": 1, "ports": {"http": {"host_default": 1, "label": "l"}}}`), `container port "http" must be`},
		{"host_default high", wrap(`{"image": "a", "launch_order": 1, "ports": {"2283": {"host_default": 70000, "label": "l"}}}`), `t.json: $.App.containers.app.ports.2283.host_default: must be an integer 1-65535`},
		{"host_default string", wrap(`{"image": "a", "launch_order": 1, "ports": {"80": {"host_default": "80", "label": "l"}}}`), `ports.80.host_default: must be an integer 1-65535`},
		{"protocol", wrap(`{"image": "a", "launch_order": 1, "ports": {"80": {"host_default": 80, "label": "l", "protocol": "sctp"}}}`), `ports.80.protocol: must be "tcp" or "udp"`},
		{"opts not pairs", wrap(`{"image": "a", "launch_order": 1, "opts": [["-e"]]}`), `$.App.containers.app.opts[0]: must be a pair of strings`},
		{"opts not strings", wrap(`{"image": "a", "launch_order": 1, "opts": [["-e", 1]]}`), `opts[0]: must be a pair of strings`},
		{"opts not array", wrap(`{"image": "a", "launch_order": 1, "opts": {"-e": "x"}}`), `$.App.containers.app.opts: must be an array`},
		{"opt positional", wrap(`{"image": "a", "launch_order": 1, "opts": [["alpine", ""]]}`), `opts[0][0]: option "alpine" must start with '-'`},
		{"opt smuggled flag", wrap(`{"image": "a", "launch_order": 1, "opts": [["--privileged", "--rm"]]}`), `opts[0][1]: value "--rm" looks like an option`},
		{"opt eq and value", wrap(`{"image": "a", "launch_order": 1, "opts": [["--net=host", "alpine"]]}`), `opts[0][1]: option "--net=host" already has its value`},
		{"cmd not pairs", wrap(`{"image": "a", "launch_order": 1, "cmd_arguments": [["a", "b", "c"]]}`), `cmd_arguments[0]: must be a pair of strings`},
		{"control char", wrap(`{"image": "a", "launch_order": 1, "cmd_arguments": [["a\n", ""]]}`), `cmd_arguments[0][0]: contains control character`},
		{"container name slash", wrap2(`"a/b"`), `container name "a/b" must start with`},
		{"container name dotdot", wrap2(`".."`), `container name ".." must start with`},
		{"container name empty", wrap2(`""`), `container name "" must not be empty`},
		{"container name ctl", wrap2(`"a\u0001"`), `must start with a letter`},
		{"uid type", wrap(`{"image": "a", "launch_order": 1, "uid": "1000"}`), `$.App.containers.app.uid: must be an integer`},
		{"gid -3", wrap(`{"image": "a", "launch_order": 1, "uid": 1, "gid": -3}`), `$.App.containers.app.gid: must be an integer`},
		{"uid -1 no volume", wrap(`{"image": "a", "launch_order": 1, "uid": -1}`), `uid or gid -1 (owner of the first volume) needs a volume`},
		{"volume relative", wrap(`{"image": "a", "launch_order": 1, "volumes": {"data": {"label": "l"}}}`), `volumes.data: volume path must be an absolute path`},
		{"volume colon", wrap(`{"image": "a", "launch_order": 1, "volumes": {"/a:/b": {"label": "l"}}}`), `must not contain ':'`},
		{"volume dotdot", wrap(`{"image": "a", "launch_order": 1, "volumes": {"/a/../etc": {"label": "l"}}}`), `volume path must be clean`},
		{"env name", wrap(`{"image": "a", "launch_order": 1, "environment": {"A=B": {"label": "l"}}}`), `environment variable name must be`},
		{"env index", wrap(`{"image": "a", "launch_order": 1, "environment": {"A": {"label": "l", "index": "1"}}}`), `environment.A.index: must be an integer`},
		{"volume_add_support", `{"A": {"description": "d", "version": "1", "website": "w", "volume_add_support": "yes", "containers": {"a": {"image": "a", "launch_order": 1}}}}`, `$.A.volume_add_support: must be true or false, got a string`},
		{"link target", `{"A": {"description": "d", "version": "1", "website": "w", "containers": {"a": {"image": "a", "launch_order": 1}}, "container_links": {"b": [{"name": "n", "source_container": "a"}]}}}`, `$.A.container_links.b: link target "b" names no container`},
		{"link source", `{"A": {"description": "d", "version": "1", "website": "w", "containers": {"a": {"image": "a", "launch_order": 1}}, "container_links": {"a": [{"name": "n", "source_container": "z"}]}}}`, `$.A.container_links.a[0].source_container: link source "z" names no container`},
		{"link network name", `{"A": {"description": "d", "version": "1", "website": "w", "containers": {"a": {"image": "a", "launch_order": 1}, "b": {"image": "b", "launch_order": 1}}, "container_links": {"a": [{"name": "-x", "source_container": "b"}]}}}`, `container_links.a[0].name: network name "-x"`},
		{"truncated", `{"A": {"description": "d", "vers`, `t.json: $.A: truncated JSON`},
		{"trailing", `{"A": 1} {}`, `unexpected data after the top-level value`},
		{"invalid utf8", "{\"A\xff\": 1}", `not valid UTF-8`},
		{"rock-on name case dup", `{"App": {}, "APP": {}}`, `t.json: $.APP: key differs from "App" only by case`},
		{"ui slug", `{"A": {"description": "d", "version": "1", "website": "w", "ui": {"slug": "a b"}, "containers": {"a": {"image": "a", "launch_order": 1}}}}`, `$.A.ui.slug: must be a URL path`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeProblems(t, tc.doc)
			for _, g := range got {
				if strings.Contains(g, tc.want) {
					return
				}
			}
			t.Errorf("problems %q lack %q", got, tc.want)
		})
	}
}

func wrap2(name string) string {
	return `{"App": {"description": "d", "version": "1", "website": "w", "containers": {` + name + `: {"image": "a", "launch_order": 1}}}}`
}

func TestDecodeValidReferences(t *testing.T) {
	for _, img := range []string{"busybox", "linuxserver/plex", "ghcr.io/immich-app/postgres", "localhost:5000/a/b",
		"localhost/rockon-test", "codeberg.org/phillxnet/bareos-director", "docker.io/library/redis", "a__b", "a.b-c"} {
		if msg := checkImage(img); msg != "" {
			t.Errorf("%q refused: %s", img, msg)
		}
	}
	for _, img := range []string{"", "-x", "a b", "a;b", "a//b", "/a", "a/", "A", "a..b", "a\nb", "$(x)", "a`b`", strings.Repeat("a", 300)} {
		if checkImage(img) == "" {
			t.Errorf("%q accepted", img)
		}
	}
}

// TestLengthBounds: the bounds the expressions no longer carry, at the
// edge (tags in bytes of ASCII, environment names in characters).
func TestLengthBounds(t *testing.T) {
	for tag, ok := range map[string]bool{strings.Repeat("a", 128): true, strings.Repeat("a", 129): false, "_" + strings.Repeat(".", 127): true} {
		if got := checkTag(tag) == ""; got != ok {
			t.Errorf("tag of %d bytes accepted = %v", len(tag), got)
		}
	}
	env := func(name string) string {
		return wrap(`{"image": "a", "launch_order": 1, "environment": {"` + name + `": {"label": "l"}}}`)
	}
	for name, ok := range map[string]bool{strings.Repeat("é", 256): true, strings.Repeat("é", 257): false, strings.Repeat("A", 257): false, "$DBOX_SKIP_UPDATE": true} {
		refused := false
		for _, p := range decodeProblems(t, env(name)) {
			refused = refused || strings.Contains(p, "environment variable name must be")
		}
		if refused == ok {
			t.Errorf("environment name of %d characters refused = %v", len([]rune(name)), refused)
		}
	}
}

func TestDecodeKeepsValidSiblings(t *testing.T) {
	doc := `{"Good": {"description": "d", "version": "1", "website": "w", "containers": {"g": {"image": "a", "launch_order": 1}}},
	         "Bad": {"description": "d", "version": "1", "website": "w", "containers": {"b": {"launch_order": 1}}}}`
	defs, err := Decode("two.json", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), `two.json: $.Bad.containers.b: missing "image"`) {
		t.Errorf("err = %v", err)
	}
	if len(defs) != 1 || defs[0].Name != "Good" || string(defs[0].Raw) != doc {
		t.Errorf("defs = %+v", defs)
	}
}

func TestDecodeUnknownKeyIsWarning(t *testing.T) {
	defs, err := Decode("t.json", []byte(wrap(`{"image": "a", "launch_order": 1, "lauch_order": 2}`)))
	if err != nil || len(defs) != 1 {
		t.Fatalf("defs %v err %v", defs, err)
	}
	if w := defs[0].Warnings; len(w) != 1 || w[0].String() != `t.json: $.App.containers.app.lauch_order: warning: unknown key "lauch_order" ignored` {
		t.Errorf("warnings = %v", w)
	}
}

func TestDecodeGIDWithoutUID(t *testing.T) {
	defs, err := Decode("t.json", []byte(wrap(`{"image": "a", "launch_order": 1, "gid": 100}`)))
	if err != nil || len(defs) != 1 {
		t.Fatalf("defs %v err %v", defs, err)
	}
	if defs[0].Containers[0].GID != nil || len(defs[0].Warnings) != 1 {
		t.Errorf("gid %v warnings %v", defs[0].Containers[0].GID, defs[0].Warnings)
	}
}

func TestDecodeMalformed(t *testing.T) {
	huge := `{"A": {"description": "` + strings.Repeat("x", 10<<20) + `"}}`
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	deepObj := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	longString := wrap(`{"image": "a", "launch_order": 1, "environment": {"A": {"label": "` + strings.Repeat("y", MaxStringLen+1) + `"}}}`)
	longNumber := wrap(`{"image": "a", "launch_order": 1` + strings.Repeat("0", 100) + `}`)
	cases := map[string]struct{ doc, want string }{
		"10 MB string": {huge, "file larger than"},
		"deep arrays":  {deep, "nested deeper than"},
		"deep objects": {deepObj, "nested deeper than"},
		"long string":  {longString, "string longer than"},
		"long number":  {longNumber, "number too long"},
		"empty":        {"", "truncated JSON"},
		"null":         {"null", "unknown top-level shape"},
		"garbage":      {"\x00\x01", "invalid JSON"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Decode("m.json", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "m.json: ") {
				t.Errorf("err = %.300v, want %q", err, tc.want)
			}
		})
	}
	// Every truncation of a real definition is an error, never a panic
	// or a silently partial rock-on.
	data, err := os.ReadFile(filepath.Join("testdata", "registry", "immich.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(data)-2; i += 7 {
		if defs, err := Decode("immich.json", data[:i]); err == nil || len(defs) != 0 {
			t.Fatalf("truncated at %d: defs %d err %v", i, len(defs), err)
		}
	}
}

func TestDecodeProblemsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"A": {"description": "d", "version": "1", "website": "w", "containers": {`)
	for i := range 300 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"c` + strings.Repeat("x", i%50) + `_` + strconv.Itoa(i) + `": {"launch_order": 0}`)
	}
	b.WriteString(`}}}`)
	_, err := Decode("many.json", []byte(b.String()))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != maxProblems+1 || !strings.Contains(ps[maxProblems].Msg, "more problems not shown") {
		t.Errorf("%d problems", len(ps))
	}
}
