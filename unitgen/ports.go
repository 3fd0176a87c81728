package unitgen

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// published is one -p mapping.
type published struct {
	host, container int
	proto           string
}

// resolvedPorts returns the container's published ports: every port of the
// definition (per protocol) with the host port the user chose, or the
// definition's default; 0 means not published.
func resolvedPorts(c *catalog.Container, cc model.ContainerChoices) []published {
	var out []published
	for _, p := range c.Ports {
		for _, proto := range p.Protocols() {
			host := p.HostDefault
			if v, ok := cc.Ports[strconv.Itoa(p.ContainerPort)]; ok {
				host = v
			}
			if v, ok := cc.Ports[fmt.Sprintf("%d/%s", p.ContainerPort, proto)]; ok {
				host = v
			}
			if host > 0 {
				out = append(out, published{host, p.ContainerPort, proto})
			}
		}
	}
	return out
}

// TakenPort is a host port a rock-on takes.
type TakenPort struct {
	catalog.HostPort
	Container string // the container's name
	// ContainerPort is the definition's port ("8080"), or the container
	// side of a mapping the definition's opts make themselves ("8080",
	// "9000-9001").
	ContainerPort string
	// DefPort is the definition's port it publishes; nil for one its opts
	// publish.
	DefPort *catalog.Port
}

// TakenPorts lists the host ports a rock-on takes with the choices,
// sorted by port and protocol: each port of the definition with the user's
// host port or its default (resolvedPorts), and those its opts publish
// themselves (-p 9000:9000), which the user cannot change but which
// conflict all the same. A host port given twice is listed once, for its
// last use. The daemon refuses an install or reconfigure whose ports are
// another rock-on's or bound on the host.
func TakenPorts(def *catalog.RockOn, ch model.Choices) []TakenPort {
	byHost := map[catalog.HostPort]TakenPort{}
	for i := range def.Containers {
		c := &def.Containers[i]
		for _, pp := range resolvedPorts(c, ch.Containers[c.Name]) {
			hp := catalog.HostPort{Proto: pp.proto, Port: pp.host}
			var port *catalog.Port
			for j := range c.Ports {
				if c.Ports[j].ContainerPort == pp.container {
					port = &c.Ports[j]
				}
			}
			byHost[hp] = TakenPort{HostPort: hp, Container: c.Name, ContainerPort: strconv.Itoa(pp.container), DefPort: port}
		}
		for _, o := range c.Opts {
			hps, cport := optPublishes(o)
			for _, hp := range hps {
				byHost[hp] = TakenPort{HostPort: hp, Container: c.Name, ContainerPort: cport}
			}
		}
	}
	out := make([]TakenPort, 0, len(byHost))
	for _, p := range byHost {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b TakenPort) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Proto, b.Proto))
	})
	return out
}

// optPublishes returns the host ports an opts pair publishes, and the
// container port: -p or --publish in any spelling the engines read
// (ParsePair), its value as ParsePublish reads it.
func optPublishes(o catalog.Pair) ([]catalog.HostPort, string) {
	opts, _ := ParsePair(o)
	var v string
	for _, po := range opts {
		if po.Flag == "--publish" {
			v = po.Value
		}
	}
	lo, hi, container, proto, ok := ParsePublish(v)
	if !ok {
		return nil, ""
	}
	var out []catalog.HostPort
	for p := lo; p <= hi; p++ {
		if p > 0 {
			out = append(out, catalog.HostPort{Proto: proto, Port: p})
		}
	}
	return out, container
}

// ParsePublish reads the value of a -p/--publish option,
// "[ip:]host[-end]:container[/proto]": the host ports lo to hi, the
// container side as written and the protocol (tcp when not given). ok is
// false for a container port alone (the engine picks the host port), a
// protocol other than tcp or udp, or a host range that is not one or spans
// more than 1024 ports.
func ParsePublish(v string) (lo, hi int, container, proto string, ok bool) {
	proto = "tcp"
	if i := strings.LastIndexByte(v, '/'); i >= 0 {
		proto, v = v[i+1:], v[:i]
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || (proto != "tcp" && proto != "udp") {
		return 0, 0, "", "", false
	}
	first, last, isRange := strings.Cut(parts[len(parts)-2], "-")
	lo, err := strconv.Atoi(first)
	if err != nil {
		return 0, 0, "", "", false
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(last); err != nil || hi < lo || hi-lo > 1024 {
			return 0, 0, "", "", false
		}
	}
	return lo, hi, parts[len(parts)-1], proto, true
}
