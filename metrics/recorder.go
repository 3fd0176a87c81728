package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rockon/rockon/model"
)

// Operation results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Results lists the results whose counters are created up front.
var Results = []string{ResultSuccess, ResultFailure}

// Recorder counts the daemon's work between scrapes. It is safe for
// concurrent use, and a nil *Recorder ignores every call, so code paths that
// run without metrics need no checks.
type Recorder struct {
	operations   *prometheus.CounterVec
	opDuration   *prometheus.HistogramVec
	pullBytes    prometheus.Counter
	pullDuration prometheus.Histogram
	refreshes    prometheus.Counter
	refreshFails prometheus.Counter

	mu              sync.Mutex
	lastRefreshOK   time.Time     // end of the last successful refresh
	lastRefreshTook time.Duration // duration of the last attempt, failed or not
	refreshed       bool          // whether any attempt was observed
}

// NewRecorder returns a Recorder with every counter at zero.
func NewRecorder() *Recorder {
	r := &Recorder{
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rockon_operations_total",
			Help: "Operations run by rockond, by kind and result.",
		}, []string{"operation", "result"}),
		opDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rockon_operation_duration_seconds",
			Help: "Time taken by rockond operations, by kind (successful or not).",
			// From a stop (under a second) to an install pulling several
			// images (minutes).
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}, []string{"operation"}),
		pullBytes: counter("rockon_image_pull_bytes_total",
			"Bytes of container images pulled by rockond."),
		pullDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "rockon_image_pull_duration_seconds",
			Help:    "Time taken by container image pulls.",
			Buckets: []float64{0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}),
		refreshes: counter("rockon_catalog_refreshes_total",
			"Catalog refresh attempts, successful or not."),
		refreshFails: counter("rockon_catalog_refresh_failures_total",
			"Catalog refresh attempts that failed."),
	}
	// every kind's counters start at zero for both results, so that
	// increase() works from the first operation
	for _, op := range model.OpKinds {
		for _, res := range Results {
			r.operations.WithLabelValues(string(op), res)
		}
		r.opDuration.WithLabelValues(string(op))
	}
	return r
}

// counter is a counter without labels.
func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

// ObserveOperation records one finished operation, result ResultSuccess
// or ResultFailure.
func (r *Recorder) ObserveOperation(op model.OpKind, result string, d time.Duration) {
	if r == nil {
		return
	}
	r.operations.WithLabelValues(string(op), result).Inc()
	r.opDuration.WithLabelValues(string(op)).Observe(d.Seconds())
}

// ObservePull records one finished image pull of n bytes. Negative sizes
// (unknown) count the pull's duration but no bytes.
func (r *Recorder) ObservePull(n int64, d time.Duration) {
	if r == nil {
		return
	}
	if n > 0 {
		r.pullBytes.Add(float64(n))
	}
	r.pullDuration.Observe(d.Seconds())
}

// ObserveRefresh records one catalog refresh attempt that took d and ended
// with err (nil for success).
func (r *Recorder) ObserveRefresh(d time.Duration, err error) {
	r.observeRefreshAt(time.Now(), d, err)
}

func (r *Recorder) observeRefreshAt(now time.Time, d time.Duration, err error) {
	if r == nil {
		return
	}
	r.refreshes.Inc()
	if err != nil {
		r.refreshFails.Inc()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshed = true
	r.lastRefreshTook = d
	if err == nil && now.After(r.lastRefreshOK) {
		r.lastRefreshOK = now
	}
}

// lastRefresh returns the end of the last successful refresh (zero if none),
// the duration of the last attempt and whether any attempt was made.
func (r *Recorder) lastRefresh() (ok time.Time, took time.Duration, seen bool) {
	if r == nil {
		return time.Time{}, 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastRefreshOK, r.lastRefreshTook, r.refreshed
}

// metrics lists the recorder's metrics, for Describe and Collect.
func (r *Recorder) metrics() []prometheus.Collector {
	return []prometheus.Collector{r.operations, r.opDuration, r.pullBytes, r.pullDuration, r.refreshes, r.refreshFails}
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range r.metrics() {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	for _, m := range r.metrics() {
		m.Collect(ch)
	}
}
