package unitgen

import (
	"slices"
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

func TestIsUserNetwork(t *testing.T) {
	for v, want := range map[string]bool{
		"adguard-home":           true,
		"my_net.1":               true,
		"Host":                   true, // the engines compare modes exactly
		"host":                   false,
		"bridge":                 false,
		"none":                   false,
		"default":                false,
		"private":                false,
		"":                       false,
		"container:db":           false,
		"ns:/run/netns/x":        false,
		"slirp4netns":            false,
		"slirp4netns:port_fwd=x": false,
		"pasta":                  false,
	} {
		if got := isUserNetwork(v); got != want {
			t.Errorf("isUserNetwork(%q) = %v, want %v", v, got, want)
		}
	}
}

// sharedNetDef: two containers name the same network in the two opt
// spellings, one shares the host's network, and two others have a
// container_links network of the rock-on's own.
func sharedNetDef() *catalog.RockOn {
	return &catalog.RockOn{
		Name: "Shared Net",
		Containers: []catalog.Container{
			{Name: "dns", Image: "example/dns", LaunchOrder: 1,
				Ports: []catalog.Port{{ContainerPort: 53, HostDefault: 5353, Protocol: "udp"}},
				Opts:  []catalog.Pair{{"--net=home.net_1", ""}}},
			{Name: "ui", Image: "example/ui", LaunchOrder: 2, Opts: []catalog.Pair{{"--network", "home.net_1"}}},
			{Name: "probe", Image: "example/probe", LaunchOrder: 2, Opts: []catalog.Pair{{"--net", "host"}}},
			{Name: "app", Image: "example/app", LaunchOrder: 3},
			{Name: "db", Image: "example/db", LaunchOrder: 3},
		},
		Links: []catalog.Link{{Target: "app", Network: "AppToDB", Source: "db"}},
	}
}

func TestSharedNetwork(t *testing.T) {
	for _, engine := range []string{Docker, Podman} {
		t.Run(engine, func(t *testing.T) {
			ch := model.Choices{Containers: map[string]model.ContainerChoices{"ui": {Networks: []string{"extra"}}}}
			res, models, err := compile(sharedNetDef(), ch, goldenOptions(engine))
			if err != nil {
				t.Fatal(err)
			}
			netUnit := "rockon-shared-net-net-home-net-1.service"
			wantNets := []Network{
				{Name: "rockon-shared-net-apptodb", Unit: "rockon-shared-net-net-apptodb.service"},
				{Name: "home.net_1", Unit: netUnit, Shared: true},
				{Name: "extra", Unit: "rockon-shared-net-net-extra.service", Shared: true, UserAdded: true},
			}
			if !slices.Equal(res.EngineNetworks, wantNets) {
				t.Errorf("EngineNetworks = %+v, want %+v", res.EngineNetworks, wantNets)
			}
			// The daemon removes Networks unconditionally: never a shared one.
			if !slices.Equal(res.Networks, []string{"rockon-shared-net-apptodb"}) {
				t.Errorf("Networks = %q", res.Networks)
			}
			bin := "/usr/bin/" + engine
			// the administrator's network: looked for, never created
			wantCreate := [][]string{
				{bin, "network", "inspect", "--format", "{{.Name}}", "home.net_1"},
			}
			if got := models[netUnit].commands("ExecStart"); !slices.EqualFunc(got, wantCreate, slices.Equal) {
				t.Errorf("%s ExecStart = %q, want %q", netUnit, got, wantCreate)
			}
			// the user's network is created when missing, labelled
			wantExtra := []string{bin, "network", "create", "--label", SharedNetworkLabel + "=shared-net", "extra"}
			if got := models["rockon-shared-net-net-extra.service"].commands("ExecStart"); len(got) != 2 || !slices.Equal(got[0], wantExtra) {
				t.Errorf("extra's unit ExecStart = %q", got)
			}
			nu := unitText(t, res, netUnit)
			for _, want := range []string{"Type=oneshot\n", "RemainAfterExit=yes\n", "PartOf=rockon-shared-net.target\n", "X-Rockon-Network=home.net_1\n"} {
				if !strings.Contains(nu, want) {
					t.Errorf("%s lacks %q:\n%s", netUnit, want, nu)
				}
			}
			for _, c := range []string{"dns", "ui"} {
				u := unitText(t, res, "rockon-shared-net-"+c+".service")
				if !hasWord(u, "Requires=", netUnit) || !hasWord(u, "After=", netUnit) {
					t.Errorf("container %s does not require and follow %s:\n%s", c, netUnit, u)
				}
			}
			for _, c := range []string{"probe", "app", "db"} {
				if u := unitText(t, res, "rockon-shared-net-"+c+".service"); strings.Contains(u, netUnit) {
					t.Errorf("container %s depends on %s:\n%s", c, netUnit, u)
				}
			}
			// The opt reaches the engine as written; for docker the
			// user's extra network is connected, not a second --network
			// at create.
			ui := models["rockon-shared-net-ui.service"]
			var cmds [][]string
			for _, k := range []string{"ExecStartPre", "ExecStart"} {
				cmds = append(cmds, ui.commands(k)...)
			}
			var run []string
			for _, c := range cmds {
				if slices.Contains(c, "docker.io/example/ui:latest") {
					run = c
				}
			}
			if !hasPair(run, "--network", "home.net_1") {
				t.Errorf("ui command lacks --network home.net_1: %q", run)
			}
			if engine == Docker {
				if slices.Contains(run, "extra") {
					t.Errorf("docker create joins a second network: %q", run)
				}
				connect := []string{bin, "network", "connect", "extra", "ui"}
				if !slices.ContainsFunc(cmds, func(c []string) bool { return slices.Equal(c, connect) }) {
					t.Errorf("ui does not connect to extra: %q", cmds)
				}
			}
		})
	}
}

func TestSharedNetworkRefused(t *testing.T) {
	for _, name := range []string{"bad name", "-x", "a/b", "net:ip=1.2.3.4", "é", "rockon-other-db", strings.Repeat("n", 129)} {
		def := &catalog.RockOn{Name: "Bad Net", Containers: []catalog.Container{
			{Name: "c", Image: "example/c", Opts: []catalog.Pair{{"--net", name}}},
		}}
		if _, err := Compile(def, model.Choices{}, goldenOptions(Podman)); err == nil || !strings.Contains(err.Error(), "network") {
			t.Errorf("--net %q: err = %v, want a refusal naming the network", name, err)
		}
	}
}

// TestSharedNetworkAcrossRockOns: two rock-ons naming the same network get
// units of their own that create the same engine network, both shared.
func TestSharedNetworkAcrossRockOns(t *testing.T) {
	var units []string
	for _, n := range []string{"One", "Two"} {
		def := &catalog.RockOn{Name: n, Containers: []catalog.Container{
			{Name: strings.ToLower(n), Image: "example/c", Opts: []catalog.Pair{{"--network=common", ""}}},
		}}
		res, err := Compile(def, model.Choices{}, goldenOptions(Docker))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.EngineNetworks) != 1 || res.EngineNetworks[0].Name != "common" || !res.EngineNetworks[0].Shared || len(res.Networks) != 0 {
			t.Errorf("%s: EngineNetworks %+v, Networks %q", n, res.EngineNetworks, res.Networks)
			continue
		}
		units = append(units, res.EngineNetworks[0].Unit)
	}
	if len(units) == 2 && units[0] == units[1] {
		t.Errorf("both rock-ons use unit %s", units[0])
	}
}

func unitText(t *testing.T, res *Result, name string) string {
	t.Helper()
	for _, f := range res.Units {
		if f.Name == name {
			return string(f.Content)
		}
	}
	t.Fatalf("no unit %s", name)
	return ""
}

// hasWord reports whether a line starting with key lists word.
func hasWord(unit, key, word string) bool {
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, key); ok && slices.Contains(strings.Fields(v), word) {
			return true
		}
	}
	return false
}

// hasPair reports whether argv has a followed by b.
func hasPair(argv []string, a, b string) bool {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == a && argv[i+1] == b {
			return true
		}
	}
	return false
}

// TestValidEngineName: the length bound engineNameRE no longer carries.
func TestValidEngineName(t *testing.T) {
	for name, ok := range map[string]bool{strings.Repeat("n", 128): true, strings.Repeat("n", 129): false, "a.b_c-d": true, "-a": false, "": false} {
		if validEngineName(name) != ok {
			t.Errorf("validEngineName(%d bytes %.8q) = %v", len(name), name, !ok)
		}
	}
}
