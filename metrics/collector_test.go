package metrics

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/rockon/rockon/model"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// fakeSource hands out a fixed snapshot; the collector is pure, so a fake
// here tests exactly what the daemon's real source will go through.
type fakeSource struct {
	mu   sync.Mutex
	snap Snapshot
}

func (f *fakeSource) Snapshot() Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeSource) set(s Snapshot) {
	f.mu.Lock()
	f.snap = s
	f.mu.Unlock()
}

var (
	t0 = time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)
	t1 = time.Date(2026, 11, 24, 21, 30, 0, 500_000_000, time.UTC)
)

func sampleSnapshot() Snapshot {
	return Snapshot{
		Catalog: CatalogSnapshot{Entries: 89, LastRefresh: t0},
		RockOns: []RockOnSnapshot{
			{
				Name: "Syncthing", Version: "1.27", Engine: "podman", State: StateRunning, DesiredRunning: true,
				Containers: []ContainerSnapshot{{
					Name: "syncthing", Unit: "rockon-syncthing-syncthing.service",
					ActiveState: "active", SubState: "running", NRestarts: 2, StartTime: t1,
				}},
			},
			{
				Name: "Gitea", Version: "", Engine: "docker", State: StateDegraded, DesiredRunning: false,
				Containers: []ContainerSnapshot{
					{Name: "gitea", Unit: "rockon-gitea-gitea.service", ActiveState: "active", SubState: "running", StartTime: t0},
					{Name: "gitea-db", Unit: "rockon-gitea-gitea\\x2ddb.service", ActiveState: "failed", SubState: "failed", NRestarts: 5},
				},
			},
		},
	}
}

// rockonMetricNames lists the families the collector and recorder export,
// so comparisons leave out the Go and process collectors, whose values
// change from run to run.
var rockonMetricNames = []string{
	"rockon_snapshot_success",
	"rockon_catalog_entries",
	"rockon_catalog_last_refresh_timestamp_seconds",
	"rockon_catalog_refresh_duration_seconds",
	"rockon_catalog_refreshes_total",
	"rockon_catalog_refresh_failures_total",
	"rockon_rockon_info",
	"rockon_rockon_desired_running",
	"rockon_rockon_state",
	"rockon_container_info",
	"rockon_container_state",
	"rockon_container_restarts_total",
	"rockon_container_start_time_seconds",
	"rockon_operations_total",
	"rockon_operation_duration_seconds",
	"rockon_image_pull_bytes_total",
	"rockon_image_pull_duration_seconds",
}

// TestGolden compares the whole rockon_ exposition for a sample snapshot and
// some recorded work with testdata/sample.prom (go test -update rewrites it).
func TestGolden(t *testing.T) {
	rec := NewRecorder()
	rec.ObserveOperation(model.OpInstall, ResultSuccess, 42*time.Second)
	rec.ObserveOperation(model.OpStop, ResultFailure, 300*time.Millisecond)
	rec.ObservePull(123456789, 12*time.Second)
	rec.observeRefreshAt(t0.Add(-time.Hour), 2*time.Second, nil) // older than the snapshot's: ignored
	rec.observeRefreshAt(t0.Add(time.Minute), 3*time.Second, errors.New("network down"))
	reg := NewRegistry(&fakeSource{snap: sampleSnapshot()}, rec)

	golden := filepath.Join("testdata", "sample.prom")
	if *update {
		if err := writeExposition(reg, golden, rockonMetricNames); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	defer f.Close()
	if err := testutil.GatherAndCompare(checked(reg), f, rockonMetricNames...); err != nil {
		t.Fatal(err)
	}

	assertNormalized(t, reg)
}

// assertNormalized checks that g's rockon_ families come out exactly as the
// checking, normalizing gatherer writes them: the series are built in order
// and pass its checks.
func assertNormalized(t *testing.T, g prometheus.Gatherer) {
	t.Helper()
	direct, err := expositionText(g, rockonMetricNames)
	if err != nil {
		t.Fatal(err)
	}
	normalized, err := expositionText(checked(g), rockonMetricNames)
	if err != nil {
		t.Fatal(err)
	}
	if direct != normalized {
		t.Errorf("gathered families are not in normalized order:\n%s\nwant:\n%s", direct, normalized)
	}
}

// A large snapshot, in every state, in no particular order, with untrusted
// names, comes out in order and passes the registry's checks.
func TestOrderAndChecksLargeSnapshot(t *testing.T) {
	snap := bigSnapshot(60)
	// Reverse, so the input order is the opposite of the output's.
	for i, j := 0, len(snap.RockOns)-1; i < j; i, j = i+1, j-1 {
		snap.RockOns[i], snap.RockOns[j] = snap.RockOns[j], snap.RockOns[i]
	}
	snap.RockOns[3].Name = "Z\xff"
	snap.RockOns[4].Name = "A\xfe"
	snap.RockOns[5].Engine = "docker"
	snap.RockOns[6].Containers[1].Name = "\xffc"
	snap.RockOns[7].Containers = append(snap.RockOns[7].Containers, snap.RockOns[7].Containers[0])
	snap.RockOns = append(snap.RockOns, snap.RockOns[9])
	reg := NewRegistry(&fakeSource{snap: snap}, NewRecorder())
	assertNormalized(t, reg)
	mfs, err := checked(reg).Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, mf := range mfs {
		counts[mf.GetName()] = len(mf.Metric)
	}
	// 60 rock-ons (one listed twice), 180 containers (one listed twice).
	for name, want := range map[string]int{
		"rockon_rockon_info":              60,
		"rockon_rockon_desired_running":   60,
		"rockon_rockon_state":             60 * len(States),
		"rockon_container_info":           180,
		"rockon_container_state":          180 * len(ActiveStates),
		"rockon_container_restarts_total": 180,
	} {
		if counts[name] != want {
			t.Errorf("%s: %d series, want %d", name, counts[name], want)
		}
	}
}

// checked gathers from gs through prometheus.Gatherers, which checks every
// series (type, label names and values, no duplicates) and sorts them: the
// checks a registry makes of a collector's metrics, which the Collector's
// direct families skip in production.
func checked(gs ...prometheus.Gatherer) prometheus.Gatherer {
	return prometheus.Gatherers(gs)
}

func TestRockOnStateOneHot(t *testing.T) {
	src := &fakeSource{}
	reg := checked(NewCollector(src, nil))

	for _, state := range append(append([]string{}, States...), "exploded", "") {
		src.set(Snapshot{RockOns: []RockOnSnapshot{{Name: "App", State: state}}})
		want := state
		if _, ok := stateIndex[state]; !ok {
			want = StateUnknown
		}
		var b strings.Builder
		b.WriteString("# HELP rockon_rockon_state State of each installed rock-on: one series per state, 1 for the current one.\n")
		b.WriteString("# TYPE rockon_rockon_state gauge\n")
		for _, s := range States {
			v := "0"
			if s == want {
				v = "1"
			}
			b.WriteString(`rockon_rockon_state{rockon="App",state="` + s + `"} ` + v + "\n")
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(b.String()), "rockon_rockon_state"); err != nil {
			t.Errorf("state %q: %v", state, err)
		}
	}
}

func TestContainerStates(t *testing.T) {
	src := &fakeSource{snap: Snapshot{RockOns: []RockOnSnapshot{{
		Name: "App", State: StateStopped,
		Containers: []ContainerSnapshot{
			{Name: "web", Unit: "rockon-app-web.service", ActiveState: "inactive", SubState: "dead"},
			{Name: "odd", Unit: "rockon-app-odd.service", ActiveState: "maintenance", SubState: "x"},
		},
	}}}}
	reg := checked(NewCollector(src, nil))
	const want = `
# HELP rockon_container_state Systemd active state of each container's unit: one series per state, 1 for the current one; deactivating from the moment the container engine reports the container's death until systemd's next state change.
# TYPE rockon_container_state gauge
rockon_container_state{container="odd",rockon="App",state="activating"} 0
rockon_container_state{container="odd",rockon="App",state="active"} 0
rockon_container_state{container="odd",rockon="App",state="deactivating"} 0
rockon_container_state{container="odd",rockon="App",state="failed"} 0
rockon_container_state{container="odd",rockon="App",state="inactive"} 0
rockon_container_state{container="odd",rockon="App",state="reloading"} 0
rockon_container_state{container="odd",rockon="App",state="unknown"} 1
rockon_container_state{container="web",rockon="App",state="activating"} 0
rockon_container_state{container="web",rockon="App",state="active"} 0
rockon_container_state{container="web",rockon="App",state="deactivating"} 0
rockon_container_state{container="web",rockon="App",state="failed"} 0
rockon_container_state{container="web",rockon="App",state="inactive"} 1
rockon_container_state{container="web",rockon="App",state="reloading"} 0
rockon_container_state{container="web",rockon="App",state="unknown"} 0
# HELP rockon_container_restarts_total Automatic restarts of each container's unit (systemd NRestarts; resets when the unit is started by hand).
# TYPE rockon_container_restarts_total counter
rockon_container_restarts_total{container="odd",rockon="App"} 0
rockon_container_restarts_total{container="web",rockon="App"} 0
`
	// Never-started units have no start time series at all.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"rockon_container_state", "rockon_container_restarts_total", "rockon_container_start_time_seconds"); err != nil {
		t.Fatal(err)
	}
}

// Untrusted names must not break the scrape: invalid UTF-8 is replaced, and
// duplicates (which the registry would reject, failing everything) are
// dropped.
func TestBadNamesDoNotBreakScrape(t *testing.T) {
	src := &fakeSource{snap: Snapshot{RockOns: []RockOnSnapshot{
		{Name: "Bad\xffName", Version: "v\xfe", Engine: "docker", State: StateRunning,
			Containers: []ContainerSnapshot{
				{Name: "c\xff", Unit: "u", ActiveState: "active", SubState: "running", NRestarts: 1},
				{Name: "c\xff", Unit: "u2", ActiveState: "failed", SubState: "failed", NRestarts: 9},
			}},
		{Name: "Bad\xffName", Version: "2", Engine: "podman", State: StateFailed},
		{Name: `quote"and\back` + "\nnewline", Engine: "docker", State: StateStopped},
	}}}
	reg := checked(NewCollector(src, nil))
	const want = `
# HELP rockon_rockon_info Installed rock-ons: name, definition version and container engine. Always 1.
# TYPE rockon_rockon_info gauge
rockon_rockon_info{engine="docker",rockon="Bad` + "\uFFFD" + `Name",version="v` + "\uFFFD" + `"} 1
rockon_rockon_info{engine="docker",rockon="quote\"and\\back\nnewline",version=""} 1
# HELP rockon_container_restarts_total Automatic restarts of each container's unit (systemd NRestarts; resets when the unit is started by hand).
# TYPE rockon_container_restarts_total counter
rockon_container_restarts_total{container="c` + "\uFFFD" + `",rockon="Bad` + "\uFFFD" + `Name"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rockon_rockon_info", "rockon_container_restarts_total"); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotError(t *testing.T) {
	src := &fakeSource{snap: Snapshot{Err: errors.New("systemd unreachable"), Catalog: CatalogSnapshot{Entries: 3}}}
	reg := checked(NewCollector(src, nil))
	const want = `
# HELP rockon_snapshot_success Whether rockond could read the whole state of its rock-ons for this scrape (1) or only part of it (0).
# TYPE rockon_snapshot_success gauge
rockon_snapshot_success 0
# HELP rockon_catalog_entries Rock-on definitions in the catalog.
# TYPE rockon_catalog_entries gauge
rockon_catalog_entries 3
# HELP rockon_catalog_last_refresh_timestamp_seconds When the catalog was last refreshed successfully, in seconds since the epoch (0: never).
# TYPE rockon_catalog_last_refresh_timestamp_seconds gauge
rockon_catalog_last_refresh_timestamp_seconds 0
`
	// No refresh observed: no duration series.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"rockon_snapshot_success", "rockon_catalog_entries",
		"rockon_catalog_last_refresh_timestamp_seconds", "rockon_catalog_refresh_duration_seconds"); err != nil {
		t.Fatal(err)
	}
}

// A successful refresh seen by the recorder after the snapshot's time wins;
// failures count but do not move the timestamp.
func TestRefreshMerge(t *testing.T) {
	rec := NewRecorder()
	src := &fakeSource{snap: Snapshot{Catalog: CatalogSnapshot{Entries: 1, LastRefresh: t0}}}
	counters := prometheus.NewPedanticRegistry()
	counters.MustRegister(rec)
	reg := checked(NewCollector(src, rec), counters)

	rec.observeRefreshAt(t1, 1500*time.Millisecond, nil)
	rec.observeRefreshAt(t1.Add(time.Hour), 250*time.Millisecond, errors.New("timeout"))
	const want = `
# HELP rockon_catalog_last_refresh_timestamp_seconds When the catalog was last refreshed successfully, in seconds since the epoch (0: never).
# TYPE rockon_catalog_last_refresh_timestamp_seconds gauge
rockon_catalog_last_refresh_timestamp_seconds 1.7955558005e+09
# HELP rockon_catalog_refresh_duration_seconds Duration of the most recent catalog refresh attempt, successful or not.
# TYPE rockon_catalog_refresh_duration_seconds gauge
rockon_catalog_refresh_duration_seconds 0.25
# HELP rockon_catalog_refresh_failures_total Catalog refresh attempts that failed.
# TYPE rockon_catalog_refresh_failures_total counter
rockon_catalog_refresh_failures_total 1
# HELP rockon_catalog_refreshes_total Catalog refresh attempts, successful or not.
# TYPE rockon_catalog_refreshes_total counter
rockon_catalog_refreshes_total 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"rockon_catalog_last_refresh_timestamp_seconds", "rockon_catalog_refresh_duration_seconds",
		"rockon_catalog_refresh_failures_total", "rockon_catalog_refreshes_total"); err != nil {
		t.Fatal(err)
	}
}

func TestRecorderConcurrentAndNil(t *testing.T) {
	var nilRec *Recorder
	nilRec.ObserveOperation(model.OpInstall, ResultSuccess, time.Second)
	nilRec.ObservePull(1, time.Second)
	nilRec.ObserveRefresh(time.Second, nil)

	rec := NewRecorder()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				rec.ObserveOperation(model.OpStart, ResultSuccess, time.Millisecond)
				rec.ObservePull(10, time.Millisecond)
				rec.ObservePull(-1, time.Millisecond) // size unknown: no bytes
				rec.ObserveRefresh(time.Millisecond, nil)
			}
		}()
	}
	wg.Wait()
	if got := testutil.ToFloat64(rec.operations.WithLabelValues(string(model.OpStart), ResultSuccess)); got != 800 {
		t.Errorf("start operations = %v, want 800", got)
	}
	if got := testutil.ToFloat64(rec.pullBytes); got != 8000 {
		t.Errorf("pull bytes = %v, want 8000", got)
	}
	if got := testutil.ToFloat64(rec.refreshes); got != 800 {
		t.Errorf("refreshes = %v, want 800", got)
	}
}

func writeExposition(g prometheus.Gatherer, path string, names []string) error {
	text, err := expositionText(g, names)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// expositionText gathers g and renders the families in names (all if none)
// in the text format.
func expositionText(g prometheus.Gatherer, names []string) (string, error) {
	mfs, err := g.Gather()
	if err != nil {
		return "", err
	}
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[n] = true
	}
	var b strings.Builder
	for _, mf := range mfs {
		if len(names) > 0 && !keep[mf.GetName()] {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}
