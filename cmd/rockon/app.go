package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/urfave/cli/v2"
)

// app is the state shared by the commands of one invocation.
type app struct {
	stdin  io.Reader
	o      *output
	busArg string // --bus
	client daemonClient
}

// choiceFlags are the install-choice flags of install and reconfigure.
func choiceFlags() []cli.Flag {
	flags := []cli.Flag{
		multiFlag(&cli.GenericFlag{Name: "port", Aliases: []string{"p"}, Usage: "publish container port `C=H` on host port H (C may be 53/udp, or CONTAINER:C; H=0 leaves it unpublished)"}),
		multiFlag(&cli.GenericFlag{Name: "volume", Aliases: []string{"v"}, Usage: "map container path `PATH=HOSTPATH|SHARE` (absolute host path or share name; CONTAINER:PATH to pick a container)"}),
		multiFlag(&cli.GenericFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variable `K=V` (CONTAINER:K=V to pick a container)"}),
		multiFlag(&cli.GenericFlag{Name: "device", Usage: "pass device `NAME=PATH` (empty PATH: not passed)"}),
		multiFlag(&cli.GenericFlag{Name: "label", Usage: "add container label `K=V` (CONTAINER:K=V for one container)"}),
		multiFlag(&cli.GenericFlag{Name: "custom", Usage: "set custom configuration value `K=V`"}),
	}
	flags = append(flags, settingFlags()...) // --memory, --cpus, ...
	return append(flags,
		multiFlag(&cli.GenericFlag{Name: "consent", Usage: "accept the risky privilege `TOKEN` the rock-on asks for (e.g. privileged)"}),
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "read choices from install-config `FILE.toml` (flags override it)"},
	)
}

// settingFlags are the flags of the settings (model.Settings), made from
// the fields' tags: --memory SIZE or --memory CONTAINER:SIZE.
func settingFlags() []cli.Flag {
	var out []cli.Flag
	for _, s := range model.Settings() {
		// The value's name in backquotes is the placeholder in the help.
		usage := s.Usage
		if at := regexp.MustCompile(`\b` + regexp.QuoteMeta(s.Arg) + `\b`).FindStringIndex(usage); at != nil {
			usage = usage[:at[0]] + "`" + s.Arg + "`" + usage[at[1]:]
		}
		out = append(out, multiFlag(&cli.GenericFlag{Name: s.Flag(), Usage: usage + "; CONTAINER:" + s.Arg + " for one container"}))
	}
	return out
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	a := &app{stdin: stdin, o: &output{out: stdout, err: stderr}}
	busDefault := os.Getenv("ROCKON_BUS")
	if busDefault == "" {
		busDefault = "system"
	}
	nameComplete := func(installedOnly bool) cli.BashCompleteFunc {
		return func(c *cli.Context) { a.completeNames(c, installedOnly) }
	}
	ca := &cli.App{
		Name:                 "rockon",
		Usage:                "run Rockstor rock-ons as systemd services",
		Description:          "rockon browses the rock-on catalog, installs rock-ons with the choices their definitions ask for, starts, stops, updates, reconfigures and removes them, through the rockond daemon. validate and compile work offline.",
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Suggest:              true,
		ExitErrHandler:       func(*cli.Context, error) {}, // run() maps errors to exit codes
		OnUsageError: func(c *cli.Context, err error, isSubcommand bool) error {
			return withCode(exitUsage, err)
		},
		Version:  version,
		Metadata: map[string]any{"bus": busDefault},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bus", Value: busDefault, Usage: "D-Bus to reach rockond on: `system`, session or a bus address (env ROCKON_BUS)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of tables (listing and status commands)"},
			&cli.BoolFlag{Name: "no-color", Usage: "never colour the output (NO_COLOR does the same)"},
			&cli.BoolFlag{Name: "verbose", Usage: "print a failure's whole message (journal lines included), not its first line"},
		},
		Before: func(c *cli.Context) error {
			a.busArg = c.String("bus")
			c.App.Metadata["bus"] = a.busArg
			verbose = c.Bool("verbose")
			a.o.json = c.Bool("json")
			a.o.color = colorWanted(stdout, c.Bool("no-color"))
			a.o.tty = isTerminal(stdout)
			return nil
		},
		After: func(c *cli.Context) error {
			if a.client != nil {
				a.client.Close()
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				name := c.Args().First()
				var names []string
				for _, cmd := range c.App.VisibleCommands() {
					names = append(names, cmd.Names()...)
				}
				if s := closest(name, names); s != "" {
					return usageErrorf("unknown command %q; did you mean %q? (see rockon --help)", name, s)
				}
				return usageErrorf("unknown command %q; see rockon --help", name)
			}
			return withCode(exitUsage, errors.Join(cli.ShowAppHelp(c), errors.New("a command is required; see rockon --help")))
		},
		Commands: []*cli.Command{
			{
				Name:  "catalog",
				Usage: "manage the catalog of available rock-ons",
				Subcommands: []*cli.Command{{
					Name:   "refresh",
					Usage:  "fetch the catalog again from its metastores",
					Action: a.withDaemon(noArgs("catalog refresh takes no arguments"), a.catalogRefresh),
				}},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return usageErrorf("unknown catalog command %q; the only one is: refresh", c.Args().First())
					}
					return usageErrorf("catalog needs a subcommand: refresh")
				},
			},
			{
				Name:      "list",
				Aliases:   []string{"ls"},
				Usage:     "list rock-ons of the catalog with their state",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "installed", Aliases: []string{"i"}, Usage: "only installed rock-ons"},
				},
				Action: a.withDaemon(noArgs("list takes no arguments (use rockon search TEXT or rockon info NAME)"), a.list),
			},
			{
				Name:      "search",
				Usage:     "find rock-ons whose name or description contains TEXT",
				ArgsUsage: "TEXT",
				Action:    a.withDaemon(searchArgs, a.search),
			},
			{
				Name:         "info",
				Usage:        "show a rock-on's description, containers, ports, volumes, environment and devices",
				ArgsUsage:    "NAME",
				Action:       a.onRockOn(nil, a.info),
				BashComplete: nameComplete(false),
			},
			{
				Name:      "install",
				Usage:     "install a rock-on (asks for missing choices when run on a terminal)",
				ArgsUsage: "NAME",
				Flags: append(choiceFlags(),
					&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the unit files it would write and change nothing"},
					&cli.BoolFlag{Name: "no-input", Usage: "never ask questions, even on a terminal"},
					&cli.BoolFlag{Name: "no-start", Usage: "leave the rock-on stopped once installed"},
				),
				Action:       a.install,
				BashComplete: nameComplete(false),
			},
			{
				Name: "start", Usage: "start a rock-on (and start it at boot)", ArgsUsage: "NAME",
				Action: a.toggle("start"), BashComplete: nameComplete(true),
			},
			{
				Name: "stop", Usage: "stop a rock-on (and do not start it at boot)", ArgsUsage: "NAME",
				Action: a.toggle("stop"), BashComplete: nameComplete(true),
			},
			{
				Name: "restart", Usage: "restart a rock-on's containers", ArgsUsage: "NAME",
				Action: a.toggle("restart"), BashComplete: nameComplete(true),
			},
			{
				Name:         "status",
				Usage:        "show the state of installed rock-ons, or of each container of one",
				ArgsUsage:    "[NAME]",
				Action:       a.withDaemon(statusArgs, a.status),
				BashComplete: nameComplete(true),
			},
			{
				Name:      "logs",
				Usage:     "show a rock-on's output (the apps' own lines) from the journal",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines"},
					&cli.StringFlag{Name: "container", Aliases: []string{"C"}, Usage: "only container `NAME`"},
					&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Value: -1, Usage: "show the last `N` lines"},
					&cli.BoolFlag{Name: "events", Usage: "also show systemd's and the engine's lines about the containers (start, stop, create, ...)"},
				},
				Action:       a.onRockOn(nil, a.logs),
				BashComplete: nameComplete(true),
			},
			{
				Name:      "update",
				Usage:     "pull newer images and restart what changed (rolls back on failure); --check only asks the registries",
				ArgsUsage: "NAME | --check [NAME...]",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "auto", Usage: "run the automatic update now (what rockon-auto-update.timer runs): the rock-ons opted in with `rockon config NAME --auto-update on`, one at a time"},
					&cli.BoolFlag{Name: "check", Usage: "compare each container's image with what its tag points at in the registry now; pulls and changes nothing (all installed rock-ons when no NAME)"},
					&cli.BoolFlag{Name: "json", Usage: "print JSON (with --check: [{name, container, image, current_digest, latest_digest, update_available}])"},
				},
				Action:       a.update,
				BashComplete: nameComplete(true),
			},
			{
				Name:      "reconfigure",
				Usage:     "change an installed rock-on's ports, volumes, environment, devices, labels and networks",
				ArgsUsage: "NAME",
				Flags: append(choiceFlags(),
					multiFlag(&cli.GenericFlag{Name: "unpublish", Usage: "stop publishing container port `C` (CONTAINER:C to pick a container)"}),
					multiFlag(&cli.GenericFlag{Name: "network", Usage: "join engine network `NET` (CONTAINER:NET for one container)"}),
				),
				Action:       a.onRockOn(reconfigureArgs, a.reconfigure),
				BashComplete: nameComplete(true),
			},
			{
				Name:      "uninstall",
				Aliases:   []string{"remove", "rm"},
				Usage:     "stop and remove a rock-on (its data volumes are kept)",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "remove-images", Usage: "also remove its images that no other installed rock-on uses"},
					&cli.BoolFlag{Name: "purge", Usage: "also remove the engine volumes rockon made for the images' VOLUMEs (host directories are never removed)"},
				},
				Action:       a.uninstall,
				BashComplete: nameComplete(true),
			},
			{
				Name:      "config",
				Usage:     "show an installed rock-on's settings as an install-config file (needs root or polkit; environment and custom values hidden unless --show-secrets); --auto-update on|off opts it in to or out of the automatic update",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "show-secrets", Usage: "show environment and custom configuration values"},
					&cli.StringFlag{Name: "auto-update", Usage: "`on`: rockon-auto-update.timer updates this rock-on when its registry has a newer image; off: it does not"},
				},
				Action:       a.onRockOn(nil, a.config),
				BashComplete: nameComplete(true),
			},
			{
				Name:      "export",
				Usage:     "write an installed rock-on as Kubernetes manifests or a Compose file (needs root or polkit: it holds the environment values)",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "`kube` (a Deployment, a Service, claims) or compose"},
					&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write to `FILE` (mode 0600) instead of the standard output"},
					&cli.BoolFlag{Name: "pvc", Usage: "kube: a PersistentVolumeClaim for each host directory instead of a hostPath volume"},
				},
				Action:       a.onRockOn(exportArgs, a.export),
				BashComplete: nameComplete(true),
			},
			{
				Name:      "backup",
				Usage:     "write rockond's configuration and every installed rock-on's definition, settings and state to a file (mode 0600: it holds secrets; no container data)",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "the backup `FILE` (default rockon-backup-DATE-TIME.toml here; - for the standard output)"},
				},
				Action: a.withDaemon(noArgs("backup takes no argument; name the file with --out FILE"), a.backupCmd),
			},
			{
				Name:      "restore",
				Usage:     "install the rock-ons of a backup again with their settings and states; one this host cannot have is refused with its reason, the others are restored",
				ArgsUsage: "FILE",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "only", Usage: "restore only rock-on `NAME` (repeat for several)"},
					&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "check each rock-on as an install would and change nothing"},
					&cli.BoolFlag{Name: "replace", Usage: "also install again the rock-ons that are installed (their data is kept; the installed version comes back if the backup's is refused)"},
				},
				Action: a.restore,
			},
			{
				Name:      "doctor",
				Usage:     "check what a working set-up needs (engine, storage, catalog, directories, policy, metrics, each rock-on) and say how to fix each miss",
				ArgsUsage: " ",
				Action:    a.doctor,
			},
			{
				Name:      "validate",
				Usage:     "check rock-on definition files offline (default: the current directory)",
				ArgsUsage: "[FILES|DIRS...]",
				Action:    a.validate,
			},
			{
				Name:      "compile",
				Usage:     "write the unit files for a rock-on offline, as the daemon would install them",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "catalog", Usage: "definitions: a registry `DIR` or one definition FILE"},
					&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "install choices from `INSTALL.toml`"},
					&cli.StringFlag{Name: "engine", Value: "docker", Usage: "container `ENGINE`: docker or podman (the daemon uses the one installed unless configured)"},
					&cli.StringFlag{Name: "engine-binary", Usage: "engine `PATH` (default /usr/bin/docker or /usr/bin/podman)"},
					&cli.StringFlag{Name: "shares-root", Value: state.DefaultConfig().Volumes.SharesRoot, Usage: "`DIR` where named shares live"},
					&cli.StringFlag{Name: "env-dir", Value: "/var/lib/rockon/env", Usage: "`DIR` the env files are installed to"},
					&cli.BoolFlag{Name: "all", Usage: "compile every rock-on of the catalog (needs --sample)"},
					&cli.BoolFlag{Name: "sample", Usage: "use generated sample choices: default host ports, volumes under --sample-root, sample env values"},
					&cli.StringFlag{Name: "sample-root", Value: "/srv/rockon-sample", Usage: "`DIR` under which sample volumes are placed"},
					&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output `DIR` (one subdirectory per rock-on with --all)"},
				},
				Action: a.compile,
			},
			{
				Name:   "generate-man",
				Usage:  "print the rockon(1) manual page (roff)",
				Hidden: true,
				Action: func(c *cli.Context) error {
					man, err := c.App.ToManWithSection(1)
					if err != nil {
						return fmt.Errorf("generating the manual page: %w", err)
					}
					_, err = io.WriteString(c.App.Writer, man+manExtra)
					return err
				},
			},
			{
				Name:      "generate-completion",
				Usage:     "print the shell completion script for bash or zsh",
				ArgsUsage: "bash|zsh",
				Hidden:    true,
				Action:    generateCompletion,
			},
		},
	}
	setUsageErrors(ca.Commands, "rockon")
	return ca
}

// setUsageErrors makes a flag error in any command a one-line usage error
// (exit 2) instead of urfave's help dump.
func setUsageErrors(cmds []*cli.Command, prefix string) {
	for _, cmd := range cmds {
		path := prefix + " " + cmd.Name
		cmd.OnUsageError = func(c *cli.Context, err error, isSubcommand bool) error {
			return usageErrorf("%s: %v; see %s --help", path, err, path)
		}
		setUsageErrors(cmd.Subcommands, path)
	}
}

// manExtra are the manual page's sections that the command definitions
// do not carry.
const manExtra = `
.SH EXIT STATUS
.TP
0
success
.TP
1
the operation failed
.TP
2
usage error: bad command line, or choices the daemon refuses (port in use, missing value, path that does not exist, consent not given)
.TP
3
not found: no such rock-on (or not installed), container or file
.TP
4
access denied: changes need root or the polkit authorization org.rockon.rockon1.manage
.TP
5
rockond is not reachable on the bus (start it with: systemctl start rockon)
.TP
6
busy: another operation on the same rock-on is running

.SH ENVIRONMENT
.TP
ROCKON_BUS
the bus to reach rockond on, as --bus: system (default), session or a D-Bus address
.TP
NO_COLOR
when set and not empty, no colour is used (colour is used only on a terminal anyway)
.TP
ROCKON_CONFIG
rockond's configuration file read by install --dry-run and volume checks (default /etc/rockon/rockond.toml)

.SH FILES
.TP
/etc/rockon/rockond.toml
the daemon's configuration
.TP
/var/lib/rockon
installed rock-ons

.SH SEE ALSO
systemctl(1), journalctl(1), busctl(1)
`

// oneName returns the single NAME argument of a command.
func oneName(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 1:
		name := c.Args().First()
		if strings.TrimSpace(name) == "" {
			return "", usageErrorf("%s: the rock-on name is empty", c.Command.Name)
		}
		return name, nil
	case 0:
		return "", usageErrorf("%s needs a rock-on name: rockon %s NAME", c.Command.Name, c.Command.Name)
	default:
		return "", usageErrorf("%s takes one rock-on name, got %d arguments (quote names with spaces)", c.Command.Name, c.NArg())
	}
}

// multiValue is a repeatable flag that keeps each value exactly as typed:
// urfave's slice flags split on commas and trim spaces, which would
// corrupt environment values and labels.
type multiValue struct{ vals []string }

// aliasCopy is what String returns once values are set: urfave copies a
// flag's value to its aliases with Set(String()), which must not add a
// value.
const aliasCopy = "\x00(set)"

func (m *multiValue) Set(s string) error {
	if s != aliasCopy {
		m.vals = append(m.vals, s)
	}
	return nil
}

func (m *multiValue) String() string {
	if len(m.vals) > 0 {
		return aliasCopy
	}
	return ""
}

func multiFlag(f *cli.GenericFlag) *cli.GenericFlag {
	f.Value = &multiValue{}
	return f
}

// multiValues returns the values given to a repeatable flag.
func multiValues(c *cli.Context, name string) []string {
	for _, ctx := range c.Lineage() {
		if ctx.IsSet(name) {
			if m, ok := ctx.Generic(name).(*multiValue); ok {
				return m.vals
			}
		}
	}
	return nil
}
