package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersedArgs moves a command's flags before its positional
// arguments. urfave/cli stops reading flags at the first positional
// argument, but people write `rockon install plex --port 32400=8081` and
// `rockon logs plex -f`; this makes both orders work. "--" still ends the
// flags, and the shell-completion marker stays last, where urfave looks
// for it.
func interspersedArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	const completion = "--generate-bash-completion"
	tail := []string{}
	if args[len(args)-1] == completion {
		tail = []string{completion}
		args = args[:len(args)-1]
	}
	out := []string{args[0]}
	i := 1
	// Global flags, then the command (and a subcommand).
	i = skipFlags(app.Flags, args, i, &out)
	if i >= len(args) {
		return append(out, tail...)
	}
	cmdStart := len(out)
	cmds := app.Commands
	var cmd *cli.Command
	for i < len(args) {
		next := findCommand(cmds, args[i])
		if next == nil {
			break
		}
		cmd = next
		out = append(out, args[i])
		i++
		if len(cmd.Subcommands) == 0 {
			break
		}
		cmds = cmd.Subcommands
	}
	if cmd == nil {
		return append(append(out, args[i:]...), tail...)
	}
	var globals, flags, pos []string
	dashdash := false
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			dashdash = true
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-" && !hasFlag(cmd.Flags, a) && hasFlag(app.Flags, a):
			// A global flag after the command (`rockon status NAME
			// --json`) goes back before it, where urfave reads it.
			globals = append(globals, a)
			i++
			if !strings.Contains(a, "=") && takesValue(app.Flags, a) && i < len(args) {
				globals = append(globals, args[i])
				i++
			}
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			i++
			if !strings.Contains(a, "=") && takesValue(cmd.Flags, a) && i < len(args) {
				flags = append(flags, args[i])
				i++
			}
		default:
			pos = append(pos, a)
			i++
		}
	}
	if len(globals) > 0 {
		// after the global flags already there, before the command
		out = append(append(append([]string{}, out[:cmdStart]...), globals...), out[cmdStart:]...)
	}
	out = append(out, flags...)
	if dashdash {
		out = append(out, "--")
	}
	out = append(out, pos...)
	return append(out, tail...)
}

// skipFlags copies the flags at args[i:] (and their values) to out and
// returns the index of the first non-flag argument.
func skipFlags(defs []cli.Flag, args []string, i int, out *[]string) int {
	for i < len(args) {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			return i
		}
		*out = append(*out, a)
		i++
		if !strings.Contains(a, "=") && takesValue(defs, a) && i < len(args) {
			*out = append(*out, args[i])
			i++
		}
	}
	return i
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// hasFlag reports whether arg ("-x", "--name" or "--name=value") is one
// of defs.
func hasFlag(defs []cli.Flag, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range defs {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// takesValue reports whether flag arg ("-x" or "--name") is one of defs
// that needs a value (anything but a boolean flag).
func takesValue(defs []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	for _, f := range defs {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
