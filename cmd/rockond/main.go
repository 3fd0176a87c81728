// Command rockond is the rock-on daemon: it owns org.rockon.rockon1 on the
// system bus, compiles rock-ons into systemd units and follows their state.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	godbus "github.com/godbus/dbus/v5"
	"github.com/rockon/rockon/daemon"
	api "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/metrics"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check-volumes" {
		os.Exit(checkVolumes(os.Args[2:], os.Stderr))
	}
	configPath := flag.String("config", state.DefaultConfigPath, "configuration file")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *configPath, log); err != nil {
		log.Error("rockond", "err", err)
		notify("STATUS=failed: " + err.Error())
		os.Exit(1)
	}
}

func notify(state string) {
	_, _ = sddaemon.SdNotify(false, state)
}

func loadConfig(path string) (*state.Config, error) {
	cfg, err := state.LoadConfig(path)
	if errors.Is(err, fs.ErrNotExist) && path == state.DefaultConfigPath {
		return state.DefaultConfig(), nil
	}
	return cfg, err
}

func connectBus(ctx context.Context, bus string) (*godbus.Conn, error) {
	switch bus {
	case "", "system":
		return godbus.ConnectSystemBus(godbus.WithContext(ctx))
	case "session":
		return godbus.ConnectSessionBus(godbus.WithContext(ctx))
	default:
		return godbus.Connect(bus, godbus.WithContext(ctx))
	}
}

func run(ctx context.Context, configPath string, log *slog.Logger) error {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return err
	}
	if len(cfg.Metrics.BasicAuthUsers) > 0 {
		// password hashes readable by any local user can be attacked
		// offline
		if st, err := os.Stat(configPath); err == nil && st.Mode().Perm()&0o044 != 0 {
			log.Warn("the configuration holds password hashes and is readable by other users: chmod 600 it", "file", configPath, "mode", fmt.Sprintf("%04o", st.Mode().Perm()))
		}
	}
	notify("STATUS=starting")
	// the metrics socket is bound first: a taken port is a startup error
	ln, err := metrics.Listen(cfg.Metrics.Listen)
	if err != nil {
		return err
	}
	rec := metrics.NewRecorder()
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding rockond's own path for the units' volume check: %w", err)
	}
	mgr, err := daemon.New(ctx, daemon.Options{Config: cfg, Recorder: rec, Log: log, VolumeCheck: self})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		if ctx.Err() != nil {
			return nil // stopped while starting: not an error
		}
		return err
	}
	conn, err := connectBus(ctx, cfg.DBus.Bus)
	if err != nil {
		return fmt.Errorf("connecting to the %s bus: %w", cfg.DBus.Bus, err)
	}
	defer conn.Close()
	var auth api.Authorizer = api.BusAuthorizer{Conn: conn}
	if !cfg.DBus.Polkit {
		auth = rootOnly{conn}
	}
	srv, err := api.NewServer(ctx, conn, mgr, auth, log)
	if err != nil {
		return err
	}
	if err := api.RequestName(conn, api.BusName); err != nil {
		return err
	}
	metricsDone := make(chan error, 1)
	web := metrics.WebConfig{TLSCertFile: cfg.Metrics.TLSCert, TLSKeyFile: cfg.Metrics.TLSKey, BasicAuthUsers: cfg.Metrics.BasicAuthUsers}
	go func() { metricsDone <- metrics.Serve(ctx, ln, metrics.Handler(metrics.NewRegistry(mgr, rec)), web) }()

	notify("READY=1")
	go statusLines(ctx, mgr)
	log.Info("rockond ready", "bus", cfg.DBus.Bus, "metrics", cfg.Metrics.Listen, "engine", cfg.Engine.Name)
	go watchdog(ctx)

serve:
	for {
		select {
		case <-ctx.Done():
			break serve
		case <-conn.Context().Done():
			// the bus went away (dbus restarted): nobody can reach us
			// any more; exit so that systemd starts a fresh daemon
			return fmt.Errorf("lost the connection to the %s bus", cfg.DBus.Bus)
		case err := <-metricsDone:
			if err != nil {
				return err
			}
			metricsDone = nil // metrics off: a nil channel never fires
		}
	}
	notify("STOPPING=1")
	notify("STATUS=stopping")
	log.Info("rockond stopping")
	srv.Wait()
	return nil
}

// statusLines keeps `systemctl status rockon` telling how many rock-ons
// are installed and running, updated on every change the manager sees.
func statusLines(ctx context.Context, mgr *daemon.Manager) {
	changed := make(chan struct{}, 1)
	mgr.Watch(func(string) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	last := ""
	for {
		counts := map[string]int{}
		list := mgr.List(true)
		for _, r := range list {
			counts[r.State]++
		}
		line := fmt.Sprintf("STATUS=serving %s: %d rock-ons installed, %d running", api.BusName, len(list), counts["running"])
		for _, st := range []string{"degraded", "failed", "starting", "installing", "updating", "uninstalling"} {
			if counts[st] > 0 {
				line += fmt.Sprintf(", %d %s", counts[st], st)
			}
		}
		if line != last {
			notify(line)
			last = line
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
			// changes come in bursts (every unit of a rock-on): settle
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// watchdog pings systemd at half the interval it asks for (none when the
// unit sets no WatchdogSec= or the watchdog is another process's).
func watchdog(ctx context.Context) {
	interval, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval / 2):
			notify("WATCHDOG=1")
		}
	}
}

// rootOnly allows uid 0 only (polkit turned off in the configuration).
type rootOnly struct{ conn *godbus.Conn }

func (r rootOnly) Authorize(ctx context.Context, sender, action string) error {
	var uid uint32
	if err := r.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionUnixUser", 0, sender).Store(&uid); err != nil {
		return fmt.Errorf("%w: cannot identify the caller: %v", model.ErrAccessDenied, err)
	}
	if uid != 0 {
		return fmt.Errorf("%w: only root may %s", model.ErrAccessDenied, action)
	}
	return nil
}
