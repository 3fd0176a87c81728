package catalog

import "strings"

// droppedOpts are the engine options that cannot be passed through when the
// container runs as a systemd unit, by long name, with why: the unit runs
// the container in the foreground without a terminal, systemd does the
// restarting, and rockon names and removes containers itself. The decoder
// drops them from Container.Opts with a warning and the compiler drops them
// again in any spelling its option parser reads (DroppedOpt).
var droppedOpts = map[string]string{
	"--detach":      "systemd runs the container in the foreground",
	"--interactive": "a unit has no terminal",
	"--tty":         "a unit has no terminal",
	"--restart":     "systemd restarts the container (Restart= in the unit)",
	"--rm":          "rockon removes containers itself",
	"--name":        "rockon names the container after the definition",
}

// droppedShort are the single-letter forms of droppedOpts.
var droppedShort = map[string]string{"-d": "--detach", "-i": "--interactive", "-t": "--tty"}

// DroppedOpt tells why the engine option flag (its long name, e.g.
// "--detach") is dropped, or "" when it is passed through.
func DroppedOpt(flag string) string { return droppedOpts[flag] }

// unmanagedOpt tells why an opts pair cannot be passed through (see
// droppedOpts), or "" when it can.
func unmanagedOpt(p Pair) string {
	flag, _, _ := strings.Cut(p[0], "=")
	if long, ok := droppedShort[flag]; ok {
		flag = long
	}
	if why := DroppedOpt(flag); why != "" {
		return why
	}
	// Clusters of single-letter flags such as -it, -dit, -td.
	if len(flag) > 2 && flag[0] == '-' && flag[1] != '-' && strings.Trim(flag[1:], "dit") == "" {
		return "systemd runs the container in the foreground without a terminal"
	}
	return ""
}
