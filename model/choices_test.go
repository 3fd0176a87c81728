package model

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	godbus "github.com/godbus/dbus/v5"
)

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Folding@home":           "foldingathome",
		"Netdata (official)":     "netdata-official",
		"Seafile v12":            "seafile-v12",
		"plex-linuxserver.io":    "plex-linuxserver-io",
		"Transmission - OpenVPN": "transmission-openvpn",
		"  --Äpfel & Birnen+ ":   "pfel-and-birnenplus",
		"2FAuth":                 "2fauth",
		"%%%":                    "",
		"Home Assistant":         "home-assistant",
		"  Plex--Server_2 ":      "plex-server-2",
		"Über":                   "ber",
		"a/../b":                 "a-b",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := CheckSlug("!!!"); err == nil {
		t.Error("CheckSlug accepted a name without letters")
	}
	if _, err := CheckSlug(strings.Repeat("a", MaxSlugLen+1)); err == nil {
		t.Error("CheckSlug accepted a too long name")
	}
	if s, err := CheckSlug("Immich"); err != nil || s != "immich" {
		t.Errorf("CheckSlug(Immich) = %q, %v", s, err)
	}
}

// sample has every field of the choices set, so that a field the codec
// forgets fails the round trips below.
func sample() Choices {
	return Choices{
		Containers: map[string]ContainerChoices{"web": {
			Ports:    map[string]int{"80": 8080, "53/udp": 0},
			Volumes:  map[string]string{"/data": "media"},
			Env:      map[string]string{"TZ": "Europe/Paris", "Q": "a \"quoted\"\nline"},
			Devices:  map[string]string{"GPU": "/dev/dri"},
			Labels:   map[string]string{"a.b": "c"},
			Networks: []string{"extra"},
			Memory:   "512M",
			CPUs:     "1.5",
		}},
		CustomConfig: map[string]string{"servername": "vpn.example"},
		Consent:      []string{"privileged"},
	}
}

func TestSampleSetsEveryField(t *testing.T) {
	for _, v := range []reflect.Value{reflect.ValueOf(sample()), reflect.ValueOf(sample().Containers["web"])} {
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).IsZero() {
				t.Errorf("sample leaves %s.%s unset", v.Type().Name(), v.Type().Field(i).Name)
			}
		}
	}
}

func TestDecodeChoices(t *testing.T) {
	ch, err := DecodeChoices([]byte("consent = [\"privileged\"]\n[containers.a.ports]\n80 = 8080\n[containers.a.env]\nK = \"v\"\n[custom_config]\ns = \"x\"\n"))
	if err != nil || ch.Containers["a"].Ports["80"] != 8080 || ch.Containers["a"].Env["K"] != "v" || ch.CustomConfig["s"] != "x" || ch.Consent[0] != "privileged" {
		t.Errorf("DecodeChoices = %+v, %v", ch, err)
	}
	_, err = DecodeChoices([]byte("[containers.a]\nport = 1\n[extra]\nx = 1\n"))
	if err == nil || !strings.Contains(err.Error(), `"containers.a.port"`) || !strings.Contains(err.Error(), `"extra`) {
		t.Errorf("unknown keys: err = %v", err)
	}
	enc, err := EncodeChoices(sample())
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeChoices(enc)
	if err != nil || !reflect.DeepEqual(back, sample()) {
		t.Errorf("round trip: %+v, %v\n%s", back, err, enc)
	}
}

func TestCanonical(t *testing.T) {
	ch := Choices{
		Containers:   map[string]ContainerChoices{"a": {Ports: map[string]int{}, Env: map[string]string{"K": "v"}, Networks: []string{}}},
		CustomConfig: map[string]string{},
		Consent:      []string{},
	}
	want := Choices{Containers: map[string]ContainerChoices{"a": {Env: map[string]string{"K": "v"}}}}
	if got := ch.Canonical(); !reflect.DeepEqual(got, want) {
		t.Errorf("Canonical = %#v", got)
	}
	if ch.Containers["a"].Ports == nil {
		t.Error("Canonical changed its argument")
	}
	if got := (Choices{Containers: map[string]ContainerChoices{}}).Canonical(); got.Containers != nil {
		t.Errorf("empty containers kept: %#v", got)
	}
}

func TestChoicesFromVariants(t *testing.T) {
	in := map[string]godbus.Variant{
		"containers": godbus.MakeVariant(map[string]map[string]godbus.Variant{
			"web": {
				"ports":    godbus.MakeVariant(map[string]uint32{"80": 8080, "53/udp": 0}),
				"volumes":  godbus.MakeVariant(map[string]string{"/data": "media"}),
				"env":      godbus.MakeVariant(map[string]string{"TZ": "Europe/Paris", "Q": "a \"quoted\"\nline"}),
				"devices":  godbus.MakeVariant(map[string]string{"GPU": "/dev/dri"}),
				"labels":   godbus.MakeVariant(map[string]string{"a.b": "c"}),
				"networks": godbus.MakeVariant([]string{"extra"}),
				"memory":   godbus.MakeVariant("512M"),
				"cpus":     godbus.MakeVariant("1.5"),
			},
		}),
		"custom_config": godbus.MakeVariant(map[string]string{"servername": "vpn.example"}),
		"consent":       godbus.MakeVariant([]string{"privileged"}),
	}
	got, err := ChoicesFromVariants(in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sample()) {
		t.Errorf("structured form decoded %+v\nwant %+v", got, sample())
	}
	text, err := EncodeChoices(sample())
	if err != nil {
		t.Fatal(err)
	}
	got, err = ChoicesFromVariants(map[string]godbus.Variant{"config": godbus.MakeVariant(string(text))})
	if err != nil || !reflect.DeepEqual(got, sample()) {
		t.Errorf("config form decoded %+v, %v", got, err)
	}
	got, err = ChoicesFromVariants(map[string]godbus.Variant{})
	if err != nil || !reflect.DeepEqual(got, Choices{}) {
		t.Errorf("no choices decoded %+v, %v", got, err)
	}
}

func TestChoicesFromVariantsRefused(t *testing.T) {
	for name, in := range map[string]map[string]godbus.Variant{
		"containers.web.ports must be a{su}": {"containers": godbus.MakeVariant(map[string]map[string]godbus.Variant{
			"web": {"ports": godbus.MakeVariant(map[string]string{"80": "8080"})}})},
		"containers.web.memory must be s": {"containers": godbus.MakeVariant(map[string]map[string]godbus.Variant{
			"web": {"memory": godbus.MakeVariant(uint32(1))}})},
		`"containers" must be a{sa{sv}}`: {"containers": godbus.MakeVariant(map[string]string{})},
		`"config"`:                       {"config": godbus.MakeVariant(uint32(1))},
		"not both":                       {"config": godbus.MakeVariant(""), "consent": godbus.MakeVariant([]string{})},
		`unknown key "colour" (known: config, containers, custom_config, consent)`: {"colour": godbus.MakeVariant("red")},
		`containers.web: unknown key "shell" (known: ports, volumes, env, devices, labels, networks, memory, cpus)`: {
			"containers": godbus.MakeVariant(map[string]map[string]godbus.Variant{"web": {"shell": godbus.MakeVariant("x")}})},
		`"consent" must be as`:             {"consent": godbus.MakeVariant("privileged")},
		`"custom_config" must be a{ss}`:    {"custom_config": godbus.MakeVariant([]string{"x"})},
		"more than":                        {"config": godbus.MakeVariant(strings.Repeat("#", MaxConfigSize+1))},
		`config: unknown keys "containers`: {"config": godbus.MakeVariant("[containers.a]\nport = 1\n")},
		"config: toml":                     {"config": godbus.MakeVariant("[[[")},
	} {
		_, err := ChoicesFromVariants(in)
		if !errors.Is(err, ErrInvalidArgs) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSettings: every string field of ContainerChoices is a setting whose
// tags give its flag's help (a new field without them fails here), and Set
// reaches exactly that field.
func TestSettings(t *testing.T) {
	got := Settings()
	var keys []string
	for _, s := range got {
		keys = append(keys, s.Key)
		if s.Arg == "" || !regexp.MustCompile(`\b`+regexp.QuoteMeta(s.Arg)+`\b`).MatchString(s.Usage) {
			t.Errorf("setting %q: tag arg %q must be a word of tag usage %q", s.Key, s.Arg, s.Usage)
		}
		var c ContainerChoices
		if !c.Set(s.Key, "v-"+s.Key) {
			t.Errorf("Set(%q) refused", s.Key)
		}
		enc, err := EncodeChoices(Choices{Containers: map[string]ContainerChoices{"c": c}})
		if err != nil || strings.Count(string(enc), "=") != 1 || !strings.Contains(string(enc), s.Key+` = "v-`+s.Key+`"`) {
			t.Errorf("Set(%q) wrote %q (%v)", s.Key, enc, err)
		}
	}
	if want := []string{"memory", "cpus"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("settings %v, want %v", keys, want)
	}
	if s := (Setting{Key: "shm_size"}); s.Flag() != "shm-size" {
		t.Errorf("flag of shm_size: %q", s.Flag())
	}
	var c ContainerChoices
	if c.Set("env", "x") || c.Set("nope", "x") {
		t.Error("Set accepted a key that is not a setting")
	}
}
