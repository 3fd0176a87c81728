package catalog

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestListeningPortsFixture(t *testing.T) {
	// testdata/proc/net: tcp 0.0.0.0:8080 and 127.0.0.1:2283 listening,
	// 34189 in TIME_WAIT and 8081 established (not listening); tcp6 :::9000
	// listening; udp 0.0.0.0:53 bound and 1194 connected; no udp6 file.
	s, err := ListeningPorts(filepath.Join("testdata", "proc"))
	if err != nil {
		t.Fatal(err)
	}
	want := PortSet{}
	want.Add("tcp", 8080)
	want.Add("tcp", 2283)
	want.Add("tcp", 9000)
	want.Add("udp", 53)
	if !reflect.DeepEqual(s, want) {
		t.Errorf("ports = %v, want %v", s, want)
	}
	for _, c := range []struct {
		proto string
		port  int
		want  bool
	}{{"tcp", 8080, true}, {"udp", 8080, false}, {"udp", 53, true}, {"tcp", 53, false}, {"tcp", 34189, false}, {"udp", 1194, false}} {
		got, err := PortInUse(filepath.Join("testdata", "proc"), c.proto, c.port)
		if err != nil || got != c.want {
			t.Errorf("PortInUse(%s, %d) = %v, %v", c.proto, c.port, got, err)
		}
	}
	if _, err := PortInUse(filepath.Join("testdata", "proc"), "sctp", 1); err == nil {
		t.Error("sctp accepted")
	}
	if _, err := ListeningPorts(t.TempDir()); err == nil {
		t.Error("no tables: no error")
	}
	bad := t.TempDir()
	os.MkdirAll(filepath.Join(bad, "net"), 0o755)
	os.WriteFile(filepath.Join(bad, "net", "tcp"), []byte("header\n 0: 0100007F:XYZ 00000000:0000 0A\n"), 0o644)
	if _, err := ListeningPorts(bad); err == nil || !strings.Contains(err.Error(), "malformed port") {
		t.Errorf("malformed table: %v", err)
	}
}

func TestListeningPortsLive(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this system")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	tp := l.Addr().(*net.TCPAddr).Port
	up := u.LocalAddr().(*net.UDPAddr).Port
	if in, err := PortInUse("", "tcp", tp); err != nil || !in {
		t.Errorf("tcp %d listening: %v %v", tp, in, err)
	}
	if in, err := PortInUse("/proc", "udp", up); err != nil || !in {
		t.Errorf("udp %d bound: %v %v", up, in, err)
	}
	l.Close()
	if in, err := PortInUse("", "tcp", tp); err != nil || in {
		t.Errorf("tcp %d closed but in use: %v %v", tp, in, err)
	}
}

func TestDefaultHostPorts(t *testing.T) {
	def := &RockOn{Name: "App", Containers: []Container{
		{Name: "web", Ports: []Port{{ContainerPort: 80, HostDefault: 8080, Protocol: "tcp"}, {ContainerPort: 443, HostDefault: 8443, Protocol: "tcp"}}},
		{Name: "dns", Ports: []Port{{ContainerPort: 53, HostDefault: 53}}},
		{Name: "alt", Ports: []Port{{ContainerPort: 8080, HostDefault: 8080, Protocol: "tcp"}, {ContainerPort: 9, HostDefault: 65535, Protocol: "udp"}}},
	}}
	taken := PortSet{}
	taken.Add("tcp", 8443) // another rock-on
	taken.Add("tcp", 8444)
	taken.Add("udp", 65535)
	listening := PortSet{}
	listening.Add("tcp", 8080) // a host service
	listening.Add("udp", 54)   // 54 udp taken: a both-protocol port needs both free
	got := DefaultHostPorts(def, taken, listening)
	want := []PortDefault{
		{Container: "web", ContainerPort: 80, Protocol: "tcp", HostDefault: 8080, HostPort: 8081},
		{Container: "web", ContainerPort: 443, Protocol: "tcp", HostDefault: 8443, HostPort: 8445},
		{Container: "dns", ContainerPort: 53, Protocol: "", HostDefault: 53, HostPort: 53},
		// 8080 is listening and 8081 went to web.
		{Container: "alt", ContainerPort: 8080, Protocol: "tcp", HostDefault: 8080, HostPort: 8082},
		// 65535 taken: wraps to 1024.
		{Container: "alt", ContainerPort: 9, Protocol: "udp", HostDefault: 65535, HostPort: 1024},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got[0].Key() != "80" {
		t.Errorf("key %q", got[0].Key())
	}
	// A port without protocol skips ports where either protocol is taken.
	both := &RockOn{Containers: []Container{{Name: "x", Ports: []Port{{ContainerPort: 53, HostDefault: 54}}}}}
	if got := DefaultHostPorts(both, nil, listening); got[0].HostPort != 55 {
		t.Errorf("both-protocol port: %+v", got)
	}
	// Nothing free: 0.
	all := PortSet{}
	for p := 1024; p <= 65535; p++ {
		all.Add("tcp", p)
	}
	one := &RockOn{Containers: []Container{{Name: "x", Ports: []Port{{ContainerPort: 1, HostDefault: 2000, Protocol: "tcp"}}}}}
	if got := DefaultHostPorts(one, all, nil); got[0].HostPort != 0 {
		t.Errorf("full host: %+v", got)
	}
}

func TestCatalogHostDefaults(t *testing.T) {
	c, errs := LoadDir(filepath.Join("testdata", "registry"))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	s := c.HostDefaults("immich")
	if s.Has("tcp", 2283) {
		t.Error("immich's own port counted")
	}
	// jenkins 8080/tcp, openvpn 1194/udp, dashy 8080 both protocols.
	if !s.Has("tcp", 8080) || !s.Has("udp", 8080) || !s.Has("udp", 1194) || s.Has("tcp", 1194) {
		t.Errorf("set = %v", s)
	}
	immich, _ := c.Get("immich")
	got := DefaultHostPorts(immich, s, nil)
	if len(got) != 1 || got[0].HostPort != 2283 || got[0].Container != "immich-server" {
		t.Errorf("immich defaults = %+v", got)
	}
	dashy, _ := c.Get("dashy")
	if got := DefaultHostPorts(dashy, c.HostDefaults("dashy"), nil); got[0].HostPort != 8081 {
		t.Errorf("dashy defaults = %+v (jenkins has 8080)", got)
	}
}
