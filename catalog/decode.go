package catalog

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Decode reads one registry file: an object mapping rock-on names to
// definitions. file names the source in problems (a base name or URL).
//
// It returns every valid rock-on of the file, with its warnings in
// RockOn.Warnings (for instance opts rockon drops). When anything is wrong
// the error is a Problems listing every error found, each with file and JSON
// path; rock-ons without errors are still returned alongside it.
func Decode(file string, data []byte) ([]*RockOn, error) {
	defs, probs := decodeFile(file, data)
	if errs := probs.ErrorsOnly(); len(errs) > 0 {
		return defs, errs
	}
	return defs, nil
}

// decodeFile returns the valid rock-ons of a file and every problem found,
// warnings included (also those of rock-ons refused for errors).
func decodeFile(file string, data []byte) ([]*RockOn, Problems) {
	if len(data) > MaxFileSize {
		return nil, Problems{problemf(file, "", "file larger than %d bytes", MaxFileSize)}
	}
	var keyProbs Problems
	root, err := parseTree(data, func(p, msg string) {
		keyProbs = append(keyProbs, problemf(file, p, "%s", msg))
	})
	if err != nil {
		var pe pathError
		if errors.As(err, &pe) {
			return nil, Problems{problemf(file, pe.path, "%s", pe.msg)}
		}
		return nil, Problems{problemf(file, "", "%v", err)}
	}
	if root.kind != kindObject || len(root.keys) == 0 {
		return nil, Problems{problemf(file, "$",
			"unknown top-level shape: want an object mapping a rock-on name to its definition, got %s", describe(root))}
	}
	if looksLikeIndex(root) {
		return nil, Problems{problemf(file, "$",
			"unknown top-level shape: this maps names to file names like a root.json index; a definition maps a rock-on name to an object")}
	}
	raw := append([]byte(nil), data...)
	var all Problems
	// Problems with the top-level keys themselves (case-only duplicates
	// of rock-on names) refuse the later rock-on.
	refused := map[string]bool{}
	for _, p := range keyProbs {
		for _, k := range root.keys {
			if p.Path == childPath("$", k) {
				refused[p.Path] = true
				all = append(all, p)
				break
			}
		}
	}
	var defs []*RockOn
	for i, name := range root.keys {
		n := root.vals[i]
		d := &decoder{file: file}
		// Key problems inside this rock-on belong to it.
		for _, p := range keyProbs {
			if strings.HasPrefix(p.Path, n.path+".") || strings.HasPrefix(p.Path, n.path+"[") {
				d.probs = append(d.probs, p)
			}
		}
		r := d.rockOn(name, n)
		all = append(all, d.probs...)
		if d.failed() || refused[n.path] {
			continue
		}
		r.Raw = raw
		r.File = file
		r.Warnings = d.probs
		defs = append(defs, r)
	}
	if len(all) > maxProblems {
		n := len(all) - maxProblems
		all = append(all[:maxProblems:maxProblems], problemf(file, "", "%d more problems not shown", n))
	}
	return defs, all
}

// looksLikeIndex tells whether an object has only string values, as
// root.json has.
func looksLikeIndex(root *node) bool {
	for _, v := range root.vals {
		if v.kind != kindString {
			return false
		}
	}
	return true
}

func describe(n *node) string { return n.kind.String() }

type decoder struct {
	file  string
	probs Problems
}

func (d *decoder) errorf(path, format string, args ...any) {
	d.probs = append(d.probs, problemf(d.file, path, format, args...))
}

func (d *decoder) warnf(path, format string, args ...any) {
	p := problemf(d.file, path, format, args...)
	p.Warning = true
	d.probs = append(d.probs, p)
}

func (d *decoder) failed() bool { return d.probs.HasErrors() }

// object checks that n is an object and calls visit for each known key in
// document order; unknown keys are warnings, as Rockstor ignores them.
func (d *decoder) object(n *node, what string, known map[string]func(*node)) bool {
	if n.kind != kindObject {
		d.errorf(n.path, "%s must be an object, got %s", what, describe(n))
		return false
	}
	for i, k := range n.keys {
		if f, ok := known[k]; ok {
			f(n.vals[i])
			continue
		}
		d.warnf(n.vals[i].path, "unknown key %q ignored", k)
	}
	return true
}

func (d *decoder) require(n *node, keys ...string) {
	for _, k := range keys {
		if n.get(k) == nil {
			d.errorf(n.path, "missing %q", k)
		}
	}
}

// text decodes a string; multiline allows newlines and tabs (HTML
// descriptions), everything else refuses control characters.
func (d *decoder) text(n *node, multiline bool) string {
	if n.kind != kindString {
		d.errorf(n.path, "must be a string, got %s", describe(n))
		return ""
	}
	if msg := checkText(n.str, multiline); msg != "" {
		d.errorf(n.path, "%s", msg)
	}
	return n.str
}

func (d *decoder) boolean(n *node) bool {
	if n.kind != kindBool {
		d.errorf(n.path, "must be true or false, got %s", describe(n))
		return false
	}
	return n.bool
}

// integer decodes a JSON integer within [lo, hi]; "1", 1.0 and 1e3 are not
// integers in the format (FORMAT.md: "integer only; i.e. no quotes").
func (d *decoder) integer(n *node, lo, hi int64, what string) (int64, bool) {
	if n.kind == kindNumber {
		if v, err := strconv.ParseInt(n.str, 10, 64); err == nil && v >= lo && v <= hi {
			return v, true
		}
	}
	d.errorf(n.path, "must be an integer %s", what)
	return 0, false
}

func (d *decoder) rockOn(name string, n *node) *RockOn {
	r := &RockOn{Name: name}
	switch {
	case strings.TrimSpace(name) == "":
		d.errorf(n.path, "rock-on name must not be empty")
	case len(name) > 200:
		d.errorf(n.path, "rock-on name longer than 200 bytes")
	case name != strings.TrimSpace(name):
		d.errorf(n.path, "rock-on name has leading or trailing spaces")
	default:
		if msg := checkText(name, false); msg != "" {
			d.errorf(n.path, "rock-on name %s", msg)
		}
	}
	var containers, links *node
	ok := d.object(n, "a rock-on definition", map[string]func(*node){
		"description":        func(v *node) { r.Description = d.text(v, true) },
		"version":            func(v *node) { r.Version = d.text(v, false) },
		"website":            func(v *node) { r.Website = d.text(v, false) },
		"icon":               func(v *node) { r.Icon = d.text(v, false) },
		"more_info":          func(v *node) { r.MoreInfo = d.text(v, true) },
		"ui":                 func(v *node) { r.UI = d.ui(v) },
		"volume_add_support": func(v *node) { r.VolumeAddSupport = d.boolean(v) },
		"containers":         func(v *node) { containers = v },
		"container_links":    func(v *node) { links = v },
		"custom_config":      func(v *node) { r.CustomConfig = d.customConfig(v) },
	})
	if !ok {
		return r
	}
	d.require(n, "description", "version", "website", "containers")
	if containers != nil {
		r.Containers = d.containers(containers)
	}
	if links != nil {
		r.Links = d.links(links, r)
	}
	d.crossChecks(r, containers)
	return r
}

// uiSlugRE is what may follow "http://host:port/" in the web UI link.
var uiSlugRE = regexp.MustCompile(`^[A-Za-z0-9._~!$&'()*+,;=:@/%-]*$`)

func (d *decoder) ui(n *node) *UI {
	ui := &UI{}
	d.object(n, "ui", map[string]func(*node){
		"slug": func(v *node) {
			ui.Slug = d.text(v, false)
			if !uiSlugRE.MatchString(ui.Slug) {
				d.errorf(v.path, "must be a URL path (letters, digits and URL punctuation, no spaces)")
			}
		},
		"https": func(v *node) { ui.HTTPS = d.boolean(v) },
	})
	return ui
}

func (d *decoder) customConfig(n *node) []CustomField {
	if !d.mapOf(n, "custom_config") {
		return nil
	}
	var out []CustomField
	for i, key := range n.keys {
		v := n.vals[i]
		f := CustomField{Key: key}
		if key == "" || len(key) > 128 || checkText(key, false) != "" {
			d.errorf(v.path, "custom_config key must be 1-128 printable characters")
		}
		if d.object(v, "a custom_config entry", map[string]func(*node){
			"label":       func(x *node) { f.Label = d.text(x, false) },
			"description": func(x *node) { f.Description = d.text(x, true) },
		}) {
			d.require(v, "label")
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// mapOf checks that n is an object and returns its entries; used for the
// maps keyed by user data (containers, ports, volumes, environment...).
func (d *decoder) mapOf(n *node, what string) bool {
	if n.kind != kindObject {
		d.errorf(n.path, "%s must be an object, got %s", what, describe(n))
		return false
	}
	return true
}

func (d *decoder) containers(n *node) []Container {
	if !d.mapOf(n, "containers") {
		return nil
	}
	if len(n.keys) == 0 {
		d.errorf(n.path, "no containers defined")
	}
	var out []Container
	for i, name := range n.keys {
		out = append(out, d.container(name, n.vals[i]))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].LaunchOrder != out[j].LaunchOrder {
			return out[i].LaunchOrder < out[j].LaunchOrder
		}
		return out[i].Name < out[j].Name
	})
	return out
}

const maxID = 1<<32 - 2 // the largest valid uid/gid (2^32-1 is "no id")

func (d *decoder) container(name string, n *node) Container {
	c := Container{Name: name, Tag: "latest"}
	if msg := checkEngineName(name); msg != "" {
		d.errorf(n.path, "container name %q %s", name, msg)
	}
	var uidNode, gidNode *node
	ok := d.object(n, "a container", map[string]func(*node){
		"image": func(v *node) {
			c.Image = d.text(v, false)
			if v.kind == kindString {
				if msg := checkImage(c.Image); msg != "" {
					d.errorf(v.path, "invalid image reference %q: %s", c.Image, msg)
				}
			}
		},
		"tag": func(v *node) {
			c.Tag = d.text(v, false)
			if v.kind == kindString {
				if msg := checkTag(c.Tag); msg != "" {
					d.errorf(v.path, "invalid tag %q: %s", c.Tag, msg)
				}
			}
		},
		"launch_order": func(v *node) {
			lo, _ := d.integer(v, 1, 1000, "1-1000")
			c.LaunchOrder = int(lo)
		},
		"uid": func(v *node) {
			uidNode = v
			if id, ok := d.integer(v, -1, maxID, "(-1 for the owner of the first volume, or 0 and above)"); ok {
				x := int(id)
				c.UID = &x
			}
		},
		"gid": func(v *node) {
			gidNode = v
			if id, ok := d.integer(v, -2, maxID, "(-1 for the group of the first volume, -2 for the docker group, or 0 and above)"); ok {
				x := int(id)
				c.GID = &x
			}
		},
		"ports":         func(v *node) { c.Ports = d.ports(v) },
		"volumes":       func(v *node) { c.Volumes = d.volumes(v) },
		"environment":   func(v *node) { c.Env = d.env(v) },
		"devices":       func(v *node) { c.Devices = d.devices(v) },
		"opts":          func(v *node) { c.Opts = d.opts(v) },
		"cmd_arguments": func(v *node) { c.CmdArgs = d.pairs(v) },
	})
	if !ok {
		return c
	}
	d.require(n, "image", "launch_order")
	if gidNode != nil && uidNode == nil {
		// Rockstor ignores gid without uid; so does rockon.
		d.warnf(gidNode.path, "gid without uid is ignored")
		c.GID = nil
	}
	if c.UID != nil && *c.UID == -1 || c.GID != nil && *c.GID == -1 {
		if len(c.Volumes) == 0 {
			d.errorf(n.path, "uid or gid -1 (owner of the first volume) needs a volume")
		}
	}
	return c
}

func (d *decoder) ports(n *node) []Port {
	if !d.mapOf(n, "ports") {
		return nil
	}
	var out []Port
	for i, key := range n.keys {
		v := n.vals[i]
		p := Port{}
		cp, err := strconv.Atoi(key)
		if err != nil || cp < 1 || cp > 65535 || strconv.Itoa(cp) != key {
			d.errorf(v.path, "container port %q must be an integer 1-65535", key)
		}
		p.ContainerPort = cp
		if d.object(v, "a port", map[string]func(*node){
			"host_default": func(x *node) {
				hp, _ := d.integer(x, 1, 65535, "1-65535")
				p.HostDefault = int(hp)
			},
			"protocol": func(x *node) {
				p.Protocol = d.text(x, false)
				if x.kind == kindString && p.Protocol != "tcp" && p.Protocol != "udp" {
					d.errorf(x.path, `must be "tcp" or "udp" (leave it out for both)`)
				}
			},
			"ui":          func(x *node) { p.UI = d.boolean(x) },
			"label":       func(x *node) { p.Label = d.text(x, false) },
			"description": func(x *node) { p.Description = d.text(x, true) },
		}) {
			d.require(v, "host_default", "label")
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ContainerPort != out[j].ContainerPort {
			return out[i].ContainerPort < out[j].ContainerPort
		}
		return out[i].Protocol < out[j].Protocol
	})
	return out
}

func (d *decoder) volumes(n *node) []Volume {
	if !d.mapOf(n, "volumes") {
		return nil
	}
	var out []Volume
	for i, key := range n.keys {
		v := n.vals[i]
		vol := Volume{Path: key}
		switch {
		case !strings.HasPrefix(key, "/") || key == "/":
			d.errorf(v.path, "volume path must be an absolute path other than /")
		case path.Clean(key) != strings.TrimSuffix(key, "/"):
			// A trailing slash is in the registry ("/var/ts3server/") and
			// harmless; "..", "." and "//" are not.
			d.errorf(v.path, "volume path must be clean (no '..', '.' or '//')")
		case strings.ContainsAny(key, ":,"):
			d.errorf(v.path, "volume path must not contain ':' or ','")
		case len(key) > 4096:
			d.errorf(v.path, "volume path longer than 4096 bytes")
		default:
			if msg := checkText(key, false); msg != "" {
				d.errorf(v.path, "volume path %s", msg)
			}
		}
		if d.object(v, "a volume", map[string]func(*node){
			"label":       func(x *node) { vol.Label = d.text(x, false) },
			"description": func(x *node) { vol.Description = d.text(x, true) },
			"min_size": func(x *node) {
				s, _ := d.integer(x, 0, 1<<62, "of bytes, 0 or more")
				vol.MinSize = s
			},
		}) {
			d.require(v, "label")
		}
		out = append(out, vol)
	}
	// Kept in the definition's order, not sorted: Rockstor mounts them in
	// that order and takes uid -1 from the first one.
	return out
}

// envNameRE: Rockstor passes names as they are ("$DBOX_SKIP_UPDATE" is in
// the registry); rockon only refuses what breaks "NAME=value" or an env file.
// At most maxEnvName characters, counted apart: as {1,256} the expression
// compiled to 256 copies of its class at every start of the CLI (0.8 ms,
// 2,800 allocations).
var envNameRE = regexp.MustCompile(`^[^=\s\x00-\x1f\x7f]+$`)

const maxEnvName = 256

func (d *decoder) env(n *node) []Env {
	return d.userEntries(n, "environment", "an environment variable", func(key string) string {
		if !envNameRE.MatchString(key) || utf8.RuneCountInString(key) > maxEnvName {
			return "environment variable name must be 1-256 characters without '=', spaces or control characters"
		}
		return ""
	})
}

func (d *decoder) devices(n *node) []Device {
	var out []Device
	for _, e := range d.userEntries(n, "devices", "a device", func(key string) string {
		if key == "" || len(key) > 256 || checkText(key, false) != "" {
			return "device name must be 1-256 printable characters"
		}
		return ""
	}) {
		out = append(out, Device(e))
	}
	return out
}

// userEntries decodes the object of entries the user fills in that
// environment and devices hold: each a required label, a description and
// an index, ordered by index then name. badName says what is wrong with
// an entry's name ("" when nothing).
func (d *decoder) userEntries(n *node, field, what string, badName func(string) string) []Env {
	if !d.mapOf(n, field) {
		return nil
	}
	var out []Env
	for i, key := range n.keys {
		v := n.vals[i]
		e := Env{Name: key}
		if msg := badName(key); msg != "" {
			d.errorf(v.path, "%s", msg)
		}
		if d.object(v, what, map[string]func(*node){
			"label":       func(x *node) { e.Label = d.text(x, false) },
			"description": func(x *node) { e.Description = d.text(x, true) },
			"index": func(x *node) {
				ix, _ := d.integer(x, 0, 10000, "0-10000")
				e.Index = int(ix)
			},
		}) {
			d.require(v, "label")
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Index != out[j].Index {
			return out[i].Index < out[j].Index
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// pairs decodes an array of two-string arrays (opts, cmd_arguments).
func (d *decoder) pairs(n *node) []Pair {
	if n.kind != kindArray {
		d.errorf(n.path, "must be an array of [string, string] pairs, got %s", describe(n))
		return nil
	}
	var out []Pair
	for _, el := range n.elems {
		if el.kind != kindArray || len(el.elems) != 2 || el.elems[0].kind != kindString || el.elems[1].kind != kindString {
			d.errorf(el.path, "must be a pair of strings [\"...\", \"...\"]")
			continue
		}
		p := Pair{el.elems[0].str, el.elems[1].str}
		for j, s := range p {
			if msg := checkText(s, false); msg != "" {
				d.errorf(el.elems[j].path, "%s", msg)
			}
		}
		out = append(out, p)
	}
	return out
}

// opts decodes container options, checks that each pair is one option
// (so that no element can become the image or a positional argument), and
// drops the ones that cannot work under systemd, with a warning.
func (d *decoder) opts(n *node) []Pair {
	ps := d.pairs(n)
	if n.kind != kindArray {
		return nil
	}
	var out []Pair
	idx := 0
	for _, el := range n.elems {
		if idx >= len(ps) || el.kind != kindArray || len(el.elems) != 2 {
			continue
		}
		if el.elems[0].kind != kindString || el.elems[1].kind != kindString {
			continue
		}
		p := ps[idx]
		idx++
		switch {
		case !strings.HasPrefix(p[0], "-") || p[0] == "-" || p[0] == "--":
			d.errorf(el.elems[0].path, "option %q must start with '-'", p[0])
			continue
		case strings.Contains(p[0], "=") && p[1] != "":
			d.errorf(el.elems[1].path, "option %q already has its value after '='; the second element must be empty", p[0])
			continue
		case strings.HasPrefix(p[1], "-"):
			d.errorf(el.elems[1].path, "value %q looks like an option; give each option its own pair", p[1])
			continue
		}
		if why := unmanagedOpt(p); why != "" {
			d.warnf(el.path, "option %s dropped: %s", strings.TrimSpace(p[0]+" "+p[1]), why)
			continue
		}
		out = append(out, p)
	}
	return out
}

func (d *decoder) links(n *node, r *RockOn) []Link {
	if !d.mapOf(n, "container_links") {
		return nil
	}
	var out []Link
	networks := map[string]string{}
	for i, target := range n.keys {
		v := n.vals[i]
		if _, ok := r.Container(target); !ok {
			d.errorf(v.path, "link target %q names no container of this rock-on", target)
		}
		if v.kind != kindArray {
			d.errorf(v.path, "must be an array of {name, source_container} objects, got %s", describe(v))
			continue
		}
		for _, el := range v.elems {
			l := Link{Target: target}
			if !d.object(el, "a link", map[string]func(*node){
				"name":             func(x *node) { l.Network = d.text(x, false) },
				"source_container": func(x *node) { l.Source = d.text(x, false) },
			}) {
				continue
			}
			d.require(el, "name", "source_container")
			if x := el.get("name"); x != nil && x.kind == kindString {
				if msg := checkEngineName(l.Network); msg != "" {
					d.errorf(x.path, "network name %q %s", l.Network, msg)
				} else if prev, dup := networks[l.Network]; dup {
					d.errorf(x.path, "network %q already defined at %s", l.Network, prev)
				} else {
					networks[l.Network] = x.path
				}
			}
			if x := el.get("source_container"); x != nil && x.kind == kindString {
				if _, ok := r.Container(l.Source); !ok {
					d.errorf(x.path, "link source %q names no container of this rock-on", l.Source)
				} else if l.Source == target {
					d.errorf(x.path, "a container cannot link to itself")
				}
			}
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target < out[j].Target
		}
		return out[i].Network < out[j].Network
	})
	return out
}

// crossChecks are checks between containers of one rock-on.
func (d *decoder) crossChecks(r *RockOn, containers *node) {
	if containers == nil || containers.kind != kindObject {
		return
	}
	for _, c := range r.Containers {
		cn := containers.get(c.Name)
		for _, o := range c.Opts {
			flag, val, hasEq := strings.Cut(o[0], "=")
			if !hasEq {
				val = o[1]
			}
			if flag == "--volumes-from" {
				from, _, _ := strings.Cut(val, ":")
				if _, ok := r.Container(from); !ok && cn != nil {
					d.warnf(childPath(cn.path, "opts"), "--volumes-from %q names no container of this rock-on", from)
				}
			}
		}
	}
}

// String is a short description for logs: "Immich (immich.json)".
func (r *RockOn) String() string {
	if r.File == "" {
		return r.Name
	}
	return fmt.Sprintf("%s (%s)", r.Name, r.File)
}
