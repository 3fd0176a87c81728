package metrics

import (
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Descriptors are built once; only the constant metrics hanging off them are
// made per scrape.
var (
	descSnapshotSuccess = prometheus.NewDesc("rockon_snapshot_success",
		"Whether rockond could read the whole state of its rock-ons for this scrape (1) or only part of it (0).",
		nil, nil)
	descCatalogEntries = prometheus.NewDesc("rockon_catalog_entries",
		"Rock-on definitions in the catalog.",
		nil, nil)
	descCatalogLastRefresh = prometheus.NewDesc("rockon_catalog_last_refresh_timestamp_seconds",
		"When the catalog was last refreshed successfully, in seconds since the epoch (0: never).",
		nil, nil)
	descCatalogRefreshDuration = prometheus.NewDesc("rockon_catalog_refresh_duration_seconds",
		"Duration of the most recent catalog refresh attempt, successful or not.",
		nil, nil)
	descRockOnInfo = prometheus.NewDesc("rockon_rockon_info",
		"Installed rock-ons: name, definition version and container engine. Always 1.",
		[]string{"name", "version", "engine"}, nil)
	descRockOnState = prometheus.NewDesc("rockon_rockon_state",
		"State of each installed rock-on: one series per state, 1 for the current one.",
		[]string{"name", "state"}, nil)
	descContainerInfo = prometheus.NewDesc("rockon_container_info",
		"Containers of installed rock-ons with their systemd unit and its sub-state. Always 1.",
		[]string{"rockon", "container", "unit", "sub_state"}, nil)
	descContainerState = prometheus.NewDesc("rockon_container_state",
		"Systemd active state of each container's unit: one series per state, 1 for the current one.",
		[]string{"rockon", "container", "state"}, nil)
	descContainerRestarts = prometheus.NewDesc("rockon_container_restarts_total",
		"Automatic restarts of each container's unit (systemd NRestarts; resets when the unit is started by hand).",
		[]string{"rockon", "container"}, nil)
	descContainerStart = prometheus.NewDesc("rockon_container_start_time_seconds",
		"When each container's unit last became active, in seconds since the epoch.",
		[]string{"rockon", "container"}, nil)
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

// Collector turns a Source's snapshot into metrics at scrape time.
type Collector struct {
	src Source
	rec *Recorder // for the catalog refresh figures; may be nil
}

// NewCollector returns a collector reading src at every scrape. rec, when
// not nil, supplies the catalog refresh duration and success time; it is
// not collected here (register it on its own, as NewRegistry does).
func NewCollector(src Source, rec *Recorder) *Collector {
	return &Collector{src: src, rec: rec}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descSnapshotSuccess, descCatalogEntries, descCatalogLastRefresh,
		descCatalogRefreshDuration, descRockOnInfo, descRockOnState,
		descContainerInfo, descContainerState, descContainerRestarts,
		descContainerStart,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	snap := c.src.Snapshot()

	ch <- prometheus.MustNewConstMetric(descSnapshotSuccess, prometheus.GaugeValue, boolValue(snap.Err == nil))
	c.collectCatalog(ch, snap.Catalog)

	// A rock-on or container listed twice would make the registry reject
	// the whole scrape (duplicate series); keep the first and drop the rest.
	seen := make(map[string]bool, len(snap.RockOns))
	var containers []containerRef
	for _, i := range byName(len(snap.RockOns), func(i int) string { return snap.RockOns[i].Name }) {
		r := &snap.RockOns[i]
		name := label(r.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		containers = collectRockOn(ch, name, r, containers)
	}

	// Container series are labelled {container, rockon, ...}: the
	// exposition orders them by container name first.
	sort.SliceStable(containers, func(a, b int) bool {
		if containers[a].name != containers[b].name {
			return containers[a].name < containers[b].name
		}
		return containers[a].rockon.GetValue() < containers[b].rockon.GetValue()
	})
	for _, c := range containers {
		collectContainer(ch, c.rockon, c.name, c.ct)
	}
}

// containerRef is a container to export, with its rock-on's label pair.
type containerRef struct {
	rockon *dto.LabelPair
	name   string
	ct     *ContainerSnapshot
}

func (c *Collector) collectCatalog(ch chan<- prometheus.Metric, cat CatalogSnapshot) {
	ch <- prometheus.MustNewConstMetric(descCatalogEntries, prometheus.GaugeValue, float64(cat.Entries))

	last := cat.LastRefresh
	ok, took, seen := c.rec.lastRefresh()
	if ok.After(last) {
		last = ok
	}
	ch <- prometheus.MustNewConstMetric(descCatalogLastRefresh, prometheus.GaugeValue, unixSeconds(last))
	if seen {
		ch <- prometheus.MustNewConstMetric(descCatalogRefreshDuration, prometheus.GaugeValue, took.Seconds())
	}
}

// collectRockOn sends the rock-on's own series and appends its containers
// to containers.
func collectRockOn(ch chan<- prometheus.Metric, name string, r *RockOnSnapshot, containers []containerRef) []containerRef {
	// Label pairs sorted by label name, as the exposition wants them; the
	// name pair is shared by every series of this rock-on.
	namePair := pair("name", name)
	ch <- &sample{desc: descRockOnInfo, value: 1,
		labels: []*dto.LabelPair{pair("engine", label(r.Engine)), namePair, pair("version", label(r.Version))}}

	cur, ok := stateIndex[r.State]
	if !ok {
		cur = stateIndex[StateUnknown]
	}
	samples := make([]sample, len(States))
	labels := make([]*dto.LabelPair, 2*len(States))
	for _, i := range stateOrder {
		l := labels[2*i : 2*i+2 : 2*i+2]
		l[0], l[1] = namePair, statePairs[i]
		samples[i] = sample{desc: descRockOnState, labels: l, value: boolValue(i == cur)}
		ch <- &samples[i]
	}

	rockonPair := pair("rockon", name)
	seen := make(map[string]bool, len(r.Containers))
	for i := range r.Containers {
		ct := &r.Containers[i]
		cname := label(ct.Name)
		if seen[cname] {
			continue
		}
		seen[cname] = true
		containers = append(containers, containerRef{rockon: rockonPair, name: cname, ct: ct})
	}
	return containers
}

// containerSeries is how many series collectContainer sends at most.
var containerSeries = len(ActiveStates) + 3

func collectContainer(ch chan<- prometheus.Metric, rockonPair *dto.LabelPair, name string, ct *ContainerSnapshot) {
	// One allocation each for the samples and their label slices.
	samples := make([]sample, 0, containerSeries)
	labels := make([]*dto.LabelPair, 0, 3*len(ActiveStates)+4+2)
	take := func(ps ...*dto.LabelPair) []*dto.LabelPair {
		n := len(labels)
		labels = append(labels, ps...)
		return labels[n:len(labels):len(labels)]
	}
	send := func(desc *prometheus.Desc, value float64, counter bool, l []*dto.LabelPair) {
		samples = append(samples, sample{desc: desc, labels: l, value: value, counter: counter})
		ch <- &samples[len(samples)-1]
	}

	containerPair := pair("container", name)
	send(descContainerInfo, 1, false, take(containerPair, rockonPair, pair("sub_state", label(ct.SubState)), pair("unit", label(ct.Unit))))

	cur, ok := activeStateIndex[ct.ActiveState]
	if !ok {
		cur = activeStateIndex["unknown"]
	}
	for _, i := range activeStateOrder {
		send(descContainerState, boolValue(i == cur), false, take(containerPair, rockonPair, activeStatePairs[i]))
	}

	both := take(containerPair, rockonPair)
	send(descContainerRestarts, float64(ct.NRestarts), true, both)
	if !ct.StartTime.IsZero() {
		send(descContainerStart, unixSeconds(ct.StartTime), false, both)
	}
}

// sample is a constant gauge or counter whose label pairs are built by the
// caller and may be shared between series. With thousands of series per
// scrape, building every pair afresh (as prometheus.NewConstMetric does)
// was most of the scrape time. The pairs must be sorted by label name and
// match the descriptor's labels; the tests gather through a pedantic
// registry, which checks both.
type sample struct {
	desc    *prometheus.Desc
	labels  []*dto.LabelPair
	value   float64
	counter bool
}

func (s *sample) Desc() *prometheus.Desc { return s.desc }

func (s *sample) Write(m *dto.Metric) error {
	m.Label = s.labels
	v := s.value
	if s.counter {
		m.Counter = &dto.Counter{Value: &v}
	} else {
		m.Gauge = &dto.Gauge{Value: &v}
	}
	return nil
}

func pair(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: &name, Value: &value}
}

// The registry sorts every family by label values before writing it out;
// sending series already in that order makes its sort a linear pass, which
// matters with thousands of series. stateOrder and activeStateOrder are the
// indexes of States and ActiveStates in alphabetical order.
var (
	stateOrder       = alphabetical(States)
	activeStateOrder = alphabetical(ActiveStates)
)

func alphabetical(list []string) []int {
	return byName(len(list), func(i int) string { return list[i] })
}

// byName returns the indexes 0..n-1 ordered by name(i); equal names keep
// their order, so "the first one wins" still holds for duplicates.
func byName(n int, name func(int) string) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return name(idx[a]) < name(idx[b]) })
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
// definitions, which are untrusted, and the client library refuses (panics
// on) label values that are not valid UTF-8.
func label(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
