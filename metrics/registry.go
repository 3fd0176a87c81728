package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// Registry is what rockond serves: a private prometheus.Registry holding
// the recorder's counters and the Go runtime, process and HTTP handler
// metrics, plus the state families of a Collector, built at each Gather.
type Registry struct {
	*prometheus.Registry
	state *Collector
}

// NewRegistry returns a Registry for src and rec (rec may be nil: then no
// operation, pull or refresh counters are exported).
func NewRegistry(src Source, rec *Recorder) *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if rec != nil {
		reg.MustRegister(rec)
	}
	return &Registry{Registry: reg, state: NewCollector(src, rec)}
}

// Gather implements prometheus.Gatherer: the registry's families and the
// state families, sorted by name. An error from the registry (a collector
// failing) comes with whatever could be gathered.
func (r *Registry) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := r.Registry.Gather()
	state, _ := r.state.Gather() // never fails
	mfs = append(mfs, state...)
	sort.Slice(mfs, func(i, j int) bool { return mfs[i].GetName() < mfs[j].GetName() })
	return mfs, err
}
