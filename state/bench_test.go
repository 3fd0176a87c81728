package state

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkList1000 loads 1,000 installed rock-on files, each a fully
// populated record with a 2-container definition (about 6 KB of TOML,
// larger than most rock-ons of the catalog).
func BenchmarkList1000(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "state")
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var size int64
	for i := range 1000 {
		in := fullInstalled(fmt.Sprintf("App %04d", i))
		in.Phase, in.Pending = PhaseInstalled, nil
		data, err := encodeInstalled(in)
		if err != nil {
			b.Fatal(err)
		}
		// Written directly: the benchmark is about reading, and 1,000
		// fsynced saves would only slow its set-up.
		if err := os.WriteFile(s.Path(in.Name), data, 0o600); err != nil {
			b.Fatal(err)
		}
		size += int64(len(data))
	}
	b.SetBytes(size)
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		recs, errs := s.List()
		if len(errs) > 0 || len(recs) != 1000 {
			b.Fatalf("%d records, errors %v", len(recs), errs)
		}
	}
	// CPU time as well as wall time: on a shared machine the wall time
	// says more about the neighbours than about the code.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(size)/1000, "B/file")
}

// cpuTime is the user plus system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSave is one durable write of a fully populated record (check of
// the existing file, encode, verify, write, two fsyncs).
func BenchmarkSave(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	in := fullInstalled("X")
	for b.Loop() {
		if err := s.Save(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode is one record decoded from memory.
func BenchmarkDecode(b *testing.B) {
	in := fullInstalled("X")
	in.Phase, in.Pending = PhaseInstalled, nil
	data, err := encodeInstalled(in)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := decodeInstalled("x.toml", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}
