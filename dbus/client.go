package dbus

import (
	"context"
	"fmt"
	"reflect"
	"time"

	godbus "github.com/godbus/dbus/v5"
	"github.com/rockon/rockon/model"
)

// Client talks to rockond.
type Client struct {
	conn *godbus.Conn
	obj  godbus.BusObject
	own  bool
}

// Dial connects to the daemon: address "" or "system" means the system
// bus, "session" the session bus, anything else a bus address. ctx bounds
// the connection's life (cancelling it closes the connection); use
// context.Background() for a long-lived client.
func Dial(ctx context.Context, address string) (*Client, error) {
	var conn *godbus.Conn
	var err error
	switch address {
	case "", "system":
		conn, err = godbus.ConnectSystemBus(godbus.WithContext(ctx))
	case "session":
		conn, err = godbus.ConnectSessionBus(godbus.WithContext(ctx))
	default:
		conn, err = godbus.Connect(address, godbus.WithContext(ctx))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: connecting to the bus: %v", ErrDaemonNotRunning, err)
	}
	c := NewClient(conn)
	c.own = true
	return c, nil
}

// NewClient uses an existing connection.
func NewClient(conn *godbus.Conn) *Client {
	return &Client{conn: conn, obj: conn.Object(BusName, ManagerPath)}
}

// Close closes the connection if Dial opened it.
func (c *Client) Close() error {
	if c.own {
		return c.conn.Close()
	}
	return nil
}

// Conn is the underlying connection.
func (c *Client) Conn() *godbus.Conn { return c.conn }

// busLimitsExceeded is the error dbus-daemon answers with, instead of
// delivering a call, when the destination's queue is full: another caller
// is flooding rockond. The call never reached rockond, so sending it again
// is safe whatever the method.
const busLimitsExceeded = "org.freedesktop.DBus.Error.LimitsExceeded"

// callRetry makes a call, sending it again with a backoff while the bus
// refuses it with LimitsExceeded, until ctx ends.
func callRetry(ctx context.Context, obj godbus.BusObject, method string, args ...any) *godbus.Call {
	call := obj.CallWithContext(ctx, method, 0, args...)
	for wait := 50 * time.Millisecond; isLimitsExceeded(call.Err); wait = min(2*wait, time.Second) {
		select {
		case <-ctx.Done():
			return call
		case <-time.After(wait):
		}
		call = obj.CallWithContext(ctx, method, 0, args...)
	}
	return call
}

func (c *Client) call(ctx context.Context, method string, out []any, args ...any) error {
	call := callRetry(ctx, c.obj, ManagerInterface+"."+method, args...)
	if call.Err != nil {
		return fromDBusError(call.Err)
	}
	if len(out) > 0 {
		if err := call.Store(out...); err != nil {
			return fmt.Errorf("decoding the reply of %s: %w", method, err)
		}
	}
	return nil
}

// RefreshCatalog fetches the catalog again; it returns the number of entries.
func (c *Client) RefreshCatalog(ctx context.Context) (int, error) {
	var n uint32
	err := c.call(ctx, "RefreshCatalog", []any{&n})
	return int(n), err
}

// List lists the catalog's and the installed rock-ons.
func (c *Client) List(ctx context.Context, installedOnly bool) ([]model.Summary, error) {
	var l []model.Summary
	err := c.call(ctx, "ListRockOns", []any{&l}, installedOnly)
	return l, err
}

// CheckUpdates asks whether newer images exist for the named installed
// rock-ons (all when names is empty), without pulling.
func (c *Client) CheckUpdates(ctx context.Context, names []string) ([]model.UpdateCheck, error) {
	if names == nil {
		names = []string{}
	}
	var l []model.UpdateCheck
	err := c.call(ctx, "CheckUpdates", []any{&l}, names)
	return l, err
}

// AutoUpdate runs the opt-in automatic update now and returns its lines.
// Updates can take minutes: ctx should allow for it.
func (c *Client) AutoUpdate(ctx context.Context) ([]string, error) {
	var l []string
	err := c.call(ctx, "AutoUpdate", []any{&l})
	return l, err
}

// SetAutoUpdate opts an installed rock-on in to (or out of) the automatic
// update.
func (c *Client) SetAutoUpdate(ctx context.Context, name string, on bool) error {
	return c.call(ctx, "SetAutoUpdate", nil, name, on)
}

// Definition returns a rock-on's catalog definition (registry JSON).
func (c *Client) Definition(ctx context.Context, name string) (string, error) {
	var s string
	err := c.call(ctx, "GetDefinition", []any{&s}, name)
	return s, err
}

// Config returns an installed rock-on's install choices as TOML.
func (c *Client) Config(ctx context.Context, name string) (string, error) {
	var s string
	err := c.call(ctx, "GetConfig", []any{&s}, name)
	return s, err
}

// Export returns an installed rock-on as Kubernetes manifests ("kube")
// or a Compose file ("compose"), and what does not carry over.
func (c *Client) Export(ctx context.Context, name, format string, pvc bool) (string, []string, error) {
	var y string
	var w []string
	opts := map[string]godbus.Variant{}
	if pvc {
		opts["pvc"] = godbus.MakeVariant(true)
	}
	err := c.call(ctx, "Export", []any{&y, &w}, name, format, opts)
	return y, w, err
}

// Backup returns the backup file of rockond's configuration and every
// installed rock-on (secrets included).
func (c *Client) Backup(ctx context.Context) (string, error) {
	var s string
	err := c.call(ctx, "Backup", []any{&s})
	return s, err
}

// Restore installs one rock-on of a backup: its definition (JSON) with its
// choices (install-config TOML), started when start. With dryRun it only
// checks that it can be, and w is not called.
func (c *Client) Restore(ctx context.Context, name, definition, config string, start, dryRun bool, w Watcher) error {
	opts := map[string]godbus.Variant{"start": godbus.MakeVariant(start), "definition": godbus.MakeVariant(definition)}
	choices := map[string]godbus.Variant{"config": godbus.MakeVariant(config)}
	if dryRun {
		opts["dry_run"] = godbus.MakeVariant(true)
		return c.call(ctx, "Install", []any{new(godbus.ObjectPath)}, name, choices, opts)
	}
	return c.runJob(ctx, w, "Install", name, choices, opts)
}

// Diagnose asks rockond to check the set-up (`rockon doctor`).
func (c *Client) Diagnose(ctx context.Context) ([]model.Check, error) {
	var l []model.Check
	err := c.call(ctx, "Diagnose", []any{&l})
	return l, err
}

// Status returns the properties of a rock-on.
func (c *Client) Status(ctx context.Context, name string) (model.Properties, error) {
	var path godbus.ObjectPath
	if err := c.call(ctx, "GetRockOn", []any{&path}, name); err != nil {
		return model.Properties{}, err
	}
	return c.StatusAt(ctx, path)
}

// StatusAt reads the properties of the rock-on object at path.
func (c *Client) StatusAt(ctx context.Context, path godbus.ObjectPath) (model.Properties, error) {
	var m map[string]godbus.Variant
	err := callRetry(ctx, c.conn.Object(BusName, path), "org.freedesktop.DBus.Properties.GetAll", RockOnInterface).Store(&m)
	if err != nil {
		return model.Properties{}, fromDBusError(err)
	}
	var p model.Properties
	if err := storeProps(m, &p); err != nil {
		return model.Properties{}, err
	}
	return p, nil
}

// Statuses lists the state of every installed rock-on (installedOnly), or
// of every catalog entry too, in one call (ListStatuses), in no particular
// order.
func (c *Client) Statuses(ctx context.Context, installedOnly bool) ([]model.Status, error) {
	var l []model.Status
	err := c.call(ctx, "ListStatuses", []any{&l}, installedOnly)
	return l, err
}

// StatusAll returns the properties of every installed rock-on in one
// call (the ObjectManager's GetManagedObjects, which carries every
// rock-on object's properties), in no particular order.
func (c *Client) StatusAll(ctx context.Context) ([]model.Properties, error) {
	var objs map[godbus.ObjectPath]map[string]map[string]godbus.Variant
	err := callRetry(ctx, c.conn.Object(BusName, ManagerPath), objectManager+".GetManagedObjects").Store(&objs)
	if err != nil {
		return nil, fromDBusError(err)
	}
	var out []model.Properties
	for path, ifaces := range objs {
		m, ok := ifaces[RockOnInterface]
		if !ok {
			continue
		}
		var p model.Properties
		if err := storeProps(m, &p); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		// DesiredState is set for every installed rock-on, those still
		// installing too (which Installed leaves out)
		if p.Installed || p.DesiredState != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// storeProps fills the fields of *dst from a property map.
func storeProps(m map[string]godbus.Variant, dst any) error {
	rv := reflect.ValueOf(dst).Elem()
	for i := 0; i < rv.NumField(); i++ {
		name := rv.Type().Field(i).Name
		v, ok := m[name]
		if !ok {
			continue
		}
		if err := godbus.Store([]any{v.Value()}, rv.Field(i).Addr().Interface()); err != nil {
			return fmt.Errorf("decoding property %s: %w", name, err)
		}
	}
	return nil
}

// JobResult is how a job ended.
type JobResult struct {
	Path    godbus.ObjectPath
	Result  string // done or failed
	Message string
}

// Watcher receives the progress of a job while the client waits for it.
type Watcher func(progress float64, message string)

// Install installs name with the install-config TOML text config and
// waits for the job to end. start=false leaves it off.
func (c *Client) Install(ctx context.Context, name, config string, start bool, w Watcher) error {
	return c.runJob(ctx, w, "Install", name, map[string]godbus.Variant{"config": godbus.MakeVariant(config)},
		map[string]godbus.Variant{"start": godbus.MakeVariant(start)})
}

// InstallChoices is Install with choices as a value.
func (c *Client) InstallChoices(ctx context.Context, name string, ch model.Choices, start bool, w Watcher) error {
	config, err := model.EncodeChoices(ch)
	if err != nil {
		return fmt.Errorf("encoding the choices: %w", err)
	}
	return c.Install(ctx, name, string(config), start, w)
}

// Uninstall removes an installed rock-on (its data volumes are kept).
func (c *Client) Uninstall(ctx context.Context, name string, w Watcher) error {
	return c.runJob(ctx, w, "Uninstall", name)
}

// UninstallRemovingImages is Uninstall that also removes the rock-on's
// images no other installed rock-on uses.
func (c *Client) UninstallRemovingImages(ctx context.Context, name string, w Watcher) error {
	return c.runJob(ctx, w, "UninstallWithOptions", name, map[string]godbus.Variant{"remove_images": godbus.MakeVariant(true)})
}

// UninstallWith uninstalls with UninstallWithOptions: removeImages also
// removes its images no other installed rock-on uses, purge the named
// volumes rockon made for its images' VOLUMEs (host directories are
// kept); the job's progress messages name each volume removed.
func (c *Client) UninstallWith(ctx context.Context, name string, removeImages, purge bool, w Watcher) error {
	return c.runJob(ctx, w, "UninstallWithOptions", name, map[string]godbus.Variant{
		"remove_images": godbus.MakeVariant(removeImages), "purge": godbus.MakeVariant(purge)})
}

// Purge is UninstallWith purging the named volumes.
func (c *Client) Purge(ctx context.Context, name string, w Watcher) error {
	return c.UninstallWith(ctx, name, false, true, w)
}

// Start turns a rock-on on (and enables it at boot).
func (c *Client) Start(ctx context.Context, name string, w Watcher) error {
	return c.runJob(ctx, w, "Start", name)
}

// Stop turns a rock-on off (and disables it at boot).
func (c *Client) Stop(ctx context.Context, name string, w Watcher) error {
	return c.runJob(ctx, w, "Stop", name)
}

// Restart restarts a rock-on's containers.
func (c *Client) Restart(ctx context.Context, name string, w Watcher) error {
	return c.runJob(ctx, w, "Restart", name)
}

// Update pulls newer images and restarts what changed.
func (c *Client) Update(ctx context.Context, name string, w Watcher) error {
	return c.runJob(ctx, w, "Update", name)
}

// Reconfigure replaces an installed rock-on's choices with config (TOML)
// and applies them.
func (c *Client) Reconfigure(ctx context.Context, name, config string, w Watcher) error {
	return c.runJob(ctx, w, "Reconfigure", name, map[string]godbus.Variant{"config": godbus.MakeVariant(config)})
}

// ReconfigureChoices is Reconfigure with choices as a value.
func (c *Client) ReconfigureChoices(ctx context.Context, name string, ch model.Choices, w Watcher) error {
	config, err := model.EncodeChoices(ch)
	if err != nil {
		return fmt.Errorf("encoding the choices: %w", err)
	}
	return c.Reconfigure(ctx, name, string(config), w)
}

// runJob calls a method that returns a job and waits for its JobRemoved
// signal. It subscribes before calling so that a quick job's signal is not
// missed.
func (c *Client) runJob(ctx context.Context, w Watcher, method string, args ...any) error {
	match := []godbus.MatchOption{godbus.WithMatchSender(BusName), godbus.WithMatchObjectPath(ManagerPath), godbus.WithMatchInterface(ManagerInterface), godbus.WithMatchMember("JobRemoved")}
	if err := c.conn.AddMatchSignalContext(ctx, match...); err != nil {
		return fromDBusError(err)
	}
	defer c.conn.RemoveMatchSignal(match...) //nolint:errcheck
	var propMatch []godbus.MatchOption
	if w != nil {
		propMatch = []godbus.MatchOption{godbus.WithMatchSender(BusName), godbus.WithMatchInterface("org.freedesktop.DBus.Properties"),
			godbus.WithMatchMember("PropertiesChanged"), godbus.WithMatchPathNamespace(JobPathPrefix)}
		if err := c.conn.AddMatchSignalContext(ctx, propMatch...); err != nil {
			return fromDBusError(err)
		}
		defer c.conn.RemoveMatchSignal(propMatch...) //nolint:errcheck
	}
	// the daemon going away ends the wait: its job will never report
	ownerMatch := []godbus.MatchOption{godbus.WithMatchSender("org.freedesktop.DBus"), godbus.WithMatchInterface("org.freedesktop.DBus"),
		godbus.WithMatchMember("NameOwnerChanged"), godbus.WithMatchArg(0, BusName)}
	if err := c.conn.AddMatchSignalContext(ctx, ownerMatch...); err != nil {
		return fromDBusError(err)
	}
	defer c.conn.RemoveMatchSignal(ownerMatch...) //nolint:errcheck
	ch := make(chan *godbus.Signal, 64)
	c.conn.Signal(ch)
	defer c.conn.RemoveSignal(ch)

	var jp JobProperties // the job's last known progress
	var job godbus.ObjectPath
	if err := c.call(ctx, method, []any{&job}, args...); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case sig, ok := <-ch:
			if !ok {
				return fmt.Errorf("%w: connection closed while waiting for job %s", ErrDaemonNotRunning, job)
			}
			switch {
			case sig.Name == "org.freedesktop.DBus.NameOwnerChanged" && len(sig.Body) == 3:
				if n, _ := sig.Body[0].(string); n == BusName {
					return fmt.Errorf("%w: it exited while job %s was running", ErrDaemonNotRunning, job)
				}
			case sig.Name == ManagerInterface+".JobRemoved" && len(sig.Body) == 6:
				if p, _ := sig.Body[1].(godbus.ObjectPath); p != job {
					continue
				}
				result, _ := sig.Body[3].(string)
				name, _ := sig.Body[4].(string)
				msg, _ := sig.Body[5].(string)
				if result != "done" {
					if name == "" {
						name = ErrorPrefix + "Failed"
					}
					return fromDBusError(godbus.Error{Name: name, Body: []any{msg}})
				}
				return nil
			case w != nil && sig.Path == job && sig.Name == "org.freedesktop.DBus.Properties.PropertiesChanged" && len(sig.Body) >= 2:
				changed, _ := sig.Body[1].(map[string]godbus.Variant)
				if err := storeProps(changed, &jp); err == nil && (changed["Progress"].Value() != nil || changed["Message"].Value() != nil) {
					w(jp.Progress, jp.Message)
				}
			}
		}
	}
}

func isLimitsExceeded(err error) bool {
	var de godbus.Error
	switch e := err.(type) {
	case godbus.Error:
		de = e
	case *godbus.Error:
		de = *e
	default:
		return false
	}
	return de.Name == busLimitsExceeded
}
