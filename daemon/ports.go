package daemon

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/unitgen"
)

// hostPort is a published host port.
type hostPort struct {
	Port  int
	Proto string // tcp or udp
}

func (h hostPort) String() string { return fmt.Sprintf("%d/%s", h.Port, h.Proto) }

// publishedPorts lists the host ports a rock-on publishes with its choices.
func publishedPorts(def *catalog.RockOn, ch unitgen.Choices) map[hostPort]string {
	out := map[hostPort]string{}
	for _, c := range def.Containers {
		cc := ch.Containers[c.Name]
		for _, p := range c.Ports {
			for _, proto := range p.Protocols() {
				host, ok := cc.Ports[fmt.Sprintf("%d/%s", p.ContainerPort, proto)]
				if !ok {
					host, ok = cc.Ports[strconv.Itoa(p.ContainerPort)]
				}
				if !ok {
					host = p.HostDefault
				}
				if host > 0 {
					out[hostPort{host, proto}] = fmt.Sprintf("%s:%d", c.Name, p.ContainerPort)
				}
			}
		}
		// ports the definition's opts publish themselves (-p 9000:9000):
		// the user cannot change them, but they conflict all the same
		for _, o := range c.Opts {
			hps, cport := optPublishes(o)
			for _, hp := range hps {
				out[hp] = fmt.Sprintf("%s:%s", c.Name, cport)
			}
		}
	}
	return out
}

// optPublishes returns the host ports an opts pair publishes, and the
// container port: -p or --publish with "[ip:]host[-end]:container[/proto]",
// in any spelling the engines read (unitgen.ParsePair).
func optPublishes(o catalog.Pair) ([]hostPort, string) {
	opts, _ := unitgen.ParsePair(o)
	var v string
	for _, po := range opts {
		if po.Flag == "--publish" {
			v = po.Value
		}
	}
	if v == "" {
		return nil, ""
	}
	proto := "tcp"
	if i := strings.LastIndexByte(v, '/'); i >= 0 {
		proto, v = v[i+1:], v[:i]
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || (proto != "tcp" && proto != "udp") {
		return nil, "" // container port only: the engine picks a free host port
	}
	first, last, isRange := strings.Cut(parts[len(parts)-2], "-")
	lo, err := strconv.Atoi(first)
	if err != nil {
		return nil, ""
	}
	hi := lo
	if isRange {
		if hi, err = strconv.Atoi(last); err != nil || hi < lo || hi-lo > 1024 {
			return nil, ""
		}
	}
	var out []hostPort
	for p := lo; p <= hi; p++ {
		if p > 0 {
			out = append(out, hostPort{p, proto})
		}
	}
	return out, parts[len(parts)-1]
}

// listeningPorts lists the host ports a socket is bound to, read by the
// catalog's /proc/net reader (the CLI's too: one reader of those tables).
// Unreadable tables count as nothing bound: the engine still refuses a
// port it cannot bind.
func listeningPorts() map[hostPort]bool {
	out := map[hostPort]bool{}
	set, err := catalog.ListeningPorts("")
	if err != nil {
		return out
	}
	for hp := range set {
		out[hostPort{hp.Port, hp.Proto}] = true
	}
	return out
}
