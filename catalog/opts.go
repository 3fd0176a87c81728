package catalog

import "strings"

// unmanagedOpt tells why an opts pair cannot be passed through when the
// container runs as a systemd unit, or "" when it can. Such options are
// dropped from Container.Opts with a warning: the unit runs the container in
// the foreground without a terminal, systemd does the restarting, and rockon
// names and removes containers itself.
func unmanagedOpt(p Pair) string {
	flag, _, _ := strings.Cut(p[0], "=")
	switch flag {
	case "-d", "--detach":
		return "systemd runs the container in the foreground"
	case "-i", "--interactive", "-t", "--tty":
		return "a unit has no terminal"
	case "--restart":
		return "systemd restarts the container (Restart= in the unit)"
	case "--rm":
		return "rockon removes containers itself"
	case "--name":
		return "rockon names the container after the definition"
	}
	// Clusters of single-letter flags such as -it, -dit, -td.
	if len(flag) > 2 && flag[0] == '-' && flag[1] != '-' && strings.Trim(flag[1:], "dit") == "" {
		return "systemd runs the container in the foreground without a terminal"
	}
	return ""
}
