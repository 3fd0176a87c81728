package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

// compileOne compiles one rock-on's units; invalid choices are usage
// errors (the user fixes the config file or flags).
func compileOne(def *catalog.RockOn, ch model.Choices, opt unitgen.Options) (*unitgen.Result, error) {
	res, err := unitgen.Compile(def, ch, opt)
	if err != nil {
		var ce *unitgen.ChoicesError
		if errors.As(err, &ce) {
			return nil, withCode(exitUsage, err)
		}
		return nil, err
	}
	return res, nil
}

// loadCatalog reads definitions from a registry directory or one file.
// Problems of other definitions do not stop the one asked for: they are
// returned to be shown as warnings.
func loadCatalog(path string) (*catalog.Catalog, []error, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, notFoundErrorf("--catalog %s does not exist", path)
		}
		return nil, nil, fmt.Errorf("--catalog: %w", err)
	}
	if st.IsDir() {
		cat, errs := catalog.LoadDir(path)
		return cat, errs, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--catalog: %w", err)
	}
	defs, err := catalog.Decode(filepath.Base(path), data)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	return catalog.FromDefs(defs), errs, nil
}

// compileJSON is one rock-on of `rockon --json compile`: what was written
// and the consent installing it takes.
type compileJSON struct {
	RockOn   string   `json:"rock_on"`
	Target   string   `json:"target"`
	Units    []string `json:"units"`
	Consent  []string `json:"consent"`
	Warnings []string `json:"warnings"`
}

func compiledJSON(def *catalog.RockOn, res *unitgen.Result) compileJSON {
	cj := compileJSON{RockOn: def.Name, Target: res.Target, Units: []string{}, Consent: unitgen.RequiredConsent(def), Warnings: res.Warnings}
	for _, u := range res.Units {
		cj.Units = append(cj.Units, u.Name)
	}
	if cj.Consent == nil {
		cj.Consent = []string{}
	}
	if cj.Warnings == nil {
		cj.Warnings = []string{}
	}
	return cj
}

// showConsent tells, before installing, which risky privileges the
// compiled rock-on asks for.
func (a *app) showConsent(def *catalog.RockOn) {
	var what []string
	for _, tok := range unitgen.RequiredConsent(def) {
		what = append(what, unitgen.ConsentText(tok))
	}
	if len(what) > 0 {
		fmt.Fprintf(a.o.err, "%s needs consent: %s\n", sanitizeCell(def.Name), sanitizeCell(strings.Join(what, ", ")))
	}
}

func (a *app) compile(c *cli.Context) error {
	all, sample := c.Bool("all"), c.Bool("sample")
	switch {
	case all && c.NArg() > 0:
		return usageErrorf("compile --all takes no rock-on name")
	case all && !sample:
		return usageErrorf("compile --all needs --sample (each rock-on needs choices)")
	case all && c.IsSet("config"):
		return usageErrorf("compile --all cannot use --config (one install-config is for one rock-on)")
	case sample && c.IsSet("config"):
		return usageErrorf("compile: use either --sample or --config")
	case c.String("catalog") == "":
		return usageErrorf("compile needs --catalog DIR_OR_FILE")
	case c.String("out") == "":
		return usageErrorf("compile needs --out DIR")
	case !all && c.NArg() != 1:
		return usageErrorf("compile needs one rock-on name, or --all --sample")
	}
	engine := c.String("engine")
	if engine != unitgen.Docker && engine != unitgen.Podman {
		return usageErrorf("--engine %q: use docker or podman", engine)
	}
	opt := unitgen.HostOptions(model.Host{Engine: engine})
	if sample {
		// Sample volumes need not exist: fixed owners instead of lookups.
		opt = unitgen.SampleOptions(engine)
	}
	opt.EngineBinary = c.String("engine-binary")
	if opt.EngineBinary == "" {
		opt.EngineBinary = "/usr/bin/" + engine
	}
	opt.SharesRoot, opt.EnvDir = c.String("shares-root"), c.String("env-dir")
	if !filepath.IsAbs(opt.EngineBinary) {
		return usageErrorf("--engine-binary %q: an absolute path is required", opt.EngineBinary)
	}
	cat, problems, err := loadCatalog(c.String("catalog"))
	if err != nil {
		return err
	}
	out := c.String("out")
	if !all {
		name := c.Args().First()
		def, ok := cat.Get(name)
		if !ok {
			for _, p := range problems {
				fmt.Fprintf(a.o.err, "%s\n", sanitizeCell(p.Error()))
			}
			return notFoundErrorf("no rock-on named %q in %s", name, c.String("catalog"))
		}
		ch := model.Choices{}
		if sample {
			ch = unitgen.SampleChoices(def, c.String("sample-root"))
		} else if f := c.String("config"); f != "" {
			loaded, err := loadChoicesFile(f)
			if err != nil {
				return err
			}
			ch = *loaded
		}
		res, err := compileOne(def, ch, opt)
		if err != nil {
			return err
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(a.o.err, "%s: warning: %s\n", sanitizeCell(def.Name), sanitizeCell(w))
		}
		if err := writeResult(out, res); err != nil {
			return fmt.Errorf("writing the units of %s: %w", def.Name, err)
		}
		a.showConsent(def)
		if a.o.json {
			if err := a.o.writeJSON([]compileJSON{compiledJSON(def, res)}); err != nil {
				return err
			}
		}
		fmt.Fprintf(a.o.err, "wrote %d unit(s) and %d env file(s) of %s to %s (start with: systemctl start %s)\n",
			len(res.Units), len(res.EnvFiles), sanitizeCell(def.Name), out, res.Target)
		return nil
	}
	for _, p := range problems {
		fmt.Fprintf(a.o.err, "skipped: %s\n", sanitizeCell(p.Error()))
	}
	var failed []string
	compiled := []compileJSON{}
	n := 0
	for _, def := range cat.All() {
		res, err := compileOne(def, unitgen.SampleChoices(def, c.String("sample-root")), opt)
		if err == nil {
			err = writeResult(filepath.Join(out, res.Slug), res)
		}
		if err != nil {
			fmt.Fprintf(a.o.err, "%s: %s\n", sanitizeCell(def.Name), sanitizeCell(err.Error()))
			failed = append(failed, def.Name)
			continue
		}
		a.showConsent(def)
		compiled = append(compiled, compiledJSON(def, res))
		n++
	}
	if a.o.json {
		if err := a.o.writeJSON(compiled); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.o.err, "compiled %d rock-on(s) for %s into %s\n", n, engine, out)
	if len(failed) > 0 {
		return fmt.Errorf("%d rock-on(s) failed to compile: %s", len(failed), strings.Join(failed, ", "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d definition problem(s) in the catalog; see rockon validate %s", len(problems), c.String("catalog"))
	}
	return nil
}

// writeResult writes a compile result under dir the way `rockon compile --out
// DIR` shows it: units in dir, env files in dir/env, each atomically with the
// mode the compiler set (env files 0600: they hold secrets).
func writeResult(dir string, res *unitgen.Result) error {
	for _, set := range []struct {
		dir   string
		files []unitgen.File
	}{{dir, res.Units}, {filepath.Join(dir, "env"), res.EnvFiles}} {
		if len(set.files) > 0 {
			if err := os.MkdirAll(set.dir, 0o755); err != nil {
				return err
			}
		}
		for _, f := range set.files {
			if err := state.WriteFileAtomic(filepath.Join(set.dir, f.Name), f.Content, f.Mode); err != nil {
				return err
			}
		}
	}
	return nil
}
