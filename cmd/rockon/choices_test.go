package main

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
	rdbus "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/unitgen"
	"github.com/urfave/cli/v2"
)

const choicesDef = `{
  "Pair": {
    "description": "d", "version": "1", "website": "https://example.org",
    "volume_add_support": true,
    "custom_config": {"servername": {"label": "Server", "description": "d"}},
    "containers": {
      "a": {
        "image": "img", "launch_order": 1,
        "ports": {
          "53": {"host_default": 5353, "label": "DNS", "description": "d"},
          "8080": {"host_default": 18080, "label": "Web", "description": "d", "protocol": "tcp"}
        },
        "volumes": {"/data": {"label": "Data", "description": "d"}},
        "environment": {"TOKEN": {"label": "Token", "description": "d"}}
      },
      "b": {
        "image": "img", "launch_order": 2,
        "ports": {"8080": {"host_default": 18081, "label": "Web B", "description": "d", "protocol": "tcp"}},
        "volumes": {"/data": {"label": "Data B", "description": "d"}},
        "environment": {"TOKEN": {"label": "Token B", "description": "d"}},
        "devices": {"GPU": {"label": "GPU", "description": "d"}}
      }
    }
  }
}`

func decodeTestDef(t *testing.T) *catalog.RockOn {
	t.Helper()
	defs, err := catalog.Decode("pair.json", []byte(choicesDef))
	if err != nil || len(defs) != 1 {
		t.Fatalf("decoding: %v", err)
	}
	return defs[0]
}

func TestApplyChoiceArgs(t *testing.T) {
	def := decodeTestDef(t)
	ch := &model.Choices{}
	err := applyChoiceArgs(def, ch, choiceArgs{
		ports:    []string{"53/udp=5300", "a:8080=18000", "b:8080=0"},
		volumes:  []string{"/data=/srv/d", "b:/extra=media"},
		envs:     []string{"TOKEN=a=b, c", "b:TOKEN=only-b", "TZ=Europe/Berlin", "b:PUID=1000"},
		devices:  []string{"GPU=/dev/dri/renderD128"},
		labels:   []string{"traefik.http.routers.x.rule=Host(`a:b`)", "a:k=v"},
		custom:   []string{"servername=vpn.example.org"},
		consent:  []string{"privileged", "privileged"},
		networks: []string{"b:proxy"},
		settings: map[string][]string{"memory": {"512M"}, "cpus": {"b:1.5"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &model.Choices{
		Containers: map[string]model.ContainerChoices{
			"a": {
				Ports:   map[string]int{"53/udp": 5300, "8080": 18000},
				Volumes: map[string]string{"/data": "/srv/d"},
				Env:     map[string]string{"TOKEN": "a=b, c", "TZ": "Europe/Berlin"},
				Labels:  map[string]string{"traefik.http.routers.x.rule": "Host(`a:b`)", "k": "v"},
				Memory:  "512M",
			},
			"b": {
				Ports:    map[string]int{"8080": 0},
				Volumes:  map[string]string{"/data": "/srv/d", "/extra": "media"},
				Env:      map[string]string{"TOKEN": "only-b", "TZ": "Europe/Berlin", "PUID": "1000"},
				Devices:  map[string]string{"GPU": "/dev/dri/renderD128"},
				Labels:   map[string]string{"traefik.http.routers.x.rule": "Host(`a:b`)"},
				Networks: []string{"proxy"},
				Memory:   "512M",
				CPUs:     "1.5",
			},
		},
		CustomConfig: map[string]string{"servername": "vpn.example.org"},
		Consent:      []string{"privileged"},
	}
	if !reflect.DeepEqual(ch, want) {
		t.Errorf("choices:\n got %+v\nwant %+v", ch, want)
	}
	// The result is valid for unitgen, which checks names the same way.
	// Variables the definition does not list (TZ, PUID) included.
	if err := unitgen.ValidateChoices(*ch, def, unitgen.Options{Host: model.Host{SharesRoot: "/mnt2"}}); err != nil && !strings.Contains(err.Error(), "consent") {
		t.Errorf("unitgen refuses the choices: %v", err)
	}
}

func TestApplyChoiceArgsErrors(t *testing.T) {
	def := decodeTestDef(t)
	tests := []struct {
		args choiceArgs
		want string
	}{
		{choiceArgs{ports: []string{"8080=1"}}, "--port 8080=1: port 8080 is in several containers (a, b); write --port a:8080=1"},
		{choiceArgs{ports: []string{"9=1"}}, "--port 9=1: Pair has no container port 9 (it has: 53, 8080/tcp)"},
		{choiceArgs{ports: []string{"8080/udp=1"}}, "has no container port 8080/udp"},
		{choiceArgs{ports: []string{"53=70000"}}, `--port 53=70000: host port "70000": out of range`},
		{choiceArgs{ports: []string{"53"}}, `--port "53": write --port C=H`},
		{choiceArgs{devices: []string{"a:GPU=/dev/x"}}, `--device a:GPU=/dev/x: container a has no device "GPU"`},
		{choiceArgs{volumes: []string{"/extra=x"}}, "an extra volume needs its container: write --volume CONTAINER:/extra=x"},
		{choiceArgs{volumes: []string{"data=x"}}, `the container path "data" must be absolute`},
		{choiceArgs{custom: []string{"nope=1"}}, `Pair has no custom setting "nope" (it has: servername)`},
		{choiceArgs{unpublish: []string{"7"}}, "--unpublish 7: Pair has no container port 7"},
		{choiceArgs{settings: map[string][]string{"memory": {"a:"}}}, `--memory "a:": the value is empty; write --memory SIZE or --memory CONTAINER:SIZE`},
	}
	for _, tt := range tests {
		err := applyChoiceArgs(def, &model.Choices{}, tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.args, err, tt.want)
			continue
		}
		if exitCode(err) != exitUsage {
			t.Errorf("%+v: exit code %d, want %d", tt.args, exitCode(err), exitUsage)
		}
	}
}

func TestMissingChoices(t *testing.T) {
	def := decodeTestDef(t)
	ch := &model.Choices{}
	if err := applyChoiceArgs(def, ch, choiceArgs{ports: []string{"53/tcp=53"}, envs: []string{"TOKEN=x"}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range missingChoices(def, ch, map[string]int{"a/8080": 18090}) {
		got = append(got, fmt.Sprintf("%s %s %s def=%s opt=%v", m.kind, m.container, m.key, m.def, m.optional))
	}
	want := []string{
		"port a 8080/tcp def=18090 opt=false", // the suggested free port, not host_default
		"volume a /data def= opt=false",
		"port b 8080/tcp def=18081 opt=false",
		"volume b /data def= opt=false",
		"device b GPU def= opt=true",
		"custom  servername def= opt=false",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("missing:\n got %q\nwant %q", got, want)
	}
	err := fillDefaults(def, ch, missingChoices(def, ch, nil))
	if err == nil || err.Error() != "Pair needs values for: --volume /data=HOSTPATH (Data), --volume /data=HOSTPATH (Data B), --custom servername=VALUE (Server)" {
		t.Errorf("fillDefaults: %v", err)
	}
	if ch.Containers["b"].Ports["8080"] != 18081 {
		t.Errorf("the port default was not filled: %v", ch.Containers["b"].Ports)
	}
}

func TestDaemonErrorCodes(t *testing.T) {
	tests := []struct {
		err  error
		code int
		line string
	}{
		{rdbus.ErrDaemonNotRunning, exitUnreachable, "rockond is not running; start it with: systemctl start rockon"},
		{fmt.Errorf("%w: x", model.ErrNoSuchRockOn), exitNotFound, `no rock-on named "Plex" in the catalog; see rockon search`},
		{fmt.Errorf("%w: x", model.ErrNotInstalled), exitNotFound, "Plex is not installed; install it with: rockon install Plex"},
		{fmt.Errorf("%w: uid 1000", model.ErrAccessDenied), exitDenied, "access denied: "},
		{fmt.Errorf("%w: update is in progress", model.ErrBusy), exitBusy, "try again when it has finished"},
		{fmt.Errorf("%w: env X is missing", model.ErrInvalidArgs), exitUsage, "env X is missing"},
		{fmt.Errorf("%w: port 1/tcp is used", model.ErrPortInUse), exitUsage, "port 1/tcp is used"},
		{fmt.Errorf("%w: x", model.ErrAlreadyInstalled), exitFailed, "Plex is already installed; change it with: rockon reconfigure Plex"},
		{errors.New("pull failed"), exitFailed, "pull failed"},
	}
	for _, tt := range tests {
		err := daemonError(tt.err, "Plex")
		if exitCode(err) != tt.code || !strings.Contains(err.Error(), tt.line) {
			t.Errorf("%v: code %d line %q, want %d %q", tt.err, exitCode(err), err, tt.code, tt.line)
		}
	}
}

func TestInterspersedArgs(t *testing.T) {
	app := newApp(nil, &strings.Builder{}, &strings.Builder{})
	tests := []struct{ in, want string }{
		{"rockon install plex --port 1=2 -e K=V", "rockon install --port 1=2 -e K=V plex"},
		{"rockon --bus session --json logs plex -f -n 5", "rockon --bus session --json logs -f -n 5 plex"},
		{"rockon catalog refresh", "rockon catalog refresh"},
		{"rockon compile --catalog d Gotify --out o --all", "rockon compile --catalog d --out o --all Gotify"},
		{"rockon info -- -odd", "rockon info -- -odd"},
		{"rockon info --generate-bash-completion", "rockon info --generate-bash-completion"},
		{"rockon logs x -f --generate-bash-completion", "rockon logs -f x --generate-bash-completion"},
		{"rockon nothing a -b", "rockon nothing a -b"},
		{"rockon status Plex --json", "rockon --json status Plex"},
		{"rockon --no-color logs plex -f --bus session -n 5", "rockon --no-color --bus session logs -f -n 5 plex"},
		{"rockon catalog refresh --json", "rockon --json catalog refresh"},
		{"rockon install plex --config c.toml --json", "rockon --json install --config c.toml plex"},
	}
	for _, tt := range tests {
		got := strings.Join(interspersedArgs(app, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

// TestSettingFlags: the flags of the settings come from model's tags, read
// as install and reconfigure read them, with their help's placeholder.
func TestSettingFlags(t *testing.T) {
	var got choiceArgs
	var help strings.Builder
	app := &cli.App{Name: "x", Writer: &help, Flags: choiceFlags(), Action: func(c *cli.Context) error {
		got = readChoiceArgs(c)
		return nil
	}}
	if err := app.Run([]string{"x", "--memory", "1G", "--cpus", "b:2", "--memory", "a:64M"}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"memory": {"1G", "a:64M"}, "cpus": {"b:2"}}
	if !reflect.DeepEqual(got.settings, want) || got.empty() {
		t.Errorf("settings %v, want %v", got.settings, want)
	}
	if err := app.Run([]string{"x", "--help"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range model.Settings() {
		if line := fmt.Sprintf("--%s %s", s.Flag(), s.Arg); !strings.Contains(help.String(), line) {
			t.Errorf("help has no %q:\n%s", line, help.String())
		}
	}
}
