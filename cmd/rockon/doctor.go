package main

import (
	"errors"
	"fmt"

	"github.com/rockon/rockon/model"
	"github.com/urfave/cli/v2"
)

type doctorJSON struct {
	OK     bool        `json:"ok"`
	Checks []checkJSON `json:"checks"`
}

type checkJSON struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// doctor prints rockond's own checks of the set-up: they run in the daemon
// so that they see what its confined unit sees. When rockond cannot be
// reached, that is the one finding (exit code 5).
func (a *app) doctor(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("doctor takes no arguments")
	}
	ctx, cancel := commandContext(c)
	defer cancel()
	var checks []model.Check
	d, err := a.daemon(ctx)
	if err == nil {
		checks, err = d.Diagnose(ctx)
		err = daemonError(err, "")
	}
	if err != nil {
		if exitCode(err) != exitUnreachable {
			return err
		}
		checks = []model.Check{{Name: "rockond", Status: model.CheckFail, Detail: "rockond is not reachable on the " + a.busArg + " bus",
			Fix: "systemctl start rockon (and see journalctl -u rockon if it does not stay up)"}}
	}
	ok := true
	for _, ch := range checks {
		if ch.Status == model.CheckFail {
			ok = false
		}
	}
	if a.o.json {
		out := doctorJSON{OK: ok, Checks: []checkJSON{}}
		for _, ch := range checks {
			out.Checks = append(out.Checks, checkJSON(ch))
		}
		if werr := a.o.writeJSON(out); werr != nil {
			return werr
		}
	} else {
		t := &table{paint: func(row, col int, s string) string {
			if col == 0 {
				return a.o.state(s)
			}
			return s
		}}
		for _, ch := range checks {
			t.add(ch.Status, ch.Name, ch.Detail)
			if ch.Fix != "" {
				t.add("", "", "fix: "+ch.Fix)
			}
		}
		if werr := t.write(a.o); werr != nil {
			return werr
		}
	}
	switch {
	case err != nil:
		return withCode(exitUnreachable, errors.New(startHint))
	case !ok:
		n := 0
		for _, ch := range checks {
			if ch.Status == model.CheckFail {
				n++
			}
		}
		return withCode(exitFailed, fmt.Errorf("%d check(s) failed; each says how to fix it", n))
	}
	return nil
}
