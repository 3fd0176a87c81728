package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

// The manager's install, apply and rollback decisions against in-memory
// systemd and engine fakes: what it writes, which jobs it asks for, what it
// records and what it puts back. The sandbox tests run the same code
// against real systemd and engines.

// decisionBed is a manager over the fakes, with a one-container rock-on
// whose environment goes to an env file.
type decisionBed struct {
	m   *Manager
	sd  *fakeSystemd
	eng *fakeEngine
	def *catalog.RockOn
	cfg *state.Config
}

const decisionDef = `{"Fake App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"fa-web": {"image": "registry.example/rockon-test", "tag": "1", "launch_order": 1,
   "environment": {"GREETING": {"description": "g", "label": "Greeting"}}}}}}`

const decisionRef = "registry.example/rockon-test:1"

func newDecisionBed(t *testing.T) *decisionBed {
	dir := t.TempDir()
	cfg := state.DefaultConfig()
	cfg.StateDir, cfg.EnvDir, cfg.UnitDir = filepath.Join(dir, "state"), filepath.Join(dir, "env"), filepath.Join(dir, "units")
	cfg.Engine.Name, cfg.Engine.Binary = "podman", "/usr/bin/podman"
	cfg.Metastore.LocalDir = ""
	for _, d := range []string{cfg.EnvDir, cfg.UnitDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	store, err := state.Open(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := catalog.Decode("fake.json", []byte(decisionDef))
	if err != nil {
		t.Fatal(err)
	}
	b := &decisionBed{sd: &fakeSystemd{}, eng: &fakeEngine{images: map[string]string{decisionRef: "sha256:old"}, next: map[string]string{}},
		def: defs[0], cfg: cfg}
	b.m = newManager(t.Context(), cfg, store, b.eng, b.sd, slog.New(slog.DiscardHandler))
	return b
}

func greeting(s string) model.Choices {
	return model.Choices{Containers: map[string]model.ContainerChoices{"fa-web": {Env: map[string]string{"GREETING": s}}}}
}

func noReport(float64, string) {}

// install installs the rock-on, stopped, with the greeting.
func (b *decisionBed) install(t *testing.T, g string) *unitgen.Result {
	t.Helper()
	res, err := b.m.compile(b.def, greeting(g), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.m.install(t.Context(), "fake-app", b.def, greeting(g), res, false, noReport); err != nil {
		t.Fatal(err)
	}
	return res
}

// files returns the unit and env directories' files with their content.
func (b *decisionBed) files(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{b.cfg.UnitDir, b.cfg.EnvDir} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Join(filepath.Base(dir), e.Name())] = string(data)
		}
	}
	return out
}

func TestInstallWritesWithCompilersModes(t *testing.T) {
	b := newDecisionBed(t)
	res := b.install(t, "hello")
	for _, set := range []struct {
		dir   string
		files []unitgen.File
	}{{b.cfg.UnitDir, res.Units}, {b.cfg.EnvDir, res.EnvFiles}} {
		for _, f := range set.files {
			fi, err := os.Stat(filepath.Join(set.dir, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != f.Mode.Perm() {
				t.Errorf("%s: mode %v, the compiler set %v", f.Name, fi.Mode().Perm(), f.Mode.Perm())
			}
		}
	}
	if len(res.EnvFiles) == 0 {
		t.Fatal("no env file: the test's definition should give one")
	}
	// installed stopped: no job touched a unit
	if jobs := append(b.sd.called("start"), b.sd.called("stop")...); len(jobs) > 0 {
		t.Errorf("an install without start ran jobs: %q", jobs)
	}
	in := b.m.get("fake-app")
	if in == nil || in.Phase != state.PhaseInstalled || in.Desired != state.DesiredOff {
		t.Fatalf("record after install: %+v", in)
	}
}

func TestInstallRolledBackWhenReloadFails(t *testing.T) {
	b := newDecisionBed(t)
	// units of the name in systemd's memory: the new files need a reload
	b.sd.held = true
	b.sd.reloadErr = errors.New("systemd is gone")
	res, err := b.m.compile(b.def, greeting("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.m.install(t.Context(), "fake-app", b.def, greeting("hello"), res, true, noReport)
	if err == nil || !strings.Contains(err.Error(), "systemd is gone") {
		t.Fatalf("install with a failing reload: %v", err)
	}
	if files := b.files(t); len(files) != 0 {
		t.Errorf("files left by the rolled-back install: %v", slices.Sorted(maps.Keys(files)))
	}
	if b.m.get("fake-app") != nil {
		t.Error("the rolled-back install is still in memory")
	}
	if recs, _ := b.m.store.List(); len(recs) != 0 {
		t.Errorf("records left by the rolled-back install: %d", len(recs))
	}
	if starts := b.sd.called("start"); len(starts) != 0 {
		t.Errorf("a failed install started units: %q", starts)
	}
}

func TestInstallKeepsForeignUnit(t *testing.T) {
	b := newDecisionBed(t)
	res, err := b.m.compile(b.def, greeting("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(b.cfg.UnitDir, res.Target)
	if err := os.WriteFile(foreign, []byte("[Unit]\nDescription=the administrator's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = b.m.install(t.Context(), "fake-app", b.def, greeting("hello"), res, false, noReport)
	if !errors.Is(err, model.ErrFailed) || !strings.Contains(err.Error(), "not rockon's") {
		t.Fatalf("install over a foreign unit: %v", err)
	}
	if data, _ := os.ReadFile(foreign); string(data) != "[Unit]\nDescription=the administrator's\n" {
		t.Errorf("the foreign unit was changed: %q", data)
	}
	if files := b.files(t); len(files) != 1 {
		t.Errorf("files after the refused install: %v", slices.Sorted(maps.Keys(files)))
	}
	if b.m.get("fake-app") != nil {
		t.Error("the refused install is recorded")
	}
}

func TestApplyUnchangedWhileOffTouchesNothing(t *testing.T) {
	b := newDecisionBed(t)
	res := b.install(t, "hello")
	before := b.files(t)
	b.sd.calls = nil
	if err := b.m.apply(t.Context(), "fake-app", b.def, greeting("hello"), res, false, noReport); err != nil {
		t.Fatal(err)
	}
	if after := b.files(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("files changed by a no-op apply:\n%v\n%v", before, after)
	}
	for _, c := range b.sd.calls {
		if c != "reload" {
			t.Errorf("a no-op apply of a stopped rock-on asked systemd for %q", c)
		}
	}
	if pulls := slices.DeleteFunc(slices.Clone(b.eng.calls), func(c string) bool { return !strings.HasPrefix(c, "pull") }); len(pulls) != 1 {
		// the install's pull only: a reconfigure pulls what is missing
		t.Errorf("pulls: %q", pulls)
	}
	in := b.m.get("fake-app")
	if in.Phase != state.PhaseInstalled || in.Pending != nil {
		t.Errorf("record after a no-op apply: phase %s, pending %v", in.Phase, in.Pending)
	}
}

func TestUpdateRolledBackWhenStartFails(t *testing.T) {
	b := newDecisionBed(t)
	old := b.install(t, "hello")
	before := b.files(t)
	// running, as the user asked
	in := *b.m.get("fake-app")
	in.Desired = state.DesiredOn
	if err := b.m.save(&in); err != nil {
		t.Fatal(err)
	}
	// the update's image and environment break the container
	b.eng.next[decisionRef] = "sha256:new"
	b.sd.onStart = func(string) string { return "failed" }
	b.sd.calls = nil
	res, err := b.m.compile(b.def, greeting("bye"), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.m.apply(t.Context(), "fake-app", b.def, greeting("bye"), res, true, noReport)
	if !errors.Is(err, model.ErrFailed) || !strings.Contains(err.Error(), "the previous version was restored") ||
		!strings.Contains(err.Error(), "the app's last words") {
		t.Fatalf("apply whose start fails: %v", err)
	}
	if after := b.files(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("files after the rollback differ from before the update:\n%v\n%v", before, after)
	}
	// the changed container was stopped before the new start, and the
	// old version started again after the failure
	unit := old.Containers[0].Unit
	if stops := b.sd.called("stop " + unit); len(stops) < 2 {
		t.Errorf("container unit stopped %d times, want once for the update and once for the rollback", len(stops))
	}
	if starts := b.sd.called("start " + old.Target); len(starts) != 2 {
		t.Errorf("target started %d times, want 2 (update, rollback)", len(starts))
	}
	// the tag moved back to the image the rock-on ran
	if !slices.Contains(b.eng.calls, "tag sha256:old "+decisionRef) {
		t.Errorf("engine calls %q: the tag was not put back", b.eng.calls)
	}
	got := b.m.get("fake-app")
	if got.Phase != state.PhaseInstalled || got.Pending != nil || got.Choices.Containers["fa-web"].Env["GREETING"] != "hello" ||
		got.Images[0].ID != "sha256:old" {
		t.Errorf("record after the rollback: phase %s, pending %v, choices %v, images %v", got.Phase, got.Pending, got.Choices, got.Images)
	}
}

// Starts beyond startConcurrency wait for a turn instead of all going to
// systemd at once; each one still runs and succeeds.
func TestStartsBounded(t *testing.T) {
	b := newDecisionBed(t)
	res := b.install(t, "hello")
	slots := cap(b.m.startSlots)
	b.eng.running = true
	entered, gate := make(chan struct{}, 64), make(chan struct{})
	var mu sync.Mutex
	inflight, most := 0, 0
	b.sd.onStart = func(string) string {
		mu.Lock()
		inflight++
		most = max(most, inflight)
		mu.Unlock()
		entered <- struct{}{}
		<-gate
		mu.Lock()
		inflight--
		mu.Unlock()
		return "active"
	}
	n := slots + 3
	errs := make(chan error, n)
	for range n {
		go func() { errs <- b.m.startChecked(t.Context(), res, nil, nil) }()
	}
	for range slots {
		<-entered
	}
	// the others are queued: none gets to systemd while the first are busy
	select {
	case <-entered:
		t.Errorf("a start went to systemd while %d were in progress", slots)
	case <-time.After(300 * time.Millisecond):
	}
	close(gate)
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("start: %v", err)
		}
	}
	if most > slots {
		t.Errorf("%d starts in systemd at once, want at most %d", most, slots)
	}
}

// TestInstallLocalOnlyImage: an install looks for a newer image (as
// Rockstor pulls at every install), but no registry serves a localhost/
// image: a present one is used as it is, a missing one is an error
// naming it, before anything is written.
func TestInstallLocalOnlyImage(t *testing.T) {
	b := newDecisionBed(t)
	local := strings.Replace(decisionDef, "registry.example/", "localhost/", 1)
	defs, err := catalog.Decode("fake.json", []byte(local))
	if err != nil {
		t.Fatal(err)
	}
	b.def = defs[0]
	b.eng.images["localhost/rockon-test:1"] = "sha256:local"
	b.install(t, "hello")
	if got := b.m.get("fake-app"); got == nil || got.Images[0].ID != "sha256:local" {
		t.Fatalf("record of the install: %+v", got)
	}
	if len(b.eng.calls) != 0 {
		t.Errorf("engine calls for a present local-only image: %q", b.eng.calls)
	}
	other := newDecisionBed(t)
	other.def = defs[0]
	res, err := other.m.compile(other.def, greeting("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = other.m.install(t.Context(), "fake-app", other.def, greeting("hello"), res, false, noReport)
	if err == nil || !strings.Contains(err.Error(), "localhost/rockon-test:1 is local-only and not present") {
		t.Fatalf("install of a missing local-only image: %v", err)
	}
	if files := other.files(t); len(files) != 0 || slices.ContainsFunc(other.eng.calls, func(c string) bool { return strings.HasPrefix(c, "pull") }) {
		t.Errorf("files %v and engine calls %q after the refused install", slices.Sorted(maps.Keys(files)), other.eng.calls)
	}
}

// TestInstallReloadsOnlyWhatSystemdHolds: systemd loads a new unit file
// when first asked about it, so an install whose units it does not hold
// starts them without a daemon-reload (seconds under load), enabled in the
// same pass and recorded on before the start; a leftover unit it holds, or
// new files it does not find, get one reload first.
func TestInstallReloadsOnlyWhatSystemdHolds(t *testing.T) {
	for _, tc := range []struct {
		name        string
		held, stale bool
		reloads     int
	}{{"new units", false, false, 0}, {"a leftover in memory", true, false, 1}, {"new files not found", false, true, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newDecisionBed(t)
			b.sd.held, b.sd.stale = tc.held, tc.stale
			b.eng.running = true
			res, err := b.m.compile(b.def, greeting("hello"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.m.install(t.Context(), "fake-app", b.def, greeting("hello"), res, true, noReport); err != nil {
				t.Fatal(err)
			}
			if got := len(b.sd.called("reload")); got != tc.reloads {
				t.Errorf("%d reloads, want %d: %q", got, tc.reloads, b.sd.calls)
			}
			var order []string
			for _, c := range b.sd.calls {
				if verb, _, _ := strings.Cut(c, " "); verb == "enable" || verb == "reload" || verb == "start" {
					order = append(order, verb)
				}
			}
			want := []string{"enable", "start"}
			if tc.reloads > 0 {
				want = []string{"enable", "reload", "start"}
			}
			if !slices.Equal(order, want) {
				t.Errorf("systemd calls %q, want %q in this order", b.sd.calls, want)
			}
			if resets := b.sd.called("reset-failed"); tc.reloads == 0 && len(resets) > 0 {
				t.Errorf("units loaded just now were reset: %q", resets)
			}
			if in := b.m.get("fake-app"); in == nil || in.Phase != state.PhaseInstalled || in.Desired != state.DesiredOn {
				t.Errorf("record after install: %+v", in)
			}
		})
	}
}

// TestReconcileEnablesOnlyWhatIsNotLinked: at start-up a rock-on that
// should be on is enabled only when a unit of it has no enablement link
// (each enable is a search of systemd's unit directories, at boot while
// systemd starts the units).
func TestReconcileEnablesOnlyWhatIsNotLinked(t *testing.T) {
	b := newDecisionBed(t)
	res := b.install(t, "hello")
	in := *b.m.get("fake-app")
	in.Desired = state.DesiredOn
	units := installUnits(res)
	if len(units) == 0 {
		t.Fatal("no unit to enable")
	}
	all := map[string]bool{}
	for _, u := range units {
		all[u] = true
	}
	for _, tc := range []struct {
		name   string
		linked map[string]bool
		enable bool
	}{{"all linked", all, false}, {"none linked", map[string]bool{}, true}, {"links unknown", nil, true}} {
		b.sd.calls = nil
		b.m.reconcileDesired(t.Context(), &in, res, tc.linked)
		if got := len(b.sd.called("enable")) > 0; got != tc.enable {
			t.Errorf("%s: enabled %v, want %v (calls %q)", tc.name, got, tc.enable, b.sd.calls)
		}
	}
}
