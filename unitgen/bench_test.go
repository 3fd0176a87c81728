package unitgen

import (
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// BenchmarkCompileAll compiles every registry rock-on (sample choices,
// podman) once per iteration; ns/op is the time for all of them.
func BenchmarkCompileAll(b *testing.B) {
	defs := loadRegistry(b)
	type job struct {
		def *catalog.RockOn
		ch  model.Choices
	}
	jobs := make([]job, len(defs))
	for i, d := range defs {
		jobs[i] = job{d, SampleChoices(d, "")}
	}
	opt := SampleOptions(Podman)
	b.ReportAllocs()
	for b.Loop() {
		for _, j := range jobs {
			if _, err := Compile(j.def, j.ch, opt); err != nil {
				b.Fatal(err)
			}
		}
	}
}
