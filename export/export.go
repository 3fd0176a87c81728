// Package export turns an installed rock-on into Kubernetes or Compose
// YAML, for moving it off rockon: to a k3s cluster, to `podman kube play`
// or to docker compose / podman-compose.
//
// It is pure: from the definition and what unitgen.Compile decided for its
// containers (images, arguments, ports, volumes, environment, devices,
// networks, engine options) to YAML bytes and warnings. What the target
// cannot express (devices in a pod, privileges that need consent, the
// host's network, engine options without an equivalent) is left out, and
// each omission is both a comment at the top of the output and a warning.
//
// The YAML is built as a tree of gopkg.in/yaml.v3 nodes and written by its
// encoder, never by concatenating text: values come from an untrusted
// catalog and from the user, and must stay values (a newline, ": ", "#" or
// "---" inside one is quoted by the encoder). Comments are made of single
// printable lines (see comment).
package export

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/unitgen"
)

// Formats.
const (
	Kube    = "kube"
	Compose = "compose"
)

// Options change what is exported.
type Options struct {
	// PVC makes every host directory a PersistentVolumeClaim instead of a
	// hostPath volume (kube only).
	PVC bool
}

// Export writes the rock-on def, compiled into res, in format (Kube or
// Compose). The warnings are also the output's leading comment.
func Export(format string, def *catalog.RockOn, res *unitgen.Result, opt Options) ([]byte, []string, error) {
	switch format {
	case Kube:
		return kube(def, res, opt)
	case Compose:
		if opt.PVC {
			return nil, nil, fmt.Errorf("exporting %q: --pvc is for the kube format", def.Name)
		}
		return compose(def, res)
	}
	return nil, nil, fmt.Errorf("exporting %q: unknown format %q (kube or compose)", def.Name, format)
}

// notes collects what does not carry over, once each.
type notes struct{ list []string }

func (n *notes) add(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	for _, o := range n.list {
		if o == s {
			return
		}
	}
	n.list = append(n.list, s)
}

// comment makes one line of text safe for a YAML comment: anything that
// is not a printable character (line breaks of every kind, control
// characters) is written as a Go escape, so the comment cannot end early
// and start a line of YAML.
func comment(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) || r == ' ' {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

// header is the leading comment of an export: where it comes from, and
// what does not carry over.
func header(def *catalog.RockOn, format string, warnings []string) string {
	lines := []string{
		fmt.Sprintf("%s of the rock-on %s %s, exported by rockon.", format, def.Name, def.Version),
		"It holds the rock-on's environment values, which may be secrets.",
	}
	if len(warnings) > 0 {
		lines = append(lines, "Not carried over:")
		for _, w := range warnings {
			lines = append(lines, "- "+w)
		}
	}
	for i, l := range lines {
		lines[i] = comment(l)
	}
	return strings.Join(lines, "\n")
}

// Node building: every scalar is a yaml.Node the encoder quotes as its
// content needs.

func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if numberLike(s) {
		// a YAML 1.1 parser (PyYAML, docker-compose's) reads 1000:10
		// as a base-60 number where a newer one sees a string
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// numberLike reports whether s starts as a number would.
func numberLike(s string) bool {
	if s != "" && strings.ContainsRune("+-.", rune(s[0])) {
		s = s[1:]
	}
	return s != "" && s[0] >= '0' && s[0] <= '9'
}

func num(i int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(i, 10)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// mapping builds a mapping from key, value pairs (keys are strings).
func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i < len(kv); i += 2 {
		set(m, kv[i].(string), kv[i+1].(*yaml.Node))
	}
	return m
}

func set(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, str(key), v)
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

func strs(l []string) *yaml.Node {
	s := seq()
	for _, v := range l {
		s.Content = append(s.Content, str(v))
	}
	return s
}

// encode writes documents, each with its head comment, separated by
// "---" lines.
func encode(docs []*yaml.Node, head string) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for i, d := range docs {
		doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{d}}
		if i == 0 {
			doc.HeadComment = head
		}
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// foldOpts returns a container's environment and published ports with the
// definition's --env and --publish engine options folded in, in the order
// the unit passes them, and the options left for the writer to map (an
// option of a form the target has no key for stays among them, so that it
// is noted as not carried over).
func foldOpts(r unitgen.Run) (env []unitgen.EnvVar, ports []unitgen.PublishedPort, rest []unitgen.Opt) {
	env = slices.Clone(r.Env)
	ports = slices.Clone(r.Ports)
	for _, o := range r.Opts {
		switch o.Flag {
		case "--env":
			if e, ok := envFromOpt(o.Value); ok {
				env = append(env, e)
				continue
			}
		case "--publish":
			if p, ok := publishFromOpt(o.Value); ok {
				ports = append(ports, p)
				continue
			}
		}
		rest = append(rest, o)
	}
	return env, ports, rest
}

// envFromOpts returns the KEY=VALUE of a definition's -e option.
func envFromOpt(v string) (unitgen.EnvVar, bool) {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return unitgen.EnvVar{}, false
	}
	return unitgen.EnvVar{Name: k, Value: val}, true
}

// publishFromOpt reads a definition's -p option of the form
// [ip:]host:container[/proto] (unitgen.ParsePublish); ok is false for other
// forms (ranges, a container port alone), which are not carried over.
func publishFromOpt(v string) (unitgen.PublishedPort, bool) {
	lo, hi, container, proto, ok := unitgen.ParsePublish(v)
	c, err := strconv.Atoi(container)
	if !ok || lo != hi || err != nil || lo < 1 || lo > 65535 || c < 1 || c > 65535 {
		return unitgen.PublishedPort{}, false
	}
	return unitgen.PublishedPort{Host: lo, Container: c, Protocol: proto}, true
}

// userIDs splits unitgen's -u value "uid[:gid]".
func userIDs(u string) (uid, gid int64, hasGID bool, err error) {
	us, gs, hasGID := strings.Cut(u, ":")
	if uid, err = strconv.ParseInt(us, 10, 64); err != nil {
		return 0, 0, false, err
	}
	if hasGID {
		if gid, err = strconv.ParseInt(gs, 10, 64); err != nil {
			return 0, 0, false, err
		}
	}
	return uid, gid, hasGID, nil
}

// label makes a DNS-1123 label (Kubernetes names) of at most 63
// characters from a slug.
func label(s string) string {
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}
