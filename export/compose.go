package export

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/unitgen"
)

// compose writes a Compose file: one service per container (named as the
// container, so that the names the containers reach each other by keep
// working on the project's default network), started in launch order
// (depends_on), restarted unless stopped as Rockstor runs them.
func compose(def *catalog.RockOn, res *unitgen.Result) ([]byte, []string, error) {
	var n notes
	services := mapping()
	topVolumes := mapping()
	topNetworks := mapping()
	sharedNets := map[string]bool{}
	for _, en := range res.EngineNetworks {
		if en.Shared {
			sharedNets[en.Name] = true
		}
	}
	// launch order groups: each container depends on the previous group
	var prev, cur []string
	last := 0
	for i, cu := range res.Containers {
		c, _ := def.Container(cu.Name)
		if i == 0 || c.LaunchOrder != last {
			prev, cur = cur, nil
			last = c.LaunchOrder
		}
		cur = append(cur, cu.Name)
		r := cu.Run

		svc := mapping("image", str(esc(r.Image)))
		env, ports, opts := foldOpts(r)
		var entrypoint, links, volumesFrom, tmpfs []string
		scalars := map[string]*yaml.Node{}
		for _, o := range opts {
			switch o.Flag {
			case "--entrypoint":
				entrypoint = []string{o.Value}
				continue
			case "--workdir":
				scalars["working_dir"] = str(esc(o.Value))
				continue
			case "--hostname":
				scalars["hostname"] = str(esc(o.Value))
				continue
			case "--shm-size":
				scalars["shm_size"] = str(esc(o.Value))
				continue
			case "--read-only", "--init":
				if o.Value == "" || o.Value == "true" {
					scalars[strings.ReplaceAll(strings.TrimPrefix(o.Flag, "--"), "-", "_")] = boolean(true)
				}
				continue
			case "--tmpfs":
				tmpfs = append(tmpfs, o.Value)
				continue
			case "--link":
				links = append(links, o.Value)
				continue
			case "--volumes-from":
				volumesFrom = append(volumesFrom, o.Value)
				continue
			case "--network":
				if o.Value == "host" {
					scalars["network_mode"] = str("host")
					n.add("container %q uses the host's network (network_mode: host): it can bind any host port", cu.Name)
					continue
				}
				// a network the definition names (the
				// administrator's): joined as an external one
				if sharedNets[o.Value] {
					continue
				}
			}
			// privileges that need consent (--privileged, --cap-add,
			// host namespaces, ...) among them: an export never grants
			// one; the user does on the target
			n.add("container %q: engine option %s is not carried over", cu.Name, optText(o))
		}
		if len(entrypoint) > 0 {
			set(svc, "entrypoint", escs(entrypoint))
		}
		if len(r.Args) > 0 {
			set(svc, "command", escs(r.Args))
		}
		for _, k := range []string{"working_dir", "hostname", "shm_size", "read_only", "init", "network_mode"} {
			if v, ok := scalars[k]; ok {
				set(svc, k, v)
			}
		}
		if r.User != "" {
			set(svc, "user", str(esc(r.User)))
		}
		if len(env) > 0 {
			em := mapping()
			seen := map[string]int{}
			for _, e := range env {
				if i, ok := seen[e.Name]; ok {
					em.Content[i+1] = str(esc(e.Value)) // the later one wins, as with the engine
					continue
				}
				seen[e.Name] = len(em.Content)
				set(em, e.Name, str(esc(e.Value)))
			}
			set(svc, "environment", em)
		}
		if len(ports) > 0 && !r.HostNetwork {
			pl := seq()
			for _, p := range ports {
				pl.Content = append(pl.Content, str(fmt.Sprintf("%d:%d/%s", p.Host, p.Container, p.Protocol)))
			}
			set(svc, "ports", pl)
		}
		if len(r.Mounts) > 0 {
			vl := seq()
			for _, m := range r.Mounts {
				typ := "bind"
				if m.Named {
					typ = "volume"
					// the engine volume of the same name, not one
					// prefixed with the project's name
					set(topVolumes, m.Source, mapping("name", str(esc(m.Source))))
				}
				v := mapping("type", str(typ), "source", str(esc(m.Source)), "target", str(esc(m.Path)))
				if m.ReadOnly {
					set(v, "read_only", boolean(true))
				}
				vl.Content = append(vl.Content, v)
			}
			set(svc, "volumes", vl)
		}
		if len(volumesFrom) > 0 {
			set(svc, "volumes_from", escs(volumesFrom))
		}
		if len(tmpfs) > 0 {
			set(svc, "tmpfs", escs(tmpfs))
		}
		if len(r.Devices) > 0 {
			dl := seq()
			for _, d := range r.Devices {
				dl.Content = append(dl.Content, str(esc(d+":"+d)))
			}
			set(svc, "devices", dl)
		}
		if len(links) > 0 {
			set(svc, "links", escs(links))
		}
		var extNets []string
		for _, net := range r.Networks {
			if sharedNets[net] {
				extNets = append(extNets, net)
			}
		}
		for _, o := range r.Opts {
			if o.Flag == "--network" && sharedNets[o.Value] && !slices.Contains(extNets, o.Value) {
				extNets = append(extNets, o.Value)
			}
		}
		if _, host := scalars["network_mode"]; !host && (len(extNets) > 0 || len(r.Aliases) > 0) {
			nm := mapping()
			dn := mapping()
			if len(r.Aliases) > 0 {
				set(dn, "aliases", escs(r.Aliases))
			}
			set(nm, "default", dn)
			for _, net := range extNets {
				set(nm, net, mapping())
				if !hasKey(topNetworks, net) {
					set(topNetworks, net, mapping("external", boolean(true), "name", str(esc(net))))
				}
			}
			set(svc, "networks", nm)
		}
		if len(prev) > 0 && !cu.Data {
			set(svc, "depends_on", strs(prev))
		}
		if cu.Data {
			// created to hold volumes, never kept running
			set(svc, "restart", str("no"))
		} else {
			set(svc, "restart", str("unless-stopped"))
		}
		if r.MemoryBytes > 0 {
			set(svc, "mem_limit", num(r.MemoryBytes))
		}
		if r.CPUs != "" {
			if _, err := strconv.ParseFloat(r.CPUs, 64); err == nil {
				set(svc, "cpus", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: r.CPUs})
			}
		}
		if len(r.Labels) > 0 {
			lm := mapping()
			for _, k := range sortedKeys(r.Labels) {
				set(lm, k, str(esc(r.Labels[k])))
			}
			set(svc, "labels", lm)
		}
		set(services, cu.Name, svc)
	}
	doc := mapping("services", services)
	if len(topVolumes.Content) > 0 {
		set(doc, "volumes", topVolumes)
	}
	if len(topNetworks.Content) > 0 {
		set(doc, "networks", topNetworks)
	}
	out, err := encode([]*yaml.Node{doc}, header(def, "Compose file", n.list))
	if err != nil {
		return nil, nil, fmt.Errorf("exporting %q: %w", def.Name, err)
	}
	return out, n.list, nil
}

// esc escapes "$" for Compose, which interpolates variables in every
// value: a "$" of the rock-on's stays a "$".
func esc(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func escs(l []string) *yaml.Node {
	s := seq()
	for _, v := range l {
		s.Content = append(s.Content, str(esc(v)))
	}
	return s
}

func hasKey(m *yaml.Node, k string) bool {
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
