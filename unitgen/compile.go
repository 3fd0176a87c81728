package unitgen

import (
	"bytes"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// Engines.
const (
	Docker = "docker"
	Podman = "podman"
)

// Supervision settings shared by every container unit. Rockstor runs its
// containers with --restart=unless-stopped: restarted whatever their exit
// status, never given up on, and left alone once the user stops them. The
// units do the same with Restart=always and no start limit
// (StartLimitIntervalSec=0); a stop job (rockon stop, systemctl stop) is
// never followed by a restart. systemd 252 has no growing delay
// (RestartSteps= came in 254), so the delay is fixed: 10 s keeps a
// crash-looping app (OpenVPN before its PKI exists) from flooding the
// journal and the host, yet brings a crashed one back about as soon as
// docker's own backoff would after its first failures.
const (
	stopTimeout     = 10  // seconds the engine waits after the stop signal
	timeoutStopSec  = 30  // systemd's limit for the whole stop
	timeoutStartSec = 900 // a first start pulls the image
	restartSec      = 10
)

// withDefaults fills unset options.
func (o Options) withDefaults() Options {
	if o.Engine == "" {
		o.Engine = Podman
	}
	if o.EngineBinary == "" {
		o.EngineBinary = "/usr/bin/" + o.Engine
	}
	if o.SharesRoot == "" {
		o.SharesRoot = "/mnt2"
	}
	if o.EnvDir == "" {
		o.EnvDir = "/var/lib/rockon/env"
	}
	return o
}

// Unit names of a rock-on.
func targetUnit(slug string) string { return "rockon-" + slug + ".target" }
func containerUnit(slug, cslug string) string {
	return "rockon-" + slug + "-" + cslug + ".service"
}
func networkUnit(slug, nslug string) string {
	return "rockon-" + slug + "-net-" + nslug + ".service"
}

// ctrPlan is what Compile decided for one container.
type ctrPlan struct {
	c        *catalog.Container
	unit     string
	data     bool
	hostNet  bool
	networks []string // engine networks to join, in order
	netUnits []string
	aliases  []string
	after    []string // units of the previous launch_order group
	mounts   []string // host volume paths
	runArgs  []string // options between "run"/"create" and the image
	envFile  string   // path in EnvDir, "" when no env
	named    []NamedVolume
	env      []byte
	run      Run // the engine-neutral description (ContainerUnit.Run)
}

// netPlan is an engine network the units create.
type netPlan struct {
	name   string // engine network name
	unit   string
	shared bool // named by the definition (--net=NAME), see Network.Shared
	user   bool // added by the user (model.Choices networks): created if missing
}

// IsDataContainer is the rule that identifies data-only containers
// (openvpn's ovpn-data, zabbix-xxl's zabbix-db-storage): another container
// of the same rock-on takes its volumes (--volumes-from NAME), and it
// publishes no ports and asks for no environment and no devices. Such a
// container exists only to hold volumes, so it is compiled into a oneshot
// unit that creates the container once if it is missing and keeps it, with
// its volumes, across stop/start and reboots; it is never run (busybox
// would exit at once) and never removed by its unit (uninstall removes it).
func IsDataContainer(def *catalog.RockOn, c *catalog.Container) bool {
	if len(c.Ports) > 0 || len(c.Env) > 0 || len(c.Devices) > 0 {
		return false
	}
	for i := range def.Containers {
		o := &def.Containers[i]
		if o.Name == c.Name {
			continue
		}
		for _, po := range containerOpts(o) {
			if po.Flag != "--volumes-from" {
				continue
			}
			for _, v := range strings.Split(po.Value, ",") {
				if src, _, _ := strings.Cut(v, ":"); src == c.Name {
					return true
				}
			}
		}
	}
	return false
}

// CustomConfigEnv is the name of the environment variable that carries a
// custom_config value to the container whose set-up uses it (OpenVPN's):
// "ROCKON_CUSTOM_" + the key upper-cased, other characters than letters,
// digits and "_" replaced by "_" (openvpn's servername ->
// ROCKON_CUSTOM_SERVERNAME).
func CustomConfigEnv(key string) string {
	b := []byte(strings.ToUpper(key))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return "ROCKON_CUSTOM_" + string(b)
}

// Compile turns a rock-on definition and the user's choices into unit
// files and env files. It validates the choices first (see
// ValidateChoices). Layout:
//
//   - rockon-<slug>.target: the unit the user starts, stops and enables
//     ([Install] WantedBy=multi-user.target); it wants every container.
//   - rockon-<slug>-<container-slug>.service per container, PartOf= the
//     target, with Requires=/After= on the containers of the previous
//     launch_order, so starting follows launch_order and stopping is the
//     reverse.
//   - rockon-<slug>-net-<network-slug>.service: a oneshot per network that
//     container_links (and podman's translation of --link) need; it
//     creates the engine network rockon-<slug>-<network-slug> if missing.
//   - rockon-<slug>-net-<name-slug>.service: a oneshot per user-defined
//     network that opts name (--net=NAME): the administrator's network
//     (see Network.Shared), which it only checks for, never creates; the
//     containers naming it require it.
//   - one env file per container with environment (0600, in EnvDir),
//     passed with --env-file: values never appear in unit text.
//
// Compile is pure: it reads no file and runs nothing.
func Compile(def *catalog.RockOn, ch model.Choices, opt Options) (*Result, error) {
	res, _, err := compile(def, ch, opt)
	return res, err
}

// compile is Compile, also returning the unit models by name (tests read
// the intended argv of every command line from them).
func compile(def *catalog.RockOn, ch model.Choices, opt Options) (*Result, map[string]*unitFile, error) {
	opt = opt.withDefaults()
	if opt.Engine != Docker && opt.Engine != Podman {
		return nil, nil, fmt.Errorf("compiling %q: unknown engine %q (docker or podman)", def.Name, opt.Engine)
	}
	if err := checkName(def.Name); err != nil {
		return nil, nil, fmt.Errorf("compiling %q: %w", def.Name, err)
	}
	slug, err := model.CheckSlug(def.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("compiling %q: %w", def.Name, err)
	}
	if len(def.Containers) == 0 {
		return nil, nil, fmt.Errorf("compiling %q: the definition has no containers", def.Name)
	}
	if err := ValidateChoices(ch, def, opt); err != nil {
		return nil, nil, fmt.Errorf("compiling %q: %w", def.Name, err)
	}
	g := &generator{def: def, ch: ch, opt: opt, slug: slug, models: map[string]*unitFile{}, volNames: map[string]bool{}}
	res, err := g.run()
	if err != nil {
		return nil, nil, fmt.Errorf("compiling %q: %w", def.Name, err)
	}
	return res, g.models, nil
}

// checkName refuses names that cannot appear in a unit at all.
func checkName(n string) error {
	if !utf8.ValidString(n) {
		return fmt.Errorf("name is not valid UTF-8")
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("name contains a control character")
		}
	}
	if strings.HasSuffix(n, `\`) || strings.TrimSpace(n) != n {
		return fmt.Errorf("name ends with a backslash or has surrounding spaces")
	}
	return nil
}

type generator struct {
	def      *catalog.RockOn
	ch       model.Choices
	opt      Options
	slug     string
	ctrs     []*ctrPlan
	nets     []*netPlan
	warnings []string
	models   map[string]*unitFile // by unit name, for tests
	volNames map[string]bool      // named volumes planned so far
}

func (g *generator) warn(format string, a ...any) {
	g.warnings = append(g.warnings, fmt.Sprintf(format, a...))
}

func (g *generator) ctr(name string) *ctrPlan {
	for _, p := range g.ctrs {
		if p.c.Name == name {
			return p
		}
	}
	return nil
}

// network returns the plan of a rock-on network, adding it if new.
func (g *generator) network(catalogName string) (*netPlan, error) {
	ns := model.Slug(catalogName)
	if ns == "" || len(ns) > model.MaxSlugLen {
		return nil, fmt.Errorf("network %q: no usable slug", catalogName)
	}
	name := "rockon-" + g.slug + "-" + ns
	for _, n := range g.nets {
		if n.name == name {
			return n, nil
		}
	}
	n := &netPlan{name: name, unit: networkUnit(g.slug, ns)}
	g.nets = append(g.nets, n)
	return n, nil
}

// sharedNetwork returns the plan of a user-defined network an opt names,
// adding it if new. The name is kept as written (the container may rely on
// it), so it must be a valid engine network name, and it must stay out of
// rockon's own namespace: networks named rockon-... belong to one rock-on
// and are removed with it.
func (g *generator) sharedNetwork(name string) (*netPlan, error) {
	if !validEngineName(name) {
		return nil, fmt.Errorf("network %q is not a valid engine network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters)", name)
	}
	if strings.HasPrefix(name, "rockon-") {
		return nil, fmt.Errorf("network %q: names starting with rockon- are reserved for rockon's own networks", name)
	}
	ns := model.Slug(name)
	if ns == "" || len(ns) > model.MaxSlugLen {
		return nil, fmt.Errorf("network %q: no usable slug", name)
	}
	for _, n := range g.nets {
		if n.name == name {
			return n, nil
		}
	}
	n := &netPlan{name: name, unit: networkUnit(g.slug, ns), shared: true}
	g.nets = append(g.nets, n)
	return n, nil
}

func (p *ctrPlan) join(n *netPlan) {
	if !slices.Contains(p.networks, n.name) {
		p.networks = append(p.networks, n.name)
		p.netUnits = append(p.netUnits, n.unit)
	}
}

func (g *generator) run() (*Result, error) {
	def := g.def
	// Plans in launch order (the model keeps Containers sorted by it).
	units := map[string]string{targetUnit(g.slug): "the target"}
	claim := func(unit, what string) error {
		if prev, ok := units[unit]; ok {
			return fmt.Errorf("%s and %s would both be %s", prev, what, unit)
		}
		units[unit] = what
		return nil
	}
	for i := range def.Containers {
		c := &def.Containers[i]
		if !validEngineName(c.Name) {
			return nil, fmt.Errorf("container name %q is not a valid engine name", c.Name)
		}
		cs, err := model.CheckSlug(c.Name)
		if err != nil {
			return nil, fmt.Errorf("container %w", err)
		}
		p := &ctrPlan{c: c, unit: containerUnit(g.slug, cs), data: IsDataContainer(def, c), hostNet: hostNetwork(c)}
		if err := claim(p.unit, fmt.Sprintf("container %q", c.Name)); err != nil {
			return nil, err
		}
		g.ctrs = append(g.ctrs, p)
	}
	sort.SliceStable(g.ctrs, func(i, j int) bool { return g.ctrs[i].c.LaunchOrder < g.ctrs[j].c.LaunchOrder })

	// Launch order: each container needs the whole previous group.
	var prev, cur []string
	last := 0
	for i, p := range g.ctrs {
		if i == 0 || p.c.LaunchOrder != last {
			prev, cur = cur, nil
			last = p.c.LaunchOrder
		}
		p.after = prev
		cur = append(cur, p.unit)
	}

	if err := g.planNetworks(); err != nil {
		return nil, err
	}
	for _, n := range g.nets {
		if err := claim(n.unit, fmt.Sprintf("network %q", n.name)); err != nil {
			return nil, err
		}
	}

	res := &Result{Slug: g.slug, Target: targetUnit(g.slug)}
	for _, p := range g.ctrs {
		if err := g.planContainer(p); err != nil {
			return nil, fmt.Errorf("container %q: %w", p.c.Name, err)
		}
	}
	for _, p := range g.ctrs {
		u, err := g.containerUnitFile(p)
		if err != nil {
			return nil, fmt.Errorf("container %q: %w", p.c.Name, err)
		}
		g.models[p.unit] = u
		res.Units = append(res.Units, File{Name: p.unit, Content: u.bytes(), Mode: 0o644})
		if p.envFile != "" {
			res.EnvFiles = append(res.EnvFiles, File{Name: path.Base(p.envFile), Content: p.env, Mode: 0o600})
		}
		run := p.run
		run.Image = p.c.ImageRef()
		run.HostNetwork = p.hostNet
		for _, pair := range p.c.CmdArgs {
			run.Args = append(run.Args, pairArgs(pair)...)
		}
		run.Networks = slices.Clone(p.networks)
		for _, n := range g.ch.Containers[p.c.Name].Networks {
			if !slices.Contains(run.Networks, n) {
				run.Networks = append(run.Networks, n)
			}
		}
		run.Aliases = slices.Clone(p.aliases)
		res.Containers = append(res.Containers, ContainerUnit{Name: p.c.Name, Unit: p.unit, Data: p.data, Run: run})
		res.Volumes = append(res.Volumes, p.named...)
		if g.opt.Engine == Docker && !p.data {
			sl := sliceUnit(g.slug, model.Slug(p.c.Name))
			su := g.sliceUnitFile(p)
			g.models[sl] = su
			res.Units = append(res.Units, File{Name: sl, Content: su.bytes(), Mode: 0o644})
		}
	}
	for _, n := range g.nets {
		u, err := g.networkUnitFile(n)
		if err != nil {
			return nil, fmt.Errorf("network %q: %w", n.name, err)
		}
		g.models[n.unit] = u
		res.Units = append(res.Units, File{Name: n.unit, Content: u.bytes(), Mode: 0o644})
		res.EngineNetworks = append(res.EngineNetworks, Network{Name: n.name, Unit: n.unit, Shared: n.shared, UserAdded: n.user})
		if !n.shared {
			res.Networks = append(res.Networks, n.name)
		}
	}
	res.Units = append(res.Units, File{Name: res.Target, Content: g.targetUnitFile().bytes(), Mode: 0o644})
	sort.Slice(res.Units, func(i, j int) bool { return res.Units[i].Name < res.Units[j].Name })
	sort.Slice(res.EnvFiles, func(i, j int) bool { return res.EnvFiles[i].Name < res.EnvFiles[j].Name })
	res.Warnings = g.warnings
	res.Ports = TakenPorts(g.def, g.ch)
	return res, nil
}

// planNetworks decides which networks each container joins: both ends of
// every container_links entry, and, on podman (which has no --link), the
// linking and linked containers of every --link, with the link's alias.
func (g *generator) planNetworks() error {
	for _, l := range g.def.Links {
		n, err := g.network(l.Network)
		if err != nil {
			return err
		}
		for _, name := range []string{l.Target, l.Source} {
			p := g.ctr(name)
			if p == nil {
				return fmt.Errorf("container_links: no container %q", name)
			}
			switch {
			case p.data:
				// A data container is never run: it joins nothing.
			case p.hostNet:
				g.warn("container %q uses the host's network and does not join network %q", name, l.Network)
			default:
				if own, ok := ownNetwork(p.c); ok {
					g.warn("container %q sets its own network %q and does not join network %q", name, own, l.Network)
					continue
				}
				p.join(n)
			}
		}
	}
	if g.opt.Engine == Podman {
		if err := g.translateLinks(); err != nil {
			return err
		}
	}
	// A network that fewer than two containers join (the other end is a
	// data container or on the host's network) connects nothing.
	g.nets = slices.DeleteFunc(g.nets, func(n *netPlan) bool {
		members := 0
		for _, p := range g.ctrs {
			if slices.Contains(p.networks, n.name) {
				members++
			}
		}
		if members >= 2 {
			return false
		}
		for _, p := range g.ctrs {
			if i := slices.Index(p.networks, n.name); i >= 0 {
				p.networks = slices.Delete(p.networks, i, i+1)
				p.netUnits = slices.Delete(p.netUnits, i, i+1)
			}
		}
		return true
	})
	// User-defined networks the opts name: the container passes the
	// opt on as it is and requires the unit that creates the network
	// (a data container too: creating it needs the network).
	for _, p := range g.ctrs {
		for _, name := range OptNetworks(p.c) {
			n, err := g.sharedNetwork(name)
			if err != nil {
				return fmt.Errorf("container %q: %w", p.c.Name, err)
			}
			if !slices.Contains(p.netUnits, n.unit) {
				p.netUnits = append(p.netUnits, n.unit)
			}
			if !p.data && len(p.c.Ports) == 0 {
				g.warn("container %q joins network %q and publishes no ports: only containers on that network reach it", p.c.Name, name)
			}
		}
	}
	// Networks the user adds (Rockstor's rocknets): created when missing,
	// as Rockstor does, unless a definition names the same one (then it
	// is the administrator's).
	for _, p := range g.ctrs {
		for _, name := range g.ch.Containers[p.c.Name].Networks {
			fresh := !slices.ContainsFunc(g.nets, func(n *netPlan) bool { return n.name == name })
			n, err := g.sharedNetwork(name)
			if err != nil {
				return fmt.Errorf("container %q: %w", p.c.Name, err)
			}
			if fresh {
				n.user = true
			}
			if !slices.Contains(p.netUnits, n.unit) {
				p.netUnits = append(p.netUnits, n.unit)
			}
		}
	}
	return nil
}

// translateLinks replaces --link, which podman does not have: the linking
// and the linked container join a shared network, and the link's alias
// becomes a network alias of the linked container.
func (g *generator) translateLinks() error {
	for _, p := range g.ctrs {
		for _, o := range containerOpts(p.c) {
			if o.Flag != "--link" {
				continue
			}
			target, alias, _ := strings.Cut(o.Value, ":")
			t := g.ctr(target)
			if t == nil || t.data || t.hostNet || p.hostNet {
				g.warn("container %q: --link %s dropped: podman has no --link and %q is not a container it can share a network with", p.c.Name, o.Value, target)
				continue
			}
			n, err := g.network("links")
			if err != nil {
				return err
			}
			p.join(n)
			t.join(n)
			if alias != "" && alias != target && !slices.Contains(t.aliases, alias) {
				t.aliases = append(t.aliases, alias)
			}
			g.warn("container %q: --link %s translated for podman: both containers join network %s (alias %q)", p.c.Name, o.Value, n.name, alias)
		}
	}
	return nil
}

// planContainer builds the engine options, the env file and the mounts,
// in Rockstor's order: volumes, localtime, devices, user, ports, opts,
// env, labels.
func (g *generator) planContainer(p *ctrPlan) error {
	c, cc := p.c, g.ch.Containers[p.c.Name]
	var a []string

	// Volumes: the definition's in order, then extra ones sorted.
	var vols []string
	for _, v := range c.Volumes {
		vols = append(vols, v.Path)
	}
	for _, k := range sortedKeys(cc.Volumes) {
		if !slices.Contains(vols, k) {
			vols = append(vols, k)
		}
	}
	firstHost := ""
	for _, dest := range vols {
		host, err := HostPath(cc.Volumes[dest], g.opt.SharesRoot)
		if err != nil {
			return fmt.Errorf("volume %q: %w", dest, err)
		}
		if firstHost == "" {
			firstHost = host
		}
		a = append(a, "-v", host+":"+dest)
		p.run.Mounts = append(p.run.Mounts, Mount{Source: host, Path: dest})
		if !slices.Contains(p.mounts, host) {
			p.mounts = append(p.mounts, host)
		}
	}
	named, err := g.planImageVolumes(p, vols, g.volNames)
	if err != nil {
		return err
	}
	for _, nv := range named {
		a = append(a, "-v", nv.Name+":"+nv.Path)
		p.run.Mounts = append(p.run.Mounts, Mount{Source: nv.Name, Path: nv.Path, Named: true})
	}
	p.named = named
	a = append(a, "-v", "/etc/localtime:/etc/localtime:ro")
	p.run.Mounts = append(p.run.Mounts, Mount{Source: "/etc/localtime", Path: "/etc/localtime", ReadOnly: true})

	for _, d := range c.Devices {
		if v := cc.Devices[d.Name]; v != "" {
			a = append(a, "--device", v)
			p.run.Devices = append(p.run.Devices, v)
		}
	}

	if c.UID != nil {
		u, err := g.user(c, firstHost)
		if err != nil {
			return err
		}
		a = append(a, "-u", u)
		p.run.User = u
	}

	// Publishing means nothing on the host's network (the engines only
	// warn): the ports are the host's already.
	if !p.data && !p.hostNet {
		for _, pp := range resolvedPorts(c, cc) {
			a = append(a, "-p", fmt.Sprintf("%d:%d/%s", pp.host, pp.container, pp.proto))
			p.run.Ports = append(p.run.Ports, PublishedPort{Host: pp.host, Container: pp.container, Protocol: pp.proto})
		}
	}

	// Env: the user's values and custom_config go to the env file; a
	// catalog "-e KEY=..." that the user also sets is dropped so that the
	// user's value wins, as it does in Rockstor (its -e comes later).
	var env bytes.Buffer
	userEnv := map[string]bool{}
	for _, e := range c.Env {
		userEnv[EnvName(e.Name)] = true
		if EnvName(e.Name) != e.Name {
			g.warn("container %q: environment variable %q is passed as %s", c.Name, e.Name, EnvName(e.Name))
		}
	}
	for _, pair := range c.Opts {
		// Validation refused pairs that do not parse, and pairs that mix
		// a dropped option with a kept one.
		opts, _ := ParsePair(pair)
		if len(opts) > 0 && droppedFlag(opts[0].Flag) {
			g.warn("container %q: option %s dropped: systemd supervises the container", c.Name, pairText(pair))
			continue
		}
		keep := true
		for _, o := range opts {
			switch {
			case o.Flag == "--link" && g.opt.Engine == Podman:
				keep = false // translated in planNetworks
			case o.Flag == "--env" && userEnv[strings.SplitN(o.Value, "=", 2)[0]]:
				keep = false
			case o.Flag == "--volume" && g.opt.Engine == Podman && isEngineSocket(strings.SplitN(o.Value, ":", 2)[0]):
				g.warn("container %q: %s is docker's API socket; on podman it exists only with podman's docker-compatible socket enabled", c.Name, o.Value)
			case o.Flag == "--network" && o.Value == "host":
				g.warn("container %q uses the host's network (--net=host): it can bind any host port", c.Name)
			}
		}
		if keep {
			a = append(a, pairArgs(pair)...)
			p.run.Opts = append(p.run.Opts, opts...)
		}
	}
	if !p.data {
		chosen := g.ch.Containers[c.Name].Env
		for _, e := range c.Env {
			// an optional variable left empty is not passed: the
			// image's default applies
			if v := chosen[e.Name]; v != "" || !e.Optional() {
				fmt.Fprintf(&env, "%s=%s\n", EnvName(e.Name), v)
				p.run.Env = append(p.run.Env, EnvVar{EnvName(e.Name), v})
			}
		}
		// then the user's variables the definition does not list
		for _, k := range sortedKeys(chosen) {
			if !slices.ContainsFunc(c.Env, func(e catalog.Env) bool { return e.Name == k }) {
				fmt.Fprintf(&env, "%s=%s\n", k, chosen[k])
				p.run.Env = append(p.run.Env, EnvVar{k, chosen[k]})
			}
		}
		// custom_config goes only where Rockstor uses it: OpenVPN's
		// set-up (openVPNInit) reads the server name from this file
		if g.usesCustomConfig(p) {
			for _, f := range g.def.CustomConfig {
				fmt.Fprintf(&env, "%s=%s\n", CustomConfigEnv(f.Key), g.ch.CustomConfig[f.Key])
				p.run.Env = append(p.run.Env, EnvVar{CustomConfigEnv(f.Key), g.ch.CustomConfig[f.Key]})
			}
		}
	}
	if env.Len() > 0 {
		p.envFile = path.Join(g.opt.EnvDir, EnvFileName(p.unit))
		p.env = append([]byte(EnvMarker+" for "+p.unit+"; root-only: it holds the container's environment.\n"), env.Bytes()...)
		a = append(a, "--env-file", p.envFile)
	}

	for _, k := range sortedKeys(cc.Labels) {
		a = append(a, "--label", k+"="+cc.Labels[k])
	}
	if len(cc.Labels) > 0 {
		p.run.Labels = maps.Clone(cc.Labels)
	}
	if cc.Memory != "" {
		// validated: ValidateChoices refused a bad size
		p.run.MemoryBytes, _ = memoryBytes(cc.Memory)
	}
	p.run.CPUs = cc.CPUs
	p.runArgs = a
	return nil
}

// user resolves uid/gid into the -u value (Rockstor: uid -1 is the owner
// of the first volume's host directory, gid -1 its group, gid -2 the
// docker group).
func (g *generator) user(c *catalog.Container, firstHost string) (string, error) {
	uid := *c.UID
	var ownerUID, ownerGID int
	needOwner := uid == -1 || (c.GID != nil && *c.GID == -1)
	if needOwner {
		if firstHost == "" {
			return "", fmt.Errorf("uid/gid -1 needs a volume, and the container has none")
		}
		if g.opt.PathOwner == nil {
			return "", fmt.Errorf("uid/gid -1 needs the owner of %s, and no owner lookup was given", firstHost)
		}
		var err error
		if ownerUID, ownerGID, err = g.opt.PathOwner(firstHost); err != nil {
			return "", fmt.Errorf("owner of %s: %w", firstHost, err)
		}
	}
	if uid == -1 {
		uid = ownerUID
	}
	if uid < 0 {
		return "", fmt.Errorf("uid %d is not valid", uid)
	}
	s := strconv.Itoa(uid)
	if c.GID == nil {
		return s, nil
	}
	gid := *c.GID
	switch gid {
	case -1:
		gid = ownerGID
	case -2:
		if g.opt.DockerGID == nil {
			return "", fmt.Errorf("gid -2 needs the docker group, and no group lookup was given")
		}
		var err error
		if gid, err = g.opt.DockerGID(); err != nil {
			return "", fmt.Errorf("docker group: %w", err)
		}
	}
	if gid < 0 {
		return "", fmt.Errorf("gid %d is not valid", gid)
	}
	return s + ":" + strconv.Itoa(gid), nil
}

// header is the comment on top of every generated unit.
func header(unit string) []string {
	return []string{
		"Generated by rockon: do not edit, rockon rewrites this file.",
		"To change a setting, add a drop-in, e.g. with `systemctl edit " + unit + "`",
		"(/etc/systemd/system/" + unit + ".d/*.conf): rockon never touches drop-ins.",
	}
}

// commonUnit writes the [Unit] lines every file of the rock-on has.
func (g *generator) commonUnit(u *unitFile, description string) *section {
	s := u.section("Unit")
	s.text("Description", description)
	if doc, ok := documentationURL(g.def.Website); ok {
		s.raw("Documentation", doc)
	}
	// systemd ignores X- keys entirely (no specifiers): the name goes as
	// it is, which checkName made safe for one line.
	s.raw(OwnershipKey+"-RockOn", g.def.Name)
	s.raw(OwnershipKey+"-Slug", g.slug)
	return s
}

// documentationURL returns the website as systemd's Documentation= takes
// it: an http(s) URL without spaces, quotes or backslashes.
func documentationURL(site string) (string, bool) {
	u, err := url.Parse(site)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	for _, r := range site {
		if r <= ' ' || r >= 0x7f || r == '"' || r == '\'' || r == '\\' {
			return "", false
		}
	}
	return strings.ReplaceAll(site, "%", "%%"), true
}

func (g *generator) engineUnits() []string {
	if g.opt.Engine == Docker {
		return []string{"docker.service"}
	}
	return nil
}

func (g *generator) targetUnitFile() *unitFile {
	u := &unitFile{comments: header(targetUnit(g.slug))}
	s := g.commonUnit(u, "Rock-on "+g.def.Name)
	var all []string
	for _, p := range g.ctrs {
		all = append(all, p.unit)
	}
	s.raw("Wants", strings.Join(all, " "))
	s.raw("After", strings.Join(all, " "))
	u.section("Install").raw("WantedBy", "multi-user.target")
	return u
}

func (g *generator) networkUnitFile(n *netPlan) (*unitFile, error) {
	u := &unitFile{comments: header(n.unit)}
	desc := "Rock-on " + g.def.Name + ": network " + n.name
	if n.shared {
		desc += " (shared by name)"
	}
	s := g.commonUnit(u, desc)
	s.raw("PartOf", targetUnit(g.slug))
	if e := g.engineUnits(); e != nil {
		s.raw("Requires", strings.Join(e, " "))
		s.raw("After", strings.Join(e, " "))
	}
	s.raw(OwnershipKey+"-Network", n.name)
	sv := u.section("Service")
	sv.raw("Type", "oneshot")
	sv.raw("RemainAfterExit", "yes")
	bin := g.opt.EngineBinary
	// The rock-on's own network: create it, tolerating an existing one
	// ("-": the failure of create is ignored), then make sure it exists.
	// An administrator's network is only looked for: its driver and
	// addresses (AdGuard Home's guide makes a macvlan) are the
	// administrator's choice, and a plain bridge of that name in its
	// place would leave the app unreachable.
	switch {
	case !n.shared:
		if err := sv.exec("ExecStart", "-", []string{bin, "network", "create", n.name}); err != nil {
			return nil, err
		}
	case n.user:
		// labelled: the daemon removes it with the last rock-on using it
		if err := sv.exec("ExecStart", "-", []string{bin, "network", "create", "--label", SharedNetworkLabel + "=" + g.slug, n.name}); err != nil {
			return nil, err
		}
	}
	if err := sv.exec("ExecStart", "", []string{bin, "network", "inspect", "--format", "{{.Name}}", n.name}); err != nil {
		return nil, err
	}
	return u, nil
}

func (g *generator) containerUnitFile(p *ctrPlan) (*unitFile, error) {
	c := p.c
	u := &unitFile{comments: header(p.unit)}
	desc := "Rock-on " + g.def.Name + ": container " + c.Name
	if p.data {
		desc += " (data)"
	}
	s := g.commonUnit(u, desc)
	s.raw(OwnershipKey+"-Container", c.Name)
	s.raw("PartOf", targetUnit(g.slug))
	var req []string
	req = append(req, g.engineUnits()...)
	req = append(req, p.netUnits...)
	req = append(req, p.after...)
	if len(req) > 0 {
		s.raw("Requires", strings.Join(req, " "))
	}
	after := append([]string{"network-online.target"}, req...)
	s.raw("Wants", "network-online.target")
	s.raw("After", strings.Join(after, " "))
	if len(p.mounts) > 0 {
		if err := s.paths("RequiresMountsFor", p.mounts); err != nil {
			return nil, err
		}
	}
	s.raw("StartLimitIntervalSec", "0")

	sv := u.section("Service")
	bin := g.opt.EngineBinary
	image := c.ImageRef()
	var cmdArgs []string
	for _, pair := range c.CmdArgs {
		cmdArgs = append(cmdArgs, pairArgs(pair)...)
	}
	ex := func(key, prefix string, argv ...string) error { return sv.exec(key, prefix, argv) }
	name := c.Name

	if p.data {
		// Created once, kept: never started, never removed by the unit.
		sv.raw("Type", "oneshot")
		sv.raw("RemainAfterExit", "yes")
		sv.raw("TimeoutStartSec", strconv.Itoa(timeoutStartSec))
		sv.raw("SyslogIdentifier", syslogIdentifier(name))
		if check := g.volumeCheck(p); check != nil {
			if err := ex("ExecStartPre", "", check...); err != nil {
				return nil, err
			}
		}
		create := append([]string{bin, "create", "--name", name}, p.runArgs...)
		create = append(append(create, image), cmdArgs...)
		if err := ex("ExecStart", "-", create...); err != nil {
			return nil, err
		}
		return u, ex("ExecStart", "", bin, "container", "inspect", "--format", "{{.Name}}", name)
	}

	sv.raw("SyslogIdentifier", syslogIdentifier(name))
	sv.raw("KillMode", "mixed")
	sv.raw("TimeoutStartSec", strconv.Itoa(timeoutStartSec))
	sv.raw("TimeoutStopSec", strconv.Itoa(timeoutStopSec))
	sv.raw("Restart", "always")
	sv.raw("RestartSec", strconv.Itoa(restartSec))
	// An app killed for going over its memory limit exits 137 and is
	// restarted, as docker's restart policy does; systemd's default
	// (OOMPolicy=stop) would stop the whole unit when the kernel kills
	// one of its processes.
	sv.raw("OOMPolicy", "continue")
	// A container stopped by its stop signal exits 128+signal: SIGTERM
	// (143), or SIGINT (130) / SIGQUIT (131) for images whose STOPSIGNAL
	// is one of these: a clean stop, not a failure in the status. A
	// SIGKILL (137) stays a failure: it is what an out-of-memory kill or
	// a hung container gets. (Either way the unit restarts.)
	sv.raw("SuccessExitStatus", "130 131 143")

	if err := g.createVolumes(p, ex); err != nil {
		return nil, err
	}
	var err error
	if check := g.volumeCheck(p); check != nil {
		if err := ex("ExecStartPre", "", check...); err != nil {
			return nil, err
		}
	}
	if init := g.openVPNInit(p, image); init != nil {
		if err := ex("ExecStartPre", "", init...); err != nil {
			return nil, err
		}
	}
	if g.opt.Engine == Podman {
		sv.raw("Type", "notify")
		sv.raw("NotifyAccess", "all")
		sv.raw("Delegate", "yes")
		sv.raw("Environment", "PODMAN_SYSTEMD_UNIT=%n")
		// The attached "podman run" prints the container's output to the
		// unit's journal stream; podman's own log driver (journald on a
		// systemd host) would log every line a second time. With none,
		// `journalctl -u UNIT` (or -t rockon-NAME) has each line once; `podman
		// logs` has nothing, as for any container without a log driver.
		// --cgroups=split: conmon and the app stay in the unit's cgroup
		// (the app in a sub-cgroup of it, the unit delegating), so
		// systemctl status shows the app and the unit's limits hold it.
		g.limitLines(sv, g.ch.Containers[name])
		run := []string{bin, "run", "--name", name, "--replace", "--rm", "--sdnotify=conmon", "--cgroups=split", "--log-driver=none"}
		for _, n := range p.networks {
			run = append(run, "--network", n)
		}
		// Networks the user adds join the container to them (docker's
		// "network connect"): one on the default network stays on it
		// (podman's default network is named "podman"), keeping the
		// connections it had.
		if extra := g.ch.Containers[name].Networks; len(extra) > 0 {
			if _, own := ownNetwork(c); !own && len(p.networks) == 0 {
				run = append(run, "--network", "podman")
			}
			for _, n := range extra {
				run = append(run, "--network", n)
			}
		}
		for _, al := range p.aliases {
			run = append(run, "--network-alias", al)
		}
		run = append(run, engineLimitArgs(g.ch.Containers[name])...)
		run = append(append(append(run, p.runArgs...), image), cmdArgs...)
		// After a clean stop --rm has had conmon remove the container
		// (the unit's main process waits for that), and a podman client
		// removing it again was a fifth of a toggle off (90 of 540 ms
		// measured): the shell (1-2 ms) runs the removal only when the
		// unit did not end in success. A client that was killed leaves
		// a container podman still counts as running (seen on this
		// cgroup v1 host, where the stop does not reach all of it);
		// the removal takes it down. The name is an argument, never
		// part of the script.
		err = firstErr(
			ex("ExecStart", "", run...),
			ex("ExecStop", "", bin, "stop", "--ignore", "--time", strconv.Itoa(stopTimeout), name),
			ex("ExecStopPost", "-", "/bin/sh", "-c", `[ "$SERVICE_RESULT" = success ] || exec "$0" rm --force --ignore "$1"`, bin, name),
		)
		return u, err
	}

	// Docker: run attached in the foreground, or, with networks to
	// connect, create, connect, then start attached in the foreground.
	// docker 20.10 takes one --network at create; the others are connected
	// before the start. "docker run" or "start --attach" is the main process: from
	// the container's first line it prints its output to the unit's
	// journal stream, forwards signals, and exits with the container's
	// exit status. (Starting detached first and attaching afterwards would
	// make the unit wait until the container runs, but loses the first
	// lines, and all of them when the container dies at once.) So for
	// docker, launch_order orders the starts as Rockstor's sequential
	// "docker start" does; podman's units also wait until the container
	// runs (Type=notify).
	sv.raw("Type", "exec")
	nets := slices.Clone(p.networks)
	// The app's processes go in the container's slice (the engine's own
	// scope under it), the unit too: limits and accounting cover them.
	slice := sliceUnit(g.slug, model.Slug(name))
	sv.raw("Slice", slice)
	create := []string{bin, "create", "--rm", "--name", name, "--cgroup-parent", slice}
	// A container whose opts name its network gets the others connected:
	// a second --network at create fails on docker 20.10. The networks
	// the user adds are always connected ("network connect" semantics):
	// a container on the default bridge stays on it.
	if len(nets) > 0 && len(OptNetworks(c)) == 0 {
		create = append(create, "--network", nets[0])
		nets = nets[1:]
	}
	nets = append(nets, g.ch.Containers[name].Networks...)
	for _, al := range p.aliases {
		create = append(create, "--network-alias", al)
	}
	create = append(create, engineLimitArgs(g.ch.Containers[name])...)
	create = append(append(append(create, p.runArgs...), image), cmdArgs...)
	// A leftover of the same name (dockerd still removing the container
	// of the stop before, a restart's stop) would make the create fail.
	err = ex("ExecStartPre", "-", bin, "rm", "--force", name)
	if len(nets) == 0 {
		// Nothing to connect between create and start: one client
		// process, "docker run" in the foreground, does both and stays
		// attached as "start --attach" would (the output from the first
		// line, signals forwarded, the container's exit status). A
		// docker client is 50-350 ms of a start, as long as the rest of
		// rockon's share of it (measured).
		run := append([]string{bin, "run"}, create[2:]...)
		err = firstErr(err, ex("ExecStart", "", run...))
	} else {
		err = firstErr(err, ex("ExecStartPre", "", create...))
		for _, n := range nets {
			connect := []string{bin, "network", "connect"}
			for _, al := range p.aliases {
				connect = append(connect, "--alias", al)
			}
			err = firstErr(err, ex("ExecStartPre", "", append(connect, n, name)...))
		}
		err = firstErr(err, ex("ExecStart", "", bin, "start", "--attach", name))
	}
	err = firstErr(err,
		ex("ExecStop", "-", bin, "stop", "--time", strconv.Itoa(stopTimeout), name),
		// The container's processes are dockerd's, not the unit's: a
		// client that died (killed, an engine restart) leaves the
		// container running, and the removal after the stop takes it
		// down. After a clean stop --rm has removed it already, and the
		// docker client the removal starts was a third of a toggle off
		// (measured 80-100 ms): the shell (1-2 ms) runs it only when
		// the unit did not end in success. The name is an argument,
		// never part of the script.
		ex("ExecStopPost", "-", "/bin/sh", "-c", `[ "$SERVICE_RESULT" = success ] || exec "$0" rm --force "$1"`, bin, name),
	)
	return u, err
}

// volumeCheck returns the command that checks the container's volume
// host directories again before each start (Options.VolumeCheck), nil when
// there is none to check.
func (g *generator) volumeCheck(p *ctrPlan) []string {
	if g.opt.VolumeCheck == "" || len(p.mounts) == 0 {
		return nil
	}
	argv := []string{g.opt.VolumeCheck, "check-volumes", "--shares-root", g.opt.SharesRoot}
	for _, r := range g.opt.AllowedRoots {
		argv = append(argv, "--allowed-root", r)
	}
	return append(append(argv, "--"), p.mounts...)
}

// EnvFileName is the base name of the env file of a container unit
// (Result.EnvFiles): the unit's name with .env for .service.
func EnvFileName(unit string) string {
	return strings.TrimSuffix(unit, ".service") + ".env"
}

// syslogIdentifier is the journal identifier of a container's output:
// prefixed, so that a container named sshd or systemd-logind cannot log as
// that system service (`journalctl -t rockon-NAME`).
func syslogIdentifier(container string) string {
	return "rockon-" + container
}

// openVPNImage is the image of the OpenVPN rock-on, which Rockstor
// installs with a special handler: the server configuration is generated
// once, into the data container, from custom_config's servername.
const openVPNImage = "kylemanna/openvpn"

// openVPNInit returns the command that generates the OpenVPN server
// configuration (ovpn_genconfig -u PROTO://SERVERNAME) in the data
// container when it has none yet, as Rockstor's install handler does; nil
// for any other container. The server name travels in the env file
// (ROCKON_CUSTOM_SERVERNAME), never in the unit; the shell script is fixed
// text run inside the image. Initialising the PKI stays the manual step
// the rock-on's notes describe (it asks for a passphrase).
// usesCustomConfig reports whether a container's set-up needs the
// rock-on's custom_config values: only OpenVPN's server container (its
// image, taking the configuration volume from a data container), the one
// rock-on Rockstor has a custom_config handler for.
func (g *generator) usesCustomConfig(p *ctrPlan) bool {
	return p.c.Image == openVPNImage && !p.data && len(volumesFrom(p.c)) > 0
}

func (g *generator) openVPNInit(p *ctrPlan, image string) []string {
	if p.c.Image != openVPNImage || p.envFile == "" || g.ch.CustomConfig["servername"] == "" {
		return nil
	}
	from := ""
	for _, o := range containerOpts(p.c) {
		if o.Flag == "--volumes-from" {
			from = o.Value
		}
	}
	if from == "" {
		return nil
	}
	proto := "udp"
	if len(p.c.Ports) > 0 && p.c.Ports[0].Protocol == "tcp" {
		proto = "tcp"
	}
	argv := []string{g.opt.EngineBinary, "run", "--rm"}
	if g.opt.Engine == Podman {
		argv = append(argv, "--sdnotify=ignore")
	}
	return append(argv, "--volumes-from", from, "--env-file", p.envFile, "--entrypoint", "/bin/sh", image, "-c",
		`test -e /etc/openvpn/ovpn_env.sh || exec ovpn_genconfig -u "`+proto+`://$`+CustomConfigEnv("servername")+`"`)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
