package dbus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/sandbox"
)

func TestPathEncode(t *testing.T) {
	for in, want := range map[string]string{
		"immich":      "immich",
		"rockon-test": "rockon_2dtest",
		"2fauth":      "_32fauth",
		"":            "_",
		"a_b":         "a_5fb",
	} {
		got := PathEncode(in)
		if got != want {
			t.Errorf("PathEncode(%q) = %q, want %q", in, got, want)
		}
		if !godbus.ObjectPath("/x/" + got).IsValid() {
			t.Errorf("PathEncode(%q) = %q is not a valid path element", in, got)
		}
		back, err := PathDecode(got)
		if err != nil || back != in {
			t.Errorf("PathDecode(%q) = %q, %v", got, back, err)
		}
	}
}

func TestErrorRoundTrip(t *testing.T) {
	for _, n := range errorNames {
		sent := toDBusError(fmt.Errorf("%w: port 8080 (web:80)", n.err))
		if sent.Name != ErrorPrefix+n.name {
			t.Errorf("%v sent as %s", n.err, sent.Name)
		}
		got := fromDBusError(*sent)
		if !errors.Is(got, n.err) || !strings.Contains(got.Error(), "port 8080") {
			t.Errorf("%s came back as %v", sent.Name, got)
		}
	}
	if got := toDBusError(errors.New("boom")); got.Name != ErrorPrefix+"Failed" {
		t.Errorf("plain error sent as %s", got.Name)
	}
	unknown := fromDBusError(godbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"no"}})
	if !errors.Is(unknown, ErrDaemonNotRunning) {
		t.Errorf("ServiceUnknown came back as %v", unknown)
	}
}

// backend is an in-memory Backend for exercising the D-Bus layer alone.
type backend struct {
	mu      sync.Mutex
	props   map[string]model.Properties
	watch   []func(string)
	release chan struct{}
}

func (b *backend) RefreshCatalog(context.Context) (int, error) { return len(b.props), nil }
func (b *backend) List(installedOnly bool) []model.Summary {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []model.Summary
	for _, p := range b.props {
		if !installedOnly || p.Installed {
			out = append(out, model.Summary{Name: p.Name, Slug: p.Slug, Installed: p.Installed, State: p.State})
		}
	}
	return out
}
func (b *backend) Properties(name string) (model.Properties, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.props {
		if p.Name == name || p.Slug == name {
			return p, nil
		}
	}
	return model.Properties{}, fmt.Errorf("%w: %q", model.ErrNoSuchRockOn, name)
}
func (b *backend) ManagerProperties() model.ManagerProperties {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n uint32
	for _, p := range b.props {
		if p.Installed {
			n++
		}
	}
	return model.ManagerProperties{Version: "test", Engine: "podman", CatalogEntries: uint32(len(b.props)), Installed: n}
}
func (b *backend) Definition(string) (string, error)       { return "{}", nil }
func (b *backend) Consent(string) ([]model.Consent, error) { return nil, nil }
func (b *backend) PortUse(string) ([]model.PortSuggestion, []model.BoundPort, error) {
	return nil, nil, nil
}
func (b *backend) Shares() (string, []string, error)            { return "/mnt2", nil, nil }
func (b *backend) AutoUpdate(context.Context) ([]string, error) { return nil, nil }
func (b *backend) SetAutoUpdate(string, bool) error             { return nil }
func (b *backend) CheckUpdates(context.Context, []string) ([]model.UpdateCheck, error) {
	return []model.UpdateCheck{{Name: "A", Container: "a", Image: "docker.io/library/a:1", CurrentDigest: "sha256:1", LatestDigest: "sha256:2", UpdateAvailable: true}}, nil
}
func (b *backend) Config(string) (string, error) { return "", nil }
func (b *backend) Backup() (string, error)       { return "", nil }
func (b *backend) Export(string, string, bool) (string, []string, error) {
	return "", nil, nil
}
func (b *backend) Watch(f func(string)) { b.watch = append(b.watch, f) }
func (b *backend) Diagnose(context.Context) []model.Check {
	return []model.Check{{Name: "engine", Status: model.CheckOK, Detail: "podman"}, {Name: "shares-root", Status: model.CheckFail, Detail: "/srv is missing", Fix: "mkdir /srv"}}
}
func (b *backend) Begin(op model.Operation) (func(context.Context, model.Report) error, error) {
	p, err := b.Properties(op.Name)
	if err != nil {
		return nil, err
	}
	if op.Kind == "install" && p.Installed {
		return nil, fmt.Errorf("%w: %s", model.ErrAlreadyInstalled, p.Name)
	}
	return func(ctx context.Context, r model.Report) error {
		r(0.5, "half way")
		<-b.release
		if slices.Contains(op.Choices.Consent, "fail") {
			return fmt.Errorf("%w: port 80/tcp is taken", model.ErrPortInUse)
		}
		b.mu.Lock()
		p.Installed, p.State = true, "running"
		b.props[p.Slug] = p
		b.mu.Unlock()
		for _, w := range b.watch {
			w(p.Slug)
		}
		return nil
	}, nil
}

type allow bool

func (a allow) Authorize(context.Context, string, string) error {
	if a {
		return nil
	}
	return fmt.Errorf("%w: test says no", model.ErrAccessDenied)
}

func serve(t *testing.T, auth Authorizer) (*backend, *Client, string) {
	addr := sandbox.PrivateBus(t)
	conn, err := godbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	b := &backend{props: map[string]model.Properties{
		"rockon-test": {Name: "Rockon Test", Slug: "rockon-test", State: "not-installed"},
	}, release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := NewServer(ctx, conn, b, auth, nil); err != nil {
		t.Fatal(err)
	}
	if err := RequestName(conn, BusName); err != nil {
		t.Fatal(err)
	}
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return b, c, addr
}

func TestServerClient(t *testing.T) {
	b, c, addr := serve(t, allow(true))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	l, err := c.List(ctx, false)
	if err != nil || len(l) != 1 || l[0].Path != RockOnPath("rockon-test") {
		t.Fatalf("List = %+v, %v", l, err)
	}
	// the flat status of all: nothing installed yet, the catalog entry
	// on asking for every object
	if sts, err := c.Statuses(ctx, true); err != nil || len(sts) != 0 {
		t.Fatalf("Statuses(installed) before the install = %+v, %v", sts, err)
	}
	if sts, err := c.Statuses(ctx, false); err != nil || len(sts) != 1 || sts[0].Installed || sts[0].State != "not-installed" {
		t.Fatalf("Statuses(all) = %+v, %v", sts, err)
	}
	if _, err := c.Status(ctx, "nope"); !errors.Is(err, model.ErrNoSuchRockOn) {
		t.Fatalf("Status(nope) = %v", err)
	}

	// a property change is signalled with the changed values only
	changes := make(chan *godbus.Signal, 16)
	if err := c.Conn().AddMatchSignal(godbus.WithMatchInterface("org.freedesktop.DBus.Properties"), godbus.WithMatchObjectPath(RockOnPath("rockon-test"))); err != nil {
		t.Fatal(err)
	}
	c.Conn().Signal(changes)

	var progress []string
	var mu sync.Mutex
	done := make(chan error, 1)
	go func() {
		done <- c.Install(ctx, "Rockon Test", "", true, func(p float64, msg string) {
			mu.Lock()
			progress = append(progress, fmt.Sprintf("%.1f %s", p, msg))
			mu.Unlock()
		})
	}()
	time.Sleep(200 * time.Millisecond)
	b.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatalf("Install: %v", err)
	}
	mu.Lock()
	if len(progress) == 0 || progress[0] != "0.5 half way" {
		t.Errorf("progress = %q", progress)
	}
	mu.Unlock()
	var sig *godbus.Signal
	for sig == nil {
		select {
		case s := <-changes:
			if s.Path == RockOnPath("rockon-test") && s.Name == "org.freedesktop.DBus.Properties.PropertiesChanged" {
				sig = s
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no PropertiesChanged after the install")
		}
	}
	changed := sig.Body[1].(map[string]godbus.Variant)
	if changed["State"].Value() != "running" || changed["Installed"].Value() != true || len(changed) != 2 {
		t.Errorf("PropertiesChanged = %v", changed)
	}
	p, err := c.Status(ctx, "rockon-test")
	if err != nil || p.State != "running" || !p.Installed {
		t.Fatalf("Status = %+v, %v", p, err)
	}
	// every installed rock-on's properties in one call, as each object has them
	if all, err := c.StatusAll(ctx); err != nil || len(all) != 1 || !reflect.DeepEqual(all[0], p) {
		t.Fatalf("StatusAll = %+v, %v; want [%+v]", all, err, p)
	}
	// and in the flat rows, agreeing with the object
	want := model.Status{Name: p.Name, Slug: p.Slug, Installed: true, State: "running", Path: RockOnPath("rockon-test")}
	if sts, err := c.Statuses(ctx, true); err != nil || len(sts) != 1 || sts[0] != want {
		t.Fatalf("Statuses = %+v, %v; want [%+v]", sts, err, want)
	}
	if err := c.Install(ctx, "Rockon Test", "", true, nil); !errors.Is(err, model.ErrAlreadyInstalled) {
		t.Fatalf("second Install = %v", err)
	}

	var installed uint32
	if err := c.Conn().Object(BusName, ManagerPath).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, ManagerInterface, "Installed").Store(&installed); err != nil || installed != 1 {
		t.Errorf("Manager.Installed = %d, %v", installed, err)
	}

	// a failing job reports its error name through JobRemoved
	b.mu.Lock()
	b.props["rockon-test"] = model.Properties{Name: "Rockon Test", Slug: "rockon-test"}
	b.mu.Unlock()
	go func() {
		done <- c.InstallChoices(ctx, "Rockon Test", model.Choices{Consent: []string{"fail"}}, true, nil)
	}()
	time.Sleep(200 * time.Millisecond)
	b.release <- struct{}{}
	if err := <-done; !errors.Is(err, model.ErrPortInUse) || !strings.Contains(err.Error(), "80/tcp") {
		t.Fatalf("failing Install = %v", err)
	}

	// unknown choice keys are refused with the key named
	err = c.Conn().Object(BusName, ManagerPath).CallWithContext(ctx, ManagerInterface+".Install", 0, "Rockon Test",
		map[string]godbus.Variant{"colour": godbus.MakeVariant("red")}, map[string]godbus.Variant{}).Store()
	if err = fromDBusError(err); !errors.Is(err, model.ErrInvalidArgs) || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("Install with unknown key = %v", err)
	}

	// one call gives every object with its properties
	var managed map[godbus.ObjectPath]map[string]map[string]godbus.Variant
	if err := c.Conn().Object(BusName, ManagerPath).CallWithContext(ctx, objectManager+".GetManagedObjects", 0).Store(&managed); err != nil {
		t.Fatal(err)
	}
	if st := managed[RockOnPath("rockon-test")][RockOnInterface]["Name"].Value(); st != "Rockon Test" {
		t.Errorf("GetManagedObjects = %v", managed)
	}

	// busctl sees the documented API
	out, err := exec.Command("busctl", "--address="+addr, "introspect", BusName, ManagerPath).CombinedOutput()
	if err != nil {
		t.Skipf("busctl: %v: %s", err, out)
	}
	for _, want := range []string{".Install", "sa{sv}a{sv}", ".JobRemoved", "uossss", ".ListRockOns", "a(ssssbsso)", ".ListStatuses", "a(sssbssuuso)"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("introspection lacks %q:\n%s", want, out)
		}
	}
	out, err = exec.Command("busctl", "--address="+addr, "call", BusName, ManagerPath, ManagerInterface, "ListStatuses", "b", "false").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != `a(sssbssuuso) 1 "Rockon Test" "rockon-test" "" false "" "" 0 0 "" "`+string(RockOnPath("rockon-test"))+`"` {
		t.Errorf("busctl call ListStatuses: %v\n%s", err, out)
	}
	out, err = exec.Command("busctl", "--address="+addr, "tree", "--list", BusName).CombinedOutput()
	if err != nil || !strings.Contains(string(out), string(RockOnPath("rockon-test"))+"\n") || !strings.Contains(string(out), ManagerPath+"\n") {
		t.Errorf("busctl tree: %v\n%s", err, out)
	}
	out, err = exec.Command("busctl", "--address="+addr, "introspect", BusName, string(RockOnPath("rockon-test"))).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ".Containers") || !strings.Contains(string(out), "a(sssssssiuts)") {
		t.Errorf("rock-on introspection: %v\n%s", err, out)
	}
}

func TestStatusOf(t *testing.T) {
	p := model.Properties{Name: "A", Slug: "a", Version: "1", Installed: true, DesiredState: "on", State: "degraded",
		UIURL: "http://localhost:80/", Containers: []model.Container{{Name: "web", State: "running"}, {Name: "db", State: "failed"}, {Name: "x", State: "running"}}}
	want := model.Status{Name: "A", Slug: "a", Version: "1", Installed: true, DesiredState: "on", State: "degraded",
		Running: 2, Containers: 3, UIURL: "http://localhost:80/", Path: RockOnPath("a")}
	if got := statusOf(p, RockOnPath("a")); got != want {
		t.Errorf("statusOf = %+v, want %+v", got, want)
	}
}

// TestStatusShape keeps ListStatuses' reply as documented: its shape is
// part of the API (model.Status), and a changed field must show here.
func TestStatusShape(t *testing.T) {
	sig := godbus.SignatureOfType(reflect.TypeOf([]model.Status{})).String()
	if sig != "a(sssbssuuso)" {
		t.Errorf("ListStatuses returns %s: a new shape is a new method (model.Status)", sig)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	if line := "ListStatuses(b installed_only) -> (" + sig + " statuses)"; !strings.Contains(string(doc), line) {
		t.Errorf("doc.go does not document %q", line)
	}
}

func TestAccessDenied(t *testing.T) {
	_, c, _ := serve(t, allow(false))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx, "Rockon Test", nil); !errors.Is(err, model.ErrAccessDenied) {
		t.Fatalf("Start = %v, want AccessDenied", err)
	}
	if _, err := c.Config(ctx, "Rockon Test"); !errors.Is(err, model.ErrAccessDenied) {
		t.Fatalf("GetConfig = %v, want AccessDenied", err)
	}
	if _, err := c.List(ctx, false); err != nil {
		t.Fatalf("List = %v", err)
	}
	// authorization comes before the choices are decoded: malformed
	// choices still get AccessDenied, not InvalidArgs; only their size is
	// bounded first (below)
	obj := c.Conn().Object(BusName, ManagerPath)
	bad := map[string]godbus.Variant{"config": godbus.MakeVariant(uint32(1))}
	badEnv := map[string]godbus.Variant{"containers": godbus.MakeVariant(map[string]map[string]godbus.Variant{"x": {"env": godbus.MakeVariant(uint32(3))}})}
	for _, ch := range []map[string]godbus.Variant{bad, badEnv} {
		var out godbus.ObjectPath
		err := obj.CallWithContext(ctx, ManagerInterface+".Install", 0, "Rockon Test", ch, map[string]godbus.Variant{}).Store(&out)
		if !errors.Is(fromDBusError(err), model.ErrAccessDenied) {
			t.Errorf("Install with undecodable choices = %v, want AccessDenied", err)
		}
		err = obj.CallWithContext(ctx, ManagerInterface+".Reconfigure", 0, "Rockon Test", ch).Store(&out)
		if !errors.Is(fromDBusError(err), model.ErrAccessDenied) {
			t.Errorf("Reconfigure with undecodable choices = %v, want AccessDenied", err)
		}
	}
	// more than an install config may hold, as one string or spread over
	// a structure: refused at once, before the (slow) authorization
	big := map[string]godbus.Variant{"config": godbus.MakeVariant(strings.Repeat("x", model.MaxConfigSize+1))}
	env := map[string]string{}
	for i := range 20 {
		env[fmt.Sprint("K", i)] = strings.Repeat("v", model.MaxConfigSize/16)
	}
	spread := map[string]godbus.Variant{"containers": godbus.MakeVariant(map[string]map[string]godbus.Variant{"x": {"env": godbus.MakeVariant(env)}})}
	for _, ch := range []map[string]godbus.Variant{big, spread} {
		var out godbus.ObjectPath
		err := obj.CallWithContext(ctx, ManagerInterface+".Install", 0, "Rockon Test", ch, map[string]godbus.Variant{}).Store(&out)
		if !errors.Is(fromDBusError(err), model.ErrInvalidArgs) || !strings.Contains(err.Error(), "more than") {
			t.Errorf("Install with oversized choices = %v, want InvalidArgs", err)
		}
	}
}
