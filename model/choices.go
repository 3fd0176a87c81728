package model

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Choices are the user's install choices, the install-config file
// (INSTALL.toml) that `rockon install --config`, `rockon compile --config`
// and the daemon's Install method accept. Its shape mirrors the definition.
//
// The struct tags are the codec: the TOML keys of the file and the keys of
// the D-Bus a{sv} form (see FromVariants) are both taken from them, so a
// new field is declared here once and travels everywhere.
type Choices struct {
	Containers   map[string]ContainerChoices `toml:"containers,omitempty"`
	CustomConfig map[string]string           `toml:"custom_config,omitempty"`
	// Consent lists the risky privileges the user explicitly accepted
	// (e.g. "privileged", "cap-add:SYS_ADMIN", "docker-socket"); a
	// definition asking for one that is not listed is refused.
	Consent []string `toml:"consent,omitempty"`
}

// ContainerChoices are the choices for one container. Field types are
// limited to what the a{sv} form can carry: map[string]int (a{su}),
// map[string]string (a{ss}), []string (as) and string (s).
//
// A string field is a setting (see Settings): its `arg` and `usage` tags
// are its command-line flag's help, so a new one needs no code outside
// this struct to travel from the command line, the file and D-Bus to
// unitgen.
type ContainerChoices struct {
	// Ports maps a container port ("2283", or "53/udp" for one protocol of
	// a protocol-less port) to the host port; 0 means not published.
	Ports map[string]int `toml:"ports,omitempty"`
	// Volumes maps a container path to an absolute host path or a share
	// name (no slash) under the shares root. Paths not in the definition
	// are extra volumes, allowed when the rock-on has volume_add_support.
	Volumes map[string]string `toml:"volumes,omitempty"`
	Env     map[string]string `toml:"env,omitempty"`
	// Devices maps a device name of the definition to a host device path;
	// empty means not passed.
	Devices map[string]string `toml:"devices,omitempty"`
	Labels  map[string]string `toml:"labels,omitempty"`
	// Networks are extra engine networks the container joins.
	Networks []string `toml:"networks,omitempty"`
	// Memory limits the container's processes' memory (systemd's
	// MemoryMax=: "512M", "2G"); CPUs their CPU time, in CPUs ("1.5":
	// CPUQuota=150%). Empty: no limit.
	Memory string `toml:"memory,omitempty" arg:"SIZE" usage:"limit the memory of the containers' processes to SIZE (512M, 2G)"`
	CPUs   string `toml:"cpus,omitempty" arg:"N" usage:"limit the containers' CPU time to N CPUs (1.5)"`
}

// A Setting is a string field of ContainerChoices: one value for a
// container. The command line sets it with the flag --KEY (underscores as
// dashes), for every container or, written CONTAINER:VALUE, for one.
type Setting struct {
	Key   string // the field's key in the file and in the a{sv} form
	Arg   string // the value's name in the help, e.g. SIZE
	Usage string // the flag's help, naming Arg
}

// Flag is the setting's command-line flag, without the dashes.
func (s Setting) Flag() string { return strings.ReplaceAll(s.Key, "_", "-") }

// Settings lists the string fields of ContainerChoices, in declaration
// order, read from their tags.
func Settings() []Setting {
	t := reflect.TypeFor[ContainerChoices]()
	var out []Setting
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type.Kind() == reflect.String {
			out = append(out, Setting{Key: tagName(f), Arg: f.Tag.Get("arg"), Usage: f.Tag.Get("usage")})
		}
	}
	return out
}

// Set gives the setting key the value v; it reports false when key is not
// a setting.
func (c *ContainerChoices) Set(key, v string) bool {
	f, ok := fieldByKey(reflect.ValueOf(c).Elem(), key)
	if !ok || f.Kind() != reflect.String {
		return false
	}
	f.SetString(v)
	return true
}

// MaxConfigSize bounds an install config, as text or as D-Bus values: real
// ones are a few kilobytes; a huge one is refused before it is parsed.
const MaxConfigSize = 1 << 20

// DecodeChoices parses an install-config file (TOML). Keys that Choices
// does not have are errors naming them, so a typo never goes unnoticed.
// The result is canonical (see Canonical).
func DecodeChoices(data []byte) (Choices, error) {
	var ch Choices
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&ch)
	if err != nil {
		return Choices{}, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = strconv.Quote(k.String())
		}
		return Choices{}, fmt.Errorf("unknown keys %s", strings.Join(keys, ", "))
	}
	return ch.Canonical(), nil
}

// EncodeChoices writes choices as an install-config file.
func EncodeChoices(ch Choices) ([]byte, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(ch); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Canonical returns ch with "absent" given one representation: every empty
// map or list is nil. TOML cannot tell an empty table or array from a
// missing one once written with omitempty, and decoders differ on which
// they return, so stored and compared choices are canonical.
func (ch Choices) Canonical() Choices {
	out := Choices{CustomConfig: ch.CustomConfig, Consent: ch.Consent}
	if len(ch.Containers) > 0 {
		out.Containers = make(map[string]ContainerChoices, len(ch.Containers))
		for name, c := range ch.Containers {
			v := reflect.ValueOf(&c).Elem()
			for i := 0; i < v.NumField(); i++ {
				nilIfEmpty(v.Field(i))
			}
			out.Containers[name] = c
		}
	}
	v := reflect.ValueOf(&out).Elem()
	for i := 0; i < v.NumField(); i++ {
		nilIfEmpty(v.Field(i))
	}
	return out
}

func nilIfEmpty(f reflect.Value) {
	if (f.Kind() == reflect.Map || f.Kind() == reflect.Slice) && f.Len() == 0 {
		f.SetZero()
	}
}

// tagName is a field's key in both forms: its toml tag without options.
func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

// fieldKeys lists the keys of a struct type's fields, in declaration order.
func fieldKeys(t reflect.Type) []string {
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = tagName(t.Field(i))
	}
	return keys
}

// fieldByKey finds the field whose key is k.
func fieldByKey(v reflect.Value, k string) (reflect.Value, bool) {
	for i := 0; i < v.NumField(); i++ {
		if tagName(v.Type().Field(i)) == k {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}
