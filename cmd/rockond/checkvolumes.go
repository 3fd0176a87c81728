package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/rockon/rockon/unitgen"
)

// checkVolumes is `rockond check-volumes --shares-root DIR [--allowed-root
// DIR]... -- HOSTPATH...`, which every container unit with volumes runs
// before each start (unitgen.Options.VolumeCheck): each host directory must
// still resolve, symlinks followed, into the allowed roots and outside the
// system directories. It prints one line per refused path (the unit's
// journal, which the daemon shows as the container's last log and the rock-
// on's LastError) and returns 1, so that systemd does not start the
// container.
func checkVolumes(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-volumes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	shares := fs.String("shares-root", "", "the shares root")
	var roots multiFlag
	fs.Var(&roots, "allowed-root", "an allowed root (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *shares == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: rockond check-volumes --shares-root DIR [--allowed-root DIR]... -- HOSTPATH...")
		return 2
	}
	code := 0
	for _, p := range fs.Args() {
		if err := unitgen.CheckVolumeDir(p, *shares, roots); err != nil {
			fmt.Fprintf(stderr, "%s %v: not starting the container\n", unitgen.VolumeCheckPrefix, err)
			code = 1
		}
	}
	return code
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint([]string(*m)) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
