package dbus

import (
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	godbus "github.com/godbus/dbus/v5"
	"github.com/rockon/rockon/unitgen"
)

func TestChoicesStructured(t *testing.T) {
	in := map[string]godbus.Variant{
		"containers": godbus.MakeVariant(map[string]map[string]godbus.Variant{
			"web": {
				"ports":    godbus.MakeVariant(map[string]uint32{"80": 8080, "53/udp": 0}),
				"volumes":  godbus.MakeVariant(map[string]string{"/data": "media"}),
				"env":      godbus.MakeVariant(map[string]string{"TZ": "Europe/Paris", "Q": "a \"quoted\"\nline"}),
				"networks": godbus.MakeVariant([]string{"extra"}),
			},
		}),
		"custom_config": godbus.MakeVariant(map[string]string{"servername": "vpn.example"}),
		"consent":       godbus.MakeVariant([]string{"privileged"}),
	}
	text, derr := choicesConfig(in)
	if derr != nil {
		t.Fatal(derr)
	}
	var got unitgen.Choices
	if _, err := toml.Decode(text, &got); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	want := unitgen.Choices{
		Containers: map[string]unitgen.ContainerChoices{"web": {
			Ports:    map[string]int{"80": 8080, "53/udp": 0},
			Volumes:  map[string]string{"/data": "media"},
			Env:      map[string]string{"TZ": "Europe/Paris", "Q": "a \"quoted\"\nline"},
			Networks: []string{"extra"},
		}},
		CustomConfig: map[string]string{"servername": "vpn.example"},
		Consent:      []string{"privileged"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v\nwant %+v\nfrom:\n%s", got, want, text)
	}
}

func TestChoicesRefused(t *testing.T) {
	for name, in := range map[string]map[string]godbus.Variant{
		"containers.web.ports": {"containers": godbus.MakeVariant(map[string]map[string]godbus.Variant{
			"web": {"ports": godbus.MakeVariant(map[string]string{"80": "8080"})}})},
		`"config"`:    {"config": godbus.MakeVariant(uint32(1))},
		"not both":    {"config": godbus.MakeVariant(""), "consent": godbus.MakeVariant([]string{})},
		`"colour"`:    {"colour": godbus.MakeVariant("red")},
		`"shell"`:     {"containers": godbus.MakeVariant(map[string]map[string]godbus.Variant{"web": {"shell": godbus.MakeVariant("x")}})},
		`"consent"`:   {"consent": godbus.MakeVariant("privileged")},
		"custom_conf": {"custom_config": godbus.MakeVariant([]string{"x"})},
		"more than":   {"config": godbus.MakeVariant(strings.Repeat("#", maxConfig+1))},
	} {
		_, derr := choicesConfig(in)
		if derr == nil || derr.Name != ErrorPrefix+"InvalidArgs" || !strings.Contains(derr.Error(), name) {
			t.Errorf("%s: %v", name, derr)
		}
	}
}
