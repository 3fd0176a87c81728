package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns a private registry holding the state collector for
// src, the recorder's counters (rec may be nil: then no operation, pull or
// refresh counters are exported) and the Go runtime and process collectors.
func NewRegistry(src Source, rec *Recorder) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(src, rec),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if rec != nil {
		reg.MustRegister(rec)
	}
	return reg
}
