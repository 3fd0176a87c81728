package unitgen

import (
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rockon/rockon/catalog"
)

// Opt is one engine option of a definition's opts, read the way podman and
// docker read their command line (both use spf13/pflag): "--flag=v" and
// "--flag v", "-v X", "-vX", "-v=X", and clusters of boolean letters
// before one value letter ("-tv X"). Flag is the option's long name
// ("--volume" for -v, "--network" for --net); Value is its value (for a
// boolean option given without one, "" with HasValue false).
type Opt struct {
	Flag     string
	Value    string
	HasValue bool
}

// optSpec describes one engine option rockon accepts in a definition's opts
// (the allow-list): anything else is refused naming it.
type optSpec struct {
	short   byte // single-letter form, 0 if none
	boolean bool // takes no separate value (pflag's NoOptDefVal)
}

// engineOpts is the allow-list of `run`/`create` options a definition may
// use, by long name. Options that touch the host (paths, devices,
// namespaces, capabilities, security, cgroups, sysctls) are checked value
// by value in checkOpt and need consent; options rockon manages itself are
// dropped (droppedFlag). Both engines know each option, with the same
// boolean-ness; an option only one engine knows fails at the other's start.
var engineOpts = map[string]optSpec{
	// dropped: systemd supervises the container (see droppedFlag)
	"--detach": {short: 'd', boolean: true}, "--interactive": {short: 'i', boolean: true},
	"--tty": {short: 't', boolean: true}, "--rm": {boolean: true}, "--restart": {}, "--name": {},
	// container-local
	"--env": {short: 'e'}, "--publish": {short: 'p'}, "--publish-all": {short: 'P', boolean: true},
	"--expose": {}, "--user": {short: 'u'}, "--workdir": {short: 'w'}, "--hostname": {short: 'h'},
	"--domainname": {}, "--label": {short: 'l'}, "--annotation": {}, "--entrypoint": {},
	"--stop-signal": {}, "--stop-timeout": {}, "--init": {boolean: true}, "--read-only": {boolean: true},
	"--read-only-tmpfs": {boolean: true}, "--quiet": {short: 'q', boolean: true}, "--sig-proxy": {boolean: true},
	"--health-cmd": {}, "--health-interval": {}, "--health-retries": {}, "--health-timeout": {},
	"--health-start-period": {}, "--no-healthcheck": {boolean: true},
	"--memory": {short: 'm'}, "--memory-swap": {}, "--memory-reservation": {}, "--memory-swappiness": {},
	"--cpus": {}, "--cpu-shares": {short: 'c'}, "--cpu-period": {}, "--cpu-quota": {}, "--cpuset-cpus": {},
	"--cpuset-mems": {}, "--pids-limit": {}, "--ulimit": {}, "--shm-size": {}, "--tmpfs": {},
	"--group-add": {}, "--cap-drop": {}, "--tz": {},
	"--dns": {}, "--dns-search": {}, "--dns-option": {}, "--add-host": {}, "--mac-address": {},
	"--ip": {}, "--ip6": {}, "--network-alias": {}, "--log-driver": {}, "--log-opt": {},
	// checked value by value
	"--volume": {short: 'v'}, "--mount": {}, "--network": {}, "--link": {}, "--volumes-from": {},
	"--pid": {}, "--ipc": {}, "--uts": {}, "--userns": {}, "--cgroupns": {},
	"--privileged": {boolean: true}, "--cap-add": {}, "--security-opt": {}, "--sysctl": {},
	"--device": {}, "--device-cgroup-rule": {}, "--gpus": {}, "--cgroup-parent": {},
	"--uidmap": {}, "--gidmap": {},
	"--env-file": {}, "--label-file": {}, "--cidfile": {}, "--pidfile": {}, "--conmon-pidfile": {},
}

// optAliases are the other long names the engines give an option.
var optAliases = map[string]string{"--net": "--network", "--net-alias": "--network-alias", "--dns-opt": "--dns-option"}

var shortOpts = func() map[byte]string {
	m := map[byte]string{}
	for long, s := range engineOpts {
		if s.short != 0 {
			m[s.short] = long
		}
	}
	return m
}()

// ParsePair reads one opts pair as the engine reads the words rockon passes
// for it (the name, then the value if it is not empty: Rockstor's rule).
// It refuses what the engine would read differently from what the pair
// seems to say: an unknown option, a value option without its value (the
// engine would take the next word, the image), a separate value after a
// boolean option or after "--flag=v" (the engine would take it as the
// image), a non-option word.
func ParsePair(p catalog.Pair) ([]Opt, error) {
	w, next := p[0], p[1]
	takeNext := func(flag string) (string, error) {
		if next == "" {
			return "", fmt.Errorf("%s needs a value: the engine would take the next word (the image) as its value", flag)
		}
		v := next
		next = ""
		return v, nil
	}
	var out []Opt
	switch {
	case strings.HasPrefix(w, "--") && len(w) > 2:
		name, v, eq := strings.Cut(w, "=")
		long, ok := canonicalLong(name)
		if !ok {
			return nil, fmt.Errorf("%s is not an engine option rockon accepts in opts", name)
		}
		spec := engineOpts[long]
		o := Opt{Flag: long}
		switch {
		case eq:
			o.Value, o.HasValue = v, true
		case !spec.boolean:
			val, err := takeNext(name)
			if err != nil {
				return nil, err
			}
			o.Value, o.HasValue = val, true
		}
		if spec.boolean && o.HasValue {
			if _, err := strconv.ParseBool(o.Value); err != nil {
				return nil, fmt.Errorf("%s=%s: not a boolean", name, o.Value)
			}
		}
		out = append(out, o)
	case strings.HasPrefix(w, "-") && len(w) > 1 && w[1] != '-':
		// pflag's shorthand cluster: each letter is read in turn; "=" after
		// a letter gives it the rest; a value letter takes the rest of the
		// word, or the next word when it is last.
		s := w[1:]
		for len(s) > 0 {
			long, ok := shortOpts[s[0]]
			if !ok {
				return nil, fmt.Errorf("-%c (in %s) is not an engine option rockon accepts in opts", s[0], w)
			}
			spec := engineOpts[long]
			o := Opt{Flag: long}
			switch {
			case len(s) > 2 && s[1] == '=':
				o.Value, o.HasValue = s[2:], true
				s = ""
			case spec.boolean:
				s = s[1:]
			case len(s) > 1:
				o.Value, o.HasValue = s[1:], true
				s = ""
			default:
				val, err := takeNext("-" + s[:1])
				if err != nil {
					return nil, err
				}
				o.Value, o.HasValue = val, true
				s = ""
			}
			if spec.boolean && o.HasValue {
				if _, err := strconv.ParseBool(o.Value); err != nil {
					return nil, fmt.Errorf("-%c=%s: not a boolean", long[2], o.Value)
				}
			}
			out = append(out, o)
		}
	default:
		return nil, fmt.Errorf("%q is not an option (options start with - or --)", w)
	}
	if next != "" {
		return nil, fmt.Errorf("%s takes no separate value: the engine would take %q as the image (write %s=VALUE)", w, next, strings.SplitN(w, "=", 2)[0])
	}
	return out, nil
}

func canonicalLong(name string) (string, bool) {
	if a, ok := optAliases[name]; ok {
		name = a
	}
	_, ok := engineOpts[name]
	return name, ok
}

// ParseOpts parses every opts pair of a container (see ParsePair), in
// order. The error names the first pair it refuses.
func ParseOpts(c *catalog.Container) ([]Opt, error) {
	var out []Opt
	for _, p := range c.Opts {
		o, err := ParsePair(p)
		if err != nil {
			return nil, fmt.Errorf("opts %q: %w", pairText(p), err)
		}
		out = append(out, o...)
	}
	return out, nil
}

// containerOpts is ParseOpts for code that runs after validation, which
// refuses a definition whose opts do not parse.
func containerOpts(c *catalog.Container) []Opt {
	var out []Opt
	for _, p := range c.Opts {
		o, _ := ParsePair(p)
		out = append(out, o...)
	}
	return out
}

func pairText(p catalog.Pair) string {
	if p[1] == "" {
		return p[0]
	}
	return p[0] + " " + p[1]
}

// pairArgs returns the words a pair contributes to the command line
// (Rockstor: the name, then the value if non-empty).
func pairArgs(p catalog.Pair) []string {
	if p[1] == "" {
		return []string{p[0]}
	}
	return []string{p[0], p[1]}
}

// OptNetworks returns, in order and once each, the user-defined engine
// networks a container's opts name (--net=NAME, --network NAME): not a mode
// the engines provide (host, bridge, none, container:X, ...).
func OptNetworks(c *catalog.Container) []string {
	var names []string
	for _, o := range containerOpts(c) {
		if o.Flag == "--network" && isUserNetwork(o.Value) && !slices.Contains(names, o.Value) {
			names = append(names, o.Value)
		}
	}
	return names
}

// csvFields reads a value the way the engines read --mount and pflag's
// string-slice options: one line of encoding/csv.
func csvFields(v string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(v))
	recs, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) != 1 {
		return nil, fmt.Errorf("not one line of comma-separated fields")
	}
	return recs[0], nil
}
