package dbus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	godbus "github.com/godbus/dbus/v5"
	"github.com/rockon/rockon/model"
)

// Server exports a Backend on a bus connection.
type Server struct {
	conn *godbus.Conn
	b    Backend
	auth Authorizer
	ctx  context.Context
	log  *slog.Logger

	mu      sync.Mutex
	objects map[string]*rockonObject // by slug
	jobs    map[uint32]*job
	nextJob uint32
	wg      sync.WaitGroup

	dirty   map[string]bool
	dirtyCh chan struct{}

	managerProps *propObject
}

type rockonObject struct {
	path  godbus.ObjectPath
	props *propObject
	// status is its ListStatuses element, kept up to date with props
	// (under Server.mu): the call copies these, it neither asks the
	// backend nor reads the property maps
	status model.Status
}

// NewServer exports the Manager and one object per rock-on on conn. It does
// not request the bus name: the caller does that once everything is
// exported (see RequestName). ctx bounds jobs: cancelling it cancels the
// running operations.
func NewServer(ctx context.Context, conn *godbus.Conn, b Backend, auth Authorizer, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{conn: conn, b: b, auth: auth, ctx: ctx, log: log,
		objects: map[string]*rockonObject{}, jobs: map[uint32]*job{},
		dirty: map[string]bool{}, dirtyCh: make(chan struct{}, 1)}
	m := &manager{s: s}
	if err := conn.Export(m, ManagerPath, ManagerInterface); err != nil {
		return nil, fmt.Errorf("exporting the manager: %w", err)
	}
	s.managerProps = newPropObject(conn, ManagerPath, ManagerInterface, b.ManagerProperties())
	if err := conn.Export(s.managerProps, ManagerPath, "org.freedesktop.DBus.Properties"); err != nil {
		return nil, err
	}
	om := objects{s}
	if err := conn.Export(om, ManagerPath, objectManager); err != nil {
		return nil, err
	}
	mi := managerIface(m)
	mi.Props = propIntrospection(model.ManagerProperties{})
	if err := conn.Export(introspectable{ifaces: []ifaceDesc{mi, objectManagerIface(om)}, children: func() []string { return []string{"rockon", "job"} }},
		ManagerPath, "org.freedesktop.DBus.Introspectable"); err != nil {
		return nil, err
	}
	if err := conn.Export(introspectable{children: s.rockonChildren}, RockOnPathPrefix, "org.freedesktop.DBus.Introspectable"); err != nil {
		return nil, err
	}
	if err := conn.Export(introspectable{children: s.jobChildren}, JobPathPrefix, "org.freedesktop.DBus.Introspectable"); err != nil {
		return nil, err
	}
	s.sync("")
	b.Watch(s.markDirty)
	go s.loop()
	return s, nil
}

// RequestName owns name on the bus; it fails when someone else has it.
func RequestName(conn *godbus.Conn, name string) error {
	reply, err := conn.RequestName(name, godbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("requesting bus name %s: %w", name, err)
	}
	if reply != godbus.RequestNameReplyPrimaryOwner && reply != godbus.RequestNameReplyAlreadyOwner {
		return fmt.Errorf("bus name %s is already owned by another process", name)
	}
	return nil
}

// Wait waits for running jobs to end (after the context was cancelled).
func (s *Server) Wait() { s.wg.Wait() }

func (s *Server) markDirty(name string) {
	s.mu.Lock()
	s.dirty[name] = true
	s.mu.Unlock()
	select {
	case s.dirtyCh <- struct{}{}:
	default:
	}
}

// loop applies change notifications outside the backend's call stack.
func (s *Server) loop() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.dirtyCh:
		}
		s.mu.Lock()
		names := s.dirty
		s.dirty = map[string]bool{}
		s.mu.Unlock()
		if names[""] {
			s.sync("")
			continue
		}
		for n := range names {
			s.sync(n)
		}
	}
}

// sync refreshes one rock-on's object, or with "" the whole set, and the
// manager's properties.
func (s *Server) sync(name string) {
	if s.managerProps != nil {
		s.managerProps.update(s.b.ManagerProperties())
	}
	if name != "" {
		p, err := s.b.Properties(name)
		if err != nil {
			s.sync("")
			return
		}
		s.mu.Lock()
		o := s.objects[p.Slug]
		s.mu.Unlock()
		if o == nil {
			s.sync("")
			return
		}
		s.setStatus(o, p)
		o.props.update(p)
		return
	}
	list := s.b.List(false)
	seen := map[string]bool{}
	for _, sum := range list {
		seen[sum.Slug] = true
		p, err := s.b.Properties(sum.Slug)
		if err != nil {
			continue
		}
		s.mu.Lock()
		o := s.objects[sum.Slug]
		s.mu.Unlock()
		if o != nil {
			s.setStatus(o, p)
			o.props.update(p)
			continue
		}
		if err := s.exportRockOn(p); err != nil {
			s.log.Warn("exporting rock-on object", "slug", sum.Slug, "err", err)
		}
	}
	s.mu.Lock()
	var gone []*rockonObject
	for slug, o := range s.objects {
		if !seen[slug] {
			gone = append(gone, o)
			delete(s.objects, slug)
		}
	}
	s.mu.Unlock()
	for _, o := range gone {
		_ = s.conn.Export(nil, o.path, RockOnInterface)
		_ = s.conn.Export(nil, o.path, "org.freedesktop.DBus.Properties")
		_ = s.conn.Export(nil, o.path, "org.freedesktop.DBus.Introspectable")
		_ = s.conn.Emit(ManagerPath, objectManager+".InterfacesRemoved", o.path, []string{RockOnInterface})
	}
}

const objectManager = "org.freedesktop.DBus.ObjectManager"

// objects implements org.freedesktop.DBus.ObjectManager on the manager's
// path: one call gives a client every rock-on with its properties.
type objects struct{ s *Server }

func (o objects) GetManagedObjects() (map[godbus.ObjectPath]map[string]map[string]godbus.Variant, *godbus.Error) {
	o.s.mu.Lock()
	list := make([]*rockonObject, 0, len(o.s.objects))
	for _, r := range o.s.objects {
		list = append(list, r)
	}
	o.s.mu.Unlock()
	out := make(map[godbus.ObjectPath]map[string]map[string]godbus.Variant, len(list))
	for _, r := range list {
		props, _ := r.props.GetAll(RockOnInterface)
		out[r.path] = map[string]map[string]godbus.Variant{RockOnInterface: props}
	}
	return out, nil
}

func (s *Server) exportRockOn(p model.Properties) error {
	path := RockOnPath(p.Slug)
	o := &rockonObject{path: path, props: newPropObject(s.conn, path, RockOnInterface, p), status: statusOf(p, path)}
	if err := s.conn.Export(o.props, path, "org.freedesktop.DBus.Properties"); err != nil {
		return err
	}
	if err := s.conn.Export(introspectable{ifaces: []ifaceDesc{{Name: RockOnInterface, Props: propIntrospection(model.Properties{})}}}, path, "org.freedesktop.DBus.Introspectable"); err != nil {
		return err
	}
	// an interface with no methods, so that callers addressing it by name
	// get Properties through it
	if err := s.conn.ExportMethodTable(map[string]any{}, path, RockOnInterface); err != nil {
		return err
	}
	s.mu.Lock()
	s.objects[p.Slug] = o
	s.mu.Unlock()
	props, _ := o.props.GetAll(RockOnInterface)
	_ = s.conn.Emit(ManagerPath, objectManager+".InterfacesAdded", path, map[string]map[string]godbus.Variant{RockOnInterface: props})
	return nil
}

func (s *Server) setStatus(o *rockonObject, p model.Properties) {
	st := statusOf(p, o.path)
	s.mu.Lock()
	o.status = st
	s.mu.Unlock()
}

// statusOf is the ListStatuses element of the rock-on object at path.
func statusOf(p model.Properties, path godbus.ObjectPath) model.Status {
	st := model.Status{Name: p.Name, Slug: p.Slug, Version: p.Version, Installed: p.Installed,
		DesiredState: p.DesiredState, State: p.State, Containers: uint32(len(p.Containers)), UIURL: p.UIURL, Path: path}
	for _, c := range p.Containers {
		if c.State == "running" {
			st.Running++
		}
	}
	return st
}

func (s *Server) rockonChildren() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.objects))
	for _, o := range s.objects {
		out = append(out, string(o.path[strings.LastIndexByte(string(o.path), '/')+1:]))
	}
	return out
}

func (s *Server) jobChildren() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.jobs))
	for id := range s.jobs {
		out = append(out, fmt.Sprint(id))
	}
	return out
}

// job is a running operation exported at /org/rockon/rockon1/job/<id>.
type job struct {
	path  godbus.ObjectPath
	props *propObject
	mu    sync.Mutex
	p     JobProperties
}

func (j *job) set(f func(p *JobProperties)) {
	j.mu.Lock()
	f(&j.p)
	p := j.p
	j.mu.Unlock()
	j.props.update(p)
}

// startJob exports a job object and runs fn in the background.
func (s *Server) startJob(op model.Operation, run func(ctx context.Context, report model.Report) error) godbus.ObjectPath {
	s.mu.Lock()
	s.nextJob++
	id := s.nextJob
	path := godbus.ObjectPath(fmt.Sprintf("%s/%d", JobPathPrefix, id))
	j := &job{path: path, p: JobProperties{Id: id, RockOn: op.Name, Kind: string(op.Kind), State: "running"}}
	j.props = newPropObject(s.conn, path, JobInterface, j.p)
	s.jobs[id] = j
	s.mu.Unlock()
	_ = s.conn.Export(j.props, path, "org.freedesktop.DBus.Properties")
	_ = s.conn.Export(introspectable{ifaces: []ifaceDesc{{Name: JobInterface, Props: propIntrospection(JobProperties{})}}}, path, "org.freedesktop.DBus.Introspectable")
	_ = s.conn.ExportMethodTable(map[string]any{}, path, JobInterface)
	_ = s.conn.Emit(ManagerPath, ManagerInterface+".JobNew", id, path, op.Name, string(op.Kind))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		start := time.Now()
		err := run(s.ctx, func(progress float64, msg string) {
			j.set(func(p *JobProperties) { p.Progress, p.Message = progress, msg })
		})
		result, errName, msg := "done", "", ""
		if err != nil {
			result, errName, msg = "failed", toDBusError(err).Name, err.Error()
			s.log.Warn("job failed", "job", id, "kind", op.Kind, "rockon", op.Name, "err", err)
		} else {
			s.log.Info("job done", "job", id, "kind", op.Kind, "rockon", op.Name, "duration", time.Since(start).Round(time.Millisecond))
		}
		j.set(func(p *JobProperties) { p.State, p.Message = result, msg; p.Progress = 1 })
		s.markDirty(op.Name)
		_ = s.conn.Emit(ManagerPath, ManagerInterface+".JobRemoved", id, path, op.Name, result, errName, msg)
		s.mu.Lock()
		delete(s.jobs, id)
		s.mu.Unlock()
		_ = s.conn.Export(nil, path, "org.freedesktop.DBus.Properties")
		_ = s.conn.Export(nil, path, "org.freedesktop.DBus.Introspectable")
		_ = s.conn.Export(nil, path, JobInterface)
	}()
	return path
}

// manager holds the Manager interface's methods.
type manager struct{ s *Server }

func managerIface(m *manager) ifaceDesc {
	return ifaceDesc{
		Name: ManagerInterface,
		Methods: []methodDesc{
			{Name: "RefreshCatalog", Out: []string{"entries"}},
			{Name: "ListRockOns", In: []string{"installed_only"}, Out: []string{"rockons"}},
			{Name: "ListStatuses", In: []string{"installed_only"}, Out: []string{"statuses"}},
			{Name: "GetRockOn", In: []string{"name"}, Out: []string{"rockon"}},
			{Name: "GetDefinition", In: []string{"name"}, Out: []string{"json"}},
			{Name: "GetConsent", In: []string{"name"}, Out: []string{"consent"}},
			{Name: "GetPortUse", In: []string{"name"}, Out: []string{"suggested", "bound"}},
			{Name: "ListShares", Out: []string{"root", "shares"}},
			{Name: "GetConfig", In: []string{"name"}, Out: []string{"toml"}},
			{Name: "Backup", Out: []string{"toml"}},
			{Name: "Export", In: []string{"name", "format", "options"}, Out: []string{"yaml", "warnings"}},
			{Name: "Diagnose", Out: []string{"checks"}},
			{Name: "Install", In: []string{"name", "choices", "options"}, Out: []string{"job"}},
			{Name: "Uninstall", In: []string{"name"}, Out: []string{"job"}},
			{Name: "UninstallWithOptions", In: []string{"name", "options"}, Out: []string{"job"}},
			{Name: "Start", In: []string{"name"}, Out: []string{"job"}},
			{Name: "Stop", In: []string{"name"}, Out: []string{"job"}},
			{Name: "Restart", In: []string{"name"}, Out: []string{"job"}},
			{Name: "Update", In: []string{"name"}, Out: []string{"job"}},
			{Name: "Reconfigure", In: []string{"name", "choices"}, Out: []string{"job"}},
			{Name: "CheckUpdates", In: []string{"names"}, Out: []string{"checks"}},
			{Name: "AutoUpdate", Out: []string{"lines"}},
			{Name: "SetAutoUpdate", In: []string{"name", "on"}},
		},
		Signals: []signalDesc{
			{Name: "JobNew", Args: []string{"id u", "job o", "rockon s", "kind s"}},
			{Name: "JobRemoved", Args: []string{"id u", "job o", "rockon s", "result s", "error s", "message s"}},
		},
	}.withReceiver(m)
}

func objectManagerIface(o objects) ifaceDesc {
	return ifaceDesc{
		Name:    objectManager,
		Methods: []methodDesc{{Name: "GetManagedObjects", Out: []string{"objects"}}},
		Signals: []signalDesc{
			{Name: "InterfacesAdded", Args: []string{"object o", "interfaces a{sa{sv}}"}},
			{Name: "InterfacesRemoved", Args: []string{"object o", "interfaces as"}},
		},
	}.withReceiver(o)
}

func (d ifaceDesc) withReceiver(r any) ifaceDesc {
	for i := range d.Methods {
		d.Methods[i].receiver = r
	}
	return d
}

func (m *manager) authorize(sender godbus.Sender, action string) *godbus.Error {
	if m.s.auth == nil {
		return toDBusError(fmt.Errorf("%w: no authorizer", model.ErrAccessDenied))
	}
	if err := m.s.auth.Authorize(m.s.ctx, string(sender), action); err != nil {
		return toDBusError(err)
	}
	return nil
}

func (m *manager) RefreshCatalog(sender godbus.Sender) (uint32, *godbus.Error) {
	if err := m.authorize(sender, ActionRefreshCatalog); err != nil {
		return 0, err
	}
	n, err := m.s.b.RefreshCatalog(m.s.ctx)
	m.s.markDirty("")
	return uint32(n), toDBusError(err)
}

// CheckUpdates asks registries over the network on the caller's behalf:
// the same authorization as refreshing the catalog.
func (m *manager) CheckUpdates(sender godbus.Sender, names []string) ([]model.UpdateCheck, *godbus.Error) {
	if err := m.authorize(sender, ActionRefreshCatalog); err != nil {
		return nil, err
	}
	checks, err := m.s.b.CheckUpdates(m.s.ctx, names)
	if checks == nil {
		checks = []model.UpdateCheck{}
	}
	m.s.markDirty("")
	return checks, toDBusError(err)
}

// AutoUpdate runs the opt-in automatic update now; it changes rock-ons.
func (m *manager) AutoUpdate(sender godbus.Sender) ([]string, *godbus.Error) {
	if err := m.authorize(sender, ActionManage); err != nil {
		return nil, err
	}
	lines, err := m.s.b.AutoUpdate(m.s.ctx)
	if lines == nil {
		lines = []string{}
	}
	m.s.markDirty("")
	return lines, toDBusError(err)
}

// SetAutoUpdate opts a rock-on in to (or out of) the automatic update.
func (m *manager) SetAutoUpdate(sender godbus.Sender, name string, on bool) *godbus.Error {
	if err := m.authorize(sender, ActionManage); err != nil {
		return err
	}
	if err := m.s.b.SetAutoUpdate(name, on); err != nil {
		return toDBusError(err)
	}
	m.s.markDirty(name)
	return nil
}

func (m *manager) ListRockOns(installedOnly bool) ([]model.Summary, *godbus.Error) {
	l := m.s.b.List(installedOnly)
	if l == nil {
		l = []model.Summary{}
	}
	for i := range l {
		l[i].Path = RockOnPath(l[i].Slug)
	}
	return l, nil
}

// ListStatuses lists the state of every rock-on object (installed ones
// only: Installed, or a DesiredState while it installs) as one array of
// flat structs, for a status of all: GetManagedObjects carries the same
// objects as a dictionary of variants per object, whose encoding and
// decoding cost most of such a call with 1,000 installed. The values are
// those the objects hold, so they agree with their PropertiesChanged.
func (m *manager) ListStatuses(installedOnly bool) ([]model.Status, *godbus.Error) {
	m.s.mu.Lock()
	out := make([]model.Status, 0, len(m.s.objects))
	for _, o := range m.s.objects {
		if !installedOnly || o.status.Installed || o.status.DesiredState != "" {
			out = append(out, o.status)
		}
	}
	m.s.mu.Unlock()
	return out, nil
}

func (m *manager) GetRockOn(name string) (godbus.ObjectPath, *godbus.Error) {
	p, err := m.s.b.Properties(name)
	if err != nil {
		return "/", toDBusError(err)
	}
	return RockOnPath(p.Slug), nil
}

func (m *manager) GetDefinition(name string) (string, *godbus.Error) {
	d, err := m.s.b.Definition(name)
	return d, toDBusError(err)
}

func (m *manager) GetConsent(name string) ([]model.Consent, *godbus.Error) {
	c, err := m.s.b.Consent(name)
	if c == nil {
		c = []model.Consent{}
	}
	return c, toDBusError(err)
}

func (m *manager) GetPortUse(name string) ([]model.PortSuggestion, []model.BoundPort, *godbus.Error) {
	s, b, err := m.s.b.PortUse(name)
	if s == nil {
		s = []model.PortSuggestion{}
	}
	if b == nil {
		b = []model.BoundPort{}
	}
	return s, b, toDBusError(err)
}

func (m *manager) ListShares() (string, []string, *godbus.Error) {
	root, names, err := m.s.b.Shares()
	if names == nil {
		names = []string{}
	}
	return root, names, toDBusError(err)
}

func (m *manager) GetConfig(sender godbus.Sender, name string) (string, *godbus.Error) {
	if err := m.authorize(sender, ActionManage); err != nil {
		return "", err
	}
	c, err := m.s.b.Config(name)
	return c, toDBusError(err)
}

// Backup holds every rock-on's secrets: its own action, which an
// administrator may grant to a backup agent without the right to change
// anything.
func (m *manager) Backup(sender godbus.Sender) (string, *godbus.Error) {
	if err := m.authorize(sender, ActionBackup); err != nil {
		return "", err
	}
	b, err := m.s.b.Backup()
	return b, toDBusError(err)
}

// Export is authorized like GetConfig: the output holds the environment
// values, which may be secrets.
func (m *manager) Export(sender godbus.Sender, name, format string, options map[string]godbus.Variant) (string, []string, *godbus.Error) {
	if err := m.authorize(sender, ActionManage); err != nil {
		return "", nil, err
	}
	pvc := false
	for k, v := range options {
		b, ok := v.Value().(bool)
		if k != "pvc" || !ok {
			return "", nil, toDBusError(fmt.Errorf("%w: options: unknown key %q or not a boolean (known: pvc)", model.ErrInvalidArgs, k))
		}
		pvc = b
	}
	y, w, err := m.s.b.Export(name, format, pvc)
	if w == nil {
		w = []string{}
	}
	return y, w, toDBusError(err)
}

// Diagnose is open to every caller, like the other reads: its findings
// name paths, units and engines, never a secret.
func (m *manager) Diagnose() ([]model.Check, *godbus.Error) {
	ctx, cancel := context.WithTimeout(m.s.ctx, time.Minute)
	defer cancel()
	c := m.s.b.Diagnose(ctx)
	if c == nil {
		c = []model.Check{}
	}
	return c, nil
}

func (m *manager) begin(sender godbus.Sender, op model.Operation) (godbus.ObjectPath, *godbus.Error) {
	if err := m.authorize(sender, ActionManage); err != nil {
		return "/", err
	}
	return m.beginAuthorized(op)
}

// beginAuthorized is begin for a caller already authorized: Install and
// Reconfigure authorize before they decode their (possibly large) choices,
// so that an unprivileged caller costs no more than the bus's own copy of
// its message.
func (m *manager) beginAuthorized(op model.Operation) (godbus.ObjectPath, *godbus.Error) {
	run, err := m.s.b.Begin(op)
	if err != nil {
		return "/", toDBusError(err)
	}
	return m.s.startJob(op, run), nil
}

// authorizedChoices checks a change's choices: their size first (before
// the bus round trip of the authorization), then the caller, then their
// decoding, once, here at the edge.
func (m *manager) authorizedChoices(sender godbus.Sender, choices map[string]godbus.Variant) (model.Choices, *godbus.Error) {
	if err := choicesTooBig(choices); err != nil {
		return model.Choices{}, err
	}
	if err := m.authorize(sender, ActionManage); err != nil {
		return model.Choices{}, err
	}
	ch, err := model.ChoicesFromVariants(choices)
	if err != nil {
		return model.Choices{}, toDBusError(err)
	}
	return ch, nil
}

func (m *manager) Install(sender godbus.Sender, name string, choices, options map[string]godbus.Variant) (godbus.ObjectPath, *godbus.Error) {
	ch, derr := m.authorizedChoices(sender, choices)
	if derr != nil {
		return "/", derr
	}
	op := model.Operation{Kind: model.OpInstall, Name: name, Choices: ch, Start: true}
	for k, v := range options {
		switch k {
		case "start":
			b, ok := v.Value().(bool)
			if !ok {
				return "/", toDBusError(fmt.Errorf("%w: options: \"start\" must be a boolean", model.ErrInvalidArgs))
			}
			op.Start = b
		case "definition":
			s, ok := v.Value().(string)
			if !ok {
				return "/", toDBusError(fmt.Errorf("%w: options: \"definition\" must be a string", model.ErrInvalidArgs))
			}
			op.Definition = s
		case "dry_run":
			b, ok := v.Value().(bool)
			if !ok {
				return "/", toDBusError(fmt.Errorf("%w: options: \"dry_run\" must be a boolean", model.ErrInvalidArgs))
			}
			op.DryRun = b
		default:
			return "/", toDBusError(fmt.Errorf("%w: options: unknown key %q (known: start, definition, dry_run)", model.ErrInvalidArgs, k))
		}
	}
	if op.DryRun {
		if _, err := m.s.b.Begin(op); err != nil {
			return "/", toDBusError(err)
		}
		return "/", nil
	}
	return m.beginAuthorized(op)
}

func (m *manager) Uninstall(sender godbus.Sender, name string) (godbus.ObjectPath, *godbus.Error) {
	return m.begin(sender, model.Operation{Kind: model.OpUninstall, Name: name})
}

// UninstallWithOptions is Uninstall with options: "remove_images" (b),
// "purge" (b).
func (m *manager) UninstallWithOptions(sender godbus.Sender, name string, options map[string]godbus.Variant) (godbus.ObjectPath, *godbus.Error) {
	op := model.Operation{Kind: model.OpUninstall, Name: name}
	for k, v := range options {
		switch k {
		case "remove_images", "purge":
			b, ok := v.Value().(bool)
			if !ok {
				return "/", toDBusError(fmt.Errorf("%w: option %s must be a boolean", model.ErrInvalidArgs, k))
			}
			if k == "purge" {
				op.Purge = b
			} else {
				op.RemoveImages = b
			}
		default:
			return "/", toDBusError(fmt.Errorf("%w: unknown option %q", model.ErrInvalidArgs, k))
		}
	}
	return m.begin(sender, op)
}

func (m *manager) Start(sender godbus.Sender, name string) (godbus.ObjectPath, *godbus.Error) {
	return m.begin(sender, model.Operation{Kind: model.OpStart, Name: name})
}

func (m *manager) Stop(sender godbus.Sender, name string) (godbus.ObjectPath, *godbus.Error) {
	return m.begin(sender, model.Operation{Kind: model.OpStop, Name: name})
}

func (m *manager) Restart(sender godbus.Sender, name string) (godbus.ObjectPath, *godbus.Error) {
	return m.begin(sender, model.Operation{Kind: model.OpRestart, Name: name})
}

func (m *manager) Update(sender godbus.Sender, name string) (godbus.ObjectPath, *godbus.Error) {
	return m.begin(sender, model.Operation{Kind: model.OpUpdate, Name: name})
}

func (m *manager) Reconfigure(sender godbus.Sender, name string, choices map[string]godbus.Variant) (godbus.ObjectPath, *godbus.Error) {
	ch, derr := m.authorizedChoices(sender, choices)
	if derr != nil {
		return "/", derr
	}
	return m.beginAuthorized(model.Operation{Kind: model.OpReconfigure, Name: name, Choices: ch})
}
