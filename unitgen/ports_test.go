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
