package daemon

import (
	"bufio"
	"fmt"
	"os"
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
	}
	return out
}

// listeningPorts reads the host's bound TCP listeners and UDP sockets from
// /proc/net.
func listeningPorts() map[hostPort]bool {
	out := map[hostPort]bool{}
	for _, f := range []struct{ file, proto string }{
		{"/proc/net/tcp", "tcp"}, {"/proc/net/tcp6", "tcp"}, {"/proc/net/udp", "udp"}, {"/proc/net/udp6", "udp"},
	} {
		fh, err := os.Open(f.file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 {
				continue
			}
			// tcp: only LISTEN (0A); udp: every bound socket (07 = unconnected)
			if f.proto == "tcp" && fields[3] != "0A" {
				continue
			}
			_, portHex, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			if i := strings.LastIndexByte(fields[1], ':'); i >= 0 {
				portHex = fields[1][i+1:]
			}
			p, err := strconv.ParseUint(portHex, 16, 16)
			if err == nil {
				out[hostPort{int(p), f.proto}] = true
			}
		}
		fh.Close()
	}
	return out
}
