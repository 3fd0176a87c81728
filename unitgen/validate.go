package unitgen

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// ChoicesError lists everything wrong with a set of choices, so that a user
// fixes them all at once.
type ChoicesError struct {
	Problems []string
}

func (e *ChoicesError) Error() string {
	return "invalid choices: " + strings.Join(e.Problems, "; ")
}

var (
	envKeyRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	engineNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
)

// maxEngineName bounds engine object names (containers, networks): what
// docker and podman accept. Checked apart from engineNameRE: as {0,127}
// the expression compiled to 127 copies of its class at every start of
// the CLI.
const maxEngineName = 128

func validEngineName(s string) bool { return len(s) <= maxEngineName && engineNameRE.MatchString(s) }

// maxValueLen bounds env values: the engines read env files with a
// 64 KiB line buffer.
const maxValueLen = 32 << 10

// forbiddenHostDirs may never be a volume's host path, nor hold one: a
// container writing there owns the host. The daemon also resolves symlinks
// on disk (a share that is a symlink to /etc); unitgen cannot, being pure.
var forbiddenHostDirs = []string{"/etc", "/proc", "/sys", "/dev", "/boot", "/run", "/var/run",
	"/var/lib/docker", "/var/lib/containers", "/var/lib/rockon"}

// EnvName is the variable name a definition's environment key gives the
// container: the key itself, minus one leading "$" (a slip some
// definitions make, e.g. "$DBOX_SKIP_UPDATE", which Rockstor passed
// literally and the image never read). Choices use the definition's key.
func EnvName(key string) string {
	return strings.TrimPrefix(key, "$")
}

// checkText refuses what cannot travel in an env file or a unit line.
func checkText(v string) string {
	switch {
	case strings.IndexByte(v, 0) >= 0:
		return "contains a NUL byte"
	case strings.ContainsAny(v, "\n\r"):
		return "contains a line break"
	case !utf8.ValidString(v):
		return "is not valid UTF-8"
	case len(v) > maxValueLen:
		return fmt.Sprintf("is longer than %d bytes", maxValueLen)
	}
	return ""
}

// checkPathChars refuses characters that the engines' -v syntax or a unit
// line cannot carry in a path.
func checkPathChars(p string) string {
	if !utf8.ValidString(p) {
		return "is not valid UTF-8"
	}
	for _, r := range p {
		switch {
		case r < 0x20 || r == 0x7f:
			return "contains a control character"
		case r == ':' || r == ',':
			return fmt.Sprintf("contains %q, which the engines' volume syntax cannot carry", r)
		}
	}
	return ""
}

// checkHostPath validates an absolute host path for a volume.
func checkHostPath(p string) string {
	if why := checkPathChars(p); why != "" {
		return why
	}
	switch {
	case !strings.HasPrefix(p, "/"):
		return "is not an absolute path"
	case slices.Contains(strings.Split(p, "/"), ".."):
		return `contains ".."`
	case path.Clean(p) != p:
		return "is not a clean path (no //, /./ or trailing /)"
	case p == "/":
		return "is the root directory"
	case isEngineSocket(p):
		return "is a container engine's API socket"
	}
	for _, d := range forbiddenHostDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return fmt.Sprintf("is in %s", d)
		}
	}
	return ""
}

// HostPath resolves a volume choice: an absolute path is used as it is, a
// share name (no slash) is a directory under sharesRoot.
func HostPath(choice, sharesRoot string) (string, error) {
	if choice == "" {
		return "", fmt.Errorf("empty")
	}
	if !strings.Contains(choice, "/") {
		if choice == "." || choice == ".." {
			return "", fmt.Errorf("%q is not a share name", choice)
		}
		if why := checkPathChars(choice); why != "" {
			return "", fmt.Errorf("share name %q %s", choice, why)
		}
		choice = path.Join(sharesRoot, choice)
	}
	if why := checkHostPath(choice); why != "" {
		return "", fmt.Errorf("host path %q %s", choice, why)
	}
	return choice, nil
}

// portKey parses a model.Choices port key: "2283" or "53/udp".
func portKey(k string) (port int, proto string, ok bool) {
	num, proto, _ := strings.Cut(k, "/")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != num {
		return 0, "", false
	}
	if proto != "" && proto != "tcp" && proto != "udp" {
		return 0, "", false
	}
	if strings.Count(k, "/") > 1 {
		return 0, "", false
	}
	return n, proto, true
}

// Validate checks the choices against the definition: every name a choice
// uses must exist in the definition, every required value (volumes,
// environment, custom_config) must be given, every value must be safe to
// pass, and every consent the definition needs must be granted. All
// problems are reported together in a *ChoicesError.
func ValidateChoices(ch model.Choices, def *catalog.RockOn, opt Options) error {
	opt = opt.withDefaults()
	var probs, missing []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }

	for _, name := range sortedKeys(ch.Containers) {
		if _, ok := def.Container(name); !ok {
			bad("container %q is not in the definition", name)
		}
	}
	hostPorts := map[string]string{}
	for i := range def.Containers {
		c := &def.Containers[i]
		cc := ch.Containers[c.Name]
		where := fmt.Sprintf("container %q", c.Name)

		for _, k := range sortedKeys(cc.Ports) {
			n, proto, ok := portKey(k)
			if !ok {
				bad("%s: port %q is not a port number (optionally /tcp or /udp)", where, k)
				continue
			}
			found := false
			for _, p := range c.Ports {
				if p.ContainerPort == n && (proto == "" || slices.Contains(p.Protocols(), proto)) {
					found = true
				}
			}
			if !found {
				bad("%s: port %q is not in the definition", where, k)
			}
			if v := cc.Ports[k]; v < 0 || v > 65535 {
				bad("%s: host port %d for %q is outside 1-65535 (0 = not published)", where, v, k)
			}
		}
		for _, p := range resolvedPorts(c, cc) {
			if p.host > 65535 {
				continue
			}
			key := fmt.Sprintf("%d/%s", p.host, p.proto)
			use := fmt.Sprintf("%s port %d", where, p.container)
			if prev, dup := hostPorts[key]; dup {
				bad("host port %s is used twice: %s and %s", key, prev, use)
			}
			hostPorts[key] = use
		}

		for _, k := range sortedKeys(cc.Volumes) {
			known := slices.ContainsFunc(c.Volumes, func(v catalog.Volume) bool { return v.Path == k })
			if !known && !def.VolumeAddSupport {
				bad("%s: volume %q is not in the definition (and the rock-on takes no extra volumes)", where, k)
				continue
			}
			if !known {
				if why := checkPathChars(k); why != "" || !strings.HasPrefix(k, "/") || path.Clean(k) != k || k == "/" {
					bad("%s: extra volume's container path %q must be a clean absolute path without ':' or ','", where, k)
					continue
				}
			}
			if _, err := HostPath(cc.Volumes[k], opt.SharesRoot); err != nil {
				bad("%s: volume %q: %v", where, k, err)
			}
		}
		for _, v := range c.Volumes {
			if cc.Volumes[v.Path] == "" {
				missing = append(missing, fmt.Sprintf("%s volume %q (%s)", where, v.Path, v.Label))
			}
		}

		for _, k := range sortedKeys(cc.Env) {
			// A variable the definition does not list (TZ, PUID, ...;
			// rockstor-core #2138) is the user's own: the same rules
			// as a listed one, and a name the engines accept.
			if !slices.ContainsFunc(c.Env, func(e catalog.Env) bool { return e.Name == k }) && !envKeyRE.MatchString(k) {
				bad("%s: environment variable name %q is not valid ([A-Za-z_][A-Za-z0-9_]*)", where, k)
				continue
			}
			if why := checkText(cc.Env[k]); why != "" {
				bad("%s: environment variable %q: value %s", where, k, why)
			}
		}
		for _, e := range c.Env {
			if !envKeyRE.MatchString(EnvName(e.Name)) {
				bad("%s: environment variable name %q is not valid ([A-Za-z_][A-Za-z0-9_]*)", where, e.Name)
			}
			if cc.Env[e.Name] == "" && !e.Optional() {
				missing = append(missing, fmt.Sprintf("%s environment variable %s (%s)", where, e.Name, e.Label))
			}
		}

		for _, k := range sortedKeys(cc.Devices) {
			if !slices.ContainsFunc(c.Devices, func(d catalog.Device) bool { return d.Name == k }) {
				bad("%s: device %q is not in the definition", where, k)
				continue
			}
			if v := cc.Devices[k]; v != "" {
				if why := checkPathChars(v); why != "" {
					bad("%s: device %q: path %q %s", where, k, v, why)
				} else if !strings.HasPrefix(v, "/dev/") || path.Clean(v) != v || strings.Contains(v, "/../") {
					bad("%s: device %q: path %q is not a clean path under /dev/", where, k, v)
				} else if isHostDevices(v) {
					bad("%s: device %q: %s exposes host memory", where, k, v)
				}
			}
		}

		for _, k := range sortedKeys(cc.Labels) {
			if !validLabelKey(k) {
				bad("%s: label key %q must be non-empty text without '=', spaces or control characters", where, k)
			}
			if why := checkText(cc.Labels[k]); why != "" {
				bad("%s: label %q: value %s", where, k, why)
			}
		}
		if cc.Memory != "" {
			if _, err := memoryBytes(cc.Memory); err != nil {
				bad("%s: %v", where, err)
			}
		}
		if cc.CPUs != "" {
			if _, err := cpuQuota(cc.CPUs); err != nil {
				bad("%s: %v", where, err)
			}
		}
		for _, n := range cc.Networks {
			if !validEngineName(n) {
				bad("%s: network %q is not a valid network name", where, n)
			}
		}
	}

	for _, k := range sortedKeys(ch.CustomConfig) {
		if !slices.ContainsFunc(def.CustomConfig, func(f catalog.CustomField) bool { return f.Key == k }) {
			bad("custom_config %q is not in the definition", k)
			continue
		}
		if why := checkText(ch.CustomConfig[k]); why != "" {
			bad("custom_config %q: value %s", k, why)
		}
	}
	for _, f := range def.CustomConfig {
		if ch.CustomConfig[f.Key] == "" {
			missing = append(missing, fmt.Sprintf("custom_config %s (%s)", f.Key, f.Label))
		}
	}
	if len(missing) > 0 {
		probs = append(probs, "missing required values: "+strings.Join(missing, ", "))
	}

	need, optProbs := checkDefinitionOpts(def)
	probs = append(probs, optProbs...)
	var refused []string
	for _, t := range need {
		if !slices.Contains(ch.Consent, t) {
			refused = append(refused, t)
		}
	}
	if len(refused) > 0 {
		probs = append(probs, fmt.Sprintf("the definition needs consent for %s (add them to consent)", strings.Join(refused, ", ")))
	}
	if len(probs) > 0 {
		return &ChoicesError{Problems: probs}
	}
	return nil
}

// validLabelKey: docker refuses label keys with whitespace.
func validLabelKey(k string) bool {
	if k == "" || checkText(k) != "" {
		return false
	}
	for _, r := range k {
		if r == '=' || r < 0x20 || r == 0x7f || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
