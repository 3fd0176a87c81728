package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	godbus "github.com/godbus/dbus/v5"
	"github.com/rockon/rockon/catalog"
	api "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/sandbox"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

const benchDef = `{"Bench %[1]d": {"description": "d", "version": "1.%[1]d", "website": "https://example.org/",
 "containers": {"b%[1]d-web": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
   "ports": {"8080": {"description": "p", "label": "p", "host_default": %[2]d, "protocol": "tcp", "ui": true}},
   "environment": {"GREETING": {"description": "g", "label": "g"}}},
  "b%[1]d-api": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 2}}}}`

// benchManager is a Manager holding n installed rock-ons whose units are
// all running, without systemd (the state systemd's signals would give).
func benchManager(b *testing.B, n int) *Manager {
	cfg := state.DefaultConfig()
	m := &Manager{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		installed: map[string]*state.Installed{}, busy: map[string]model.OpKind{}, units: map[string]unitInfo{},
		logs: map[string]string{}, results: map[string]*unitgen.Result{}}
	var all []*catalog.RockOn
	for i := 0; i < n; i++ {
		raw := []byte(fmt.Sprintf(benchDef, i, 20000+i))
		defs, err := catalog.Decode("bench.json", raw)
		if err != nil {
			b.Fatal(err)
		}
		def := defs[0]
		ch := model.Choices{Containers: map[string]model.ContainerChoices{
			fmt.Sprintf("b%d-web", i): {Env: map[string]string{"GREETING": "hello"}}}}
		res, err := unitgen.Compile(def, ch, unitgen.Options{Host: cfg.Host()})
		if err != nil {
			b.Fatal(err)
		}
		slug := model.Slug(def.Name)
		all = append(all, def)
		m.installed[slug] = &state.Installed{Name: def.Name, Phase: state.PhaseInstalled, Desired: state.DesiredOn,
			Definition: raw, Choices: ch, Units: generated(res.Units)}
		m.results[slug] = res
		for _, c := range res.Containers {
			m.units[c.Unit] = unitInfo{Name: c.Unit, LoadState: "loaded", ActiveState: "active", SubState: "running"}
		}
	}
	m.catalog = catalog.FromDefs(all)
	return m
}

func BenchmarkList200(b *testing.B) {
	m := benchManager(b, 200)
	b.ResetTimer()
	for b.Loop() {
		if l := m.List(true); len(l) != 200 {
			b.Fatal(len(l))
		}
	}
}

func BenchmarkSnapshot200(b *testing.B) {
	m := benchManager(b, 200)
	b.ResetTimer()
	for b.Loop() {
		if s := m.Snapshot(); len(s.RockOns) != 200 {
			b.Fatal(len(s.RockOns))
		}
	}
}

func BenchmarkProperties(b *testing.B) {
	m := benchManager(b, 200)
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Properties("Bench 100"); err != nil {
			b.Fatal(err)
		}
	}
}

// serveOverDBus exports m on a private dbus-daemon and returns a client
// connected to it.
func serveOverDBus(b *testing.B, m *Manager) *api.Client {
	addr := sandbox.PrivateBus(b)
	conn, err := godbus.Connect(addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	if _, err := api.NewServer(ctx, conn, m, nil, m.log); err != nil {
		b.Fatal(err)
	}
	if err := api.RequestName(conn, api.BusName); err != nil {
		b.Fatal(err)
	}
	c, err := api.Dial(context.Background(), addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkListOverDBus200 is what `rockon list --installed` waits for: a
// ListRockOns round trip through a real dbus-daemon with 200 installed.
func BenchmarkListOverDBus200(b *testing.B) {
	c := serveOverDBus(b, benchManager(b, 200))
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if l, err := c.List(ctx, true); err != nil || len(l) != 200 {
			b.Fatal(len(l), err)
		}
	}
}

// BenchmarkStatusAllOverDBus1000 is what `rockon status` (all) waits for
// with 1,000 installed rock-ons of two containers each, through a real
// dbus-daemon, the server's and the client's work both counted: the
// flat ListStatuses (what the CLI calls, decoded into its structures)
// against the ObjectManager's GetManagedObjects (what it called before;
// here only decoded into maps of variants, which the CLI then copied into
// its structures).
func BenchmarkStatusAllOverDBus1000(b *testing.B) {
	const n = 1000
	c := serveOverDBus(b, benchManager(b, n))
	ctx := context.Background()
	b.Run("ListStatuses", func(b *testing.B) {
		for b.Loop() {
			if l, err := c.Statuses(ctx, true); err != nil || len(l) != n {
				b.Fatal(len(l), err)
			}
		}
	})
	b.Run("GetManagedObjects", func(b *testing.B) {
		for b.Loop() {
			var objs map[godbus.ObjectPath]map[string]map[string]godbus.Variant
			if err := c.Conn().Object(api.BusName, api.ManagerPath).CallWithContext(ctx,
				"org.freedesktop.DBus.ObjectManager.GetManagedObjects", 0).Store(&objs); err != nil || len(objs) != n {
				b.Fatal(len(objs), err)
			}
		}
	})
}
