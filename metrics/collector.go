package metrics

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
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
	for i := range snap.RockOns {
		r := &snap.RockOns[i]
		name := label(r.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		collectRockOn(ch, name, r)
	}
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

func collectRockOn(ch chan<- prometheus.Metric, name string, r *RockOnSnapshot) {
	ch <- prometheus.MustNewConstMetric(descRockOnInfo, prometheus.GaugeValue, 1, name, label(r.Version), label(r.Engine))

	cur, ok := stateIndex[r.State]
	if !ok {
		cur = stateIndex[StateUnknown]
	}
	for i, s := range States {
		ch <- prometheus.MustNewConstMetric(descRockOnState, prometheus.GaugeValue, boolValue(i == cur), name, s)
	}

	seen := make(map[string]bool, len(r.Containers))
	for i := range r.Containers {
		ct := &r.Containers[i]
		cname := label(ct.Name)
		if seen[cname] {
			continue
		}
		seen[cname] = true
		collectContainer(ch, name, cname, ct)
	}
}

func collectContainer(ch chan<- prometheus.Metric, rockon, name string, ct *ContainerSnapshot) {
	ch <- prometheus.MustNewConstMetric(descContainerInfo, prometheus.GaugeValue, 1, rockon, name, label(ct.Unit), label(ct.SubState))

	cur, ok := activeStateIndex[ct.ActiveState]
	if !ok {
		cur = activeStateIndex["unknown"]
	}
	for i, s := range ActiveStates {
		ch <- prometheus.MustNewConstMetric(descContainerState, prometheus.GaugeValue, boolValue(i == cur), rockon, name, s)
	}

	ch <- prometheus.MustNewConstMetric(descContainerRestarts, prometheus.CounterValue, float64(ct.NRestarts), rockon, name)
	if !ct.StartTime.IsZero() {
		ch <- prometheus.MustNewConstMetric(descContainerStart, prometheus.GaugeValue, unixSeconds(ct.StartTime), rockon, name)
	}
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
