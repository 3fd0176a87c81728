package unitgen

import (
	"fmt"
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

func TestTakenPorts(t *testing.T) {
	def := &catalog.RockOn{Name: "Ports Test", Containers: []catalog.Container{
		{Name: "web", Image: "img", Tag: "1", LaunchOrder: 1, Ports: []catalog.Port{{ContainerPort: 80, HostDefault: 8080, Protocol: "tcp", UI: true}}},
		{Name: "dns", Image: "img", Tag: "1", LaunchOrder: 2, Ports: []catalog.Port{{ContainerPort: 53, HostDefault: 53}}},
		{Name: "raw", Image: "img", Tag: "1", LaunchOrder: 3, Opts: []catalog.Pair{{"-p", "9000-9001:9000/udp"}, {"--publish=127.0.0.1:9100:9100", ""}, {"-p", "9200"}}},
	}}
	ch := model.Choices{Containers: map[string]model.ContainerChoices{
		"web": {Ports: map[string]int{"80": 8081}},
		"dns": {Ports: map[string]int{"53/udp": 0, "53/tcp": 5353}},
	}}
	var got []string
	for _, p := range TakenPorts(def, ch) {
		got = append(got, fmt.Sprintf("%d/%s %s:%s def=%v", p.Port, p.Proto, p.Container, p.ContainerPort, p.DefPort != nil && p.DefPort.UI))
	}
	want := []string{
		"5353/tcp dns:53 def=false",
		"8081/tcp web:80 def=true",
		"9000/udp raw:9000 def=false",
		"9001/udp raw:9000 def=false",
		"9100/tcp raw:9100 def=false",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("TakenPorts =\n%q\nwant\n%q", got, want)
	}
	res, err := Compile(def, ch, SampleOptions(Podman))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Ports) != fmt.Sprint(TakenPorts(def, ch)) {
		t.Errorf("Compile's Ports %v, want TakenPorts' %v", res.Ports, TakenPorts(def, ch))
	}
}

func TestParsePublish(t *testing.T) {
	for v, want := range map[string]string{
		"8080:80":                "8080-8080 80 tcp true",
		"127.0.0.1:53:53/udp":    "53-53 53 udp true",
		"9000-9010:9000-9010":    "9000-9010 9000-9010 tcp true",
		"80":                     "0-0   false", // the engine picks the host port
		"8080:80/sctp":           "0-0   false",
		"9010-9000:80":           "0-0   false",
		"1-2000:80":              "0-0   false",
		"x:80":                   "0-0   false",
		"[::1]:8080:80":          "8080-8080 80 tcp true",
		"0.0.0.0:8443:443/tcp":   "8443-8443 443 tcp true",
		"127.0.0.1::80":          "0-0   false", // no host port: the engine picks one
		"127.0.0.1:7000-7001:70": "7000-7001 70 tcp true",
	} {
		lo, hi, c, proto, ok := ParsePublish(v)
		if got := fmt.Sprintf("%d-%d %s %s %v", lo, hi, c, proto, ok); got != want {
			t.Errorf("ParsePublish(%q) = %s, want %s", v, got, want)
		}
	}
}
