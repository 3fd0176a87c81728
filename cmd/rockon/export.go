package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rockon/rockon/state"
)

// export asks rockond for an installed rock-on as Kubernetes manifests or
// a Compose file: the daemon compiles it as its units run it (its
// configuration, the images' VOLUMEs), so the CLI only writes the result.
// What does not carry over is a warning here and a comment in the YAML.
// exportArgs checks export's options.
func exportArgs(c *cli.Context, name string) error {
	format := c.String("format")
	if format != "kube" && format != "compose" {
		return usageErrorf("export %s: --format must be kube or compose", name)
	}
	if c.Bool("pvc") && format != "kube" {
		return usageErrorf("export %s: --pvc is for --format kube", name)
	}
	return nil
}

func (a *app) export(ctx context.Context, c *cli.Context, d daemonClient, name string) error {
	format := c.String("format")
	out, warnings, err := d.Export(ctx, name, format, c.Bool("pvc"))
	if err != nil {
		return daemonError(err, name)
	}
	for _, w := range warnings {
		fmt.Fprintf(a.o.err, "warning: %s\n", sanitizeCell(w))
	}
	file := c.String("out")
	if file == "" {
		_, err = fmt.Fprint(a.o.out, out)
		return err
	}
	// the environment values may be passwords: the file is the owner's
	if err := state.WriteFileAtomic(file, []byte(out), 0o600); err != nil {
		return fmt.Errorf("writing the export of %s: %w", name, err)
	}
	fmt.Fprintf(a.o.err, "wrote %s (mode 0600: it holds the rock-on's environment values, which may be secrets)\n", file)
	return nil
}
