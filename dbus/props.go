package dbus

import (
	"reflect"
	"sort"
	"sync"

	godbus "github.com/godbus/dbus/v5"
)

// propObject implements org.freedesktop.DBus.Properties for one
// interface of one object: read-only values that emit PropertiesChanged
// with the changed ones only.
type propObject struct {
	conn  *godbus.Conn
	path  godbus.ObjectPath
	iface string

	mu     sync.RWMutex
	values map[string]any
}

// fields flattens a struct's exported fields into name -> value.
func fields(v any) map[string]any {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	m := make(map[string]any, rt.NumField())
	for i := 0; i < rt.NumField(); i++ {
		if rt.Field(i).IsExported() {
			m[rt.Field(i).Name] = normalize(rv.Field(i).Interface())
		}
	}
	return m
}

// normalize turns nil slices into empty ones so that a value always has the
// same D-Bus signature.
func normalize(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice && rv.IsNil() {
		return reflect.MakeSlice(rv.Type(), 0, 0).Interface()
	}
	return v
}

func newPropObject(conn *godbus.Conn, path godbus.ObjectPath, iface string, initial any) *propObject {
	return &propObject{conn: conn, path: path, iface: iface, values: fields(initial)}
}

// update sets the values of v's fields and emits the changed ones.
func (p *propObject) update(v any) {
	changed := map[string]godbus.Variant{}
	p.mu.Lock()
	for k, nv := range fields(v) {
		if !reflect.DeepEqual(p.values[k], nv) {
			p.values[k] = nv
			changed[k] = godbus.MakeVariant(nv)
		}
	}
	p.mu.Unlock()
	if len(changed) > 0 && p.conn != nil {
		_ = p.conn.Emit(p.path, "org.freedesktop.DBus.Properties.PropertiesChanged", p.iface, changed, []string{})
	}
}

func (p *propObject) Get(iface, name string) (godbus.Variant, *godbus.Error) {
	if iface != p.iface && iface != "" {
		return godbus.Variant{}, godbus.NewError("org.freedesktop.DBus.Error.UnknownInterface", []any{"unknown interface " + iface})
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	v, ok := p.values[name]
	if !ok {
		return godbus.Variant{}, godbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{"unknown property " + name})
	}
	return godbus.MakeVariant(v), nil
}

func (p *propObject) GetAll(iface string) (map[string]godbus.Variant, *godbus.Error) {
	if iface != p.iface && iface != "" {
		return map[string]godbus.Variant{}, nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	m := make(map[string]godbus.Variant, len(p.values))
	for k, v := range p.values {
		m[k] = godbus.MakeVariant(v)
	}
	return m, nil
}

func (p *propObject) Set(iface, name string, _ godbus.Variant) *godbus.Error {
	return godbus.NewError("org.freedesktop.DBus.Error.PropertyReadOnly", []any{"property " + name + " is read-only"})
}

// propIntrospection describes the properties of struct type v.
func propIntrospection(v any) []propDesc {
	m := fields(v)
	out := make([]propDesc, 0, len(m))
	for k, val := range m {
		out = append(out, propDesc{Name: k, Type: godbus.SignatureOf(val).String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type propDesc struct{ Name, Type string }
