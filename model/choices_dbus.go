package model

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	godbus "github.com/godbus/dbus/v5"
)

// ChoicesFromVariants decodes the choices argument (a{sv}) of the D-Bus
// methods Install and Reconfigure. Two forms are accepted, not mixed:
//
//	"config"        s            the install-config TOML text itself
//
// or the same structure as D-Bus values, keyed as the file is:
//
//	"containers"    a{sa{sv}}    container -> {"ports": a{su} (container port -> host port),
//	                             "volumes": a{ss}, "env": a{ss}, "devices": a{ss},
//	                             "labels": a{ss}, "networks": as,
//	                             and each setting as s: "memory", "cpus", ...}
//	"custom_config" a{ss}
//	"consent"       as
//
// A ContainerChoices field of type map[string]int travels as a{su}; every
// other field as its own type. Every error wraps ErrInvalidArgs and names
// the key. The result is canonical.
func ChoicesFromVariants(in map[string]godbus.Variant) (Choices, error) {
	if v, ok := in["config"]; ok {
		if len(in) > 1 {
			return Choices{}, invalid(`choices: give either "config" or the structured keys, not both`)
		}
		s, ok := v.Value().(string)
		if !ok {
			return Choices{}, invalid(`choices: "config" must be a string (TOML text)`)
		}
		if len(s) > MaxConfigSize {
			return Choices{}, invalid(fmt.Sprintf(`choices: "config" is %d bytes, more than the %d an install config may have`, len(s), MaxConfigSize))
		}
		ch, err := DecodeChoices([]byte(s))
		if err != nil {
			return Choices{}, invalid("config: " + err.Error())
		}
		return ch, nil
	}
	var ch Choices
	if err := decodeVariants(reflect.ValueOf(&ch).Elem(), in, "choices"); err != nil {
		return Choices{}, err
	}
	return ch.Canonical(), nil
}

// decodeVariants fills the struct v from the a{sv} in; where names v in
// messages ("choices", "choices: containers.web").
func decodeVariants(v reflect.Value, in map[string]godbus.Variant, where string) error {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := fieldByKey(v, k)
		if !ok {
			known := fieldKeys(v.Type())
			if where == "choices" {
				known = append([]string{"config"}, known...)
			}
			return invalid(fmt.Sprintf("%s: unknown key %q (known: %s)", where, k, strings.Join(known, ", ")))
		}
		name := where + "." + k
		if where == "choices" {
			name = fmt.Sprintf("choices: %q", k)
		}
		if err := setVariant(f, in[k].Value(), name); err != nil {
			return err
		}
	}
	return nil
}

var (
	intMap     = reflect.TypeFor[map[string]int]()
	variantMap = reflect.TypeFor[map[string]godbus.Variant]()
)

// wireType is the Go type godbus gives for the D-Bus form of a field of
// type t.
func wireType(t reflect.Type) reflect.Type {
	switch {
	case t == intMap:
		return reflect.TypeFor[map[string]uint32]()
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct:
		return reflect.MapOf(t.Key(), variantMap)
	}
	return t
}

func setVariant(f reflect.Value, val any, name string) error {
	wt := wireType(f.Type())
	if reflect.TypeOf(val) != wt {
		msg := fmt.Sprintf("%s must be %s", name, godbus.SignatureOfType(wt))
		if f.Type() == intMap {
			msg += " (container port -> host port)"
		}
		return invalid(msg)
	}
	switch {
	case f.Type() == intMap:
		m := make(map[string]int, len(val.(map[string]uint32)))
		for k, p := range val.(map[string]uint32) {
			m[k] = int(p)
		}
		f.Set(reflect.ValueOf(m))
	case wt != f.Type(): // a map of structs: containers
		src := reflect.ValueOf(val)
		m := reflect.MakeMapWithSize(f.Type(), src.Len())
		keys := src.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			elem := reflect.New(f.Type().Elem()).Elem()
			where := strings.ReplaceAll(name, `"`, "") + "." + k.String()
			if err := decodeVariants(elem, src.MapIndex(k).Interface().(map[string]godbus.Variant), where); err != nil {
				return err
			}
			m.SetMapIndex(k, elem)
		}
		f.Set(m)
	default:
		f.Set(reflect.ValueOf(val))
	}
	return nil
}

func invalid(msg string) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgs, msg)
}
