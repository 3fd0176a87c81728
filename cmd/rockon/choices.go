package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// choiceArgs are the raw values of the choice flags of install and
// reconfigure, each "KEY=VALUE" as typed.
type choiceArgs struct {
	ports, volumes, envs, devices, labels, custom, consent []string
	unpublish, networks                                    []string
	// settings holds the flags of model.Settings by key ("memory").
	settings map[string][]string
}

// empty reports whether no choice flag was given.
func (a choiceArgs) empty() bool {
	n := len(a.ports) + len(a.volumes) + len(a.envs) + len(a.devices) + len(a.labels) +
		len(a.custom) + len(a.consent) + len(a.unpublish) + len(a.networks)
	for _, v := range a.settings {
		n += len(v)
	}
	return n == 0
}

// applyChoiceArgs resolves the flags against the definition and writes
// them into ch, overriding what ch had. Every error is a usage error that
// names the flag and what to write instead.
func applyChoiceArgs(def *catalog.RockOn, ch *model.Choices, a choiceArgs) error {
	for _, arg := range a.ports {
		key, val, err := splitKV("--port", arg, "C=H")
		if err != nil {
			return err
		}
		host, err := parsePort(val)
		if err != nil {
			return usageErrorf("--port %s: host port %q: %v", arg, val, err)
		}
		cname, portKey, err := resolvePort(def, key, "--port", arg)
		if err != nil {
			return err
		}
		updateContainers(ch, []string{cname}, func(cc *model.ContainerChoices) { setKey(&cc.Ports, portKey, host) })
	}
	for _, arg := range a.unpublish {
		cname, portKey, err := resolvePort(def, arg, "--unpublish", arg)
		if err != nil {
			return err
		}
		updateContainers(ch, []string{cname}, func(cc *model.ContainerChoices) { setKey(&cc.Ports, portKey, 0) })
	}
	// KEY=VALUE flags: each for the containers that have KEY, or the one
	// a CONTAINER: prefix names
	for _, kv := range []struct {
		flag, form string
		args       []string
		containers func(cname, key, arg string) ([]string, error)
		field      func(*model.ContainerChoices) *map[string]string
	}{
		{"--volume", "PATH=HOSTPATH", a.volumes, func(cname, path, arg string) ([]string, error) {
			return volumeContainers(def, cname, path, arg)
		}, func(cc *model.ContainerChoices) *map[string]string { return &cc.Volumes }},
		{"--env", "K=V", a.envs, func(cname, name, arg string) ([]string, error) {
			names, err := namedContainers(def, cname, name, "--env", arg, "environment variable", func(c *catalog.Container) []string {
				var s []string
				for _, e := range c.Env {
					s = append(s, e.Name)
				}
				return s
			})
			if err != nil {
				// A variable the definition does not list (TZ, PUID,
				// ...) goes to the container named, or to every
				// container; rockond checks its name and value as any
				// other.
				if extra := extraEnvContainers(def, cname); len(extra) > 0 {
					return extra, nil
				}
			}
			return names, err
		}, func(cc *model.ContainerChoices) *map[string]string { return &cc.Env }},
		{"--device", "NAME=PATH", a.devices, func(cname, name, arg string) ([]string, error) {
			return namedContainers(def, cname, name, "--device", arg, "device", func(c *catalog.Container) []string {
				var s []string
				for _, d := range c.Devices {
					s = append(s, d.Name)
				}
				return s
			})
		}, func(cc *model.ContainerChoices) *map[string]string { return &cc.Devices }},
		{"--label", "K=V", a.labels, func(cname, name, arg string) ([]string, error) {
			if name == "" {
				return nil, usageErrorf("--label %s: the label key is empty; write --label K=V", arg)
			}
			return containersOrAll(def, cname), nil
		}, func(cc *model.ContainerChoices) *map[string]string { return &cc.Labels }},
	} {
		for _, arg := range kv.args {
			key, val, err := splitKV(kv.flag, arg, kv.form)
			if err != nil {
				return err
			}
			cname, name := splitContainer(def, key)
			names, err := kv.containers(cname, name, arg)
			if err != nil {
				return err
			}
			updateContainers(ch, names, func(cc *model.ContainerChoices) { setKey(kv.field(cc), name, val) })
		}
	}
	for _, arg := range a.networks {
		cname, name := splitContainer(def, arg)
		if name == "" {
			return usageErrorf("--network %q: the network name is empty", arg)
		}
		updateContainers(ch, containersOrAll(def, cname), func(cc *model.ContainerChoices) {
			if !contains(cc.Networks, name) {
				cc.Networks = append(cc.Networks, name)
			}
		})
	}
	// settings: "512M" for every container, or "CONTAINER:512M"
	for _, s := range model.Settings() {
		for _, arg := range a.settings[s.Key] {
			cname, val := splitContainer(def, arg)
			if val == "" {
				return usageErrorf("--%s %q: the value is empty; write --%[1]s %[3]s or --%[1]s CONTAINER:%[3]s", s.Flag(), arg, s.Arg)
			}
			updateContainers(ch, containersOrAll(def, cname), func(cc *model.ContainerChoices) { cc.Set(s.Key, val) })
		}
	}
	for _, arg := range a.custom {
		key, val, err := splitKV("--custom", arg, "K=V")
		if err != nil {
			return err
		}
		known := false
		var keys []string
		for _, f := range def.CustomConfig {
			keys = append(keys, f.Key)
			known = known || f.Key == key
		}
		if !known {
			if len(keys) == 0 {
				return usageErrorf("--custom %s: %s has no custom configuration", arg, def.Name)
			}
			return usageErrorf("--custom %s: %s has no custom setting %q (it has: %s)", arg, def.Name, key, strings.Join(keys, ", "))
		}
		setKey(&ch.CustomConfig, key, val)
	}
	for _, tok := range a.consent {
		if tok == "" {
			return usageErrorf("--consent: the token is empty")
		}
		if !contains(ch.Consent, tok) {
			ch.Consent = append(ch.Consent, tok)
		}
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func containerChoices(ch *model.Choices, name string) model.ContainerChoices {
	if ch.Containers == nil {
		ch.Containers = map[string]model.ContainerChoices{}
	}
	return ch.Containers[name]
}

// updateContainers lets set change the choices of each container named.
func updateContainers(ch *model.Choices, names []string, set func(*model.ContainerChoices)) {
	for _, n := range names {
		cc := containerChoices(ch, n)
		set(&cc)
		ch.Containers[n] = cc
	}
}

// setKey sets (*m)[k], making the map when there is none yet.
func setKey[V any](m *map[string]V, k string, v V) {
	if *m == nil {
		*m = map[string]V{}
	}
	(*m)[k] = v
}

// splitKV splits "KEY=VALUE" at the first '='.
func splitKV(flag, arg, form string) (string, string, error) {
	k, v, ok := strings.Cut(arg, "=")
	if !ok || k == "" {
		return "", "", usageErrorf("%s %q: write %s %s", flag, arg, flag, form)
	}
	return k, v, nil
}

// splitContainer splits an optional "CONTAINER:" qualifier off key. The
// prefix counts only when it names a container of the definition, so keys
// that contain ':' themselves still work.
func splitContainer(def *catalog.RockOn, key string) (container, rest string) {
	if c, r, ok := strings.Cut(key, ":"); ok {
		if _, found := def.Container(c); found {
			return c, r
		}
	}
	return "", key
}

func containersOrAll(def *catalog.RockOn, cname string) []string {
	if cname != "" {
		return []string{cname}
	}
	var all []string
	for _, c := range def.Containers {
		all = append(all, c.Name)
	}
	return all
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	if n < 0 || n > 65535 {
		return 0, fmt.Errorf("out of range 1-65535 (0 leaves it unpublished)")
	}
	return n, nil
}

// resolvePort finds the container and the choices key of a container
// port written as [CONTAINER:]PORT[/PROTO].
func resolvePort(def *catalog.RockOn, key, flag, arg string) (container, portKey string, err error) {
	cname, spec := splitContainer(def, key)
	num, proto, _ := strings.Cut(spec, "/")
	port, perr := strconv.Atoi(num)
	if perr != nil || port < 1 || port > 65535 {
		return "", "", usageErrorf("%s %s: container port %q is not a port number (write e.g. 8080 or 53/udp)", flag, arg, spec)
	}
	proto = strings.ToLower(proto)
	if proto != "" && proto != "tcp" && proto != "udp" {
		return "", "", usageErrorf("%s %s: protocol %q is neither tcp nor udp", flag, arg, proto)
	}
	type hit struct{ container, key string }
	var hits []hit
	var all []string
	for _, c := range def.Containers {
		if cname != "" && c.Name != cname {
			continue
		}
		for _, p := range c.Ports {
			all = append(all, portName(p))
			if p.ContainerPort != port {
				continue
			}
			switch {
			case proto == "" || proto == p.Protocol:
				hits = append(hits, hit{c.Name, num})
			case p.Protocol == "":
				// One protocol of a port published for both.
				hits = append(hits, hit{c.Name, num + "/" + proto})
			}
		}
	}
	switch len(hits) {
	case 1:
		return hits[0].container, hits[0].key, nil
	case 0:
		where := def.Name
		if cname != "" {
			where = "container " + cname
		}
		if len(all) == 0 {
			return "", "", usageErrorf("%s %s: %s has no ports to publish", flag, arg, where)
		}
		sort.Strings(all)
		return "", "", usageErrorf("%s %s: %s has no container port %s (it has: %s)", flag, arg, where, spec, strings.Join(dedup(all), ", "))
	default:
		var names []string
		for _, h := range hits {
			names = append(names, h.container)
		}
		return "", "", usageErrorf("%s %s: port %s is in several containers (%s); write %s %s:%s",
			flag, arg, spec, strings.Join(dedup(names), ", "), flag, hits[0].container, arg)
	}
}

func portName(p catalog.Port) string {
	if p.Protocol == "" {
		return strconv.Itoa(p.ContainerPort)
	}
	return strconv.Itoa(p.ContainerPort) + "/" + p.Protocol
}

func dedup(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// volumeContainers finds the containers a --volume applies to: those
// that declare the path, or, for an extra volume on a rock-on with
// volume_add_support, the named or only container.
func volumeContainers(def *catalog.RockOn, cname, path, arg string) ([]string, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, usageErrorf("--volume %s: the container path %q must be absolute", arg, path)
	}
	var names []string
	for _, c := range def.Containers {
		if cname != "" && c.Name != cname {
			continue
		}
		for _, v := range c.Volumes {
			if v.Path == path {
				names = append(names, c.Name)
			}
		}
	}
	if len(names) > 0 {
		return names, nil
	}
	if !def.VolumeAddSupport {
		var all []string
		for _, c := range def.Containers {
			for _, v := range c.Volumes {
				all = append(all, v.Path)
			}
		}
		if len(all) == 0 {
			return nil, usageErrorf("--volume %s: %s has no volumes and does not accept extra ones", arg, def.Name)
		}
		return nil, usageErrorf("--volume %s: %s has no volume %s and does not accept extra ones (it has: %s)", arg, def.Name, path, strings.Join(all, ", "))
	}
	if cname != "" {
		return []string{cname}, nil
	}
	if len(def.Containers) == 1 {
		return []string{def.Containers[0].Name}, nil
	}
	return nil, usageErrorf("--volume %s: an extra volume needs its container: write --volume CONTAINER:%s", arg, arg)
}

// extraEnvContainers are the containers an environment variable the
// definition does not list goes to: the one named, or all.
func extraEnvContainers(def *catalog.RockOn, cname string) []string {
	var out []string
	for _, c := range def.Containers {
		if cname == "" || c.Name == cname {
			out = append(out, c.Name)
		}
	}
	return out
}

// namedContainers finds the containers that declare name (an env
// variable or device): the qualified one, or every container that has it.
func namedContainers(def *catalog.RockOn, cname, name, flag, arg, what string, names func(*catalog.Container) []string) ([]string, error) {
	var out, all []string
	for i := range def.Containers {
		c := &def.Containers[i]
		if cname != "" && c.Name != cname {
			continue
		}
		for _, n := range names(c) {
			all = append(all, n)
			if n == name {
				out = append(out, c.Name)
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	where := def.Name
	if cname != "" {
		where = "container " + cname
	}
	if len(all) == 0 {
		return nil, usageErrorf("%s %s: %s has no %s %q (it has none)", flag, arg, where, what, name)
	}
	sort.Strings(all)
	return nil, usageErrorf("%s %s: %s has no %s %q (it has: %s)", flag, arg, where, what, name, strings.Join(dedup(all), ", "))
}

// missingChoice is a value the definition asks for that the choices do
// not give.
type missingChoice struct {
	kind      string // port, volume, env, device, custom
	container string
	key       string // container port key, path, variable, device or custom key
	label     string
	desc      string
	def       string // suggested default ("" when none)
	optional  bool   // devices: empty means not passed
}

// flag returns the command-line flag that supplies the value.
func (m missingChoice) flag(value string) string {
	q := func(s string) string {
		if strings.ContainsAny(s, " \t'\"$`\\") || s == "" {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
		return s
	}
	switch m.kind {
	case "port":
		return "--port " + q(m.key+"="+value)
	case "volume":
		return "--volume " + q(m.key+"="+value)
	case "env":
		return "--env " + q(m.key+"="+value)
	case "device":
		return "--device " + q(m.key+"="+value)
	default:
		return "--custom " + q(m.key+"="+value)
	}
}

// missingChoices lists, in the order the wizard asks them (launch order,
// then ports, volumes, env, devices; custom config last), the values the
// definition asks for that ch does not give. hostDefaults maps
// "container/portkey" to a suggested free host port.
func missingChoices(def *catalog.RockOn, ch *model.Choices, hostDefaults map[string]int) []missingChoice {
	var out []missingChoice
	for _, c := range def.Containers {
		cc := ch.Containers[c.Name]
		for _, p := range c.Ports {
			key := strconv.Itoa(p.ContainerPort)
			if _, ok := cc.Ports[key]; ok {
				continue
			}
			if p.Protocol == "" {
				_, t := cc.Ports[key+"/tcp"]
				_, u := cc.Ports[key+"/udp"]
				if t || u {
					continue
				}
			}
			d := p.HostDefault
			if hd, ok := hostDefaults[c.Name+"/"+key]; ok {
				d = hd
			}
			ds := ""
			if d > 0 {
				ds = strconv.Itoa(d)
			}
			out = append(out, missingChoice{kind: "port", container: c.Name, key: portName(p), label: p.Label, desc: p.Description, def: ds})
		}
		for _, v := range c.Volumes {
			if _, ok := cc.Volumes[v.Path]; ok {
				continue
			}
			out = append(out, missingChoice{kind: "volume", container: c.Name, key: v.Path, label: v.Label, desc: v.Description})
		}
		for _, e := range c.Env {
			if _, ok := cc.Env[e.Name]; ok {
				continue
			}
			out = append(out, missingChoice{kind: "env", container: c.Name, key: e.Name, label: e.Label, desc: e.Description, optional: e.Optional()})
		}
		for _, d := range c.Devices {
			if _, ok := cc.Devices[d.Name]; ok {
				continue
			}
			out = append(out, missingChoice{kind: "device", container: c.Name, key: d.Name, label: d.Label, desc: d.Description, optional: true})
		}
	}
	for _, f := range def.CustomConfig {
		if _, ok := ch.CustomConfig[f.Key]; ok {
			continue
		}
		out = append(out, missingChoice{kind: "custom", key: f.Key, label: f.Label, desc: f.Description})
	}
	return out
}

// setChoice records the answer to a missing choice.
func setChoice(ch *model.Choices, m missingChoice, value string) error {
	if m.kind == "custom" {
		setKey(&ch.CustomConfig, m.key, value)
		return nil
	}
	cc := containerChoices(ch, m.container)
	switch m.kind {
	case "port":
		n, err := parsePort(value)
		if err != nil {
			return err
		}
		setKey(&cc.Ports, strings.TrimSuffix(strings.TrimSuffix(m.key, "/tcp"), "/udp"), n)
	case "volume":
		if value == "" {
			return fmt.Errorf("a host directory or share name is required")
		}
		setKey(&cc.Volumes, m.key, value)
	case "env":
		setKey(&cc.Env, m.key, value)
	case "device":
		setKey(&cc.Devices, m.key, value)
	}
	ch.Containers[m.container] = cc
	return nil
}
