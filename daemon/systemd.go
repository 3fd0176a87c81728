package daemon

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// unitInfo is what systemd says about one unit.
type unitInfo struct {
	Name        string
	LoadState   string
	ActiveState string
	SubState    string
	ExitStatus  int32  // ExecMainStatus
	Restarts    uint32 // NRestarts
	Since       uint64 // StateChangeTimestamp, µs
	ActiveEnter uint64 // ActiveEnterTimestamp, µs
	Result      string
	Job         uint32 // the unit's pending job, 0 for none
}

// systemd is the daemon's side of systemd: unit jobs, enablement and the
// unit state it learns from signals.
type systemd struct {
	conn *sddbus.Conn
}

func connectSystemd(ctx context.Context) (*systemd, error) {
	c, err := sddbus.NewWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to systemd: %w", err)
	}
	return &systemd{conn: c}, nil
}

func (s *systemd) close() { s.conn.Close() }

func (s *systemd) reload(ctx context.Context) error {
	if err := s.conn.ReloadContext(ctx); err != nil {
		return fmt.Errorf("systemctl daemon-reload: %w", err)
	}
	return nil
}

func (s *systemd) enable(ctx context.Context, units []string) error {
	if len(units) == 0 {
		return nil
	}
	if _, _, err := s.conn.EnableUnitFilesContext(ctx, units, false, true); err != nil {
		return fmt.Errorf("enabling %s: %w", strings.Join(units, " "), err)
	}
	return nil
}

func (s *systemd) disable(ctx context.Context, units []string) error {
	if len(units) == 0 {
		return nil
	}
	if _, err := s.conn.DisableUnitFilesContext(ctx, units, false); err != nil {
		var de godbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.NoSuchUnit" {
			return nil
		}
		return fmt.Errorf("disabling %s: %w", strings.Join(units, " "), err)
	}
	return nil
}

// job runs a unit job and waits for its result.
func (s *systemd) job(ctx context.Context, verb, unit string, timeout time.Duration) error {
	ch := make(chan string, 1)
	var err error
	switch verb {
	case "start":
		_, err = s.conn.StartUnitContext(ctx, unit, "replace", ch)
	case "stop":
		_, err = s.conn.StopUnitContext(ctx, unit, "replace", ch)
	case "restart":
		_, err = s.conn.RestartUnitContext(ctx, unit, "replace", ch)
	default:
		panic("unknown job verb " + verb)
	}
	if err != nil {
		var de godbus.Error
		if verb == "stop" && errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.NoSuchUnit" {
			return nil
		}
		return fmt.Errorf("%s %s: %w", verb, unit, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r != "done" {
			return fmt.Errorf("%s %s: job %s", verb, unit, r)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("%s %s: timed out after %s", verb, unit, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *systemd) startNoWait(ctx context.Context, unit string) error {
	_, err := s.conn.StartUnitContext(ctx, unit, "replace", nil)
	return err
}

func (s *systemd) resetFailed(ctx context.Context, unit string) {
	_ = s.conn.ResetFailedUnitContext(ctx, unit)
}

// info reads a unit's state.
func (s *systemd) info(ctx context.Context, unit string) (unitInfo, error) {
	ui := unitInfo{Name: unit}
	p, err := s.conn.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return ui, err
	}
	ui.LoadState, _ = p["LoadState"].(string)
	ui.ActiveState, _ = p["ActiveState"].(string)
	ui.SubState, _ = p["SubState"].(string)
	ui.Since, _ = p["StateChangeTimestamp"].(uint64)
	ui.ActiveEnter, _ = p["ActiveEnterTimestamp"].(uint64)
	if job, ok := p["Job"].([]any); ok && len(job) == 2 {
		ui.Job, _ = job[0].(uint32)
	}
	if strings.HasSuffix(unit, ".service") && ui.LoadState == "loaded" {
		sp, err := s.conn.GetUnitTypePropertiesContext(ctx, unit, "Service")
		if err == nil {
			ui.ExitStatus, _ = sp["ExecMainStatus"].(int32)
			ui.Restarts, _ = sp["NRestarts"].(uint32)
			ui.Result, _ = sp["Result"].(string)
		}
	}
	return ui, nil
}

// loaded returns the units matching the patterns that systemd holds in
// memory (whatever their load state). Unlike asking for a unit's
// properties, listing loads nothing.
func (s *systemd) loaded(ctx context.Context, patterns ...string) (map[string]bool, error) {
	if len(patterns) == 0 {
		return map[string]bool{}, nil
	}
	us, err := s.conn.ListUnitsByPatternsContext(ctx, nil, patterns)
	if err != nil {
		return nil, fmt.Errorf("listing units %s: %w", strings.Join(patterns, " "), err)
	}
	out := make(map[string]bool, len(us))
	for _, u := range us {
		out[u.Name] = true
	}
	return out, nil
}

// watch calls f with the name of every unit matching keep whose
// properties change, until ctx ends. It listens to systemd's signals on a
// connection of its own (go-systemd's subscription reads its subscriber
// fields without a lock); it never polls.
func (s *systemd) watch(ctx context.Context, keep func(string) bool, f func(unit string)) error {
	conn, err := godbus.ConnectSystemBus(godbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("connecting to the system bus for unit signals: %w", err)
	}
	match := []godbus.MatchOption{godbus.WithMatchSender("org.freedesktop.systemd1"),
		godbus.WithMatchInterface("org.freedesktop.DBus.Properties"), godbus.WithMatchMember("PropertiesChanged"),
		godbus.WithMatchPathNamespace("/org/freedesktop/systemd1/unit")}
	if err := conn.AddMatchSignalContext(ctx, match...); err != nil {
		conn.Close()
		return fmt.Errorf("subscribing to unit signals: %w", err)
	}
	ch := make(chan *godbus.Signal, 1024)
	conn.Signal(ch)
	// systemd only sends unit signals to clients that subscribed
	if err := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").CallWithContext(ctx,
		"org.freedesktop.systemd1.Manager.Subscribe", 0).Err; err != nil {
		conn.Close()
		return fmt.Errorf("subscribing to systemd: %w", err)
	}
	go func() {
		defer conn.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case sig, ok := <-ch:
				if !ok {
					return
				}
				if len(sig.Body) < 1 {
					continue
				}
				if iface, _ := sig.Body[0].(string); iface != "org.freedesktop.systemd1.Unit" && iface != "org.freedesktop.systemd1.Service" {
					continue
				}
				unit := unitFromPath(sig.Path)
				if unit != "" && keep(unit) {
					f(unit)
				}
			}
		}
	}()
	return nil
}

// unitFromPath decodes systemd's unit object path
// (/org/freedesktop/systemd1/unit/rockon_2dx_2eservice) to the unit name.
func unitFromPath(p godbus.ObjectPath) string {
	const prefix = "/org/freedesktop/systemd1/unit/"
	e, ok := strings.CutPrefix(string(p), prefix)
	if !ok {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(e); i++ {
		if e[i] == '_' && i+2 < len(e) {
			if v, err := strconv.ParseUint(e[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(e[i])
	}
	return b.String()
}

// logTail returns the last n lines a unit logged, from journalctl.
func (s *systemd) logTail(ctx context.Context, unit string, n int) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "journalctl", "--no-pager", "-u", unit, "-n", fmt.Sprint(n), "-o", "cat").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
