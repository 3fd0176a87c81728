// Package daemon is rockond's manager: it keeps the catalog and the
// installed rock-ons, turns requests into unit files and systemd jobs, and
// follows the state of every container from systemd's signals.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rockon/rockon/backup"
	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/engine"
	"github.com/rockon/rockon/export"
	"github.com/rockon/rockon/metrics"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

// Manager implements the D-Bus API's Backend and the metrics Source.
type Manager struct {
	cfg   *state.Config
	store *state.Store
	eng   containerEngine
	sd    unitManager
	rec   *metrics.Recorder
	log   *slog.Logger
	ctx   context.Context
	// volumeCheck: see Options.VolumeCheck
	volumeCheck string

	mu          sync.Mutex
	catStore    *catalog.Store
	catalog     *catalog.Catalog // the store's current snapshot
	refreshedAt time.Time
	refreshErr  error                       // of the last refresh; nil after a successful one
	installed   map[string]*state.Installed // by slug
	busy        map[string]model.OpKind     // slug -> operation kind
	units       map[string]unitInfo         // unit name -> last known state
	logs        map[string]string           // unit name -> last journal lines when it failed
	results     map[string]*unitgen.Result  // slug -> compiled units of the installed rock-on
	updates     map[string]bool             // slug -> the last update check found a newer image
	watchers    []func(string)
	// deaths: unit name -> the engine's report of its container's death
	// that systemd has not caught up with (see unitLocked); starts: unit
	// name -> when the engine last started its container
	deaths  map[string]engine.Event
	starts  map[string]time.Time
	changed chan struct{} // see changes
	// startSlots bounds the starts rockond runs at once (startChecked)
	startSlots chan struct{}
}

// Options configure a Manager.
type Options struct {
	Config   *state.Config
	Recorder *metrics.Recorder // may be nil
	Log      *slog.Logger
	// VolumeCheck is the absolute path of rockond, which every container
	// unit with volumes runs as `rockond check-volumes` before each start
	// (unitgen.Options.VolumeCheck); empty for none.
	VolumeCheck string
}

// New connects to systemd, loads state and the catalog, recovers from an
// interrupted operation, and starts following unit state. ctx bounds the
// manager's life.
func New(ctx context.Context, opt Options) (*Manager, error) {
	cfg := opt.Config
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	// no engine configured: the one installed, said in the journal
	engineChosen := cfg.ResolveEngine()
	if engineChosen != "" {
		opt.Log.Info(engineChosen)
	}
	eng, err := engine.New(cfg.Engine.Name, cfg.Engine.Binary)
	if err != nil {
		return nil, err
	}
	if cfg.Timeouts.Pull > 0 {
		eng.PullTimeout = time.Duration(cfg.Timeouts.Pull)
	}
	// an update check fetches a manifest, as a catalog refresh fetches a file
	eng.CheckTimeout = time.Duration(cfg.Timeouts.Fetch)
	for _, d := range []string{cfg.StateDir, cfg.EnvDir, cfg.UnitDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	// the local metastore is where an administrator drops definitions:
	// it exists from the first start, as the configuration says
	if d := cfg.Metastore.LocalDir; d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating the local metastore %s: %w", d, err)
		}
	}
	if err := os.Chmod(cfg.EnvDir, 0o700); err != nil {
		return nil, fmt.Errorf("securing %s: %w", cfg.EnvDir, err)
	}
	store, err := state.Open(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("opening state: %w", err)
	}
	if engineChosen != "" {
		if err := cfg.RecordEngine(); err != nil {
			opt.Log.Warn("engine", "err", err)
		}
	}
	fetchTimeout := time.Duration(cfg.Timeouts.Fetch)
	if fetchTimeout <= 0 {
		fetchTimeout = time.Minute
	}
	remote := cfg.Metastore.RemoteURL
	if remote != "" && cfg.Metastore.RootFile != "" && cfg.Metastore.RootFile != catalog.RootFile {
		return nil, fmt.Errorf("metastore.root_file %q: only %q is supported", cfg.Metastore.RootFile, catalog.RootFile)
	}
	cat, err := catalog.NewStore(catalog.StoreOptions{RemoteURL: remote, LocalDir: cfg.Metastore.LocalDir,
		CacheDir: filepath.Join(cfg.StateDir, "catalog-cache"), Timeout: fetchTimeout})
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	sd, err := connectSystemd(ctx)
	if err != nil {
		return nil, err
	}
	m := newManager(ctx, cfg, store, eng, sd, opt.Log)
	m.catStore, m.catalog, m.rec, m.volumeCheck = cat, cat.Catalog(), opt.Recorder, opt.VolumeCheck
	if err := m.loadInstalled(); err != nil {
		sd.close()
		return nil, err
	}
	// follow units before recovery so that no change is missed
	if err := sd.watch(ctx, func(u string) bool { return strings.HasPrefix(u, "rockon-") }, m.unitChanged); err != nil {
		sd.close()
		return nil, err
	}
	go m.followEngine(ctx)
	// the cached catalog serves until the first refresh, which does not
	// hold up start-up (the network may not be there yet)
	go func() {
		if _, err := m.RefreshCatalog(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("catalog", "err", err)
		}
	}()
	// a crash in the middle of an atomic write leaves its temporary file
	for _, dir := range []string{cfg.UnitDir, cfg.EnvDir} {
		if removed, err := state.RemoveStaleTemps(dir); err != nil {
			m.log.Warn("removing temporary files", "dir", dir, "err", err)
		} else if len(removed) > 0 {
			m.log.Info("removed temporary files of an interrupted write", "dir", dir, "files", removed)
		}
	}
	m.recover(ctx)
	m.refreshAllUnits(ctx)
	// The timers (rockon-catalog-refresh.timer, rockon-auto-update.timer)
	// schedule these; a configuration that asks rockond itself still gets
	// it, with a note, so that no setting silently stops working.
	if d := time.Duration(cfg.Metastore.RefreshEvery); d > 0 {
		m.log.Info("metastore.refresh_every is set: rockond refreshes the catalog itself; rockon-catalog-refresh.timer does it without this setting", "every", d)
		go every(ctx, d, func() {
			if _, err := m.RefreshCatalog(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("catalog", "err", err)
			}
		})
	}
	if d := time.Duration(cfg.Update.AutoEvery); d > 0 {
		m.log.Info("update.auto_every is set: rockond runs the automatic update itself; rockon-auto-update.timer does it without this setting", "every", d)
		go every(ctx, d, func() { _, _ = m.AutoUpdate(ctx) })
	}
	go func() { <-ctx.Done(); sd.close() }()
	return m, nil
}

// newManager is a manager over its state and drivers, with nothing loaded
// yet and no catalog.
func newManager(ctx context.Context, cfg *state.Config, store *state.Store, eng containerEngine, sd unitManager, log *slog.Logger) *Manager {
	return &Manager{cfg: cfg, store: store, eng: eng, sd: sd, log: log, ctx: ctx,
		installed: map[string]*state.Installed{},
		busy:      map[string]model.OpKind{}, units: map[string]unitInfo{}, logs: map[string]string{},
		results: map[string]*unitgen.Result{}, updates: map[string]bool{},
		startSlots: make(chan struct{}, startConcurrency())}
}

// startConcurrency is how many starts rockond runs at once: one per CPU,
// at least two. Each start is an engine client creating a container, and
// the engines serialise much of that on their own locks; dozens at once
// (many clients, or a restore) only fight for the CPU, and each one's
// start timeout would run out while it waits its turn inside systemd.
// Queued here, a start's timeout counts from its turn.
func startConcurrency() int {
	return max(2, runtime.NumCPU())
}

func (m *Manager) loadInstalled() error {
	recs, errs := m.store.List()
	for _, err := range errs {
		var fe *state.FileError
		if errors.As(err, &fe) {
			// moved aside (kept for the administrator); its units stay
			// untouched: removeOrphans protects them by slug
			slug := strings.TrimSuffix(filepath.Base(fe.File), ".toml")
			if dst, qerr := m.store.Quarantine(slug); qerr == nil {
				m.log.Error("installed rock-on record unreadable; moved aside, its units are left alone", "err", err, "moved_to", dst)
				continue
			}
		}
		m.log.Error("installed rock-on record unreadable; left alone", "err", err)
	}
	for _, in := range recs {
		slug := model.Slug(in.Name)
		m.installed[slug] = in
		if d, err := definition(in.Name, in.Definition); err == nil {
			if res, err := m.compile(d, in.Choices, in.Images); err == nil {
				m.results[slug] = res
			} else {
				m.log.Warn("installed rock-on no longer compiles", "name", in.Name, "err", err)
			}
		}
	}
	return nil
}

// Watch implements api.Backend.
func (m *Manager) Watch(f func(string)) {
	m.mu.Lock()
	m.watchers = append(m.watchers, f)
	m.mu.Unlock()
}

func (m *Manager) notify(name string) {
	m.mu.Lock()
	ws := append([]func(string){}, m.watchers...)
	m.mu.Unlock()
	for _, w := range ws {
		w(name)
	}
}

// RefreshCatalog implements api.Backend.
func (m *Manager) RefreshCatalog(ctx context.Context) (int, error) {
	res, err := m.catStore.Refresh(ctx)
	if m.rec != nil && ctx.Err() == nil {
		m.rec.ObserveRefresh(res.Duration, err)
	}
	cat := m.catStore.Catalog()
	m.mu.Lock()
	m.catalog = cat
	if err == nil {
		m.refreshedAt = time.Now()
	}
	if ctx.Err() == nil {
		m.refreshErr = err
	}
	m.mu.Unlock()
	m.notify("")
	if err != nil {
		return cat.Len(), fmt.Errorf("refreshing the catalog: %w", err)
	}
	return cat.Len(), nil
}

// catalogDef finds a catalog definition by name (any case) or slug. m.mu
// must be held.
func (m *Manager) catalogDef(name string) (*catalog.RockOn, bool) {
	if d, ok := m.catalog.Get(name); ok {
		return d, true
	}
	slug := model.Slug(name)
	for _, d := range m.catalog.All() {
		if model.Slug(d.Name) == slug {
			return d, true
		}
	}
	return nil, false
}

// lookup finds a rock-on by name or slug, in the installed ones first.
func (m *Manager) lookup(name string) (slug string, def *catalog.RockOn, in *state.Installed, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	slug = model.Slug(name)
	if in = m.installed[slug]; in != nil {
		return slug, nil, in, nil
	}
	if d, ok := m.catalogDef(name); ok {
		return slug, d, nil, nil
	}
	return "", nil, nil, fmt.Errorf("%w: %q (not in the catalog; try refreshing it)", model.ErrNoSuchRockOn, name)
}

// decoded memoizes definition: records are read far more often than they
// change (every status, list and scrape).
var decoded = struct {
	sync.Mutex
	m map[string]*catalog.RockOn
}{m: map[string]*catalog.RockOn{}}

// definition decodes an installed rock-on's recorded definition.
func definition(name string, raw []byte) (*catalog.RockOn, error) {
	key := name + "\x00" + string(raw)
	decoded.Lock()
	d, ok := decoded.m[key]
	decoded.Unlock()
	if ok {
		return d, nil
	}
	d, err := decodeDefinition(name, raw)
	if err != nil {
		return nil, err
	}
	decoded.Lock()
	decoded.m[key] = d
	decoded.Unlock()
	return d, nil
}

func decodeDefinition(name string, raw []byte) (*catalog.RockOn, error) {
	defs, err := catalog.Decode(name+" (installed)", raw)
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		if d.Name == name {
			return d, nil
		}
	}
	if len(defs) == 1 {
		return defs[0], nil
	}
	return nil, fmt.Errorf("installed definition of %q does not define it", name)
}

// List implements api.Backend.
func (m *Manager) List(installedOnly bool) []model.Summary {
	m.mu.Lock()
	var out []model.Summary
	seen := map[string]bool{}
	for slug, in := range m.installed {
		seen[slug] = true
		s := model.Summary{Name: in.Name, Slug: slug, Installed: true, DesiredState: string(in.Desired), State: m.stateLocked(slug, in)}
		if d, ok := m.catalog.Get(in.Name); ok {
			s.Description = d.Description
		}
		if d, err := definition(in.Name, in.Definition); err == nil {
			s.Version = d.Version
		}
		out = append(out, s)
	}
	if !installedOnly {
		for _, d := range m.catalog.All() {
			slug := model.Slug(d.Name)
			if seen[slug] || slug == "" {
				continue
			}
			seen[slug] = true
			out = append(out, model.Summary{Name: d.Name, Slug: slug, Version: d.Version, Description: d.Description,
				State: m.stateLocked(slug, nil)})
		}
	}
	m.mu.Unlock()
	model.SortByName(out, func(s *model.Summary) string { return s.Name })
	return out
}

// Consent implements api.Backend: the consents of the definition
// Definition returns (the recorded one once installed), with the reasons
// the CLI gives too.
func (m *Manager) Consent(name string) ([]model.Consent, error) {
	_, def, in, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	if in != nil {
		if def, err = definition(in.Name, in.Definition); err != nil {
			return nil, err
		}
	}
	var out []model.Consent
	for _, tok := range unitgen.RequiredConsent(def) {
		out = append(out, model.Consent{Token: tok, Reason: unitgen.ConsentReason(tok)})
	}
	return out, nil
}

// PortUse implements api.Backend with the CLI's rule (the host ports other
// installed rock-ons publish are taken, and those bound on the host) and
// checkPorts' reader of the host's sockets.
func (m *Manager) PortUse(name string) ([]model.PortSuggestion, []model.BoundPort, error) {
	slug, def, in, err := m.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	if in != nil {
		if def, err = definition(in.Name, in.Definition); err != nil {
			return nil, nil, err
		}
	}
	own, others := m.portsTaken(slug)
	taken := catalog.PortSet{}
	for hp := range others {
		taken.Add(hp.Proto, hp.Port)
	}
	listening := catalog.PortSet{}
	var bound []model.BoundPort
	for hp := range listeningPorts() {
		if own.Has(hp.Proto, hp.Port) {
			continue
		}
		listening.Add(hp.Proto, hp.Port)
		bound = append(bound, model.BoundPort{Port: uint32(hp.Port), Protocol: hp.Proto})
	}
	sort.Slice(bound, func(i, j int) bool {
		if bound[i].Port != bound[j].Port {
			return bound[i].Port < bound[j].Port
		}
		return bound[i].Protocol < bound[j].Protocol
	})
	var sug []model.PortSuggestion
	for _, pd := range catalog.DefaultHostPorts(def, taken, listening) {
		sug = append(sug, model.PortSuggestion{Container: pd.Container, ContainerPort: uint32(pd.ContainerPort), Protocol: pd.Protocol, HostPort: uint32(pd.HostPort)})
	}
	return sug, bound, nil
}

// Shares implements api.Backend: the directories (or links to them) in
// the shares root, read-only. A missing root has no shares.
func (m *Manager) Shares() (string, []string, error) {
	root := m.cfg.Volumes.SharesRoot
	if root == "" {
		return "", nil, nil
	}
	f, err := os.Open(root)
	if errors.Is(err, os.ErrNotExist) {
		return root, nil, nil
	}
	if err != nil {
		return root, nil, fmt.Errorf("reading shares root %s: %w", root, err)
	}
	defer f.Close()
	var names []string
	// Read in batches and stop at the bound: a huge directory is not read whole.
	for len(names) < model.MaxShares {
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			if len(names) == model.MaxShares {
				break
			}
			if fi, err := os.Stat(filepath.Join(root, e.Name())); err == nil && fi.IsDir() {
				names = append(names, e.Name())
			}
		}
		if err != nil {
			break // io.EOF, or unreadable: what was read is the answer
		}
	}
	sort.Strings(names)
	return root, names, nil
}

// Definition implements api.Backend.
func (m *Manager) Definition(name string) (string, error) {
	_, def, in, err := m.lookup(name)
	if err != nil {
		return "", err
	}
	if in != nil {
		return string(in.Definition), nil
	}
	return string(def.Raw), nil
}

// Config implements api.Backend.
func (m *Manager) Config(name string) (string, error) {
	_, _, in, err := m.lookup(name)
	if err != nil {
		return "", err
	}
	if in == nil {
		return "", fmt.Errorf("%w: %s", model.ErrNotInstalled, name)
	}
	b, err := model.EncodeChoices(in.Choices)
	return string(b), err
}

// Export implements api.Backend: the installed rock-on as the units run
// it (its recorded definition, choices and images' VOLUMEs), in YAML.
func (m *Manager) Export(name, format string, pvc bool) (string, []string, error) {
	_, _, in, err := m.lookup(name)
	if err != nil {
		return "", nil, err
	}
	if in == nil {
		return "", nil, fmt.Errorf("%w: %s", model.ErrNotInstalled, name)
	}
	def, err := definition(in.Name, in.Definition)
	if err != nil {
		return "", nil, fmt.Errorf("exporting %s: %w", in.Name, err)
	}
	res, err := m.compile(def, in.Choices, in.Images)
	if err != nil {
		return "", nil, err
	}
	out, warnings, err := export.Export(format, def, res, export.Options{PVC: pvc})
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", model.ErrInvalidArgs, err)
	}
	return string(out), warnings, nil
}

// givenDefinition decodes a definition a caller gives with an install
// (model.Operation.Definition): it must define name; it is checked like any
// catalog definition.
func givenDefinition(name, text string) (*catalog.RockOn, error) {
	defs, err := catalog.Decode(name+" (given)", []byte(text))
	if err != nil {
		return nil, fmt.Errorf("%w: definition: %v", model.ErrInvalidArgs, err)
	}
	for _, d := range defs {
		if d.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w: definition: it does not define %q", model.ErrInvalidArgs, name)
}

// Backup implements api.Backend: rockond's configuration and every
// installed rock-on's definition, choices (secrets included), desired
// state and automatic-update opt-in, as a backup file. A rock-on being updated is saved as the
// version known to work; one being installed or uninstalled is left out.
func (m *Manager) Backup() (string, error) {
	f := &backup.File{Format: backup.Format, Version: backup.Version, CreatedAt: time.Now().UTC().Truncate(time.Second), Config: *m.cfg}
	f.Host, _ = os.Hostname()
	m.mu.Lock()
	for _, in := range m.installed {
		if in.Phase != state.PhaseInstalled && in.Phase != state.PhaseUpdating {
			continue
		}
		f.RockOns = append(f.RockOns, backup.RockOn{Name: in.Name, Desired: in.Desired, Source: in.Source, Definition: in.Definition, Choices: in.Choices,
			AutoUpdate: in.AutoUpdate})
	}
	m.mu.Unlock()
	sort.Slice(f.RockOns, func(i, j int) bool { return f.RockOns[i].Name < f.RockOns[j].Name })
	b, err := backup.Encode(f)
	if err != nil {
		return "", fmt.Errorf("%w: %v", model.ErrFailed, err)
	}
	return string(b), nil
}

// reserve marks slug busy with op, or says who holds it.
func (m *Manager) reserve(slug string, op model.OpKind) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.busy[slug]; ok {
		return fmt.Errorf("%w: %s is in progress for this rock-on", model.ErrBusy, cur)
	}
	m.busy[slug] = op
	return nil
}

func (m *Manager) release(slug string) {
	m.mu.Lock()
	delete(m.busy, slug)
	m.mu.Unlock()
}

// Begin implements api.Backend.
func (m *Manager) Begin(op model.Operation) (func(context.Context, model.Report) error, error) {
	slug, def, in, err := m.lookup(op.Name)
	if op.Kind == model.OpInstall && op.Definition != "" {
		// a restore: the definition that was installed, which the
		// catalog may not have (any more)
		if def, err = givenDefinition(op.Name, op.Definition); err != nil {
			return nil, err
		}
		slug = model.Slug(def.Name)
		in = m.get(slug)
	}
	if err != nil {
		return nil, err
	}
	var work func(context.Context, model.Report) error
	switch op.Kind {
	case model.OpInstall:
		if in != nil {
			return nil, fmt.Errorf("%w: %s", model.ErrAlreadyInstalled, in.Name)
		}
		ch := op.Choices
		ch.Consent = append(slices.Clip(ch.Consent), m.cfg.Install.Consent...)
		res, err := m.compile(def, ch, nil)
		if err != nil {
			return nil, err
		}
		if err := m.checkHost(ch); err != nil {
			return nil, err
		}
		if err := m.checkContainerNames(slug, res); err != nil {
			return nil, err
		}
		if err := m.checkPorts(slug, res); err != nil {
			return nil, err
		}
		if err := m.checkAdminNetworks(res); err != nil {
			return nil, err
		}
		if op.DryRun {
			return nil, nil
		}
		work = func(ctx context.Context, r model.Report) error {
			return m.install(ctx, slug, def, ch, res, op.Start, r)
		}
	case model.OpReconfigure:
		if in == nil {
			return nil, fmt.Errorf("%w: %s", model.ErrNotInstalled, op.Name)
		}
		ch := op.Choices
		d, err := definition(in.Name, in.Definition)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", model.ErrFailed, err)
		}
		res, err := m.compile(d, ch, in.Images)
		if err != nil {
			return nil, err
		}
		if err := m.checkHost(ch); err != nil {
			return nil, err
		}
		if err := m.checkPorts(slug, res); err != nil {
			return nil, err
		}
		work = func(ctx context.Context, r model.Report) error { return m.reconfigure(ctx, slug, d, ch, res, r) }
	case model.OpUninstall, model.OpStart, model.OpStop, model.OpRestart, model.OpUpdate:
		if in == nil {
			return nil, fmt.Errorf("%w: %s", model.ErrNotInstalled, op.Name)
		}
		switch op.Kind {
		case model.OpUninstall:
			removeImages, purge := op.RemoveImages, op.Purge
			work = func(ctx context.Context, r model.Report) error { return m.uninstall(ctx, slug, removeImages, purge, r) }
		case model.OpUpdate:
			work = func(ctx context.Context, r model.Report) error { return m.update(ctx, slug, r) }
		default:
			kind := op.Kind
			work = func(ctx context.Context, r model.Report) error { return m.toggle(ctx, slug, kind, r) }
		}
	default:
		return nil, fmt.Errorf("%w: unknown operation %q", model.ErrInvalidArgs, op.Kind)
	}
	if err := m.reserve(slug, op.Kind); err != nil {
		return nil, err
	}
	// an operation that ended between the checks above and the
	// reservation may have changed what is installed
	if now := m.get(slug); op.Kind == model.OpInstall && now != nil {
		m.release(slug)
		return nil, fmt.Errorf("%w: %s", model.ErrAlreadyInstalled, now.Name)
	} else if op.Kind != model.OpInstall && now == nil {
		m.release(slug)
		return nil, fmt.Errorf("%w: %s", model.ErrNotInstalled, op.Name)
	}
	m.notify(slug)
	return func(ctx context.Context, r model.Report) error {
		start := time.Now()
		defer func() {
			m.release(slug)
			m.notify(slug)
		}()
		err := work(ctx, r)
		m.recordOutcome(slug, op.Kind, err)
		if m.rec != nil {
			result := metrics.ResultSuccess
			if err != nil {
				result = metrics.ResultFailure
			}
			m.rec.ObserveOperation(op.Kind, result, time.Since(start))
		}
		return err
	}, nil
}

// recordOutcome keeps the last operation's failure (or clears it) in the
// record, for LastError.
func (m *Manager) recordOutcome(slug string, kind model.OpKind, err error) {
	in := m.get(slug)
	if in == nil || errors.Is(err, context.Canceled) {
		return
	}
	last := state.LastState{At: time.Now().UTC()}
	if err != nil {
		last.State, last.Message = "failed", string(kind)+": "+err.Error()
	} else if in.Last.Message == "" {
		return
	}
	cp := *in
	cp.Last = last
	if serr := m.save(&cp); serr != nil {
		m.log.Warn("recording the outcome", "rockon", in.Name, "err", serr)
	}
}

// compile runs unitgen and turns its refusals into InvalidArgs.
//
// imgs are the images the containers run (nil before the first pull): their
// declared VOLUMEs become named volumes of the rock-on.
func (m *Manager) compile(def *catalog.RockOn, ch model.Choices, imgs []state.Image) (*unitgen.Result, error) {
	opt := unitgen.HostOptions(m.cfg.Host())
	opt.VolumeCheck = m.volumeCheck
	opt.ImageVolumes = map[string][]string{}
	for _, im := range imgs {
		opt.ImageVolumes[im.Container] = im.Volumes
	}
	res, err := unitgen.Compile(def, ch, opt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", model.ErrInvalidArgs, err)
	}
	return res, nil
}

// portsTaken returns the host ports the installed rock-ons take: those of
// the rock-on slug (own) and the others', with the name of the rock-on
// taking each.
func (m *Manager) portsTaken(slug string) (own catalog.PortSet, others map[catalog.HostPort]string) {
	own, others = catalog.PortSet{}, map[catalog.HostPort]string{}
	m.mu.Lock()
	defer m.mu.Unlock()
	for s, in := range m.installed {
		// from the record, as installed (m.results may hold what an
		// operation under way is about to apply)
		d, err := definition(in.Name, in.Definition)
		if err != nil {
			continue
		}
		for _, p := range unitgen.TakenPorts(d, in.Choices) {
			if s == slug {
				own.Add(p.Proto, p.Port)
			} else {
				others[p.HostPort] = in.Name
			}
		}
	}
	return own, others
}

// checkPorts refuses host ports another installed rock-on publishes or a
// host service listens on (the rock-on's own current ports excepted); res
// is what the rock-on compiles to now.
func (m *Manager) checkPorts(slug string, res *unitgen.Result) error {
	own, others := m.portsTaken(slug)
	listening := listeningPorts()
	for _, p := range res.Ports {
		if o, ok := others[p.HostPort]; ok {
			return fmt.Errorf("%w: port %d/%s (%s:%s) is used by rock-on %s; choose another", model.ErrPortInUse, p.Port, p.Proto, p.Container, p.ContainerPort, o)
		}
		if listening.Has(p.Proto, p.Port) && !own.Has(p.Proto, p.Port) {
			return fmt.Errorf("%w: port %d/%s (%s:%s) is in use by a service on this host; choose another", model.ErrPortInUse, p.Port, p.Proto, p.Container, p.ContainerPort)
		}
	}
	return nil
}

func generated(files []unitgen.File) []state.GeneratedFile {
	out := make([]state.GeneratedFile, len(files))
	for i, f := range files {
		out[i] = state.GeneratedFile{Name: f.Name, SHA256: state.ContentHash(f.Content)}
	}
	return out
}

// writeFiles writes the units and env files.
func (m *Manager) writeFiles(res *unitgen.Result) error {
	for _, f := range res.EnvFiles {
		if err := writeGenerated(m.cfg.EnvDir, f); err != nil {
			return err
		}
	}
	for _, f := range res.Units {
		if err := writeGenerated(m.cfg.UnitDir, f); err != nil {
			return err
		}
	}
	return nil
}

// writeGenerated is the one writer of generated files: atomic, with the
// mode the compiler set (0600 for env files, which hold secrets).
func writeGenerated(dir string, f unitgen.File) error {
	return state.WriteFileAtomic(filepath.Join(dir, f.Name), f.Content, f.Mode)
}

// removeOwned removes a generated file if it is rockon's.
func removeOwned(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !unitgen.Owned(data) {
		return fmt.Errorf("%s is not rockon's (no %s marker); left in place", path, unitgen.OwnershipKey)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// removeFiles removes the named units and env files.
func (m *Manager) removeFiles(units, envs []string) error {
	var errs []error
	for _, u := range units {
		errs = append(errs, removeOwned(filepath.Join(m.cfg.UnitDir, u)))
		// drop-in directories systemctl may have made for the unit
		_ = os.Remove(filepath.Join(m.cfg.UnitDir, u+".d"))
	}
	for _, e := range envs {
		errs = append(errs, removeOwned(filepath.Join(m.cfg.EnvDir, e)))
	}
	return errors.Join(errs...)
}

func names(files []state.GeneratedFile) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Name
	}
	return out
}

func (m *Manager) save(in *state.Installed) error {
	if err := m.store.Save(in); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("saving state of %s: %w", in.Name, err)
	}
	// a copy: callers go on changing theirs while readers use this one
	cp := *in
	m.mu.Lock()
	m.installed[model.Slug(in.Name)] = &cp
	m.mu.Unlock()
	return nil
}

func (m *Manager) forget(in *state.Installed) error {
	if err := m.store.Delete(in.Name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("deleting state of %s: %w", in.Name, err)
	}
	m.mu.Lock()
	delete(m.installed, model.Slug(in.Name))
	delete(m.updates, model.Slug(in.Name))
	m.mu.Unlock()
	return nil
}

func (m *Manager) get(slug string) *state.Installed {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.installed[slug]
}
