package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rockon/rockon/catalog"
)

// validateJSON is `rockon --json validate`.
type validateJSON struct {
	OK       bool          `json:"ok"`
	Problems []problemJSON `json:"problems"`
}

type problemJSON struct {
	File    string `json:"file"`
	Path    string `json:"path"` // JSON path, "" for the file as a whole
	Message string `json:"message"`
	Warning bool   `json:"warning"`
}

// validate checks definition files offline: one line per problem, naming
// the file and the JSON path; exit 1 when any is an error.
func (a *app) validate(c *cli.Context) error {
	paths := c.Args().Slice()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	report, ok := catalog.ValidatePaths(paths)
	if a.o.json {
		out := validateJSON{OK: ok, Problems: []problemJSON{}}
		for _, p := range report {
			out.Problems = append(out.Problems, problemJSON{File: p.File, Path: p.Path, Message: p.Msg, Warning: p.Warning})
		}
		if err := a.o.writeJSON(out); err != nil {
			return err
		}
	} else {
		for _, p := range report {
			line := sanitizeCell(p.String())
			if p.Warning {
				fmt.Fprintln(a.o.out, a.o.paint(ansiYellow, line))
			} else {
				fmt.Fprintln(a.o.out, a.o.paint(ansiRed, line))
			}
		}
	}
	errs, warns := 0, 0
	for _, p := range report {
		if p.Warning {
			warns++
		} else {
			errs++
		}
	}
	if !ok {
		return withCode(exitFailed, fmt.Errorf("%d error(s), %d warning(s): definitions are invalid", errs, warns))
	}
	if !a.o.json {
		fmt.Fprintf(a.o.err, "ok: no errors, %d warning(s)\n", warns)
	}
	return nil
}
