package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/engine"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

// imageRef is the reference a container's image is pulled by: the same
// fully qualified one its unit runs.
func imageRef(c catalog.Container) string { return c.ImageRef() }

// pullMode says what a pull does with an image already present.
type pullMode int

const (
	// pullMissing pulls only the images not present (reconfigure).
	pullMissing pullMode = iota
	// pullAlways looks for a newer image even when one is present, and
	// fails when the registry cannot give it (update: asked for a newer
	// image, the user must learn there is none to be had).
	pullAlways
	// pullRefresh looks for a newer image as pullAlways does, but keeps a
	// present image, with a warning, when the pull fails (install: Rockstor
	// pulls at every install, and a reinstall is how its users update; an
	// offline machine can still reinstall what it has).
	pullRefresh
)

// pullImages makes every image of def available as mode says. The images of a rock-on
// are pulled concurrently (the engines download the layers of one image
// in parallel already; several images at once keep the link busy while
// one is unpacked); the first failure cancels the others.
//
// local is the engine's inspection of imageRefs(def) when the caller has it
// already, else nil.
func (m *Manager) pullImages(ctx context.Context, def *catalog.RockOn, mode pullMode, local map[string]engine.Image, r model.Report, from, to float64) ([]state.Image, error) {
	// Each engine command is a process start (0.1-0.3 s on a small
	// machine, seconds under load): the images are looked at with one
	// inspect for all of them before the pulls (present?, ID, VOLUMEs) and
	// one after them for the images pulled.
	refs := imageRefs(def)
	if local == nil {
		var err error
		if local, err = m.eng.Images(ctx, refs); err != nil {
			return nil, err
		}
	}
	local = maps.Clone(local)
	var missing []string
	for _, ref := range refs {
		_, present := local[ref]
		switch {
		case present && (mode == pullMissing || engine.LocalOnly(ref)):
			// a present local-only image is never pulled: no registry has it
		case !present && engine.LocalOnly(ref):
			return nil, fmt.Errorf("image %s is local-only and not present", ref)
		default:
			missing = append(missing, ref)
		}
	}
	if len(missing) > 0 {
		r(from, "pulling "+strings.Join(missing, ", "))
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var (
			mu     sync.Mutex
			wg     sync.WaitGroup
			first  error
			done   int
			pulled []string
			took   = map[string]time.Duration{}
		)
		for _, ref := range missing {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				err := m.pullOne(pctx, ref, func(line string) {
					mu.Lock()
					frac := from + (to-from)*float64(done)/float64(len(missing))
					mu.Unlock()
					r(frac, ref+": "+line)
				})
				mu.Lock()
				defer mu.Unlock()
				if err != nil && mode == pullRefresh && pctx.Err() == nil {
					// the image present, if any, is kept: the install goes on with it
					if im, ok := local[ref]; ok {
						msg := "warning: " + err.Error() + "; the local image " + shortImageID(im.ID) + " is used"
						m.log.Warn("pull failed, local image kept", "image", ref, "id", im.ID, "err", err)
						r(from+(to-from)*float64(done)/float64(len(missing)), msg)
						done++
						return
					}
				}
				if err != nil {
					if first == nil {
						first = err
						cancel()
					}
					return
				}
				pulled = append(pulled, ref)
				took[ref] = time.Since(start)
				done++
				r(from+(to-from)*float64(done)/float64(len(missing)), "pulled "+ref)
			}()
		}
		wg.Wait()
		if first != nil {
			return nil, first
		}
		if len(pulled) > 0 {
			got, err := m.eng.Images(ctx, pulled)
			if err != nil {
				return nil, err
			}
			for _, ref := range pulled {
				im, ok := got[ref]
				if !ok {
					return nil, fmt.Errorf("image %s: pulled, then not found", ref)
				}
				local[ref] = im
				if m.rec != nil {
					m.rec.ObservePull(im.Size, took[ref])
				}
			}
		}
	}
	var imgs []state.Image
	now := time.Now().UTC()
	for _, c := range def.Containers {
		ref := imageRef(c)
		im := local[ref]
		imgs = append(imgs, state.Image{Container: c.Name, Ref: ref, ID: im.ID, PulledAt: now, Volumes: im.Volumes})
	}
	return imgs, nil
}

// imageRefs lists the distinct images of def's containers.
func imageRefs(def *catalog.RockOn) []string {
	var refs []string
	for _, c := range def.Containers {
		if ref := imageRef(c); !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	return refs
}

// shortImageID is an image ID as the engines' image lists show it.
func shortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// pullOne pulls one image. A failure is one line naming the image and its
// registry, whatever failed.
func (m *Manager) pullOne(ctx context.Context, ref string, progress engine.Progress) error {
	if err := m.eng.Pull(ctx, ref, progress); err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		if strings.Contains(msg, "no space left on device") {
			// said first: the engine's own words bury it at the end of a long line
			msg = "the engine's image storage is full (no space left on device): " + msg
		}
		return fmt.Errorf("image %s from registry %s: %s", ref, catalog.RegistryHost(ref), msg)
	}
	return nil
}

func (m *Manager) install(ctx context.Context, slug string, def *catalog.RockOn, ch model.Choices, res *unitgen.Result, start bool, r model.Report) error {
	now := time.Now().UTC()
	in := &state.Installed{Name: def.Name, Phase: state.PhaseInstalling, PhaseSince: now, Desired: state.DesiredOff,
		Definition: state.Definition(def.Raw), Choices: ch, Units: generated(res.Units), EnvFiles: generated(res.EnvFiles)}
	in.Source = m.cfg.Metastore.RemoteURL
	if m.cfg.Metastore.LocalDir != "" {
		if _, err := os.Stat(filepath.Join(m.cfg.Metastore.LocalDir, def.Name+".json")); err == nil {
			in.Source = filepath.Join(m.cfg.Metastore.LocalDir, def.Name+".json")
		}
	}
	// before the record: a rollback would remove the files of the
	// rock-on that holds them
	if err := m.checkClaims(slug, res); err != nil {
		return err
	}
	// The engine's two looks before anything is written run side by side
	// (each is a process start): are the container names free (known
	// before the record: a rollback removes the containers of its names)
	// and which images are present.
	type inspection struct {
		imgs map[string]engine.Image
		err  error
	}
	inspected := make(chan inspection, 1)
	go func() {
		imgs, err := m.eng.Images(ctx, imageRefs(def))
		inspected <- inspection{imgs, err}
	}()
	if err := m.checkForeignContainers(ctx, res, nil); err != nil {
		return err
	}
	// the record goes first: whatever happens next, recovery knows what to
	// remove
	if err := m.store.Create(in); err != nil {
		return fmt.Errorf("%w: recording the install: %v", model.ErrFailed, err)
	}
	recorded := *in // a copy: in changes below while readers use this one
	m.mu.Lock()
	m.installed[slug] = &recorded
	m.results[slug] = res
	m.mu.Unlock()
	m.notify(slug)
	fresh := false // no unit of it was in systemd's memory before
	err := func() error {
		look := <-inspected
		if look.err != nil {
			return look.err
		}
		imgs, err := m.pullImages(ctx, def, pullRefresh, look.imgs, r, 0, 0.7)
		if err != nil {
			return err
		}
		in.Images = imgs
		// the images' VOLUMEs are known now: compile again with them
		full, err := m.compile(def, ch, imgs)
		if err != nil {
			return err
		}
		res = full
		in.Units, in.EnvFiles = generated(res.Units), generated(res.EnvFiles)
		if err := m.checkClaims(slug, res); err != nil {
			return err
		}
		m.mu.Lock()
		m.results[slug] = res
		m.mu.Unlock()
		r(0.75, "writing units")
		if err := m.checkWritable(res); err != nil {
			return err
		}
		// A daemon-reload (seconds under load: systemd re-runs its
		// generators and reloads every unit) is needed only for a unit
		// systemd holds in memory, a leftover of the same name: one it
		// does not hold it loads from disk when first asked about, as
		// systemctl start of a new unit file works without a reload.
		held, err := m.sd.loaded(ctx, fileNames(res.Units)...)
		if err != nil {
			return err
		}
		if err := m.writeFiles(res); err != nil {
			return err
		}
		if start {
			// enabling links the files on disk and needs no reload; desired
			// on goes into the record below, before the start
			if err := m.sd.enable(ctx, installUnits(res)); err != nil {
				return err
			}
			in.Desired = state.DesiredOn
		}
		reloaded := len(held) > 0
		if reloaded {
			if err := m.sd.reload(ctx); err != nil {
				return err
			}
		}
		// asking about each unit loads it; one systemd did not find (its
		// cache of the unit directories missed the new files: their
		// timestamps are its only hint) is found after a reload
		if !m.trackUnits(ctx, res) && !reloaded {
			if err := m.sd.reload(ctx); err != nil {
				return err
			}
			reloaded = true
			m.trackUnits(ctx, res)
		}
		fresh = !reloaded
		in.Phase, in.PhaseSince = state.PhaseInstalled, time.Now().UTC()
		in.InstalledAt, in.UpdatedAt = in.PhaseSince, in.PhaseSince
		return m.save(in)
	}()
	if err != nil {
		r(0.9, "rolling back")
		if rerr := m.rollbackInstall(context.WithoutCancel(ctx), in, res); rerr != nil {
			err = fmt.Errorf("%w (and rolling back: %v)", err, rerr)
		}
		return fmt.Errorf("installing %s: %w", def.Name, err)
	}
	if start {
		r(0.85, "starting "+res.Target)
		var err error
		if fresh {
			err = m.startFresh(ctx, res, tcpPorts(def, ch))
		} else {
			err = m.startChecked(ctx, res, nil, tcpPorts(def, ch))
		}
		if err != nil {
			return fmt.Errorf("%s is installed but did not start: %w", def.Name, err)
		}
	}
	r(1, "installed")
	return nil
}

// fileNames lists the names of files.
func fileNames(files []unitgen.File) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}

// checkClaims refuses files another installed rock-on has: different
// names can compile to the same unit ("A" with container "b-c" and "A B"
// with container "c" both give rockon-a-b-c.service).
func (m *Manager) checkClaims(slug string, res *unitgen.Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for other, in := range m.installed {
		if other == slug {
			continue
		}
		if ores := m.results[other]; ores != nil {
			for _, v := range res.Volumes {
				for _, o := range ores.Volumes {
					if v.Name == o.Name {
						return fmt.Errorf("%w: volume %s is the installed rock-on %s's; the two names give the same volume names", model.ErrFailed, v.Name, in.Name)
					}
				}
			}
		}
		for _, f := range append(append([]unitgen.File{}, res.Units...), res.EnvFiles...) {
			for _, g := range append(append([]state.GeneratedFile{}, in.Units...), in.EnvFiles...) {
				if f.Name == g.Name {
					return fmt.Errorf("%w: %s is the installed rock-on %s's; the two names give the same unit names", model.ErrFailed, f.Name, in.Name)
				}
			}
		}
	}
	return nil
}

// checkWritable refuses to overwrite a file rockon does not own.
func (m *Manager) checkWritable(res *unitgen.Result) error {
	check := func(dir string, files []unitgen.File) error {
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(dir, f.Name))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if !unitgen.Owned(data) {
				return fmt.Errorf("%w: %s exists and is not rockon's; remove it or choose another rock-on", model.ErrFailed, filepath.Join(dir, f.Name))
			}
		}
		return nil
	}
	if err := check(m.cfg.UnitDir, res.Units); err != nil {
		return err
	}
	return check(m.cfg.EnvDir, res.EnvFiles)
}

// rollbackInstall removes everything an unfinished install made, then its
// record.
func (m *Manager) rollbackInstall(ctx context.Context, in *state.Installed, res *unitgen.Result) error {
	var errs []error
	errs = append(errs, m.teardown(ctx, in, res))
	errs = append(errs, m.forget(in))
	m.mu.Lock()
	delete(m.results, model.Slug(in.Name))
	m.mu.Unlock()
	m.notify("")
	return errors.Join(errs...)
}

// teardown stops and disables a rock-on's units and removes them, its env
// files, containers and networks (shared ones per removeNetworks). Data volumes (host directories) are never
// touched. res may be nil when the record no longer compiles.
func (m *Manager) teardown(ctx context.Context, in *state.Installed, res *unitgen.Result) error {
	var errs []error
	units := names(in.Units)
	envs := names(in.EnvFiles)
	var containers []string
	if res != nil {
		for _, f := range res.Units {
			units = appendNew(units, f.Name)
		}
		for _, f := range res.EnvFiles {
			envs = appendNew(envs, f.Name)
		}
		for _, c := range res.Containers {
			containers = append(containers, c.Name)
		}
	}
	stopTimeout := m.stopTimeout()
	// stop the target first, then every unit (reverse order)
	for i := len(units) - 1; i >= 0; i-- {
		if strings.HasSuffix(units[i], ".target") {
			errs = append(errs, m.sd.job(ctx, "stop", units[i], stopTimeout))
		}
	}
	for i := len(units) - 1; i >= 0; i-- {
		if !strings.HasSuffix(units[i], ".target") {
			errs = append(errs, m.sd.job(ctx, "stop", units[i], stopTimeout))
		}
	}
	errs = append(errs, m.sd.disable(ctx, units))
	for _, c := range containers {
		errs = append(errs, m.eng.RemoveContainer(ctx, c))
	}
	errs = append(errs, m.removeNetworks(ctx, model.Slug(in.Name), res))
	errs = append(errs, m.removeFiles(units, envs))
	errs = append(errs, m.sd.reload(ctx))
	// A docker container's slice stays active, file gone, while it was
	// in use when the stop above ran (the engine's scope leaves it as
	// the container is removed): stopped now, it is unloaded.
	for _, u := range units {
		if strings.HasSuffix(u, ".slice") {
			errs = append(errs, m.sd.job(ctx, "stop", u, stopTimeout))
		}
	}
	for _, u := range units {
		m.sd.resetFailed(ctx, u)
	}
	m.mu.Lock()
	for _, u := range units {
		delete(m.units, u)
		delete(m.logs, u)
	}
	m.mu.Unlock()
	return errors.Join(errs...)
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func (m *Manager) uninstall(ctx context.Context, slug string, removeImages, purge bool, r model.Report) error {
	in := m.get(slug)
	if in == nil {
		return fmt.Errorf("%w: %s", model.ErrNotInstalled, slug)
	}
	cp := *in
	cp.Phase, cp.PhaseSince, cp.Pending = state.PhaseUninstalling, time.Now().UTC(), nil
	if err := m.save(&cp); err != nil {
		return err
	}
	r(0.1, "stopping and removing")
	m.mu.Lock()
	res := m.results[slug]
	m.mu.Unlock()
	if err := m.teardown(ctx, &cp, res); err != nil {
		return fmt.Errorf("uninstalling %s: %w", in.Name, err)
	}
	if purge && res != nil {
		// after the containers are gone: the engine refuses to remove a
		// volume a container still has
		for _, v := range res.Volumes {
			if ok, err := m.eng.VolumeExists(ctx, v.Name); err == nil && !ok {
				continue
			}
			if err := m.eng.RemoveVolume(ctx, v.Name); err != nil {
				return fmt.Errorf("uninstalling %s: removing volume %s: %w", in.Name, v.Name, err)
			}
			r(0.9, fmt.Sprintf("removed volume %s (%s:%s)", v.Name, v.Container, v.Path))
		}
	}
	if err := m.forget(&cp); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.results, slug)
	m.mu.Unlock()
	m.notify("")
	if removeImages {
		m.removeImages(ctx, cp.Images, r)
	}
	r(1, "uninstalled")
	return nil
}

// removeImages removes the images of an uninstalled rock-on that no
// installed rock-on uses (by name or ID). The rock-on is gone by then: an
// image the engine refuses to remove (a container outside rockon uses it)
// is kept and said so, not an error.
func (m *Manager) removeImages(ctx context.Context, imgs []state.Image, r model.Report) {
	used := map[string]bool{}
	m.mu.Lock()
	for _, in := range m.installed {
		for _, im := range in.Images {
			used[im.Ref], used[im.ID] = true, true
		}
	}
	m.mu.Unlock()
	done := map[string]bool{}
	for _, im := range imgs {
		if used[im.Ref] || (im.ID != "" && used[im.ID]) || done[im.Ref] {
			continue
		}
		done[im.Ref] = true
		if err := m.eng.RemoveImage(ctx, im.Ref); err != nil {
			m.log.Warn("image kept", "image", im.Ref, "err", err)
			r(0.95, "kept image "+im.Ref+": "+strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		m.log.Info("image removed", "image", im.Ref)
		r(0.95, "removed image "+im.Ref)
	}
}

// installUnits lists the units that carry an [Install] section: the ones
// enabling means something for.
func installUnits(res *unitgen.Result) []string {
	var out []string
	for _, f := range res.Units {
		if bytes.Contains(f.Content, []byte("\n[Install]")) || bytes.HasPrefix(f.Content, []byte("[Install]")) {
			out = append(out, f.Name)
		}
	}
	return out
}

// toggle starts (enable + start), stops (stop + disable) or restarts.
func (m *Manager) toggle(ctx context.Context, slug string, kind model.OpKind, r model.Report) error {
	in := m.get(slug)
	m.mu.Lock()
	res := m.results[slug]
	m.mu.Unlock()
	if in == nil || res == nil {
		return fmt.Errorf("%w: %s", model.ErrNotInstalled, slug)
	}
	stopTimeout := m.stopTimeout()
	setDesired := func(d state.Desired) error {
		cp := *in
		cp.Desired = d
		return m.save(&cp)
	}
	switch kind {
	case model.OpStart:
		r(0.2, "enabling")
		// desired first: a crash from here on still ends with it on
		if err := setDesired(state.DesiredOn); err != nil {
			return err
		}
		if err := m.sd.enable(ctx, installUnits(res)); err != nil {
			return err
		}
		r(0.4, "starting "+res.Target)
		return m.startChecked(ctx, res, nil, portsOf(in))
	case model.OpStop:
		r(0.2, "stopping "+res.Target)
		if err := setDesired(state.DesiredOff); err != nil {
			return err
		}
		var errs []error
		errs = append(errs, m.sd.job(ctx, "stop", res.Target, stopTimeout))
		for i := len(res.Containers) - 1; i >= 0; i-- {
			errs = append(errs, m.sd.job(ctx, "stop", res.Containers[i].Unit, stopTimeout))
		}
		errs = append(errs, m.sd.disable(ctx, installUnits(res)))
		return errors.Join(errs...)
	case model.OpRestart:
		r(0.2, "restarting")
		if err := setDesired(state.DesiredOn); err != nil {
			return err
		}
		if err := m.sd.enable(ctx, installUnits(res)); err != nil {
			return err
		}
		return m.startChecked(ctx, res, res.Containers, portsOf(in))
	}
	return fmt.Errorf("%w: unknown operation %q", model.ErrInvalidArgs, kind)
}

// startChecked stops the container units of stop (last first: a restart,
// or the containers an apply changed), starts the rock-on's target and
// checks that its containers come up (checkStarted).
func (m *Manager) startChecked(ctx context.Context, res *unitgen.Result, stop []unitgen.ContainerUnit, ports map[string][]tcpPort) error {
	// a turn among the starts in progress (startConcurrency), held until
	// systemd has started the units; the wait for the ports is not work
	// for the CPU and goes on outside it
	if err := m.takeTurn(ctx); err != nil {
		return err
	}
	since, before, err := m.startUnits(ctx, res, stop)
	m.endTurn()
	if err != nil {
		return err
	}
	return m.checkStarted(ctx, res, before, ports, since)
}

// startFresh is startChecked for units systemd loaded just now (a new
// install's): they have never run, so there is no restart count to
// compare with and no failure to reset.
func (m *Manager) startFresh(ctx context.Context, res *unitgen.Result, ports map[string][]tcpPort) error {
	if err := m.takeTurn(ctx); err != nil {
		return err
	}
	since := time.Now()
	err := m.sd.job(ctx, "start", res.Target, m.startTimeout())
	m.endTurn()
	if err != nil {
		return err
	}
	return m.checkStarted(ctx, res, nil, ports, since)
}

// takeTurn waits for a turn among the starts in progress; endTurn ends it.
func (m *Manager) takeTurn(ctx context.Context) error {
	if m.startSlots == nil {
		return nil
	}
	select {
	case m.startSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Manager) endTurn() {
	if m.startSlots != nil {
		<-m.startSlots
	}
}

// startUnits is startChecked's part in systemd: the stops, then the start
// job of the target. It returns when the start began and the units'
// restart counts before it.
func (m *Manager) startUnits(ctx context.Context, res *unitgen.Result, stop []unitgen.ContainerUnit) (time.Time, map[string]uint32, error) {
	for i := len(stop) - 1; i >= 0; i-- {
		if err := m.sd.job(ctx, "stop", stop[i].Unit, m.stopTimeout()); err != nil {
			return time.Time{}, nil, err
		}
	}
	since := time.Now()
	before := m.restarts(ctx, res)
	for _, c := range res.Containers {
		m.sd.resetFailed(ctx, c.Unit)
	}
	return since, before, m.sd.job(ctx, "start", res.Target, m.startTimeout())
}

// startTimeout bounds a start job (rockond.toml's timeouts.start).
func (m *Manager) startTimeout() time.Duration {
	if d := time.Duration(m.cfg.Timeouts.Start); d > 0 {
		return d
	}
	return 5 * time.Minute
}

// stopTimeout bounds a stop job (rockond.toml's timeouts.stop).
func (m *Manager) stopTimeout() time.Duration {
	if d := time.Duration(m.cfg.Timeouts.Stop); d > 0 {
		return d
	}
	return 2 * time.Minute
}

// answerWait bounds how long a start waits for a container's published
// TCP ports to answer once the container runs. A start returns as soon as
// one port answers; an app that is slow to listen, or never does on its
// published ports, is reported started after this long.
const answerWait = 10 * time.Second

// checkStarted waits until every long-running container runs: its unit
// active, the engine running it and, when it publishes TCP ports on the
// host, one of them answering. It fails for one whose unit fails, stops or
// restarts first, or whose container the engine reports dead since the
// start began (since): a broken image exits before it answers. Nothing
// is waited for beyond that; a container that dies later shows in the
// rock-on's state and LastError (engineEvent). ports: container name ->
// its published TCP host ports.
func (m *Manager) checkStarted(ctx context.Context, res *unitgen.Result, before map[string]uint32, ports map[string][]tcpPort, since time.Time) error {
	deadline := time.Now().Add(m.startTimeout())
	var errs []error
	for _, c := range res.Containers {
		if err := m.waitUp(ctx, c, before[c.Unit], ports[c.Name], since, deadline); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// waitUp is checkStarted for one container. It wakes at each change
// systemd's signals or the engine's events bring (changes); while a port
// is to answer it tries it every 20 ms, and it asks systemd and the engine
// themselves at most once a second, in case a signal or event was lost.
func (m *Manager) waitUp(ctx context.Context, c unitgen.ContainerUnit, restarts uint32, ports []tcpPort, since, deadline time.Time) error {
	var (
		asked     time.Time // when systemd and the engine were last asked
		answerBy  time.Time // when to stop waiting for a port to answer
		inspected time.Time // docker: when the container's addresses were asked for
		ips       []string  // docker: the running container's addresses
	)
	for {
		ch := m.changes()
		now := time.Now()
		refresh := now.Sub(asked) >= time.Second
		if refresh {
			asked = now
			ui, err := m.sd.info(ctx, c.Unit)
			if err != nil {
				return err
			}
			m.setUnit(ui)
		}
		m.mu.Lock()
		ui := m.units[c.Unit]
		death, died := m.deaths[c.Unit]
		started := m.starts[c.Unit]
		m.mu.Unlock()
		if c.Data {
			if ui.ActiveState == "failed" {
				return fmt.Errorf("container %s (%s) failed", c.Name, c.Unit)
			}
			return nil
		}
		// auto-restart: it exited and systemd waits to start it again; failing
		// here, before that restart, keeps a rollback from racing it
		dead := died && death.Time.After(since)
		if dead || ui.Restarts > restarts || ui.SubState == "auto-restart" || ui.ActiveState == "failed" || ui.ActiveState == "inactive" {
			msg := fmt.Sprintf("container %s (%s) is %s/%s", c.Name, c.Unit, ui.ActiveState, ui.SubState)
			switch {
			case dead:
				msg = fmt.Sprintf("container %s (%s) exited with status %d", c.Name, c.Unit, death.ExitCode)
			case ui.Restarts > restarts:
				msg = fmt.Sprintf("container %s (%s) exited and was restarted", c.Name, c.Unit)
			}
			if tail := m.sd.logTail(ctx, c.Unit, 10); tail != "" {
				msg += ":\n" + tail
			}
			return errors.New(msg)
		}
		tick := time.Second - time.Since(asked)
		if ui.ActiveState == "active" {
			// a port that answers says the container runs; without one,
			// the engine's start event does, else its word when asked
			if len(ports) > 0 {
				var addrs []string
				if m.cfg.Engine.Name == "docker" {
					// docker's proxy accepts on the host port before the
					// app listens, and holds connections to a container
					// that is gone: the container's own address answers
					// only while the app listens
					if ips == nil && (refresh || started.After(inspected)) {
						inspected = time.Now()
						var err error
						if _, ips, err = m.eng.ContainerAddrs(ctx, c.Name); err != nil {
							return fmt.Errorf("checking container %s: %w", c.Name, err)
						}
					}
					for _, ip := range ips {
						for _, p := range ports {
							if p.Container > 0 {
								addrs = append(addrs, net.JoinHostPort(ip, strconv.Itoa(p.Container)))
							}
						}
					}
				} else {
					for _, p := range ports {
						addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Host)))
					}
				}
				if answers(addrs) {
					return nil
				}
				if answerBy.IsZero() {
					answerBy = now.Add(answerWait)
				}
				tick = 20 * time.Millisecond
			}
			if len(ports) == 0 || now.After(answerBy) {
				running := started.After(since)
				if !running && refresh {
					var err error
					if running, err = m.eng.ContainerRunning(ctx, c.Name); err != nil {
						return fmt.Errorf("checking container %s: %w", c.Name, err)
					}
				}
				if running {
					if len(ports) > 0 {
						m.log.Info("container runs, its ports do not answer yet", "container", c.Name, "ports", ports)
					}
					return nil
				}
			}
		}
		if now.After(deadline) {
			return fmt.Errorf("container %s (%s) did not start within the start timeout (%s/%s)", c.Name, c.Unit, ui.ActiveState, ui.SubState)
		}
		t := time.NewTimer(tick)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
}

// answers says whether one of the addresses takes a TCP connection.
func answers(addrs []string) bool {
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
	}
	return false
}

// tcpPort is a published TCP port: the host's and the container's (0 for
// a range).
type tcpPort struct{ Host, Container int }

// tcpPorts lists each container's published TCP ports.
func tcpPorts(def *catalog.RockOn, ch model.Choices) map[string][]tcpPort {
	out := map[string][]tcpPort{}
	// sorted by port already
	for _, p := range unitgen.TakenPorts(def, ch) {
		if p.Proto == "tcp" {
			n, _ := strconv.Atoi(p.ContainerPort)
			out[p.Container] = append(out[p.Container], tcpPort{p.Port, n})
		}
	}
	return out
}

// portsOf is tcpPorts of an installed rock-on.
func portsOf(in *state.Installed) map[string][]tcpPort {
	def, err := definition(in.Name, in.Definition)
	if err != nil {
		return nil
	}
	return tcpPorts(def, in.Choices)
}

// restarts reads every container unit's NRestarts.
func (m *Manager) restarts(ctx context.Context, res *unitgen.Result) map[string]uint32 {
	out := map[string]uint32{}
	for _, c := range res.Containers {
		if ui, err := m.sd.info(ctx, c.Unit); err == nil {
			out[c.Unit] = ui.Restarts
		}
	}
	return out
}

// update pulls newer images (and takes the catalog's current definition),
// recompiles and restarts what changed, rolling back on failure.
func (m *Manager) update(ctx context.Context, slug string, r model.Report) error {
	in := m.get(slug)
	if in == nil {
		return fmt.Errorf("%w: %s", model.ErrNotInstalled, slug)
	}
	def, err := definition(in.Name, in.Definition)
	if err != nil {
		return fmt.Errorf("%w: %v", model.ErrFailed, err)
	}
	m.mu.Lock()
	if d, ok := m.catalog.Get(in.Name); ok {
		def = d
	}
	m.mu.Unlock()
	res, err := m.compile(def, in.Choices, in.Images)
	if err != nil {
		return err
	}
	return m.apply(ctx, slug, def, in.Choices, res, true, r)
}

func (m *Manager) reconfigure(ctx context.Context, slug string, def *catalog.RockOn, ch model.Choices, res *unitgen.Result, r model.Report) error {
	return m.apply(ctx, slug, def, ch, res, false, r)
}

// apply moves an installed rock-on to a new definition and choices: the
// record is marked updating with the change pending, the new units are
// written and the changed containers restarted; if they do not come up,
// the previous units (and image tags) are put back.
func (m *Manager) apply(ctx context.Context, slug string, def *catalog.RockOn, ch model.Choices, res *unitgen.Result, pull bool, r model.Report) error {
	in := m.get(slug)
	m.mu.Lock()
	oldRes := m.results[slug]
	m.mu.Unlock()
	if in == nil || oldRes == nil {
		return fmt.Errorf("%w: %s", model.ErrNotInstalled, slug)
	}
	if err := m.checkClaims(slug, res); err != nil {
		return err
	}
	if err := m.checkForeignContainers(ctx, res, oldRes); err != nil {
		return err
	}
	if err := m.checkWritable(res); err != nil {
		return err
	}
	mode := pullMissing
	if pull {
		mode = pullAlways
	}
	imgs, err := m.pullImages(ctx, def, mode, nil, r, 0, 0.5)
	if err != nil {
		return err
	}
	// the images' VOLUMEs as they are now (an update may bring new ones)
	if res, err = m.compile(def, ch, imgs); err != nil {
		return err
	}
	if err := m.checkClaims(slug, res); err != nil {
		return err
	}
	cp := *in
	cp.Phase, cp.PhaseSince = state.PhaseUpdating, time.Now().UTC()
	cp.Pending = &state.Change{Definition: state.Definition(def.Raw), Choices: ch, Images: imgs}
	if err := m.save(&cp); err != nil {
		return err
	}
	// what changed: unit content or image ID
	oldContent := map[string][]byte{}
	for _, f := range oldRes.Units {
		oldContent[f.Name] = f.Content
	}
	// env files too: a container reads its environment (the user's env
	// and custom_config values) only when it starts
	oldEnv, newEnv := map[string][]byte{}, map[string][]byte{}
	for _, f := range oldRes.EnvFiles {
		oldEnv[f.Name] = f.Content
	}
	for _, f := range res.EnvFiles {
		newEnv[f.Name] = f.Content
	}
	oldID := map[string]string{}
	for _, im := range in.Images {
		oldID[im.Container] = im.ID
	}
	newID := map[string]string{}
	for _, im := range imgs {
		newID[im.Container] = im.ID
	}
	var changed []unitgen.ContainerUnit
	for _, c := range res.Containers {
		var content []byte
		for _, f := range res.Units {
			if f.Name == c.Unit {
				content = f.Content
			}
		}
		env := unitgen.EnvFileName(c.Unit)
		if !bytes.Equal(content, oldContent[c.Unit]) || !bytes.Equal(oldEnv[env], newEnv[env]) || oldID[c.Name] != newID[c.Name] {
			changed = append(changed, c)
		}
	}
	r(0.6, fmt.Sprintf("writing units (%d containers changed)", len(changed)))
	err = m.switchTo(ctx, oldRes, res, in.Desired == state.DesiredOn, changed, tcpPorts(def, ch))
	if err != nil {
		r(0.8, "rolling back")
		rerr := m.rollbackApply(context.WithoutCancel(ctx), in, oldRes, res, imgs)
		if rerr != nil {
			err = fmt.Errorf("%w (and rolling back: %v)", err, rerr)
		}
		return fmt.Errorf("%w: %v; the previous version was restored", model.ErrFailed, err)
	}
	done := *in
	done.Phase, done.PhaseSince, done.Pending = state.PhaseInstalled, time.Now().UTC(), nil
	done.Definition, done.Choices, done.Images = state.Definition(def.Raw), ch, imgs
	done.Units, done.EnvFiles = generated(res.Units), generated(res.EnvFiles)
	done.UpdatedAt = done.PhaseSince
	if err := m.save(&done); err != nil {
		return err
	}
	m.mu.Lock()
	m.results[slug] = res
	if pull {
		// it runs what the registry had a moment ago: unknown until checked again
		delete(m.updates, slug)
	}
	m.mu.Unlock()
	m.trackUnits(ctx, res)
	r(1, "applied")
	return nil
}

// switchTo writes res in place of old and restarts the changed containers.
func (m *Manager) switchTo(ctx context.Context, old, res *unitgen.Result, on bool, changed []unitgen.ContainerUnit, ports map[string][]tcpPort) error {
	if err := m.writeFiles(res); err != nil {
		return err
	}
	// units of the old version the new one no longer has
	keep := map[string]bool{}
	for _, f := range res.Units {
		keep[f.Name] = true
	}
	var drop []string
	for _, f := range old.Units {
		if !keep[f.Name] {
			drop = append(drop, f.Name)
		}
	}
	for _, u := range drop {
		_ = m.sd.job(ctx, "stop", u, m.stopTimeout())
	}
	_ = m.sd.disable(ctx, drop)
	if err := m.removeFiles(drop, nil); err != nil {
		return err
	}
	if err := m.sd.reload(ctx); err != nil {
		return err
	}
	if !on {
		return nil
	}
	if err := m.sd.enable(ctx, installUnits(res)); err != nil {
		return err
	}
	return m.startChecked(ctx, res, changed, ports)
}

// rollbackApply restores the previous units and image tags.
func (m *Manager) rollbackApply(ctx context.Context, in *state.Installed, old, res *unitgen.Result, imgs []state.Image) error {
	var errs []error
	// a tag that moved to the new image goes back to the old one
	for _, oldImg := range in.Images {
		for _, im := range imgs {
			if im.Container == oldImg.Container && im.Ref == oldImg.Ref && im.ID != oldImg.ID && oldImg.ID != "" {
				errs = append(errs, m.eng.Tag(ctx, oldImg.ID, oldImg.Ref))
			}
		}
	}
	var all []unitgen.ContainerUnit
	all = append(all, old.Containers...)
	err := m.switchTo(ctx, res, old, in.Desired == state.DesiredOn, all, portsOf(in))
	errs = append(errs, err)
	restored := *in
	restored.Phase, restored.PhaseSince, restored.Pending = state.PhaseInstalled, time.Now().UTC(), nil
	errs = append(errs, m.save(&restored))
	return errors.Join(errs...)
}
