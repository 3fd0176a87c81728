package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/rockon/rockon/catalog"
	rdbus "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/model"
)

// usedPorts collects the host ports that are not free for def: those
// other installed rock-ons publish (from the daemon) and those a socket
// is bound to on this host.
func usedPorts(ctx context.Context, d daemonClient, def *catalog.RockOn) (taken, listening catalog.PortSet) {
	taken = catalog.PortSet{}
	if l, err := d.List(ctx, true); err == nil {
		for _, s := range l {
			if strings.EqualFold(s.Name, def.Name) {
				continue
			}
			p, err := d.Status(ctx, s.Name)
			if err != nil {
				continue
			}
			for _, pt := range p.Ports {
				if pt.HostPort > 0 {
					taken.Add(pt.Protocol, int(pt.HostPort))
				}
			}
		}
	}
	listening, err := catalog.ListeningPorts("")
	if err != nil {
		listening = catalog.PortSet{}
	}
	return taken, listening
}

// suggestedPorts maps "container/port" to a host port that is actually
// free: the definition's host_default unless another rock-on or a host
// service has it, else the next free one (Rockstor suggests the default
// even when it is taken).
func suggestedPorts(ctx context.Context, d daemonClient, def *catalog.RockOn) map[string]int {
	taken, listening := usedPorts(ctx, d, def)
	m := map[string]int{}
	for _, pd := range catalog.DefaultHostPorts(def, taken, listening) {
		if pd.HostPort > 0 {
			m[pd.Container+"/"+pd.Key()] = pd.HostPort
		}
	}
	return m
}

var portInUseRE = regexp.MustCompile(`port (\d+)/(tcp|udp)`)

// portInUse rewrites the daemon's port conflict into one line that says
// which flag fixes it, with a free port: "port 8080/tcp ... is used by
// rock-on plex; choose another with --port 32400=8081".
func portInUse(ctx context.Context, d daemonClient, def *catalog.RockOn, ch *model.Choices, err error) error {
	var de *rdbus.Error
	if !errors.Is(err, model.ErrPortInUse) || !errors.As(err, &de) {
		return daemonError(err, def.Name)
	}
	m := portInUseRE.FindStringSubmatch(de.Message)
	if m == nil {
		return daemonError(err, def.Name)
	}
	host, _ := strconv.Atoi(m[1])
	proto := m[2]
	// Which container port did we map to it?
	var cname, key string
	count := map[int]int{}
	for _, c := range def.Containers {
		for _, p := range c.Ports {
			count[p.ContainerPort]++
		}
	}
	for _, c := range def.Containers {
		cc := ch.Containers[c.Name]
		for k, hp := range cc.Ports {
			if hp == host && cname == "" {
				cname, key = c.Name, k
			}
		}
		if cname != "" {
			break
		}
		// A port left to its default publishes host_default.
		for _, p := range c.Ports {
			if _, set := cc.Ports[strconv.Itoa(p.ContainerPort)]; !set && p.HostDefault == host {
				cname, key = c.Name, strconv.Itoa(p.ContainerPort)
				break
			}
		}
		if cname != "" {
			break
		}
	}
	msg := strings.TrimPrefix(strings.TrimSuffix(strings.TrimSpace(de.Message), "; choose another"), model.ErrPortInUse.Error()+": ")
	if cname == "" {
		return withCode(exitUsage, fmt.Errorf("%s; choose another host port with --port C=H", msg))
	}
	taken, listening := usedPorts(ctx, d, def)
	mine := map[int]bool{}
	for _, cc := range ch.Containers {
		for _, hp := range cc.Ports {
			mine[hp] = true
		}
	}
	free := 0
	for p := host + 1; p != host; p++ {
		if p > 65535 {
			p = 1024
		}
		if !taken.Has(proto, p) && !listening.Has(proto, p) && !mine[p] {
			free = p
			break
		}
	}
	arg := key
	if n, _ := strconv.Atoi(strings.Split(key, "/")[0]); count[n] > 1 {
		arg = cname + ":" + key
	}
	return withCode(exitUsage, fmt.Errorf("%s; choose another with --port %s=%d", msg, arg, free))
}
