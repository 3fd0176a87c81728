package unitgen

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

func TestQuoteExecWord(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        `"plain"`,
		"":             `""`,
		"50%":          `"50%%"`,
		"$HOME ${X}":   `"$$HOME $${X}"`,
		`a\b"c`:        `"a\\b\"c"`,
		"l1\nl2\r\t":   `"l1\nl2\r\t"`,
		";":            `";"`,
		"\x01\x7f":     `"\x01\x7f"`,
		"trailing\\":   `"trailing\\"`,
		"héllo ✓":      `"héllo ✓"`,
		"\xff\xfe":     `"\xff\xfe"`,
		"\u0085c1":     `"\xc2\x85c1"`,
		"'single' #;x": `"'single' #;x"`,
	} {
		got, err := quoteExecWord(in)
		if err != nil || got != want {
			t.Errorf("quoteExecWord(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := quoteExecWord("a\x00b"); !errors.Is(err, errNUL) {
		t.Errorf("NUL: err = %v, want errNUL", err)
	}
	if got, _ := quoteWord("$x%", false); got != `"$x%%"` {
		t.Errorf("quoteWord without dollars = %s", got)
	}
}

// testDef is a small definition built by hand.
func testDef() *catalog.RockOn {
	uid, gid := -1, -2
	return &catalog.RockOn{
		Name:    "Test App",
		Website: "https://example.org/app",
		Containers: []catalog.Container{
			{Name: "db", Image: "library/db", Tag: "1", LaunchOrder: 1,
				Volumes: []catalog.Volume{{Path: "/var/lib/db", Label: "DB share"}}},
			{Name: "web", Image: "example/web", Tag: "2", LaunchOrder: 2, UID: &uid, GID: &gid,
				Ports:   []catalog.Port{{ContainerPort: 80, HostDefault: 8080, Protocol: "tcp"}, {ContainerPort: 53, HostDefault: 5353}},
				Volumes: []catalog.Volume{{Path: "/data", Label: "Data share"}},
				Env:     []catalog.Env{{Name: "TOKEN", Label: "API token"}, {Name: "MODE", Label: "Mode"}},
				Devices: []catalog.Device{{Name: "gpu", Label: "GPU"}},
				Opts:    []catalog.Pair{{"-it", ""}, {"--restart", "always"}, {"-e", "MODE=catalog"}, {"-e", "FIXED=1"}, {"--shm-size", "64m"}},
				CmdArgs: []catalog.Pair{{"serve", "--x=1"}}},
		},
		Links:        []catalog.Link{{Target: "web", Network: "WebToDB", Source: "db"}},
		CustomConfig: []catalog.CustomField{{Key: "server-name", Label: "Server"}},
	}
}

func testChoices() model.Choices {
	return model.Choices{
		Containers: map[string]model.ContainerChoices{
			"db":  {Volumes: map[string]string{"/var/lib/db": "db-share"}},
			"web": {Volumes: map[string]string{"/data": "/mnt2/web data"}, Env: map[string]string{"TOKEN": "t", "MODE": "user"}, Ports: map[string]int{"53/udp": 0}},
		},
		CustomConfig: map[string]string{"server-name": "vpn.example.org"},
	}
}

func TestCompileHandBuilt(t *testing.T) {
	res, err := Compile(testDef(), testChoices(), goldenOptions(Podman))
	if err != nil {
		t.Fatal(err)
	}
	var web, env string
	for _, f := range res.Units {
		if f.Name == "rockon-test-app-web.service" {
			web = string(f.Content)
		}
	}
	for _, f := range res.EnvFiles {
		env = string(f.Content)
	}
	for _, want := range []string{
		`"-u" "1000:998"`, // uid -1: owner of the first volume; gid -2: docker group
		`"-p" "8080:80/tcp" "-p" "5353:53/tcp" "-e" "FIXED=1" "--shm-size"`, // 53/udp not published
		`"-e" "FIXED=1"`,
		`"docker.io/example/web:2" "serve" "--x=1"`,
		`RequiresMountsFor="/mnt2/web data"`,
		"Requires=rockon-test-app-net-webtodb.service rockon-test-app-db.service",
		"Documentation=https://example.org/app",
	} {
		if !strings.Contains(web, want) {
			t.Errorf("web unit lacks %s:\n%s", want, web)
		}
	}
	for _, bad := range []string{`"-it"`, `"--restart"`, `MODE=catalog`, `"5353:53/udp"`} {
		if strings.Contains(web, bad) {
			t.Errorf("web unit has %s:\n%s", bad, web)
		}
	}
	for _, want := range []string{"\nTOKEN=t\n", "\nMODE=user\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("env file lacks %q:\n%s", want, env)
		}
	}
	// custom_config reaches only OpenVPN's set-up, as in Rockstor
	if strings.Contains(env, "ROCKON_CUSTOM_") {
		t.Errorf("env file has custom_config:\n%s", env)
	}
	if len(res.Warnings) != 2 {
		t.Errorf("warnings = %q, want the two dropped options", res.Warnings)
	}
	if got := res.Containers; len(got) != 2 || got[0].Name != "db" || got[1].Unit != "rockon-test-app-web.service" {
		t.Errorf("Containers = %+v", got)
	}
	if !slices.Equal(res.Networks, []string{"rockon-test-app-webtodb"}) {
		t.Errorf("Networks = %q", res.Networks)
	}

	// Same input, same bytes.
	again, _ := Compile(testDef(), testChoices(), goldenOptions(Podman))
	for i := range res.Units {
		if string(res.Units[i].Content) != string(again.Units[i].Content) {
			t.Errorf("%s: output is not deterministic", res.Units[i].Name)
		}
	}

	// uid -1 without an owner lookup is an error, not a guess.
	opt := goldenOptions(Docker)
	opt.PathOwner = nil
	if _, err := Compile(testDef(), testChoices(), opt); err == nil || !strings.Contains(err.Error(), "owner") {
		t.Errorf("no owner lookup: err = %v", err)
	}
}

func TestValidateErrors(t *testing.T) {
	def := testDef()
	ch := model.Choices{
		Containers: map[string]model.ContainerChoices{
			"nope": {},
			"web": {
				Ports:   map[string]int{"81": 1, "80": 70000, "53/sctp": 1},
				Volumes: map[string]string{"/data": "../etc", "/extra": "x"},
				Env:     map[string]string{"TOKEN": "a\nb", "1OTHER": "x"},
				Devices: map[string]string{"gpu": "/etc/passwd", "tpu": "/dev/x"},
				Labels:  map[string]string{"a=b": "c"},
			},
		},
		CustomConfig: map[string]string{"unknown": "x"},
	}
	err := ValidateChoices(ch, def, Options{})
	var ce *ChoicesError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *ChoicesError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`container "nope" is not in the definition`,
		`port "81" is not in the definition`,
		`host port 70000`,
		`port "53/sctp" is not a port number`,
		`volume "/data": host path "../etc" is not an absolute path`,
		`volume "/extra" is not in the definition`,
		`environment variable "TOKEN": value contains a line break`,
		`environment variable name "1OTHER" is not valid`,
		`device "gpu": path "/etc/passwd" is not a clean path under /dev/`,
		`device "tpu" is not in the definition`,
		`label key "a=b"`,
		`custom_config "unknown" is not in the definition`,
		`missing required values: container "db" volume "/var/lib/db" (DB share), container "web" environment variable MODE (Mode), custom_config server-name (Server)`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestHostPaths(t *testing.T) {
	for _, bad := range []string{"/", "/etc", "/etc/x", "/proc/1", "/sys", "/dev/sda", "/var/run/docker.sock",
		"/run/podman/podman.sock", "/a/../etc", "/a//b", "/a/", "rel/dir", "/a:b", "/a,b", "/a\nb", "..", "", "/var/lib/docker/volumes"} {
		if p, err := HostPath(bad, "/mnt2"); err == nil {
			t.Errorf("HostPath(%q) = %q, want an error", bad, p)
		}
	}
	for in, want := range map[string]string{"share": "/mnt2/share", "/mnt2/a b": "/mnt2/a b", "/srv/x": "/srv/x", "my share": "/mnt2/my share"} {
		if p, err := HostPath(in, "/mnt2"); err != nil || p != want {
			t.Errorf("HostPath(%q) = %q, %v; want %q", in, p, err, want)
		}
	}
}

func TestPortDuplicates(t *testing.T) {
	def := testDef()
	ch := testChoices()
	ch.Containers["web"].Ports["80"] = 5353 // collides with 53 -> 5353/tcp
	err := ValidateChoices(ch, def, Options{})
	if err == nil || !strings.Contains(err.Error(), "host port 5353/tcp is used twice") {
		t.Errorf("err = %v", err)
	}
}

func TestConsent(t *testing.T) {
	for _, tc := range []struct {
		opts []catalog.Pair
		want []string
	}{
		{[]catalog.Pair{{"--privileged", ""}}, []string{"privileged"}},
		{[]catalog.Pair{{"--privileged=true", ""}}, []string{"privileged"}},
		{[]catalog.Pair{{"--privileged=false", ""}}, nil},
		{[]catalog.Pair{{"--cap-add", "SYS_ADMIN"}, {"--cap-add=sys_module", ""}, {"--cap-add", "CAP_SYS_RAWIO"}}, []string{"cap-add:SYS_ADMIN", "cap-add:SYS_MODULE", "cap-add:SYS_RAWIO"}},
		{[]catalog.Pair{{"--cap-add", "ALL"}}, []string{"cap-add:ALL"}},
		{[]catalog.Pair{{"--cap-add", "NET_ADMIN"}}, []string{"cap-add:NET_ADMIN"}},
		{[]catalog.Pair{{"--cap-add", "CHOWN,SETFCAP"}}, nil},
		{[]catalog.Pair{{"--cap-add", "NET_RAW"}, {"--net", "host"}}, []string{"cap-add:NET_RAW"}},
		{[]catalog.Pair{{"--cap-add", "NET_ADMIN"}, {"--net", "host"}}, []string{"cap-add:NET_ADMIN"}},
		{[]catalog.Pair{{"--pid=host", ""}, {"--ipc", "host"}, {"--userns", "host"}}, []string{"host-ipc", "host-pid", "host-userns"}},
		{[]catalog.Pair{{"--security-opt", "apparmor=unconfined"}}, []string{"unconfined"}},
		{[]catalog.Pair{{"--security-opt", "seccomp:unconfined"}}, []string{"unconfined"}},
		{[]catalog.Pair{{"--device", "/dev:/dev"}}, []string{"host-devices"}},
		{[]catalog.Pair{{"--device", "/dev/mem"}}, []string{"host-devices"}},
		{[]catalog.Pair{{"--device", "/dev/net/tun"}}, nil},
		{[]catalog.Pair{{"-v", "/var/run/docker.sock:/var/run/docker.sock"}}, []string{"docker-socket"}},
		{[]catalog.Pair{{"--volume=/run/docker.sock:/x", ""}}, []string{"docker-socket"}},
		{[]catalog.Pair{{"--mount", "type=bind,source=/var/run/docker.sock,target=/s"}}, []string{"docker-socket"}},
	} {
		def := &catalog.RockOn{Name: "X", Containers: []catalog.Container{{Name: "x", Image: "x", Tag: "1", Opts: tc.opts}}}
		if got := RequiredConsent(def); !slices.Equal(got, tc.want) {
			t.Errorf("RequiredConsent(%q) = %q, want %q", tc.opts, got, tc.want)
		}
		ch := model.Choices{}
		err := ValidateChoices(ch, def, Options{})
		if (err != nil) != (len(tc.want) > 0) {
			t.Errorf("%q without consent: err = %v", tc.opts, err)
		}
		ch.Consent = tc.want
		if err := ValidateChoices(ch, def, Options{}); err != nil {
			t.Errorf("%q with consent %q: %v", tc.opts, tc.want, err)
		}
	}
}

func TestDataContainerRule(t *testing.T) {
	def := &catalog.RockOn{Name: "X", Containers: []catalog.Container{
		{Name: "data", Image: "busybox", Opts: []catalog.Pair{{"-v", "/etc/openvpn"}}},
		{Name: "app", Image: "app", Opts: []catalog.Pair{{"--volumes-from", "data"}, {"--volumes-from", "dir"}}},
		{Name: "dir", Image: "dir", Ports: []catalog.Port{{ContainerPort: 1, HostDefault: 1}}},
	}}
	for i, want := range []bool{true, false, false} {
		if got := IsDataContainer(def, &def.Containers[i]); got != want {
			t.Errorf("IsDataContainer(%s) = %v, want %v", def.Containers[i].Name, got, want)
		}
	}
}

// hostile returns a random string made mostly of characters that mean
// something to systemd, a shell or the engines.
func hostile(r *rand.Rand) string {
	const special = " \t\"'\\$%;#&|<>(){}[]*?!~`=:,@\x01\x7f\u00e9\u2028\u00a0\U0001F600"
	runes := []rune(special)
	n := 1 + r.Intn(24)
	var b strings.Builder
	for i := 0; i < n; i++ {
		switch r.Intn(5) {
		case 0:
			b.WriteByte(byte('a' + r.Intn(26)))
		case 1:
			b.WriteString([]string{"%n", "%%", "$HOME", "${X}", "$$", "\\", "\\n", " ; ", "\\x41"}[r.Intn(9)])
		default:
			b.WriteRune(runes[r.Intn(len(runes))])
		}
	}
	if r.Intn(4) == 0 {
		b.WriteByte('\\') // a trailing backslash would continue the line
	}
	return b.String()
}

var lineRE = regexp.MustCompile(`^(#.*|\[[A-Za-z]+\]|[A-Za-z-]+=.*|)$`)

// TestHostileValues compiles random hostile env values, labels and paths:
// each is refused with the field named, or the units keep their structure
// (no new line, no new directive) and systemd-analyze verify accepts them.
func TestHostileValues(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	dir := t.TempDir()
	var files []string
	for i := 0; i < 60; i++ {
		def := testDef()
		ch := testChoices()
		web := ch.Containers["web"]
		web.Env = map[string]string{"TOKEN": hostile(r), "MODE": hostile(r)}
		web.Labels = map[string]string{hostile(r): hostile(r)}
		web.Volumes = map[string]string{"/data": "/srv/" + hostile(r)}
		ch.Containers["web"] = web
		def.Containers[1].CmdArgs = []catalog.Pair{{hostile(r), hostile(r)}}
		res, err := Compile(def, ch, goldenOptions([]string{Docker, Podman}[i%2]))
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, "environment variable") && !strings.Contains(msg, "label") && !strings.Contains(msg, "volume") {
				t.Errorf("refusal does not name the field: %v", err)
			}
			continue
		}
		for _, f := range res.Units {
			for _, line := range strings.Split(strings.TrimSuffix(string(f.Content), "\n"), "\n") {
				if !lineRE.MatchString(line) || strings.HasSuffix(line, `\`) {
					t.Errorf("%s: bad line %q", f.Name, line)
				}
			}
			p := filepath.Join(dir, strings.Replace(f.Name, "rockon-test-app", "rockon-test-app"+string(rune('a'+i%26))+string(rune('a'+i/26)), 1))
			c := strings.ReplaceAll(string(f.Content), "rockon-test-app", "rockon-test-app"+string(rune('a'+i%26))+string(rune('a'+i/26)))
			if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
		for _, f := range res.EnvFiles {
			if !strings.Contains(f.Name, "-web") {
				continue
			}
			if n := strings.Count(string(f.Content), "\n"); n != 1+2 {
				t.Errorf("env file has %d lines, want 3:\n%s", n, f.Content)
			}
		}
	}
	if len(files) == 0 {
		t.Fatal("every hostile case was refused")
	}
	for n, c := range stubUnits {
		os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644)
	}
	verify(t, dir, files)
}

func TestDocumentationURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://immich.app":       "https://immich.app",
		"http://x.org/a%20b":       "http://x.org/a%%20b",
		"ftp://x.org":              "",
		"https://x.org/a b":        "",
		"https://x.org/\"\nExec=x": "",
		"javascript:alert(1)":      "",
		"":                         "",
		"https://x.org/\\":         "",
	} {
		got, ok := documentationURL(in)
		if got != want || ok != (want != "") {
			t.Errorf("documentationURL(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestCompileRefusesBadNames(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*catalog.RockOn)
		want   string
	}{
		{func(d *catalog.RockOn) { d.Name = "Bad\nName" }, "control character"},
		{func(d *catalog.RockOn) { d.Name = `Trailing\` }, "backslash"},
		{func(d *catalog.RockOn) { d.Name = strings.Repeat("Long ", 20) + "Name" }, "longer than"},
		{func(d *catalog.RockOn) { d.Name = "!!!" }, "no letters or digits"},
		{func(d *catalog.RockOn) { d.Containers[0].Name = "-bad name" }, "not a valid engine name"},
		{func(d *catalog.RockOn) { d.Containers[0].Name = "web.x"; d.Containers[1].Name = "web-x" }, "would both be rockon-test-app-web-x.service"},
		{func(d *catalog.RockOn) { d.Containers = nil }, "no containers"},
	} {
		def := testDef()
		def.Links = nil
		tc.mutate(def)
		ch := testChoices()
		if len(def.Containers) == 2 && def.Containers[0].Name != "db" {
			ch.Containers[def.Containers[0].Name] = ch.Containers["db"]
			delete(ch.Containers, "db")
		}
		if len(def.Containers) == 2 && def.Containers[1].Name != "web" {
			ch.Containers[def.Containers[1].Name] = ch.Containers["web"]
			delete(ch.Containers, "web")
		}
		if def.Containers == nil {
			ch.Containers = nil
			ch.CustomConfig = nil
			def.CustomConfig = nil
		}
		_, err := Compile(def, ch, goldenOptions(Podman))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", def.Name, err, tc.want)
		}
	}
}

func TestValidateDefaultSharesRoot(t *testing.T) {
	if err := ValidateChoices(testChoices(), testDef(), Options{}); err != nil {
		t.Errorf("share names with default options: %v", err)
	}
}
