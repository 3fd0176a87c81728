package catalog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// HostPort is a port on the host for one protocol ("tcp" or "udp").
type HostPort struct {
	Proto string
	Port  int
}

// PortSet is a set of host ports.
type PortSet map[HostPort]struct{}

// Add puts proto/port in the set.
func (s PortSet) Add(proto string, port int) { s[HostPort{proto, port}] = struct{}{} }

// Has tells whether proto/port is in the set (a nil set is empty).
func (s PortSet) Has(proto string, port int) bool {
	_, ok := s[HostPort{proto, port}]
	return ok
}

// AddPort adds hostPort for every protocol p is published with (both for
// a port without protocol).
func (s PortSet) AddPort(p Port, hostPort int) {
	for _, proto := range p.Protocols() {
		s.Add(proto, hostPort)
	}
}

// HostDefaults collects the host_default ports of every rock-on of the
// catalog except the one named except (case-insensitive): ports other
// definitions would suggest, which DefaultHostPorts steers clear of as
// Rockstor does.
func (c *Catalog) HostDefaults(except string) PortSet {
	s := PortSet{}
	for _, r := range c.All() {
		if strings.EqualFold(r.Name, except) {
			continue
		}
		for _, ct := range r.Containers {
			for _, p := range ct.Ports {
				s.AddPort(p, p.HostDefault)
			}
		}
	}
	return s
}

// PortDefault is the suggested host port for one container port.
type PortDefault struct {
	Container     string
	ContainerPort int
	Protocol      string // as in the definition: "tcp", "udp" or "" for both
	HostDefault   int    // the definition's host_default
	// HostPort is HostDefault unless that is taken, else the next free
	// port above it (wrapping to 1024); 0 when no port is free.
	HostPort int
}

// Key is the port's key in install choices (model.ContainerChoices.Ports).
func (d PortDefault) Key() string { return strconv.Itoa(d.ContainerPort) }

// DefaultHostPorts suggests a host port for every port of def, in
// container (launch) order then port order. A port is taken when it is in
// taken (ports of other definitions and of installed rock-ons) or in
// listening (sockets open on this host, see ListeningPorts); a port without
// protocol needs both tcp and udp free. Ports suggested for earlier ports of
// def count as taken for later ones.
func DefaultHostPorts(def *RockOn, taken, listening PortSet) []PortDefault {
	used := PortSet{}
	free := func(p Port, host int) bool {
		for _, proto := range p.Protocols() {
			if taken.Has(proto, host) || listening.Has(proto, host) || used.Has(proto, host) {
				return false
			}
		}
		return true
	}
	var out []PortDefault
	for _, c := range def.Containers {
		for _, p := range c.Ports {
			d := PortDefault{Container: c.Name, ContainerPort: p.ContainerPort, Protocol: p.Protocol, HostDefault: p.HostDefault}
			d.HostPort = nextFree(p.HostDefault, func(h int) bool { return free(p, h) })
			if d.HostPort != 0 {
				used.AddPort(p, d.HostPort)
			}
			out = append(out, d)
		}
	}
	return out
}

// nextFree returns start if free, else the next free port up to 65535, then
// from 1024 (never a privileged port the definition did not ask for) up to
// start; 0 when none is.
func nextFree(start int, free func(int) bool) int {
	if start < 1 || start > 65535 {
		return 0
	}
	for h := start; h <= 65535; h++ {
		if free(h) {
			return h
		}
	}
	for h := 1024; h < start; h++ {
		if free(h) {
			return h
		}
	}
	return 0
}

// Socket states in /proc/net/*: a listening TCP socket, and an unconnected
// (bound) UDP socket.
const (
	tcpListen = "0A"
	udpBound  = "07"
)

// ListeningPorts reads the ports bound on this host from
// procRoot/net/tcp, tcp6, udp and udp6 (procRoot is "/proc" on a real
// host; "" means that too; tests pass a directory of fixtures). A socket
// counts whatever address it is bound to: a container publishing on all
// addresses conflicts with a service on 127.0.0.1 as well. A missing file
// (IPv6 disabled) is skipped; no file at all is an error.
func ListeningPorts(procRoot string) (PortSet, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	s := PortSet{}
	found := 0
	for _, src := range []struct{ file, proto, state string }{
		{"tcp", "tcp", tcpListen}, {"tcp6", "tcp", tcpListen},
		{"udp", "udp", udpBound}, {"udp6", "udp", udpBound},
	} {
		path := filepath.Join(procRoot, "net", src.file)
		err := readSockets(path, src.proto, src.state, s)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found++
	}
	if found == 0 {
		return nil, fmt.Errorf("no socket tables under %s/net", procRoot)
	}
	return s, nil
}

func readSockets(path, proto, state string, s PortSet) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return parseSockets(f, path, proto, state, s)
}

// parseSockets adds the ports of the sockets in state from one
// /proc/net table (a header line, then one socket per line: slot,
// local address:port in hex, remote address, state in hex, ...).
func parseSockets(r io.Reader, path, proto, state string, s PortSet) error {
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if line == 1 || len(fields) < 4 {
			continue // header
		}
		if fields[3] != state {
			continue
		}
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			return fmt.Errorf("%s:%d: malformed local address %q", path, line, fields[1])
		}
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil {
			return fmt.Errorf("%s:%d: malformed port %q", path, line, hexPort)
		}
		if port != 0 {
			s.Add(proto, int(port))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

// PortInUse tells whether proto ("tcp" or "udp") port is bound on this host
// (see ListeningPorts for procRoot). The daemon checks it before an install
// to refuse a port a host service already holds.
func PortInUse(procRoot, proto string, port int) (bool, error) {
	if proto != "tcp" && proto != "udp" {
		return false, fmt.Errorf("protocol %q: want tcp or udp", proto)
	}
	s, err := ListeningPorts(procRoot)
	if err != nil {
		return false, err
	}
	return s.Has(proto, port), nil
}
