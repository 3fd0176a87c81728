package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rockon/rockon/catalog"
	rdbus "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

// daemonConfigPath is rockond's configuration, read by install --dry-run
// for the engine and directories the daemon would use.
const daemonConfigPath = "/etc/rockon/rockond.toml"

func readChoiceArgs(c *cli.Context) choiceArgs {
	a := choiceArgs{
		ports: multiValues(c, "port"), volumes: multiValues(c, "volume"), envs: multiValues(c, "env"),
		devices: multiValues(c, "device"), labels: multiValues(c, "label"), custom: multiValues(c, "custom"),
		consent: multiValues(c, "consent"), unpublish: multiValues(c, "unpublish"), networks: multiValues(c, "network"),
		settings: map[string][]string{},
	}
	for _, s := range model.Settings() {
		if v := multiValues(c, s.Flag()); len(v) > 0 {
			a.settings[s.Key] = v
		}
	}
	return a
}

// decodeChoices parses install-config TOML; unknown keys are errors, so
// that a typo is not silently ignored.
func decodeChoices(file string, data []byte) (*model.Choices, error) {
	ch, err := model.DecodeChoices(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &ch, nil
}

func loadChoicesFile(path string) (*model.Choices, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notFoundErrorf("install-config file %s does not exist", path)
		}
		return nil, fmt.Errorf("reading the install-config file: %w", err)
	}
	ch, err := decodeChoices(path, data)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return ch, nil
}

func (a *app) install(c *cli.Context) error {
	name, err := oneName(c)
	if err != nil {
		return err
	}
	ctx, cancel := commandContext(c)
	defer cancel()
	ch := &model.Choices{}
	if f := c.String("config"); f != "" {
		if ch, err = loadChoicesFile(f); err != nil {
			return err
		}
	}
	d, err := a.daemon(ctx)
	if err != nil {
		return err
	}
	def, props, err := a.lookup(ctx, d, name)
	if err != nil {
		return err
	}
	if props.Installed && !c.Bool("dry-run") {
		return daemonError(model.ErrAlreadyInstalled, name)
	}
	if err := applyChoiceArgs(def, ch, readChoiceArgs(c)); err != nil {
		return err
	}
	missing := missingChoices(def, ch, suggestedPorts(ctx, d, def))
	interactive := isTerminal(a.stdin) && !c.Bool("no-input")
	if interactive {
		wz := newWizard(a.stdin, a.o)
		asked := len(missing) > 0 || len(missingConsent(def, ch)) > 0
		if err := wz.fill(def, ch, missing); err != nil {
			return err
		}
		if err := wz.consent(def, ch); err != nil {
			return err
		}
		// Confirm what was typed at the prompts; a command line that gave
		// everything is taken as meant.
		if asked && !c.Bool("dry-run") {
			wz.recap(def, ch)
			ok, err := wz.yesNo(fmt.Sprintf("\nInstall %s now?", sanitizeCell(def.Name)), true)
			if err != nil {
				return err
			}
			if !ok {
				return errCancelled
			}
		}
	} else {
		if err := fillDefaults(def, ch, missing); err != nil {
			return err
		}
		if need := missingConsent(def, ch); len(need) > 0 {
			var what, flags []string
			for _, tok := range need {
				what = append(what, unitgen.ConsentText(tok))
				flags = append(flags, "--consent "+tok)
			}
			return usageErrorf("%s asks for %s; accept with %s", def.Name, strings.Join(what, ", "), strings.Join(flags, " "))
		}
	}
	if err := checkVolumePaths(def, ch); err != nil {
		return err
	}
	if hn := unitgen.HostNetworkContainers(def); len(hn) > 0 {
		fmt.Fprintf(a.o.err, "note: %s share(s) the host's network: it sees every host interface and its ports are not remapped\n", strings.Join(hn, ", "))
	}
	if c.Bool("dry-run") {
		return a.dryRun(def, ch)
	}
	start := !c.Bool("no-start")
	done := "installed and started"
	if !start {
		done = "installed (stopped; start it with: rockon start " + shellQuote(def.Name) + ")"
	}
	return a.runJob(ctx, name, "installing", done, func(w rdbus.Watcher) error {
		return portInUse(ctx, d, def, ch, d.InstallChoices(ctx, name, *ch, start, w))
	})
}

// fillDefaults completes choices given on the command line alone: ports
// take their suggested free default, devices stay unset; volumes,
// environment values and custom settings have no default, so their
// absence is an error that lists the flags to add.
func fillDefaults(def *catalog.RockOn, ch *model.Choices, missing []missingChoice) error {
	var need []string
	for _, m := range missing {
		switch m.kind {
		case "port":
			if m.def != "" {
				if err := setChoice(ch, m, m.def); err != nil {
					return err
				}
			}
		case "device":
		default:
			placeholder := "VALUE"
			if m.kind == "volume" {
				placeholder = "HOSTPATH"
			}
			s := m.flag(placeholder)
			if m.label != "" {
				s += " (" + sanitizeCell(m.label) + ")"
			}
			need = append(need, s)
		}
	}
	if len(need) > 0 {
		return usageErrorf("%s needs values for: %s", def.Name, strings.Join(need, ", "))
	}
	return nil
}

// consent asks the user to accept each risky privilege the definition
// needs and the choices do not already accept.
func (w *wizard) consent(def *catalog.RockOn, ch *model.Choices) error {
	for _, tok := range missingConsent(def, ch) {
		fmt.Fprintf(w.out, "\n%s asks for a risky privilege: %s\n", sanitizeCell(def.Name), w.o.paint(ansiYellow, unitgen.ConsentText(tok)))
		ok, err := w.yesNo("Allow it?", false)
		if err != nil {
			return err
		}
		if !ok {
			return withCode(exitFailed, fmt.Errorf("%s cannot be installed without %q; nothing was changed", def.Name, tok))
		}
		ch.Consent = append(ch.Consent, tok)
	}
	return nil
}

// missingConsent lists the risky privileges the definition needs that
// neither the choices nor the daemon's configuration accept.
func missingConsent(def *catalog.RockOn, ch *model.Choices) []string {
	var granted []string
	if cfg, err := daemonConfig(); err == nil {
		granted = cfg.Install.Consent
	}
	var need []string
	for _, tok := range unitgen.RequiredConsent(def) {
		if !contains(ch.Consent, tok) && !contains(granted, tok) {
			need = append(need, tok)
		}
	}
	return need
}

// daemonConfig reads rockond's configuration (defaults when there is
// none) for what the CLI must know of the host: the shares root, the
// engine and directories of a dry run.
func daemonConfig() (*state.Config, error) {
	cfgPath := os.Getenv("ROCKON_CONFIG")
	if cfgPath == "" {
		cfgPath = daemonConfigPath
	}
	cfg, err := state.LoadConfig(cfgPath)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		cfg, err = state.DefaultConfig(), nil
	}
	if err == nil {
		cfg.ResolveEngine() // the engine rockond chose, as it chose it
	}
	return cfg, err
}

// checkVolumePaths refuses volume host paths that do not exist, before
// anything is installed: the container could not start. Paths the caller
// may not look at are left to the daemon.
func checkVolumePaths(def *catalog.RockOn, ch *model.Choices) error {
	cfg, err := daemonConfig()
	if err != nil {
		return err
	}
	for _, c := range def.Containers {
		cc := ch.Containers[c.Name]
		paths := make([]string, 0, len(cc.Volumes))
		for p := range cc.Volumes {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			choice := cc.Volumes[p]
			host, err := unitgen.HostPath(choice, cfg.Volumes.SharesRoot)
			if err != nil {
				return usageErrorf("volume %s of %s: %v; choose another with --volume %s=HOSTPATH", p, c.Name, err, p)
			}
			if _, err := os.Stat(host); errors.Is(err, fs.ErrNotExist) {
				what := "host path " + host
				if !strings.Contains(choice, "/") {
					what = "share " + choice + " (" + host + ")"
				}
				return usageErrorf("volume %s of %s: %s does not exist; create it or choose another with --volume %s=HOSTPATH", p, c.Name, what, p)
			}
		}
	}
	return nil
}

// dryRun compiles the units locally, with the daemon's configuration,
// and prints them instead of installing.
func (a *app) dryRun(def *catalog.RockOn, ch *model.Choices) error {
	cfg, err := daemonConfig()
	if err != nil {
		return err
	}
	res, err := compileOne(def, *ch, unitgen.HostOptions(cfg.Host()))
	if err != nil {
		return err
	}
	for _, wmsg := range res.Warnings {
		fmt.Fprintf(a.o.err, "warning: %s\n", sanitizeCell(wmsg))
	}
	for _, u := range res.Units {
		fmt.Fprintf(a.o.out, "# %s\n%s\n", filepath.Join(cfg.UnitDir, u.Name), u.Content)
	}
	for _, e := range res.EnvFiles {
		keys := envKeys(e.Content)
		fmt.Fprintf(a.o.out, "# %s (mode %04o, values not shown)\n", filepath.Join(cfg.EnvDir, e.Name), e.Mode.Perm())
		for _, k := range keys {
			fmt.Fprintf(a.o.out, "%s=…\n", k)
		}
		fmt.Fprintln(a.o.out)
	}
	return nil
}

func envKeys(content []byte) []string {
	var keys []string
	for _, l := range strings.Split(string(content), "\n") {
		if k, _, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// reconfigureArgs checks that reconfigure got something to change.
func reconfigureArgs(c *cli.Context, name string) error {
	if readChoiceArgs(c).empty() && c.String("config") == "" {
		flags := "--port, --volume, --env, --device, --label, --custom, --unpublish, --network"
		for _, s := range model.Settings() {
			flags += ", --" + s.Flag()
		}
		return usageErrorf("reconfigure %s: nothing to change; give %s or --config", name, flags)
	}
	return nil
}

func (a *app) reconfigure(ctx context.Context, c *cli.Context, d daemonClient, name string) error {
	args := readChoiceArgs(c)
	def, props, err := a.lookup(ctx, d, name)
	if err != nil {
		return err
	}
	if !props.Installed {
		return daemonError(model.ErrNotInstalled, name)
	}
	var ch *model.Choices
	if f := c.String("config"); f != "" {
		if ch, err = loadChoicesFile(f); err != nil {
			return err
		}
	} else {
		cur, err := d.Config(ctx, name)
		if err != nil {
			return daemonError(err, name)
		}
		if ch, err = decodeChoices(name+" (installed choices)", []byte(cur)); err != nil {
			return err
		}
	}
	if err := applyChoiceArgs(def, ch, args); err != nil {
		return err
	}
	if err := checkVolumePaths(def, ch); err != nil {
		return err
	}
	return a.runJob(ctx, name, "reconfiguring", "reconfigured", func(w rdbus.Watcher) error {
		return portInUse(ctx, d, def, ch, d.ReconfigureChoices(ctx, name, *ch, w))
	})
}
