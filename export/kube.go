package export

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/unitgen"
)

// defaultClaimSize is the storage a claim asks for when the definition
// gives no min_size: a claim must ask for some.
const defaultClaimSize = "1Gi"

// kube writes one Deployment (one replica, all containers in its pod, in
// launch order), a Service for the published ports, and a
// PersistentVolumeClaim per named volume (and per host directory with
// PVC). The pod publishes the host ports itself (hostPort), so that
// `podman kube play` on this host, or a k3s node, answers on the ports the
// rock-on had; the Service gives other pods of a cluster a name for it.
func kube(def *catalog.RockOn, res *unitgen.Result, opt Options) ([]byte, []string, error) {
	var n notes
	app := label(res.Slug)
	var (
		containers = seq()
		podVolumes = seq()
		volByKey   = map[string]string{} // mount key -> pod volume name
		volNames   = map[string]bool{}
		claims     []*yaml.Node
		svcPorts   = seq()
		hostnames  []string
		ctrNames   = map[string]string{}
		portOwner  = map[string]string{} // "8080/tcp" in the pod -> container
		orders     = map[int]bool{}
	)
	sharedNets := map[string]bool{}
	for _, en := range res.EngineNetworks {
		if en.Shared {
			sharedNets[en.Name] = true
		}
	}
	addVolume := func(key, base string, source *yaml.Node) string {
		if v, ok := volByKey[key]; ok {
			return v
		}
		name := label(base)
		if name == "" {
			name = "volume"
		}
		for i := 2; volNames[name]; i++ {
			name = label(base) + "-" + strconv.Itoa(i)
		}
		volNames[name] = true
		volByKey[key] = name
		v := mapping("name", str(name))
		v.Content = append(v.Content, source.Content...)
		podVolumes.Content = append(podVolumes.Content, v)
		return name
	}
	claim := func(name, size string, head string) {
		c := mapping(
			"apiVersion", str("v1"),
			"kind", str("PersistentVolumeClaim"),
			"metadata", mapping("name", str(name), "labels", mapping("app.kubernetes.io/name", str(app))),
			"spec", mapping(
				"accessModes", strs([]string{"ReadWriteOnce"}),
				"resources", mapping("requests", mapping("storage", str(size))),
			),
		)
		c.HeadComment = comment(head)
		claims = append(claims, c)
	}

	for _, cu := range res.Containers {
		c, _ := def.Container(cu.Name)
		if cu.Data {
			n.add("data container %q: a pod has no --volumes-from; the containers that take its volumes get none of them", cu.Name)
			continue
		}
		orders[c.LaunchOrder] = true
		r := cu.Run
		cname := label(model.Slug(cu.Name))
		if prev, ok := ctrNames[cname]; ok || cname == "" {
			return nil, nil, fmt.Errorf("exporting %q: containers %q and %q have the same name in a pod", def.Name, prev, cu.Name)
		}
		ctrNames[cname] = cu.Name
		hostnames = append(hostnames, cu.Name)
		hostnames = append(hostnames, r.Aliases...)

		env, ports, opts := foldOpts(r)
		var command []string
		workdir := ""
		readOnly := false
		if r.HostNetwork {
			n.add("container %q uses the host's network: in the pod it has the pod's network, and only the ports listed in its definition are published", cu.Name)
			// the host network publishes nothing (r.Ports is empty):
			// the definition's ports go before those of --publish opts
			var hostPorts []unitgen.PublishedPort
			for _, p := range c.Ports {
				for _, proto := range p.Protocols() {
					if p.HostDefault > 0 {
						hostPorts = append(hostPorts, unitgen.PublishedPort{Host: p.ContainerPort, Container: p.ContainerPort, Protocol: proto})
					}
				}
			}
			ports = append(hostPorts, ports...)
		}
		for _, o := range opts {
			switch o.Flag {
			case "--entrypoint":
				command = []string{o.Value}
				continue
			case "--workdir":
				workdir = o.Value
				continue
			case "--read-only":
				if o.Value == "" || o.Value == "true" {
					readOnly = true
				}
				continue
			case "--network-alias":
				hostnames = append(hostnames, o.Value)
				continue
			case "--link":
				// the containers of a pod share its network: the
				// linked name (and alias) resolves to it (hostAliases)
				if _, alias, ok := strings.Cut(o.Value, ":"); ok {
					hostnames = append(hostnames, alias)
				}
				continue
			case "--network":
				if o.Value == "host" {
					continue // said above
				}
				n.add("container %q: engine network %q is not joined: the pod has its own network", cu.Name, o.Value)
				continue
			}
			n.add("container %q: engine option %s is not carried over", cu.Name, optText(o))
		}
		for _, net := range r.Networks {
			if sharedNets[net] {
				n.add("container %q: engine network %q is not joined: the pod has its own network", cu.Name, net)
			}
		}
		if len(r.Devices) > 0 {
			n.add("container %q: devices %s are not passed: a pod reaches host devices only with privileges", cu.Name, strings.Join(r.Devices, ", "))
		}
		if len(r.Labels) > 0 {
			n.add("container %q: its labels are not carried over", cu.Name)
		}

		ctr := mapping("name", str(cname), "image", str(r.Image))
		if len(command) > 0 {
			set(ctr, "command", strs(command))
		}
		if len(r.Args) > 0 {
			set(ctr, "args", strs(r.Args))
		}
		if workdir != "" {
			set(ctr, "workingDir", str(workdir))
		}
		if len(env) > 0 {
			el := seq()
			for _, e := range env {
				el.Content = append(el.Content, mapping("name", str(e.Name), "value", str(e.Value)))
			}
			set(ctr, "env", el)
		}
		if len(ports) > 0 {
			pl := seq()
			for _, p := range ports {
				key := fmt.Sprintf("%d/%s", p.Container, p.Protocol)
				if other, ok := portOwner[key]; ok && other != cu.Name {
					n.add("containers %q and %q both listen on port %s: in one pod (one network) only one of them can", other, cu.Name, key)
				}
				portOwner[key] = cu.Name
				proto := strings.ToUpper(p.Protocol)
				pl.Content = append(pl.Content, mapping(
					"containerPort", num(int64(p.Container)),
					"hostPort", num(int64(p.Host)),
					"protocol", str(proto),
				))
				svcPorts.Content = append(svcPorts.Content, mapping(
					"name", str(fmt.Sprintf("%s-%d", p.Protocol, p.Host)),
					"port", num(int64(p.Host)),
					"targetPort", num(int64(p.Container)),
					"protocol", str(proto),
				))
			}
			set(ctr, "ports", pl)
		}
		if len(r.Mounts) > 0 {
			ml := seq()
			for _, m := range r.Mounts {
				var name string
				switch {
				case m.Named:
					name = addVolume("named:"+m.Source, m.Source, mapping(
						"persistentVolumeClaim", mapping("claimName", str(m.Source))))
					if !slices.ContainsFunc(claims, func(c *yaml.Node) bool { return claimName(c) == m.Source }) {
						claim(m.Source, defaultClaimSize, fmt.Sprintf("The VOLUME %s of the image of %s (on this host, the engine volume of the same name).", m.Path, cu.Name))
					}
				case m.Source == "/etc/localtime":
					name = addVolume("host:"+m.Source, "localtime", mapping(
						"hostPath", mapping("path", str(m.Source), "type", str("File"))))
				case opt.PVC:
					cn := label(app + "-" + model.Slug(m.Path))
					name = addVolume("host:"+m.Source, model.Slug(m.Path), mapping(
						"persistentVolumeClaim", mapping("claimName", str(cn))))
					if !slices.ContainsFunc(claims, func(c *yaml.Node) bool { return claimName(c) == cn }) {
						claim(cn, claimSize(c, m.Path), fmt.Sprintf("%s of %s; copy the data of %s on the rockon host into it.", m.Path, cu.Name, m.Source))
					}
				default:
					name = addVolume("host:"+m.Source, model.Slug(m.Path), mapping(
						"hostPath", mapping("path", str(m.Source), "type", str("Directory"))))
				}
				vm := mapping("name", str(name), "mountPath", str(m.Path))
				if m.ReadOnly {
					set(vm, "readOnly", boolean(true))
				}
				ml.Content = append(ml.Content, vm)
			}
			set(ctr, "volumeMounts", ml)
		}
		sc := mapping()
		if r.User != "" {
			uid, gid, hasGID, err := userIDs(r.User)
			if err != nil {
				n.add("container %q: user %q is not carried over", cu.Name, r.User)
			} else {
				set(sc, "runAsUser", num(uid))
				if hasGID {
					set(sc, "runAsGroup", num(gid))
				}
			}
		}
		if readOnly {
			set(sc, "readOnlyRootFilesystem", boolean(true))
		}
		if len(sc.Content) > 0 {
			set(ctr, "securityContext", sc)
		}
		limits := mapping()
		if r.MemoryBytes > 0 {
			set(limits, "memory", str(strconv.FormatInt(r.MemoryBytes, 10)))
		}
		if r.CPUs != "" {
			set(limits, "cpu", str(r.CPUs))
		}
		if len(limits.Content) > 0 {
			set(ctr, "resources", mapping("limits", limits))
		}
		containers.Content = append(containers.Content, ctr)
	}
	if len(containers.Content) == 0 {
		return nil, nil, fmt.Errorf("exporting %q: no container to run in a pod", def.Name)
	}
	if len(orders) > 1 {
		n.add("the containers of a pod start together: launch_order is not kept")
	}

	podSpec := mapping("containers", containers)
	if len(containers.Content) > 1 {
		// the containers reached each other by name on their engine
		// network; in a pod they share one network
		slices.Sort(hostnames)
		set(podSpec, "hostAliases", seq(mapping("ip", str("127.0.0.1"), "hostnames", strs(slices.Compact(hostnames)))))
	}
	if len(podVolumes.Content) > 0 {
		set(podSpec, "volumes", podVolumes)
	}
	labels := func() *yaml.Node { return mapping("app.kubernetes.io/name", str(app)) }
	deploy := mapping(
		"apiVersion", str("apps/v1"),
		"kind", str("Deployment"),
		"metadata", mapping("name", str(app), "labels", labels()),
		"spec", mapping(
			"replicas", num(1),
			// host ports and volumes cannot be held by two pods at once
			"strategy", mapping("type", str("Recreate")),
			"selector", mapping("matchLabels", labels()),
			"template", mapping(
				"metadata", mapping("labels", labels()),
				"spec", podSpec,
			),
		),
	)
	docs := []*yaml.Node{deploy}
	if len(svcPorts.Content) > 0 {
		docs = append(docs, mapping(
			"apiVersion", str("v1"),
			"kind", str("Service"),
			"metadata", mapping("name", str(app), "labels", labels()),
			"spec", mapping(
				"selector", labels(),
				"ports", svcPorts,
			),
		))
	}
	docs = append(docs, claims...)
	out, err := encode(docs, header(def, "Kubernetes manifests", n.list))
	if err != nil {
		return nil, nil, fmt.Errorf("exporting %q: %w", def.Name, err)
	}
	return out, n.list, nil
}

// claimName is the metadata.name of a claim document.
func claimName(doc *yaml.Node) string {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "metadata" {
			md := doc.Content[i+1]
			for j := 0; j+1 < len(md.Content); j += 2 {
				if md.Content[j].Value == "name" {
					return md.Content[j+1].Value
				}
			}
		}
	}
	return ""
}

// claimSize is the storage a claim for a definition volume asks for: its
// min_size, or defaultClaimSize.
func claimSize(c *catalog.Container, path string) string {
	for _, v := range c.Volumes {
		if v.Path == path && v.MinSize > 0 {
			return strconv.FormatInt(v.MinSize, 10)
		}
	}
	return defaultClaimSize
}

// optText shows an engine option as it was given.
func optText(o unitgen.Opt) string {
	if !o.HasValue {
		return o.Flag
	}
	return o.Flag + "=" + o.Value
}
