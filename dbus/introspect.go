package dbus

import (
	"encoding/xml"
	"reflect"
	"sort"
	"strings"

	godbus "github.com/godbus/dbus/v5"
)

// methodDesc names a method's arguments; their types come from the Go
// method by reflection, so the introspection data cannot drift from the
// code.
type methodDesc struct {
	Name     string
	In, Out  []string
	Doc      string
	Action   string // polkit action needed, "" for reads
	receiver any
}

type signalDesc struct {
	Name string
	Args []string // "name type"
}

type ifaceDesc struct {
	Name    string
	Methods []methodDesc
	Signals []signalDesc
	Props   []propDesc
}

var (
	senderType  = reflect.TypeOf(godbus.Sender(""))
	messageType = reflect.TypeOf(godbus.Message{})
	errorType   = reflect.TypeOf(&godbus.Error{})
)

type xmlArg struct {
	Name      string `xml:"name,attr,omitempty"`
	Type      string `xml:"type,attr"`
	Direction string `xml:"direction,attr,omitempty"`
}

type xmlAnnotation struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xmlMethod struct {
	Name        string          `xml:"name,attr"`
	Args        []xmlArg        `xml:"arg"`
	Annotations []xmlAnnotation `xml:"annotation"`
}

type xmlSignal struct {
	Name string   `xml:"name,attr"`
	Args []xmlArg `xml:"arg"`
}

type xmlProp struct {
	Name        string          `xml:"name,attr"`
	Type        string          `xml:"type,attr"`
	Access      string          `xml:"access,attr"`
	Annotations []xmlAnnotation `xml:"annotation"`
}

type xmlIface struct {
	Name       string      `xml:"name,attr"`
	Methods    []xmlMethod `xml:"method"`
	Signals    []xmlSignal `xml:"signal"`
	Properties []xmlProp   `xml:"property"`
}

type xmlChild struct {
	Name string `xml:"name,attr"`
}

type xmlNode struct {
	XMLName    xml.Name   `xml:"node"`
	Interfaces []xmlIface `xml:"interface"`
	Children   []xmlChild `xml:"node"`
}

const standardInterfaces = `<interface name="org.freedesktop.DBus.Peer"><method name="Ping"/><method name="GetMachineId"><arg name="machine_uuid" type="s" direction="out"/></method></interface>` +
	`<interface name="org.freedesktop.DBus.Introspectable"><method name="Introspect"><arg name="xml_data" type="s" direction="out"/></method></interface>` +
	`<interface name="org.freedesktop.DBus.Properties"><method name="Get"><arg name="interface_name" type="s" direction="in"/><arg name="property_name" type="s" direction="in"/><arg name="value" type="v" direction="out"/></method>` +
	`<method name="GetAll"><arg name="interface_name" type="s" direction="in"/><arg name="props" type="a{sv}" direction="out"/></method>` +
	`<method name="Set"><arg name="interface_name" type="s" direction="in"/><arg name="property_name" type="s" direction="in"/><arg name="value" type="v" direction="in"/></method>` +
	`<signal name="PropertiesChanged"><arg type="s" name="interface_name"/><arg type="a{sv}" name="changed_properties"/><arg type="as" name="invalidated_properties"/></signal></interface>`

// introspectXML renders one object's introspection data.
func introspectXML(ifaces []ifaceDesc, children []string) string {
	var n xmlNode
	for _, d := range ifaces {
		xi := xmlIface{Name: d.Name}
		for _, m := range d.Methods {
			xi.Methods = append(xi.Methods, methodXML(m))
		}
		for _, s := range d.Signals {
			xs := xmlSignal{Name: s.Name}
			for _, a := range s.Args {
				name, typ, _ := strings.Cut(a, " ")
				xs.Args = append(xs.Args, xmlArg{Name: name, Type: typ})
			}
			xi.Signals = append(xi.Signals, xs)
		}
		for _, p := range d.Props {
			xi.Properties = append(xi.Properties, xmlProp{Name: p.Name, Type: p.Type, Access: "read",
				Annotations: []xmlAnnotation{{"org.freedesktop.DBus.Property.EmitsChangedSignal", "true"}}})
		}
		n.Interfaces = append(n.Interfaces, xi)
	}
	sort.Strings(children)
	for _, c := range children {
		n.Children = append(n.Children, xmlChild{Name: c})
	}
	b, err := xml.Marshal(n)
	if err != nil {
		panic(err) // the structures above always marshal
	}
	s := string(b)
	// the standard interfaces go inside the node element
	i := strings.Index(s, ">")
	s = s[:i+1] + standardInterfaces + s[i+1:]
	return `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">` + "\n" + s
}

func methodXML(m methodDesc) xmlMethod {
	xm := xmlMethod{Name: m.Name}
	mv, ok := reflect.TypeOf(m.receiver).MethodByName(m.Name)
	if !ok {
		panic("dbus: no Go method for " + m.Name)
	}
	t := mv.Type
	in := 0
	for i := 1; i < t.NumIn(); i++ {
		if t.In(i) == senderType || t.In(i) == messageType {
			continue
		}
		xm.Args = append(xm.Args, xmlArg{Name: m.In[in], Type: godbus.SignatureOfType(t.In(i)).String(), Direction: "in"})
		in++
	}
	out := 0
	for i := 0; i < t.NumOut(); i++ {
		if t.Out(i) == errorType {
			continue
		}
		xm.Args = append(xm.Args, xmlArg{Name: m.Out[out], Type: godbus.SignatureOfType(t.Out(i)).String(), Direction: "out"})
		out++
	}
	if in != len(m.In) || out != len(m.Out) {
		panic("dbus: argument names do not match the Go method " + m.Name)
	}
	return xm
}

// introspectable serves one object's Introspect; children are computed at
// call time.
type introspectable struct {
	ifaces   []ifaceDesc
	children func() []string
}

func (i introspectable) Introspect() (string, *godbus.Error) {
	var ch []string
	if i.children != nil {
		ch = i.children()
	}
	return introspectXML(i.ifaces, ch), nil
}
