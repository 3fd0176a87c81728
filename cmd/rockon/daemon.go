package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rockon/rockon/catalog"
	rdbus "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/model"
)

// daemonClient is the part of the daemon's D-Bus client the commands use.
type daemonClient interface {
	Close() error
	RefreshCatalog(ctx context.Context) (int, error)
	List(ctx context.Context, installedOnly bool) ([]model.Summary, error)
	Definition(ctx context.Context, name string) (string, error)
	Config(ctx context.Context, name string) (string, error)
	Export(ctx context.Context, name, format string, pvc bool) (string, []string, error)
	Backup(ctx context.Context) (string, error)
	Restore(ctx context.Context, name, definition, config string, start, dryRun bool, w rdbus.Watcher) error
	Status(ctx context.Context, name string) (model.Properties, error)
	Statuses(ctx context.Context, installedOnly bool) ([]model.Status, error)
	StatusAll(ctx context.Context) ([]model.Properties, error)
	InstallChoices(ctx context.Context, name string, ch model.Choices, start bool, w rdbus.Watcher) error
	Uninstall(ctx context.Context, name string, w rdbus.Watcher) error
	UninstallRemovingImages(ctx context.Context, name string, w rdbus.Watcher) error
	UninstallWith(ctx context.Context, name string, removeImages, purge bool, w rdbus.Watcher) error
	Start(ctx context.Context, name string, w rdbus.Watcher) error
	Stop(ctx context.Context, name string, w rdbus.Watcher) error
	Restart(ctx context.Context, name string, w rdbus.Watcher) error
	Update(ctx context.Context, name string, w rdbus.Watcher) error
	CheckUpdates(ctx context.Context, names []string) ([]model.UpdateCheck, error)
	AutoUpdate(ctx context.Context) ([]string, error)
	SetAutoUpdate(ctx context.Context, name string, on bool) error
	ReconfigureChoices(ctx context.Context, name string, ch model.Choices, w rdbus.Watcher) error
	Diagnose(ctx context.Context) ([]model.Check, error)
}

// daemon connects to rockond on the bus chosen with --bus, once.
func (a *app) daemon(ctx context.Context) (daemonClient, error) {
	if a.client != nil {
		return a.client, nil
	}
	c, err := rdbus.Dial(ctx, a.busArg)
	if err != nil {
		return nil, daemonError(err, "")
	}
	a.client = c
	return c, nil
}

// daemonAction is a command that talks to rockond.
type daemonAction func(ctx context.Context, c *cli.Context, d daemonClient) error

// withDaemon is the one preamble of the commands that talk to rockond: check (nil for
// none) looks at the arguments first, so that a usage error needs no daemon; then f gets a
// context ended by SIGINT and SIGTERM and the connection.
func (a *app) withDaemon(check func(*cli.Context) error, f daemonAction) cli.ActionFunc {
	return func(c *cli.Context) error {
		if check != nil {
			if err := check(c); err != nil {
				return err
			}
		}
		ctx, cancel := commandContext(c)
		defer cancel()
		d, err := a.daemon(ctx)
		if err != nil {
			return err
		}
		return f(ctx, c, d)
	}
}

// onRockOn is withDaemon for a command on the one rock-on its arguments name; check (nil
// for none) looks at the rest of the arguments.
func (a *app) onRockOn(check func(c *cli.Context, name string) error, f func(ctx context.Context, c *cli.Context, d daemonClient, name string) error) cli.ActionFunc {
	return a.withDaemon(func(c *cli.Context) error {
		name, err := oneName(c)
		if err == nil && check != nil {
			err = check(c, name)
		}
		return err
	}, func(ctx context.Context, c *cli.Context, d daemonClient) error {
		return f(ctx, c, d, c.Args().First())
	})
}

// noArgs checks that a command got no arguments, saying msg when it did.
func noArgs(msg string) func(*cli.Context) error {
	return func(c *cli.Context) error {
		if c.NArg() > 0 {
			return usageErrorf("%s", msg)
		}
		return nil
	}
}

// commandContext is cancelled by SIGINT and SIGTERM so that waiting for a
// job ends cleanly (the job itself goes on in the daemon).
func commandContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
}

const startHint = "rockond is not running; start it with: systemctl start rockon"

// daemonError turns an error from the daemon into one line with the exit
// code it stands for. name is the rock-on concerned, if any.
func daemonError(err error, name string) error {
	if err == nil {
		return nil
	}
	var de *rdbus.Error
	msg := err.Error()
	if errors.As(err, &de) && de.Message != "" {
		msg = de.Message
		// The daemon's message starts with the error kind ("port in use:
		// ..."), which the line says in its own words.
		if kind := de.Unwrap(); kind != nil {
			msg = strings.TrimPrefix(msg, kind.Error()+": ")
		}
	}
	switch {
	case errors.Is(err, rdbus.ErrDaemonNotRunning):
		if os.Getenv("ROCKON_DEBUG") != "" {
			return withCode(exitUnreachable, fmt.Errorf("%s (%v)", startHint, err))
		}
		return withCode(exitUnreachable, errors.New(startHint))
	case errors.Is(err, context.Canceled):
		return withCode(exitFailed, errors.New("interrupted; the operation goes on in rockond (see rockon status)"))
	case errors.Is(err, model.ErrNoSuchRockOn):
		if name != "" {
			return withCode(exitNotFound, &unknownRockOn{name: name})
		}
		return withCode(exitNotFound, errors.New(msg))
	case errors.Is(err, model.ErrNotInstalled):
		if name != "" {
			return withCode(exitNotFound, fmt.Errorf("%s is not installed; install it with: rockon install %s", name, shellQuote(name)))
		}
		return withCode(exitNotFound, errors.New(msg))
	case errors.Is(err, model.ErrAccessDenied):
		return withCode(exitDenied, fmt.Errorf("access denied: %s; run as root or get the polkit authorization", msg))
	case errors.Is(err, model.ErrBusy):
		return withCode(exitBusy, fmt.Errorf("%s; try again when it has finished", msg))
	case errors.Is(err, model.ErrPortInUse):
		if !strings.Contains(msg, "--port") {
			msg += "; choose another host port with --port C=H"
		}
		return withCode(exitUsage, errors.New(msg))
	case errors.Is(err, model.ErrInvalidArgs):
		return withCode(exitUsage, errors.New(msg))
	case errors.Is(err, model.ErrAlreadyInstalled):
		if name != "" {
			return withCode(exitFailed, fmt.Errorf("%s is already installed; change it with: rockon reconfigure %s", name, shellQuote(name)))
		}
		return withCode(exitFailed, errors.New(msg))
	}
	return withCode(exitFailed, errors.New(shorten(msg, name)))
}

// unknownRockOn is a name neither the catalog nor the installed rock-ons
// have; run() adds the closest name it can find to the line.
type unknownRockOn struct {
	name    string
	suggest string
}

func (e *unknownRockOn) Error() string {
	if e.suggest != "" {
		return fmt.Sprintf("no rock-on named %q in the catalog; did you mean %s?", e.name, shellQuote(e.suggest))
	}
	return fmt.Sprintf("no rock-on named %q in the catalog; see rockon search", e.name)
}

// suggestName fills in e.suggest from the daemon's list of rock-ons.
func (e *unknownRockOn) suggestName(bus string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rdbus.Dial(ctx, bus)
	if err != nil {
		return
	}
	defer c.Close()
	l, err := c.List(ctx, false)
	if err != nil {
		return
	}
	names := make([]string, 0, len(l))
	for _, r := range l {
		names = append(names, r.Name)
	}
	e.suggest = closest(e.name, names)
}

// verbose (--verbose) prints a failure's whole message, journal lines
// included, instead of its first line.
var verbose bool

// maxErrorLine bounds an error line: the daemon's failure messages carry
// journal lines, which belong in `rockon status`, not in one line.
const maxErrorLine = 300

func shorten(msg, name string) string {
	if verbose {
		return msg
	}
	first, rest, multi := strings.Cut(strings.TrimSpace(msg), "\n")
	r := []rune(first)
	if len(r) <= maxErrorLine && !(multi && strings.TrimSpace(rest) != "") {
		return first
	}
	s := first
	if len(r) > maxErrorLine {
		s = strings.TrimSpace(string(r[:maxErrorLine])) + "…"
	}
	more := "--verbose"
	if name != "" {
		more = "rockon status " + shellQuote(name) + " or --verbose"
	}
	return s + " (more: " + more + ")"
}

// shellQuote quotes s for a command line the user may copy.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,/:=@+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (a *app) rockOnNames(c *cli.Context, installedOnly bool) ([]string, error) {
	ctx, cancel := commandContext(c)
	defer cancel()
	d, err := a.daemon(ctx)
	if err != nil {
		return nil, err
	}
	l, err := d.List(ctx, installedOnly)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(l))
	for i, s := range l {
		names[i] = s.Name
	}
	return names, nil
}

func (a *app) catalogRefresh(ctx context.Context, c *cli.Context, d daemonClient) error {
	n, err := d.RefreshCatalog(ctx)
	if err != nil {
		return daemonError(err, "")
	}
	if a.o.json {
		return a.o.writeJSON(map[string]int{"entries": n})
	}
	fmt.Fprintf(a.o.out, "catalog refreshed: %d rock-ons\n", n)
	return nil
}

// decodeDefinition parses the registry JSON the daemon returns for name.
func decodeDefinition(name, js string) (*catalog.RockOn, error) {
	// Decode returns the valid rock-ons of a file even when others in it
	// have errors; only the one asked for matters here.
	defs, err := catalog.Decode(name+".json", []byte(js))
	for _, d := range defs {
		if strings.EqualFold(d.Name, name) || len(defs) == 1 {
			return d, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the definition of %s from rockond is invalid: %w", name, err)
	}
	return nil, notFoundErrorf("the definition from rockond does not hold %s", name)
}

// definition fetches and decodes a rock-on's definition.
func (a *app) definition(ctx context.Context, d daemonClient, name string) (*catalog.RockOn, error) {
	js, err := d.Definition(ctx, name)
	if err != nil {
		return nil, daemonError(err, name)
	}
	return decodeDefinition(name, js)
}

// job runs one daemon operation, showing its progress.
func (a *app) job(c *cli.Context, verb, done string, f func(ctx context.Context, d daemonClient, name string, w rdbus.Watcher) error) error {
	return a.onRockOn(nil, func(ctx context.Context, c *cli.Context, d daemonClient, name string) error {
		return a.runJob(ctx, name, verb, done, func(w rdbus.Watcher) error { return f(ctx, d, name, w) })
	})(c)
}

// runJob calls f with a progress display and reports the result.
func (a *app) runJob(ctx context.Context, name, verb, done string, f func(w rdbus.Watcher) error) error {
	p := newProgress(a.o, verb+" "+name)
	err := f(p.update)
	p.finish(err == nil)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err // already explained
		}
		return daemonError(err, name)
	}
	if a.o.json {
		return a.o.writeJSON(jobJSON{Name: name, Operation: verb, Result: "done"})
	}
	fmt.Fprintf(a.o.out, "%s %s\n", sanitizeCell(name), done)
	return nil
}

// jobJSON is what a change command prints with --json.
type jobJSON struct {
	Name      string `json:"name"`
	Operation string `json:"operation"`
	Result    string `json:"result"`
}

func (a *app) toggle(verb string) cli.ActionFunc {
	return func(c *cli.Context) error {
		switch verb {
		case "start":
			return a.job(c, "starting", "started", func(ctx context.Context, d daemonClient, n string, w rdbus.Watcher) error { return d.Start(ctx, n, w) })
		case "stop":
			return a.job(c, "stopping", "stopped", func(ctx context.Context, d daemonClient, n string, w rdbus.Watcher) error { return d.Stop(ctx, n, w) })
		default:
			return a.job(c, "restarting", "restarted", func(ctx context.Context, d daemonClient, n string, w rdbus.Watcher) error {
				return d.Restart(ctx, n, w)
			})
		}
	}
}

func (a *app) update(c *cli.Context) error {
	if c.Bool("json") {
		a.o.json = true
	}
	if c.Bool("check") {
		return a.withDaemon(nil, a.checkUpdates)(c)
	}
	if c.Bool("auto") {
		return a.withDaemon(noArgs("update --auto takes no NAME: it updates the rock-ons opted in with rockon config NAME --auto-update on"), a.autoUpdate)(c)
	}
	return a.job(c, "updating", "updated", func(ctx context.Context, d daemonClient, n string, w rdbus.Watcher) error { return d.Update(ctx, n, w) })
}

func (a *app) uninstall(c *cli.Context) error {
	removeImages, purge := c.Bool("remove-images"), c.Bool("purge")
	if !removeImages && !purge {
		return a.job(c, "uninstalling", "uninstalled (data volumes kept)", func(ctx context.Context, d daemonClient, n string, w rdbus.Watcher) error {
			return d.Uninstall(ctx, n, w)
		})
	}
	done := "uninstalled"
	if removeImages {
		done += ", its images no other rock-on uses removed"
	}
	if purge {
		done += ", its images' volumes purged (host directories kept)"
	} else {
		done += " (data volumes kept)"
	}
	// the daemon names each volume it removes in a progress message
	var removed []string
	err := a.job(c, "uninstalling", done, func(ctx context.Context, d daemonClient, n string, w rdbus.Watcher) error {
		return d.UninstallWith(ctx, n, removeImages, purge, func(p float64, msg string) {
			if v, ok := strings.CutPrefix(msg, "removed volume "); ok {
				removed = append(removed, v)
			}
			w(p, msg)
		})
	})
	if err == nil && purge && !a.o.json {
		if len(removed) == 0 {
			fmt.Fprintln(a.o.out, "no volume to remove (host directories are never removed)")
		}
		for _, v := range removed {
			fmt.Fprintln(a.o.out, "removed volume "+sanitizeCell(v))
		}
	}
	return err
}
