package metrics

import (
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
)

// family is the fixed part of a metric family, built once.
type family struct {
	name, help *string
	typ        *dto.MetricType
}

func newFamily(name, help string, typ dto.MetricType) family {
	return family{name: &name, help: &help, typ: typ.Enum()}
}

// The state families. Their label names are listed in each comment, in
// the (alphabetical) order the label pairs are built in.
var (
	famSnapshotSuccess = newFamily("rockon_snapshot_success",
		"Whether rockond could read the whole state of its rock-ons for this scrape (1) or only part of it (0).",
		dto.MetricType_GAUGE)
	famCatalogEntries = newFamily("rockon_catalog_entries",
		"Rock-on definitions in the catalog.",
		dto.MetricType_GAUGE)
	famCatalogLastRefresh = newFamily("rockon_catalog_last_refresh_timestamp_seconds",
		"When the catalog was last refreshed successfully, in seconds since the epoch (0: never).",
		dto.MetricType_GAUGE)
	famCatalogRefreshDuration = newFamily("rockon_catalog_refresh_duration_seconds",
		"Duration of the most recent catalog refresh attempt, successful or not.",
		dto.MetricType_GAUGE)
	// engine, rockon, version. Every series about a rock-on labels it
	// "rockon", so that expressions join on(rockon).
	famRockOnInfo = newFamily("rockon_rockon_info",
		"Installed rock-ons: name, definition version and container engine. Always 1.",
		dto.MetricType_GAUGE)
	// rockon
	famRockOnDesired = newFamily("rockon_rockon_desired_running",
		"Whether each installed rock-on is wanted running (1: turned on, started at boot) or stopped (0).",
		dto.MetricType_GAUGE)
	// rockon, state
	famRockOnState = newFamily("rockon_rockon_state",
		"State of each installed rock-on: one series per state, 1 for the current one.",
		dto.MetricType_GAUGE)
	// rockon
	famRockOnUpdateAvailable = newFamily("rockon_rockon_update_available",
		"Whether the last update check found a newer image in the registry for a container of the rock-on (absent until a check ran).",
		dto.MetricType_GAUGE)
	// container, rockon, sub_state, unit
	famContainerInfo = newFamily("rockon_container_info",
		"Containers of installed rock-ons with their systemd unit and its sub-state. Always 1.",
		dto.MetricType_GAUGE)
	// container, rockon, state
	famContainerState = newFamily("rockon_container_state",
		"Systemd active state of each container's unit: one series per state, 1 for the current one; deactivating from the moment the container engine reports the container's death until systemd's next state change.",
		dto.MetricType_GAUGE)
	// container, rockon
	famContainerRestarts = newFamily("rockon_container_restarts_total",
		"Automatic restarts of each container's unit (systemd NRestarts; resets when the unit is started by hand).",
		dto.MetricType_COUNTER)
	// container, rockon
	famContainerStart = newFamily("rockon_container_start_time_seconds",
		"When each container's unit last became active, in seconds since the epoch.",
		dto.MetricType_GAUGE)
)

// stateIndex and activeStateIndex map a state to its position in States /
// ActiveStates, so a scrape finds the "1" without comparing strings per
// series.
var (
	stateIndex       = indexOf(States)
	activeStateIndex = indexOf(ActiveStates)
)

func indexOf(list []string) map[string]int {
	m := make(map[string]int, len(list))
	for i, s := range list {
		m[s] = i
	}
	return m
}

// Collector turns a Source's snapshot into metric families at scrape time.
//
// It is a prometheus.Gatherer, not a prometheus.Collector: with 200
// rock-ons a scrape has over 8000 state series, and sending each through
// a registry (a constant metric per series, a consistency check and a hash
// per series, then a sort) cost about a third of the scrape. The families are
// built directly instead, already in the order the registry would sort them
// into; the checks the registry would make (unique series, valid UTF-8,
// types) are kept by construction here and verified in the tests, which
// gather through prometheus.Gatherers (it checks every series).
type Collector struct {
	src Source
	rec *Recorder // for the catalog refresh figures; may be nil
}

// NewCollector returns a collector reading src at every scrape. rec, when
// not nil, supplies the catalog refresh duration and success time; its own
// counters are not gathered here (NewRegistry registers it).
func NewCollector(src Source, rec *Recorder) *Collector {
	return &Collector{src: src, rec: rec}
}

// Gather implements prometheus.Gatherer.
func (c *Collector) Gather() ([]*dto.MetricFamily, error) {
	snap := c.src.Snapshot()
	var b builder
	var out []*dto.MetricFamily
	add := func(mf *dto.MetricFamily) {
		if len(mf.Metric) > 0 { // a family without series cannot be written out
			out = append(out, mf)
		}
	}

	add(b.family(famSnapshotSuccess, b.gauge(nil, boolValue(snap.Err == nil))))
	add(b.family(famCatalogEntries, b.gauge(nil, float64(snap.Catalog.Entries))))
	last := snap.Catalog.LastRefresh
	ok, took, seen := c.rec.lastRefresh()
	if ok.After(last) {
		last = ok
	}
	add(b.family(famCatalogLastRefresh, b.gauge(nil, unixSeconds(last))))
	if seen {
		add(b.family(famCatalogRefreshDuration, b.gauge(nil, took.Seconds())))
	}

	// A rock-on or container listed twice would be a duplicate series,
	// which Prometheus rejects along with the whole scrape: keep the first
	// and drop the rest.
	rockons := make([]rockonRef, 0, len(snap.RockOns))
	seenName := make(map[string]bool, len(snap.RockOns))
	ncontainers := 0
	for i := range snap.RockOns {
		r := &snap.RockOns[i]
		name := label(r.Name)
		if seenName[name] {
			continue
		}
		seenName[name] = true
		rockons = append(rockons, rockonRef{name: name, r: r})
		ncontainers += len(r.Containers)
	}
	sort.SliceStable(rockons, func(i, j int) bool { return rockons[i].name < rockons[j].name })

	info := b.family(famRockOnInfo)
	desired := b.family(famRockOnDesired)
	state := b.family(famRockOnState)
	updates := b.family(famRockOnUpdateAvailable)
	info.Metric = slices.Grow(info.Metric, len(rockons))
	desired.Metric = slices.Grow(desired.Metric, len(rockons))
	state.Metric = slices.Grow(state.Metric, len(rockons)*len(States))
	containers := make([]containerRef, 0, ncontainers)
	for _, ref := range rockons {
		r := ref.r
		rockonPair := pair("rockon", ref.name)
		info.Metric = append(info.Metric, b.gauge([]*dto.LabelPair{pair("engine", label(r.Engine)), rockonPair, pair("version", label(r.Version))}, 1))
		desired.Metric = append(desired.Metric, b.gauge([]*dto.LabelPair{rockonPair}, boolValue(r.DesiredRunning)))
		if r.UpdateChecked {
			updates.Metric = append(updates.Metric, b.gauge([]*dto.LabelPair{rockonPair}, boolValue(r.UpdateAvailable)))
		}

		cur, ok := stateIndex[r.State]
		if !ok {
			cur = stateIndex[StateUnknown]
		}
		labels := make([]*dto.LabelPair, 2*len(States))
		for k, i := range stateOrder {
			l := labels[2*k : 2*k+2 : 2*k+2]
			l[0], l[1] = rockonPair, statePairs[i]
			state.Metric = append(state.Metric, b.gauge(l, boolValue(i == cur)))
		}

		seenContainer := make(map[string]bool, len(r.Containers))
		for i := range r.Containers {
			ct := &r.Containers[i]
			cname := label(ct.Name)
			if seenContainer[cname] {
				continue
			}
			seenContainer[cname] = true
			containers = append(containers, containerRef{rockon: rockonPair, name: cname, ct: ct})
		}
	}
	// The series are sorted by label values in label name order: engine
	// first for the info series.
	sortSeries(info)
	add(info)
	add(desired)
	add(state)
	add(updates)

	// Container series are labelled {container, rockon, ...}: ordered by
	// container name first.
	sort.SliceStable(containers, func(i, j int) bool {
		if containers[i].name != containers[j].name {
			return containers[i].name < containers[j].name
		}
		return containers[i].rockon.GetValue() < containers[j].rockon.GetValue()
	})
	cinfo := b.family(famContainerInfo)
	cstate := b.family(famContainerState)
	restarts := b.family(famContainerRestarts)
	start := b.family(famContainerStart)
	cinfo.Metric = slices.Grow(cinfo.Metric, len(containers))
	cstate.Metric = slices.Grow(cstate.Metric, len(containers)*len(ActiveStates))
	restarts.Metric = slices.Grow(restarts.Metric, len(containers))
	start.Metric = slices.Grow(start.Metric, len(containers))
	for _, c := range containers {
		ct := c.ct
		// One allocation for all the label slices of this container.
		labels := make([]*dto.LabelPair, 0, 4+3*len(ActiveStates)+2)
		take := func(ps ...*dto.LabelPair) []*dto.LabelPair {
			n := len(labels)
			labels = append(labels, ps...)
			return labels[n:len(labels):len(labels)]
		}
		containerPair := pair("container", c.name)
		cinfo.Metric = append(cinfo.Metric, b.gauge(take(containerPair, c.rockon, pair("sub_state", label(ct.SubState)), pair("unit", label(ct.Unit))), 1))

		cur, ok := activeStateIndex[ct.ActiveState]
		if !ok {
			cur = activeStateIndex["unknown"]
		}
		for _, i := range activeStateOrder {
			cstate.Metric = append(cstate.Metric, b.gauge(take(containerPair, c.rockon, activeStatePairs[i]), boolValue(i == cur)))
		}

		both := take(containerPair, c.rockon)
		restarts.Metric = append(restarts.Metric, b.counter(both, float64(ct.NRestarts)))
		if !ct.StartTime.IsZero() {
			start.Metric = append(start.Metric, b.gauge(both, unixSeconds(ct.StartTime)))
		}
	}
	add(cinfo)
	add(cstate)
	add(restarts)
	add(start)

	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, nil
}

type rockonRef struct {
	name string // as exported
	r    *RockOnSnapshot
}

// containerRef is a container to export, with its rock-on's label pair.
type containerRef struct {
	rockon *dto.LabelPair
	name   string // as exported
	ct     *ContainerSnapshot
}

// builder hands out the protobuf structs of one scrape from chunks, instead
// of three small allocations per series. Label pairs are shared between
// series where the values are the same: the encoder only reads them.
type builder struct {
	metrics  []dto.Metric
	gauges   []dto.Gauge
	counters []dto.Counter
	values   []float64
}

const chunk = 1024

func (b *builder) family(f family, ms ...*dto.Metric) *dto.MetricFamily {
	return &dto.MetricFamily{Name: f.name, Help: f.help, Type: f.typ, Metric: ms}
}

func (b *builder) metric(labels []*dto.LabelPair, v float64) (*dto.Metric, *float64) {
	m, p := take(&b.metrics), take(&b.values)
	m.Label = labels
	*p = v
	return m, p
}

func (b *builder) gauge(labels []*dto.LabelPair, v float64) *dto.Metric {
	m, p := b.metric(labels, v)
	m.Gauge = take(&b.gauges)
	m.Gauge.Value = p
	return m
}

func (b *builder) counter(labels []*dto.LabelPair, v float64) *dto.Metric {
	m, p := b.metric(labels, v)
	m.Counter = take(&b.counters)
	m.Counter.Value = p
	return m
}

// take hands out the next value of a chunk, making a new chunk when the
// last one is used up.
func take[T any](pool *[]T) *T {
	if len(*pool) == 0 {
		*pool = make([]T, chunk)
	}
	v := &(*pool)[0]
	*pool = (*pool)[1:]
	return v
}

// sortSeries orders a family's series by their label values, taken in
// label name order (what the registry does); already sorted families cost
// one pass.
func sortSeries(mf *dto.MetricFamily) {
	less := func(a, b *dto.Metric) int {
		for i := range a.Label {
			if i >= len(b.Label) {
				return 1
			}
			if c := strings.Compare(a.Label[i].GetValue(), b.Label[i].GetValue()); c != 0 {
				return c
			}
		}
		return len(a.Label) - len(b.Label)
	}
	if !slices.IsSortedFunc(mf.Metric, less) {
		slices.SortStableFunc(mf.Metric, less)
	}
}

func pair(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: &name, Value: &value}
}

// Series are built in the order they are written out, which makes the
// final ordering checks linear: stateOrder and activeStateOrder are the
// indexes of States and ActiveStates in alphabetical order.
var (
	stateOrder       = alphabetical(States)
	activeStateOrder = alphabetical(ActiveStates)
)

func alphabetical(list []string) []int {
	idx := make([]int, len(list))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return list[idx[a]] < list[idx[b]] })
	return idx
}

// Label pairs for the fixed state values, built once and shared by every
// scrape (the exposition code only reads them).
var (
	statePairs       = statePairList(States)
	activeStatePairs = statePairList(ActiveStates)
)

func statePairList(states []string) []*dto.LabelPair {
	ps := make([]*dto.LabelPair, len(states))
	for i, s := range states {
		ps[i] = pair("state", s)
	}
	return ps
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds is t in fractional seconds since the epoch, 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// label makes s usable as a label value: names come from catalog
// definitions, which are untrusted, and Prometheus refuses label values
// that are not valid UTF-8.
func label(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
