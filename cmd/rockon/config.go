package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/BurntSushi/toml"
	"github.com/rockon/rockon/model"
	"github.com/urfave/cli/v2"
)

// hiddenValue replaces environment and custom-configuration values
// (passwords, tokens) unless --show-secrets is given.
const hiddenValue = "(hidden; --show-secrets shows it)"

// config prints an installed rock-on's settings in the install-config
// format: with --show-secrets the output can be edited and given back to
// `rockon reconfigure NAME --config FILE`. rockond authorizes it like any
// change (root or polkit), since the values are secrets.
func (a *app) config(ctx context.Context, c *cli.Context, d daemonClient, name string) error {
	if c.IsSet("auto-update") {
		return a.setAutoUpdate(ctx, d, name, c.String("auto-update"))
	}
	text, err := d.Config(ctx, name)
	if err != nil {
		return daemonError(err, name)
	}
	var ch model.Choices
	if _, err := toml.Decode(text, &ch); err != nil {
		return fmt.Errorf("reading the settings of %s from rockond: %w", name, err)
	}
	if !c.Bool("show-secrets") {
		for cn, cc := range ch.Containers {
			for k := range cc.Env {
				cc.Env[k] = hiddenValue
			}
			ch.Containers[cn] = cc
		}
		for k := range ch.CustomConfig {
			ch.CustomConfig[k] = hiddenValue
		}
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(ch); err != nil {
		return err
	}
	if a.o.json {
		// the keys of the install-config file, not Go's field names
		v := map[string]any{}
		if _, err := toml.Decode(b.String(), &v); err != nil {
			return err
		}
		return a.o.writeJSON(v)
	}
	_, err = a.o.out.Write(b.Bytes())
	return err
}

// setAutoUpdate is `rockon config NAME --auto-update on|off`.
func (a *app) setAutoUpdate(ctx context.Context, d daemonClient, name, value string) error {
	var on bool
	switch value {
	case "on":
		on = true
	case "off":
	default:
		return usageErrorf("--auto-update takes on or off, not %q", value)
	}
	if err := d.SetAutoUpdate(ctx, name, on); err != nil {
		return daemonError(err, name)
	}
	if a.o.json {
		return a.o.writeJSON(map[string]any{"name": name, "auto_update": on})
	}
	if on {
		fmt.Fprintf(a.o.out, "%s: automatic update on (rockon-auto-update.timer must be enabled: systemctl enable --now rockon-auto-update.timer)\n", name)
	} else {
		fmt.Fprintf(a.o.out, "%s: automatic update off\n", name)
	}
	return nil
}
