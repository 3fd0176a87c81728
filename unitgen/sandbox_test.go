package unitgen

import (
	"context"
	"encoding/json"
	"math/rand"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/sandbox"
)

// These tests run the compiled units under a real systemd (the sandbox
// package), with real podman and docker and the test image. They write the
// units into the sandbox's /etc/systemd/system themselves, as the daemon
// does in production.

const testImage = "localhost/rockon-test"

func TestSandboxPodman(t *testing.T) { sandboxSuite(t, Podman) }
func TestSandboxDocker(t *testing.T) { sandboxSuite(t, Docker) }

func sandboxSuite(t *testing.T, engine string) {
	s := sandbox.New(t, sandbox.Options{Docker: engine == Docker})
	s.LoadTestImages(t, engine)
	t.Run("argv", func(t *testing.T) { testArgv(t, s, engine) })
	t.Run("e2e", func(t *testing.T) { testEndToEnd(t, s, engine) })
	t.Run("link", func(t *testing.T) { testLink(t, s, engine) })
	t.Run("named-network", func(t *testing.T) { testNamedNetwork(t, s, engine) })
}

// testNamedNetwork checks a user-defined network that opts name, as AdGuard
// Home's --net=adguard-home: the administrator's; on a host without it the
// rock-on does not start and the units do not create it; once made, both
// containers join it and reach each other by name, the published port
// answers, and stopping leaves it as it was.
func testNamedNetwork(t *testing.T, s *sandbox.Sandbox, engine string) {
	const netName = "nn-shared.net_1"
	def := &catalog.RockOn{Name: "Named Net", Containers: []catalog.Container{
		{Name: "nn-peer", Image: testImage, Tag: "1", LaunchOrder: 1, Opts: []catalog.Pair{{"--net=" + netName, ""}}},
		{Name: "nn-web", Image: testImage, Tag: "1", LaunchOrder: 2,
			Ports: []catalog.Port{{ContainerPort: 8080, HostDefault: 18087, Protocol: "tcp"}},
			Opts:  []catalog.Pair{{"--network", netName}}},
	}}
	opt := sandboxOptions(engine)
	res, err := Compile(def, model.Choices{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.EngineNetworks) != 1 || res.EngineNetworks[0].Name != netName || !res.EngineNetworks[0].Shared {
		t.Fatalf("EngineNetworks = %+v", res.EngineNetworks)
	}
	netUnit := res.EngineNetworks[0].Unit
	if out, err := s.Command(context.Background(), engine, "network", "inspect", netName).CombinedOutput(); err == nil {
		t.Fatalf("network %s exists before the rock-on starts: %s", netName, out)
	}
	install(t, s, opt, res)
	// the administrator's network: its unit fails while it is missing,
	// and never creates it
	webUnit := res.Containers[len(res.Containers)-1].Unit
	if out, err := s.Command(context.Background(), "systemctl", "start", webUnit).CombinedOutput(); err == nil {
		t.Errorf("%s started without the network %s: %s", webUnit, netName, out)
	}
	if out, err := s.Command(context.Background(), engine, "network", "inspect", netName).CombinedOutput(); err == nil {
		t.Fatalf("network %s was created by the units: %s", netName, out)
	}
	s.Run(t, "systemctl", "stop", res.Target)
	s.Run(t, "systemctl", "reset-failed")
	s.Run(t, engine, "network", "create", netName)
	web := "http://127.0.0.1:18087"
	for round := 1; round <= 2; round++ {
		s.Run(t, "systemctl", "start", res.Target)
		if got := s.HTTPGet(t, web+"/"); !strings.HasPrefix(got, "ok") {
			t.Errorf("round %d: nn-web's port answers %q", round, got)
		}
		if got := s.HTTPGet(t, web+"/connect?addr=nn-peer:8080"); !strings.HasPrefix(got, "ok") {
			t.Errorf("round %d: nn-web cannot reach nn-peer on %s: %q", round, netName, got)
		}
		if st, r := show(t, s, netUnit, "ActiveState"), show(t, s, netUnit, "Result"); st != "active" || r != "success" {
			t.Errorf("round %d: %s is %s (%s)", round, netUnit, st, r)
		}
		s.Run(t, "systemctl", "stop", res.Target)
		sandbox.WaitUntil(t, time.Minute, "named-network units stopped", func() bool {
			for _, c := range res.Containers {
				if show(t, s, c.Unit, "ActiveState") != "inactive" {
					return false
				}
			}
			return true
		})
		// Stopping leaves the network, untouched.
		label := s.Run(t, engine, "network", "inspect", "--format", `{{index .Labels "`+SharedNetworkLabel+`"}}`, netName)
		if v := strings.TrimSpace(label); v != "" && v != "<no value>" {
			t.Errorf("round %d: network %s got rockon's label %s = %q", round, netName, SharedNetworkLabel, label)
		}
	}
	s.Run(t, engine, "network", "rm", netName)
}

// testLink checks a catalog --link NAME:ALIAS (seafile, zabbix): docker
// takes it as it is, podman gets the translation (a shared network and a
// network alias). Either way the alias resolves.
func testLink(t *testing.T, s *sandbox.Sandbox, engine string) {
	def := &catalog.RockOn{Name: "Link Test", Containers: []catalog.Container{
		{Name: "lk-db", Image: testImage, Tag: "1", LaunchOrder: 1},
		{Name: "lk-app", Image: testImage, Tag: "1", LaunchOrder: 2,
			Ports: []catalog.Port{{ContainerPort: 8080, HostDefault: 18085, Protocol: "tcp"}},
			Opts:  []catalog.Pair{{"--link", "lk-db:database"}}},
	}}
	opt := sandboxOptions(engine)
	res, err := Compile(def, model.Choices{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	install(t, s, opt, res)
	s.Run(t, "systemctl", "start", res.Target)
	if got := s.HTTPGet(t, "http://127.0.0.1:18085/connect?addr=database:8080"); !strings.HasPrefix(got, "ok") {
		t.Errorf("lk-app cannot reach its link alias: %q", got)
	}
	s.Run(t, "systemctl", "stop", res.Target)
	sandbox.WaitUntil(t, time.Minute, "link units stopped", func() bool {
		return show(t, s, res.Containers[0].Unit, "ActiveState") == "inactive"
	})
	// The container's output is in the unit's journal, once.
	logs := s.Run(t, "journalctl", "--no-pager", "-o", "cat", "-u", res.Containers[0].Unit)
	if n := strings.Count(logs, "listening on"); n != 1 {
		t.Errorf("the journal of %s has the container's start line %d times, want 1:\n%s", res.Containers[0].Unit, n, logs)
	}
}

// sandboxOptions are the options the daemon would use inside the sandbox.
func sandboxOptions(engine string) Options {
	return Options{Host: model.Host{Engine: engine, SharesRoot: "/srv/rockon/shares"}, PathOwner: StatOwner, DockerGID: DockerGroupID}
}

// install writes the compiled files where the daemon puts them and
// reloads systemd.
func install(t *testing.T, s *sandbox.Sandbox, opt Options, res *Result) {
	t.Helper()
	opt = opt.withDefaults()
	for _, f := range res.Units {
		s.Write(t, "/etc/systemd/system/"+f.Name, string(f.Content), f.Mode)
	}
	for _, f := range res.EnvFiles {
		s.Write(t, path.Join(opt.EnvDir, f.Name), string(f.Content), f.Mode)
	}
	s.Run(t, "systemctl", "daemon-reload")
}

// show reads one property of a unit with systemctl.
func show(t *testing.T, s *sandbox.Sandbox, unit, prop string) string {
	t.Helper()
	return strings.TrimSpace(s.Run(t, "systemctl", "show", "--value", "-p", prop, unit))
}

// hostileText is like hostile but never refused: valid UTF-8, no NUL, no
// line break (env files cannot carry one).
func hostileText(r *rand.Rand) string {
	for {
		v := hostile(r)
		if checkText(v) == "" {
			return v
		}
	}
}

// testArgv is the property test: for random hostile env values, labels,
// command arguments and volume paths, the argv systemd parses from the
// generated unit equals the argv the generator meant, and the container
// sees the exact values.
func testArgv(t *testing.T, s *sandbox.Sandbox, engine string) {
	seed := time.Now().UnixNano()
	t.Logf("random seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	opt := sandboxOptions(engine)
	rounds, started := 12, 3
	if testing.Short() {
		rounds, started = 2, 1
	}
	for i := 0; i < rounds; i++ {
		v1, v2 := hostileText(r), hostileText(r)
		lk, lv := hostileText(r), hostileText(r)
		for !validLabelKey(lk) {
			lk = hostileText(r)
		}
		a1, a2, a3 := hostileText(r), hostileText(r), hostileText(r)
		dir := "/srv/rockon/prop/" + strings.NewReplacer(":", "_", ",", "_", "/", "_").Replace(hostileText(r))
		if checkHostPath(dir) != "" {
			dir = "/srv/rockon/prop/plain"
		}
		def := &catalog.RockOn{Name: "Prop Test", Containers: []catalog.Container{{
			Name: "prop", Image: testImage, Tag: "1", LaunchOrder: 1,
			Ports:   []catalog.Port{{ContainerPort: 8080, HostDefault: 18090, Protocol: "tcp"}},
			Volumes: []catalog.Volume{{Path: "/vol", Label: "vol"}},
			Env:     []catalog.Env{{Name: "V1", Label: "v1"}, {Name: "V2", Label: "v2"}},
			CmdArgs: []catalog.Pair{{a1, a2}, {a3, ""}},
		}}}
		ch := model.Choices{Containers: map[string]model.ContainerChoices{"prop": {
			Volumes: map[string]string{"/vol": dir},
			Env:     map[string]string{"V1": v1, "V2": v2},
			Labels:  map[string]string{lk: lv},
		}}}
		res, models, err := compile(def, ch, opt)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		install(t, s, opt, res)
		for name, m := range models {
			if !strings.HasSuffix(name, ".service") {
				continue // docker's container slice has no commands
			}
			for _, key := range []string{"ExecStartPre", "ExecStart", "ExecStop", "ExecStopPost"} {
				// systemd keeps command lines unexpanded until it
				// runs them (the D-Bus property shows "$$" where the
				// process gets "$"): compare with that form here; the
				// container's /args below checks the expanded result.
				var want [][]string
				for _, argv := range m.commands(key) {
					var w []string
					for _, a := range argv {
						w = append(w, strings.ReplaceAll(a, "$", "$$"))
					}
					want = append(want, w)
				}
				got := s.ExecArgv(t, name, key)
				if !slices.EqualFunc(got, want, slices.Equal) {
					t.Errorf("round %d: %s %s: systemd parsed\n%q\nwant\n%q", i, name, key, got, want)
				}
			}
		}
		if i >= started {
			continue
		}
		s.Run(t, "mkdir", "-p", "--", dir)
		s.Write(t, dir+"/probe", "probe "+v1, 0o644)
		s.Run(t, "systemctl", "restart", res.Target)
		gotArgs := s.HTTPGet(t, "http://127.0.0.1:18090/args")
		var argv []string
		if err := json.Unmarshal([]byte(gotArgs), &argv); err != nil || len(argv) < 1 || !slices.Equal(argv[1:], []string{a1, a2, a3}) {
			t.Errorf("round %d: container argv %s, want [... %q %q %q] (%v)", i, gotArgs, a1, a2, a3, err)
		}
		env := s.HTTPGet(t, "http://127.0.0.1:18090/env")
		for _, kv := range []string{"V1=" + v1, "V2=" + v2} {
			if !slices.Contains(strings.Split(env, "\n"), kv) {
				t.Errorf("round %d: container env lacks %q:\n%s", i, kv, env)
			}
		}
		if got := s.HTTPGet(t, "http://127.0.0.1:18090/file?path=/vol/probe"); got != "probe "+v1 {
			t.Errorf("round %d: /vol/probe = %q", i, got)
		}
		var labels map[string]string
		out := s.Run(t, engine, "container", "inspect", "--format", "{{json .Config.Labels}}", "prop")
		if err := json.Unmarshal([]byte(out), &labels); err != nil || labels[lk] != lv {
			t.Errorf("round %d: label %q = %q, want %q (%v)", i, lk, labels[lk], lv, err)
		}
	}
	s.Run(t, "systemctl", "stop", "rockon-prop-test.target")
	sandbox.WaitUntil(t, time.Minute, "prop unit inactive", func() bool {
		return show(t, s, "rockon-prop-test-prop.service", "ActiveState") == "inactive"
	})
}

// e2eDef is a three-container rock-on with a data container: e2e-db keeps
// its data in e2e-data (--volumes-from), e2e-web reaches e2e-db and
// e2e-cache by name over two link networks.
func e2eDef() *catalog.RockOn {
	return &catalog.RockOn{
		Name:    "E2E Chain",
		Website: "https://example.org/e2e",
		Containers: []catalog.Container{
			{Name: "e2e-data", Image: testImage, Tag: "1", LaunchOrder: 1, Opts: []catalog.Pair{{"-v", "/store"}}},
			{Name: "e2e-db", Image: testImage, Tag: "1", LaunchOrder: 2,
				Ports: []catalog.Port{{ContainerPort: 8080, HostDefault: 18081, Protocol: "tcp"}},
				Opts:  []catalog.Pair{{"--volumes-from", "e2e-data"}}},
			{Name: "e2e-cache", Image: testImage, Tag: "1", LaunchOrder: 3},
			{Name: "e2e-web", Image: testImage, Tag: "1", LaunchOrder: 4,
				Ports:   []catalog.Port{{ContainerPort: 8080, HostDefault: 18080, Protocol: "tcp"}},
				Volumes: []catalog.Volume{{Path: "/data", Label: "Data"}}},
		},
		Links: []catalog.Link{
			{Target: "e2e-web", Network: "WebToCache", Source: "e2e-cache"},
			{Target: "e2e-web", Network: "WebToDB", Source: "e2e-db"},
		},
	}
}

func testEndToEnd(t *testing.T, s *sandbox.Sandbox, engine string) {
	opt := sandboxOptions(engine)
	def := e2eDef()
	ch := model.Choices{Containers: map[string]model.ContainerChoices{"e2e-web": {Volumes: map[string]string{"/data": "e2e-web"}}}}
	s.Run(t, "mkdir", "-p", "/srv/rockon/shares/e2e-web")
	res, err := Compile(def, ch, opt)
	if err != nil {
		t.Fatal(err)
	}
	var units []string // launch order
	for _, c := range res.Containers {
		units = append(units, c.Unit)
		s.Write(t, "/etc/systemd/system/"+c.Unit+".d/50-stop-marker.conf", stopMarker, 0o644)
	}
	install(t, s, opt, res)
	all := append(slices.Clone(units), res.Target)
	for _, f := range res.Units {
		if strings.Contains(f.Name, "-net-") {
			all = append(all, f.Name)
		}
	}

	s.Run(t, "systemctl", "start", res.Target)
	for _, u := range units {
		if st := show(t, s, u, "ActiveState"); st != "active" {
			t.Fatalf("%s is %s after start, want active", u, st)
		}
	}
	// Start follows launch order: each unit became active after the
	// previous one.
	checkOrder(t, s, units, "ActiveEnterTimestampMonotonic", "started")

	// Containers reach each other by name; the published port answers.
	web := "http://127.0.0.1:18080"
	for _, peer := range []string{"e2e-db:8080", "e2e-cache:8080"} {
		if got := s.HTTPGet(t, web+"/connect?addr="+peer); !strings.HasPrefix(got, "ok") {
			t.Errorf("e2e-web cannot reach %s: %q", peer, got)
		}
	}

	// Linked containers keep the way out and the published ports the
	// default bridge gives them under Rockstor: e2e-web and e2e-db (each on
	// link networks) reach an address of the host outside all their
	// networks through their default route, and their ports answer.
	// (on lo: the sandbox's kernel may have no dummy interfaces; an address
	// other than 127/8 on lo is reached from outside like any other)
	s.Run(t, "ip", "addr", "add", "192.0.2.10/32", "dev", "lo")
	s.Run(t, "systemd-run", "--unit=e2e-outbound", "socat", "TCP-LISTEN:18199,bind=192.0.2.10,fork,reuseaddr", "SYSTEM:echo out")
	for _, from := range []string{"http://127.0.0.1:18080", "http://127.0.0.1:18081"} {
		if got := s.HTTPGet(t, from+"/"); !strings.HasPrefix(got, "ok") {
			t.Errorf("published port %s answers %q", from, got)
		}
		if got := s.HTTPGet(t, from+"/connect?addr=192.0.2.10:18199"); !strings.HasPrefix(got, "ok") {
			t.Errorf("the container behind %s has no way out: %q", from, got)
		}
	}
	s.Run(t, "systemctl", "stop", "e2e-outbound.service")
	s.Run(t, "ip", "addr", "del", "192.0.2.10/32", "dev", "lo")

	// Killing a container's main process makes systemd restart it.
	cache := units[2]
	pid := strings.TrimSpace(s.Run(t, engine, "container", "inspect", "--format", "{{.State.Pid}}", "e2e-cache"))
	if n, err := strconv.Atoi(pid); err != nil || n <= 0 {
		t.Fatalf("e2e-cache pid %q", pid)
	}
	s.Run(t, "kill", "-KILL", pid)
	sandbox.WaitUntil(t, 90*time.Second, "e2e-cache restarted by systemd", func() bool {
		return show(t, s, cache, "NRestarts") != "0" && show(t, s, cache, "ActiveState") == "active"
	})
	if got := s.HTTPGet(t, web+"/connect?addr=e2e-cache:8080"); !strings.HasPrefix(got, "ok") {
		t.Errorf("e2e-web cannot reach the restarted e2e-cache: %q", got)
	}

	// The data container keeps e2e-db's /store across stop/start.
	db := "http://127.0.0.1:18081"
	s.HTTPGet(t, db+"/write?path=/store/keep.txt&data=kept")
	stopAndCheck(t, s, res.Target, units, all)
	s.Run(t, "systemctl", "start", res.Target)
	if got := s.HTTPGet(t, db+"/file?path=/store/keep.txt"); got != "kept" {
		t.Errorf("after stop/start /store/keep.txt = %q, want kept", got)
	}

	// ... and across a reboot, where the enabled target starts at boot.
	s.Run(t, "systemctl", "enable", res.Target)
	s.Reboot(t)
	sandbox.WaitUntil(t, 3*time.Minute, "rock-on started at boot", func() bool {
		return show(t, s, units[3], "ActiveState") == "active"
	})
	if got := s.HTTPGet(t, db+"/file?path=/store/keep.txt"); got != "kept" {
		t.Errorf("after reboot /store/keep.txt = %q, want kept", got)
	}

	// A killed engine client leaves no container running once its unit
	// is stopped: the removal after a stop that did not end in success
	// takes it down (docker's container is dockerd's, and podman's is not
	// all in the unit's cgroup on a cgroup v1 host).
	sandbox.WaitUntil(t, 90*time.Second, "e2e-cache active", func() bool { return show(t, s, cache, "ActiveState") == "active" })
	s.Run(t, "systemctl", "kill", "--kill-whom=main", "--signal=KILL", cache)
	sandbox.WaitUntil(t, 90*time.Second, "e2e-cache waiting to restart", func() bool { return show(t, s, cache, "SubState") == "auto-restart" })
	s.Run(t, "systemctl", "stop", cache)
	if got := strings.TrimSpace(s.Run(t, engine, "ps", "--quiet", "--filter", "name=^e2e-cache$")); got != "" {
		t.Errorf("after its client was killed and its unit stopped, e2e-cache still runs (%s)", got)
	}
	s.Run(t, "systemctl", "start", res.Target)
	stopAndCheck(t, s, res.Target, units, all)
}

// stopAndCheck stops the target and checks that every unit ended inactive
// (not failed) and that the containers stopped in reverse launch order.
func stopAndCheck(t *testing.T, s *sandbox.Sandbox, target string, units, all []string) {
	t.Helper()
	// A target's stop job ends first (it is ordered after its
	// containers), so systemctl returns while the containers stop: wait
	// until nothing is deactivating.
	s.Run(t, "sh", "-c", "rm -f /run/stopped-*")
	s.Run(t, "systemctl", "stop", target)
	sandbox.WaitUntil(t, 2*time.Minute, "every unit stopped", func() bool {
		for _, u := range all {
			if st := show(t, s, u, "ActiveState"); st == "active" || st == "deactivating" {
				return false
			}
		}
		return true
	})
	for _, u := range all {
		if st := show(t, s, u, "ActiveState"); st != "inactive" {
			t.Errorf("%s: %s after stop, want inactive", u, st)
		}
		if strings.HasSuffix(u, ".service") {
			if res := show(t, s, u, "Result"); res != "success" {
				t.Errorf("%s: result %s after stop, want success", u, res)
			}
		}
	}
	// The data unit has nothing to stop: check the running containers.
	rev := slices.Clone(units[1:])
	slices.Reverse(rev)
	checkStopOrder(t, s, rev)
}

// checkOrder checks that a timestamp property strictly increases along units.
func checkOrder(t *testing.T, s *sandbox.Sandbox, units []string, prop, what string) {
	t.Helper()
	var prev uint64
	for i, u := range units {
		v, err := strconv.ParseUint(show(t, s, u, prop), 10, 64)
		if err != nil || v == 0 {
			t.Errorf("%s %s: %v\n%s", u, prop, err, s.Run(t, "systemctl", "show", "-p", "ActiveState,LoadState,SubState,InactiveEnterTimestampMonotonic,ActiveEnterTimestampMonotonic,InactiveExitTimestampMonotonic,ActiveExitTimestampMonotonic,NRestarts", u))
			continue
		}
		if i > 0 && v <= prev {
			t.Errorf("%s %s before %s: order is %s", u, what, units[i-1], strings.Join(units, ", "))
		}
		prev = v
	}
}

// stopMarker is an administrator's drop-in (which rockon never touches
// and which must keep working): it records when each unit has stopped.
const stopMarker = "[Service]\nExecStopPost=/usr/bin/touch /run/stopped-%n\n"

// checkStopOrder checks that the units stopped in the given order, from
// the files the stopMarker drop-in touched.
func checkStopOrder(t *testing.T, s *sandbox.Sandbox, units []string) {
	t.Helper()
	var prev uint64
	for i, u := range units {
		out := strings.TrimSpace(s.Run(t, "date", "-r", "/run/stopped-"+u, "+%s%N"))
		v, err := strconv.ParseUint(out, 10, 64)
		if err != nil {
			t.Errorf("%s: stop time %q: %v", u, out, err)
			continue
		}
		if i > 0 && v <= prev {
			t.Errorf("%s stopped before %s: order is %s", u, units[i-1], strings.Join(units, ", "))
		}
		prev = v
	}
}
