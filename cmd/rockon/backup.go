package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rockon/rockon/backup"
	rdbus "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
)

// backupCmd writes rockond's backup (configuration, every installed
// rock-on's definition, settings and desired state) to a file only its
// owner may read: it holds the rock-ons' secrets.
func (a *app) backupCmd(ctx context.Context, c *cli.Context, d daemonClient) error {
	text, err := d.Backup(ctx)
	if err != nil {
		return daemonError(err, "")
	}
	f, err := backup.Decode("from rockond", []byte(text))
	if err != nil {
		return err
	}
	file := c.String("out")
	if file == "" {
		file = "rockon-backup-" + f.CreatedAt.Format("20060102-150405") + ".toml"
	}
	if file == "-" {
		_, err := fmt.Fprint(a.o.out, text)
		return err
	}
	if err := state.WriteFileAtomic(file, []byte(text), 0o600); err != nil {
		return fmt.Errorf("writing the backup: %w", err)
	}
	fmt.Fprintf(a.o.out, "wrote %s: rockond's configuration and %d rock-on(s)\n", file, len(f.RockOns))
	fmt.Fprintf(a.o.err, "%s holds secrets (the rock-ons' environment values): it is readable by its owner only; keep it private\n", file)
	return nil
}

// restore installs the rock-ons of a backup again, each with its
// definition, settings and desired state, through rockond's usual
// install (so every check of an install applies). A rock-on this host
// cannot have (a port in use, a path or device missing, a consent the
// configuration does not give) is refused with the reason and the others
// go on; one already installed is left alone unless --replace.
func (a *app) restore(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("restore needs one backup FILE (rockon restore FILE [--only NAME...] [--dry-run] [--replace])")
	}
	file := c.Args().First()
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return notFoundErrorf("backup %s does not exist", file)
	} else if err != nil {
		return err
	}
	f, err := backup.Decode(file, data)
	if err != nil {
		return withCode(exitUsage, err)
	}
	sel, missing := f.Select(c.StringSlice("only"))
	if len(missing) > 0 {
		return notFoundErrorf("backup %s has no rock-on %q", file, missing[0])
	}
	dry, replace := c.Bool("dry-run"), c.Bool("replace")
	ctx, cancel := commandContext(c)
	defer cancel()
	d, err := a.daemon(ctx)
	if err != nil {
		return err
	}
	installed, err := d.List(ctx, true)
	if err != nil {
		return daemonError(err, "")
	}
	isInstalled := map[string]bool{}
	for _, s := range installed {
		isInstalled[s.Slug] = true
	}
	failed := 0
	say := func(name, format string, args ...any) {
		fmt.Fprintf(a.o.out, "%s: %s\n", sanitizeCell(name), sanitizeCell(fmt.Sprintf(format, args...)))
	}
	for _, r := range sel {
		b, err := model.EncodeChoices(r.Choices)
		if err != nil {
			return fmt.Errorf("encoding the choices of %s: %w", r.Name, err)
		}
		cfg := string(b)
		start := r.Desired == state.DesiredOn
		want := string(r.Desired)
		if r.AutoUpdate {
			want += ", automatic update"
		}
		// optedIn ends an install from the backup (done says which) by
		// opting the rock-on in to the automatic update again
		optedIn := func(done string) {
			if err := optInAgain(ctx, d, r); err != nil {
				failed++
				say(r.Name, "%s (%s), %v", done, r.Desired, err)
				return
			}
			say(r.Name, "%s (%s)", done, want)
		}
		if isInstalled[model.Slug(r.Name)] {
			if !replace {
				say(r.Name, "left alone: already installed (--replace installs it again from the backup)")
				continue
			}
			if dry {
				say(r.Name, "would be uninstalled (data kept) and installed again from the backup")
				continue
			}
			if err := a.replace(ctx, d, r.Name, string(r.Definition), cfg, start); err != nil {
				failed++
				say(r.Name, "not replaced: %v", err)
				continue
			}
			optedIn("replaced from the backup")
			continue
		}
		if dry {
			if err := d.Restore(ctx, r.Name, string(r.Definition), cfg, start, true, nil); err != nil {
				failed++
				say(r.Name, "refused: %v", restoreReason(err, r.Name))
				continue
			}
			say(r.Name, "can be restored (%s)", want)
			continue
		}
		p := newProgress(a.o, "restoring "+r.Name)
		err = d.Restore(ctx, r.Name, string(r.Definition), cfg, start, false, p.update)
		p.finish(err == nil)
		if err != nil {
			failed++
			say(r.Name, "refused: %v", restoreReason(err, r.Name))
			continue
		}
		optedIn("restored")
	}
	if failed > 0 {
		return withCode(exitFailed, fmt.Errorf("%d of %d rock-on(s) not restored; the reasons are above", failed, len(sel)))
	}
	return nil
}

// optInAgain opts a restored rock-on in to the automatic update when the
// backup says it was: an install starts with no opt-in.
func optInAgain(ctx context.Context, d daemonClient, r backup.RockOn) error {
	if !r.AutoUpdate {
		return nil
	}
	if err := d.SetAutoUpdate(ctx, r.Name, true); err != nil {
		return fmt.Errorf("but not opted in to the automatic update again (rockon config %s --auto-update on): %v", r.Name, daemonError(err, r.Name))
	}
	return nil
}

// restoreReason is why rockond refused a rock-on: its own words (the
// install command's hints, such as --port, do not apply to a restore).
func restoreReason(err error, name string) error {
	var de *rdbus.Error
	if errors.As(err, &de) && de.Message != "" && !errors.Is(err, rdbus.ErrDaemonNotRunning) {
		msg := de.Message
		if kind := de.Unwrap(); kind != nil {
			msg = strings.TrimPrefix(msg, kind.Error()+": ")
		}
		return errors.New(msg)
	}
	return daemonError(err, name)
}

// replace uninstalls an installed rock-on (its data volumes and host
// directories stay) and installs it from the backup; when the backup's
// version is refused, the one that was installed is put back.
func (a *app) replace(ctx context.Context, d daemonClient, name, def, cfg string, start bool) error {
	prevDef, err := d.Definition(ctx, name)
	if err != nil {
		return daemonError(err, name)
	}
	prevCfg, err := d.Config(ctx, name)
	if err != nil {
		return daemonError(err, name)
	}
	props, err := d.Status(ctx, name)
	if err != nil {
		return daemonError(err, name)
	}
	if err := d.Uninstall(ctx, name, nil); err != nil {
		return daemonError(err, name)
	}
	err = d.Restore(ctx, name, def, cfg, start, false, nil)
	if err == nil {
		return nil
	}
	ctx2, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Minute)
	defer cancel()
	if perr := d.Restore(ctx2, name, prevDef, prevCfg, props.DesiredState == string(state.DesiredOn), false, nil); perr != nil {
		return fmt.Errorf("%v; and putting the previous installation back failed: %v", daemonError(err, name), daemonError(perr, name))
	}
	return fmt.Errorf("%v; the previous installation is back", daemonError(err, name))
}
