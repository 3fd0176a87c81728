package dbus

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"

	"github.com/BurntSushi/toml"
	godbus "github.com/godbus/dbus/v5"
)

// choicesConfig turns the choices argument of Install and Reconfigure into
// install-config TOML. Two forms are accepted, not mixed:
//
//	"config"        s            the install-config TOML text itself
//
// or the same structure as D-Bus values:
//
//	"containers"    a{sa{sv}}    container -> {"ports": a{su} (container port -> host port),
//	                             "volumes": a{ss}, "env": a{ss}, "devices": a{ss},
//	                             "labels": a{ss}, "networks": as,
//	                             "memory": s, "cpus": s}
//	"custom_config" a{ss}
//	"consent"       as
func choicesConfig(ch map[string]godbus.Variant) (string, *godbus.Error) {
	if v, ok := ch["config"]; ok {
		if len(ch) > 1 {
			return "", invalid(`choices: give either "config" or the structured keys, not both`)
		}
		s, ok := v.Value().(string)
		if !ok {
			return "", invalid(`choices: "config" must be a string (TOML text)`)
		}
		if len(s) > maxConfig {
			return "", invalid(fmt.Sprintf(`choices: "config" is %d bytes, more than the %d an install config may have`, len(s), maxConfig))
		}
		return s, nil
	}
	out := map[string]any{}
	for _, k := range sortedVariantKeys(ch) {
		v := ch[k].Value()
		switch k {
		case "containers":
			cs, ok := v.(map[string]map[string]godbus.Variant)
			if !ok {
				return "", invalid(`choices: "containers" must be a{sa{sv}}`)
			}
			containers := map[string]any{}
			for cname, fields := range cs {
				c, err := containerChoices(cname, fields)
				if err != nil {
					return "", err
				}
				containers[cname] = c
			}
			out["containers"] = containers
		case "custom_config":
			m, ok := v.(map[string]string)
			if !ok {
				return "", invalid(`choices: "custom_config" must be a{ss}`)
			}
			out["custom_config"] = m
		case "consent":
			l, ok := v.([]string)
			if !ok {
				return "", invalid(`choices: "consent" must be as`)
			}
			out["consent"] = l
		default:
			return "", invalid(fmt.Sprintf("choices: unknown key %q (known: config, containers, custom_config, consent)", k))
		}
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(out); err != nil {
		return "", invalid("choices: " + err.Error())
	}
	if b.Len() > maxConfig {
		return "", invalid(fmt.Sprintf("choices: %d bytes, more than the %d an install config may have", b.Len(), maxConfig))
	}
	return b.String(), nil
}

// maxConfig bounds the install-config text: real ones are a few
// kilobytes; a huge one is refused before it is parsed.
const maxConfig = 1 << 20

// choicesTooBig reports whether the choices argument carries more than an
// install config may hold, counting the bytes of every string in it. It is
// checked before anything else (authorization included, which waits for
// the bus): a caller's oversized message is let go at once, instead of
// being held while its caller is looked up.
func choicesTooBig(ch map[string]godbus.Variant) *godbus.Error {
	n := 0
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		if n > maxConfig || !v.IsValid() {
			return
		}
		switch v.Kind() {
		case reflect.String:
			n += v.Len()
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Key())
				walk(it.Value())
			}
		case reflect.Interface, reflect.Pointer:
			walk(v.Elem())
		case reflect.Struct:
			if vv, ok := v.Interface().(godbus.Variant); ok {
				walk(reflect.ValueOf(vv.Value()))
			}
		default:
			n += 8
		}
	}
	walk(reflect.ValueOf(ch))
	if n > maxConfig {
		return invalid(fmt.Sprintf("choices: more than the %d bytes an install config may have", maxConfig))
	}
	return nil
}

func containerChoices(cname string, fields map[string]godbus.Variant) (map[string]any, *godbus.Error) {
	c := map[string]any{}
	for _, f := range sortedVariantKeys(fields) {
		v := fields[f].Value()
		where := fmt.Sprintf("choices: containers.%s.%s", cname, f)
		switch f {
		case "ports":
			m, ok := v.(map[string]uint32)
			if !ok {
				return nil, invalid(where + " must be a{su} (container port -> host port)")
			}
			ports := map[string]int64{}
			for k, p := range m {
				ports[k] = int64(p)
			}
			c[f] = ports
		case "volumes", "env", "devices", "labels":
			m, ok := v.(map[string]string)
			if !ok {
				return nil, invalid(where + " must be a{ss}")
			}
			c[f] = m
		case "networks":
			l, ok := v.([]string)
			if !ok {
				return nil, invalid(where + " must be as")
			}
			c[f] = l
		case "memory", "cpus":
			s, ok := v.(string)
			if !ok {
				return nil, invalid(where + " must be s")
			}
			c[f] = s
		default:
			return nil, invalid(fmt.Sprintf("choices: containers.%s: unknown key %q (known: ports, volumes, env, devices, labels, networks, memory, cpus)", cname, f))
		}
	}
	return c, nil
}

func invalid(msg string) *godbus.Error {
	return toDBusError(fmt.Errorf("%w: %s", ErrInvalidArgs, msg))
}

func sortedVariantKeys(m map[string]godbus.Variant) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
