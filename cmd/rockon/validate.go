package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/unitgen"
)

// validateJSON is `rockon --json validate`.
type validateJSON struct {
	OK       bool          `json:"ok"`
	Problems []problemJSON `json:"problems"`
	// Consent lists, per definition that needs any, the consent tokens
	// installing it takes (unitgen.RequiredConsent).
	Consent []consentJSON `json:"consent"`
}

type consentJSON struct {
	File   string   `json:"file"`
	RockOn string   `json:"rock_on"`
	Tokens []string `json:"tokens"`
	// Text explains each token, in the same order.
	Text []string `json:"text"`
}

// definitionConsent checks what the definitions' engine options need,
// which the catalog package cannot (it is unitgen's rule): problems that
// refuse a definition whatever the consent, and the consent each needs.
func definitionConsent(cat *catalog.Catalog) (catalog.Problems, []consentJSON) {
	var probs catalog.Problems
	consent := []consentJSON{}
	for _, def := range cat.All() {
		for _, p := range unitgen.OptProblems(def) {
			probs = append(probs, catalog.Problem{File: def.File, Path: def.Name, Msg: p})
		}
		if need := unitgen.RequiredConsent(def); len(need) > 0 {
			cj := consentJSON{File: def.File, RockOn: def.Name, Tokens: need}
			for _, tok := range need {
				cj.Text = append(cj.Text, unitgen.ConsentText(tok))
			}
			consent = append(consent, cj)
		}
	}
	return probs, consent
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
	cat, report, ok := catalog.ValidatePathsCatalog(paths)
	optProbs, consent := definitionConsent(cat)
	report = append(report, optProbs...)
	ok = ok && len(optProbs) == 0
	if a.o.json {
		out := validateJSON{OK: ok, Problems: []problemJSON{}, Consent: consent}
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
		for _, cj := range consent {
			fmt.Fprintf(a.o.out, "consent: %s (%s) needs %s\n", sanitizeCell(cj.RockOn), sanitizeCell(cj.File), strings.Join(cj.Text, ", "))
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
