package daemon

import (
	"net"
	"testing"

	godbus "github.com/godbus/dbus/v5"

	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

func TestContainerState(t *testing.T) {
	for _, c := range []struct {
		active, sub, want string
	}{
		{"active", "running", "running"},
		{"active", "exited", "exited"},
		{"activating", "start", "starting"},
		{"activating", "auto-restart", "restarting"},
		{"deactivating", "stop-sigterm", "stopping"},
		{"failed", "failed", "failed"},
		{"inactive", "dead", "stopped"},
		{"maintenance", "", "unknown"},
	} {
		if got := containerState(unitInfo{ActiveState: c.active, SubState: c.sub}, true); got != c.want {
			t.Errorf("%s/%s = %s, want %s", c.active, c.sub, got, c.want)
		}
	}
	if got := containerState(unitInfo{}, false); got != "unknown" {
		t.Errorf("unknown unit = %s", got)
	}
}

func TestRockOnState(t *testing.T) {
	res := &unitgen.Result{Target: "rockon-x.target", Containers: []unitgen.ContainerUnit{
		{Name: "a", Unit: "rockon-x-a.service"}, {Name: "b", Unit: "rockon-x-b.service"}, {Name: "d", Unit: "rockon-x-d.service", Data: true},
	}}
	run := unitInfo{ActiveState: "active", SubState: "running"}
	dead := unitInfo{ActiveState: "inactive", SubState: "dead"}
	failed := unitInfo{ActiveState: "failed", SubState: "failed"}
	restarting := unitInfo{ActiveState: "activating", SubState: "auto-restart"}
	for _, c := range []struct {
		name    string
		desired state.Desired
		phase   state.Phase
		busy    model.OpKind
		a, b    unitInfo
		want    string
	}{
		{"all running", state.DesiredOn, state.PhaseInstalled, "", run, run, "running"},
		{"one down", state.DesiredOn, state.PhaseInstalled, "", run, failed, "degraded"},
		{"one restarting", state.DesiredOn, state.PhaseInstalled, "", run, restarting, "degraded"},
		{"all failed", state.DesiredOn, state.PhaseInstalled, "", failed, failed, "failed"},
		{"restarting only", state.DesiredOn, state.PhaseInstalled, "", restarting, dead, "starting"},
		{"off", state.DesiredOff, state.PhaseInstalled, "", dead, dead, "stopped"},
		{"off after failure", state.DesiredOff, state.PhaseInstalled, "", failed, dead, "stopped"},
		{"installing", state.DesiredOff, state.PhaseInstalling, "", dead, dead, "installing"},
		{"busy updating", state.DesiredOn, state.PhaseInstalled, "update", run, run, "updating"},
	} {
		m := &Manager{busy: map[string]model.OpKind{}, results: map[string]*unitgen.Result{"x": res},
			units: map[string]unitInfo{"rockon-x-a.service": c.a, "rockon-x-b.service": c.b}}
		if c.busy != "" {
			m.busy["x"] = c.busy
		}
		in := &state.Installed{Name: "X", Desired: c.desired, Phase: c.phase}
		if got := m.stateLocked("x", in); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestListeningPorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if !listeningPorts().Has("tcp", port) {
		t.Errorf("listener on %d not seen", port)
	}
	ln.Close()
	if listeningPorts().Has("tcp", port) {
		t.Errorf("closed listener on %d still seen", port)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if !listeningPorts().Has("udp", pc.LocalAddr().(*net.UDPAddr).Port) {
		t.Errorf("udp socket not seen")
	}
}

func TestRedact(t *testing.T) {
	in := &state.Installed{Choices: model.Choices{
		Containers:   map[string]model.ContainerChoices{"db": {Env: map[string]string{"PASSWORD": "hunter2", "PASSWORD_LONG": "hunter2hunter2", "N": "1"}}},
		CustomConfig: map[string]string{"token": "s3cr3t"},
	}}
	got := redact("login failed for hunter2hunter2 and hunter2 with s3cr3t; 1 attempt", secretValues(in))
	want := "login failed for [redacted] and [redacted] with [redacted]; 1 attempt"
	if got != want {
		t.Errorf("redact = %q, want %q", got, want)
	}
}

func TestUnitFromPath(t *testing.T) {
	for p, want := range map[string]string{
		"/org/freedesktop/systemd1/unit/rockon_2drockon_2dtest_2etarget": "rockon-rockon-test.target",
		"/org/freedesktop/systemd1/unit/dbus_2eservice":                  "dbus.service",
		"/org/freedesktop/systemd1/job/12":                               "",
	} {
		if got := unitFromPath(godbus.ObjectPath(p)); got != want {
			t.Errorf("unitFromPath(%s) = %q, want %q", p, got, want)
		}
	}
}
