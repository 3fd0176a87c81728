package main

import (
	"context"
	"fmt"

	"github.com/rockon/rockon/model"
	"github.com/urfave/cli/v2"
)

// checkUpdates is `rockon update --check [NAME...]`: one line (or JSON
// object) per container of the installed rock-ons asked about.
func (a *app) checkUpdates(ctx context.Context, c *cli.Context, d daemonClient) error {
	names := c.Args().Slice()
	checks, err := d.CheckUpdates(ctx, names)
	if err != nil {
		name := ""
		if len(names) == 1 {
			name = names[0]
		}
		return daemonError(err, name)
	}
	if checks == nil {
		checks = []model.UpdateCheck{}
	}
	if a.o.json {
		return a.o.writeJSON(checks)
	}
	if len(checks) == 0 {
		fmt.Fprintln(a.o.out, "no rock-on installed")
		return nil
	}
	t := &table{header: []string{"ROCK-ON", "CONTAINER", "IMAGE", "UPDATE"}}
	available := 0
	for _, ch := range checks {
		state := "current"
		switch {
		case ch.Error != "":
			state = "unknown: " + ch.Error
		case ch.UpdateAvailable:
			state = "available (" + short(ch.CurrentDigest) + " -> " + short(ch.LatestDigest) + ")"
			available++
		}
		t.add(ch.Name, ch.Container, ch.Image, state)
	}
	t.paint = func(row, col int, s string) string {
		if col != 3 {
			return s
		}
		switch {
		case checks[row].Error != "":
			return a.o.paint(ansiRed, s)
		case checks[row].UpdateAvailable:
			return a.o.paint(ansiYellow, s)
		}
		return s
	}
	t.write(a.o)
	if available > 0 {
		fmt.Fprintf(a.o.out, "\n%d image(s) can be updated: rockon update NAME\n", available)
	}
	return nil
}

// short is a digest's first 12 hex digits, as the engines print image IDs.
func short(digest string) string {
	const prefix = "sha256:"
	if len(digest) >= len(prefix)+12 && digest[:len(prefix)] == prefix {
		return digest[len(prefix) : len(prefix)+12]
	}
	if digest == "" {
		return "none"
	}
	return digest
}

// autoUpdate is `rockon update --auto`: the daemon's opt-in automatic
// update, now (rockon-auto-update.service runs it); one line per rock-on.
func (a *app) autoUpdate(ctx context.Context, c *cli.Context, d daemonClient) error {
	lines, err := d.AutoUpdate(ctx)
	if err != nil {
		return daemonError(err, "")
	}
	if a.o.json {
		if lines == nil {
			lines = []string{}
		}
		return a.o.writeJSON(lines)
	}
	if len(lines) == 0 {
		fmt.Fprintln(a.o.out, "no rock-on is set to update automatically (rockon config NAME --auto-update on)")
	}
	for _, l := range lines {
		fmt.Fprintln(a.o.out, sanitizeCell(l))
	}
	return nil
}
