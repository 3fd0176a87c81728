package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	godbus "github.com/godbus/dbus/v5"
	api "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/sandbox"
	"golang.org/x/sys/unix"
)

// env is a booted sandbox with rockond running as rockon.service.
type env struct {
	s      *sandbox.Sandbox
	engine string
	bin    string // directory of rockon and rockond, same path inside the sandbox
	root   string // module root on the host
	probe  *netProbe
	bus    *godbus.Conn
	c      *api.Client
}

// definitions served to rockond from its local directory.
var definitions = map[string]string{}

func addDefinition(file, name string, containers ...string) {
	definitions[file] = fmt.Sprintf(`{
  %q: {
    "description": "Benchmark rock-on.",
    "version": "1.0",
    "website": "https://example.org/",
    "containers": {
%s
    }
  }
}`, name, strings.Join(containers, ",\n"))
}

// container is one container of a definition, on the test image, with a
// published port when hostPort is not 0.
func container(name string, order, hostPort int) string {
	ports := ""
	if hostPort != 0 {
		ports = fmt.Sprintf(`, "ports": {"8080": {"description": "Web.", "label": "Web", "host_default": %d, "protocol": "tcp"}}`, hostPort)
	}
	return fmt.Sprintf(`      %q: {"image": "localhost/rockon-test", "tag": "1", "launch_order": %d%s}`, name, order, ports)
}

// buildBinaries builds rockon and rockond into a directory of this run's
// own (the sandbox must see them; a fixed place would let two runs from
// different trees, or a build during a run's reboots, swap the binaries
// under a measurement). The caller removes it.
func buildBinaries(root string) (string, error) {
	if err := os.MkdirAll(sandbox.SharedDir(), 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(sandbox.SharedDir(), "bench-bin-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/rockon", "./cmd/rockond")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("building rockon and rockond: %v\n%s", err, out)
	}
	return dir, nil
}

// newEnv boots a sandbox for engine, loads the test images and starts rockond.
func newEnv(ctx context.Context, root, bin, engine string) (*env, error) {
	s, err := sandbox.Start(sandbox.Options{Docker: engine == "docker", Registry: true})
	if err != nil {
		return nil, fmt.Errorf("booting the sandbox: %w", err)
	}
	e := &env{s: s, engine: engine, bin: bin, root: root}
	if err := e.setup(ctx); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) setup(ctx context.Context) error {
	if err := e.s.LoadImages(ctx, e.engine); err != nil {
		return fmt.Errorf("loading test images: %w", err)
	}
	// The repository's unit as packaged, with the freshly built binary.
	unit, err := sandbox.ShippedUnit(e.bin + "/rockond --config /etc/rockon/rockond.toml")
	if err != nil {
		return err
	}
	if err := e.s.InstallRockond(ctx, sandbox.Rockond{Definitions: definitions, Unit: unit, Config: sandbox.Config(e.engine, sandbox.Settings{"metrics": {"listen": "127.0.0.1:9387"}})}); err != nil {
		return err
	}
	for _, c := range [][]string{
		{"mkdir", "-p", "/srv/rockon"},
		{"systemctl", "enable", "--now", "rockon.service"},
	} {
		if _, err := e.run(ctx, c[0], c[1:]...); err != nil {
			return err
		}
	}
	return e.connect()
}

// connect (again, after a boot) to the sandbox's bus and network.
func (e *env) connect() error {
	if e.probe != nil {
		e.probe.close()
	}
	if e.bus != nil {
		e.bus.Close()
	}
	p, err := newNetProbe(e.s.PID)
	if err != nil {
		return err
	}
	e.probe = p
	conn, err := godbus.Connect(e.s.SystemBusAddress())
	if err != nil {
		return fmt.Errorf("connecting to the sandbox's bus: %w", err)
	}
	e.bus = conn
	e.c = api.NewClient(conn)
	return nil
}

func (e *env) close() {
	if e.probe != nil {
		e.probe.close()
	}
	if e.bus != nil {
		e.bus.Close()
	}
	if keep {
		logf("sandbox left running: %s", e.s.Dir())
		return
	}
	if err := e.s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: stopping the sandbox: %v\n", err)
	}
}

// run runs a command inside the sandbox and returns its output.
func (e *env) run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	out, err := e.s.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in the sandbox: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// rockon runs the CLI inside the sandbox.
func (e *env) rockon(ctx context.Context, args ...string) (string, error) {
	return e.run(ctx, e.bin+"/rockon", args...)
}

// start starts a command inside the sandbox; wait collects it.
func (e *env) start(ctx context.Context, name string, args ...string) (wait func() error, err error) {
	var out strings.Builder
	cmd := e.s.Command(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() error {
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("in the sandbox: %s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
		}
		return nil
	}, nil
}

// activeState asks the sandbox's systemd for a unit's ActiveState.
func (e *env) activeState(unit string) (string, error) {
	obj := e.bus.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	var path godbus.ObjectPath
	if err := obj.Call("org.freedesktop.systemd1.Manager.LoadUnit", 0, unit).Store(&path); err != nil {
		return "", err
	}
	v, err := e.bus.Object("org.freedesktop.systemd1", path).GetProperty("org.freedesktop.systemd1.Unit.ActiveState")
	if err != nil {
		return "", err
	}
	s, _ := v.Value().(string)
	return s, nil
}

// waitInactive polls until every unit is inactive (or failed).
func (e *env) waitInactive(ctx context.Context, units []string) error {
	for _, u := range units {
		for {
			st, err := e.activeState(u)
			if err != nil {
				return err
			}
			if st == "inactive" || st == "failed" {
				break
			}
			if err := sleepCtx(ctx, 2*time.Millisecond); err != nil {
				return fmt.Errorf("%s still %s: %w", u, st, err)
			}
		}
	}
	return nil
}

// waitPorts polls loopback ports inside the sandbox until each answers HTTP.
func (e *env) waitPorts(ctx context.Context, ports ...int) error {
	for _, p := range ports {
		for !e.probe.answers(p) {
			if err := sleepCtx(ctx, 2*time.Millisecond); err != nil {
				return fmt.Errorf("port %d does not answer: %w", p, err)
			}
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// netProbe dials into the sandbox's network namespace from one OS thread
// that entered it: no process is started per probe, so polling costs
// both sides of a comparison the same few microseconds.
type netProbe struct {
	reqs chan probeReq
}

type probeReq struct {
	addr  string
	reply chan probeRep
}

type probeRep struct {
	conn net.Conn
	err  error
}

func newNetProbe(pid int) (*netProbe, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, err
	}
	p := &netProbe{reqs: make(chan probeReq)}
	ready := make(chan error)
	go func() {
		// The thread stays in the namespace and is never unlocked: it
		// ends with the goroutine instead of going back to the pool.
		runtime.LockOSThread()
		err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			ready <- fmt.Errorf("entering the sandbox's network namespace: %w", err)
			return
		}
		ready <- nil
		d := net.Dialer{Timeout: 2 * time.Second}
		for r := range p.reqs {
			c, err := d.Dial("tcp", r.addr)
			r.reply <- probeRep{c, err}
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return p, nil
}

func (p *netProbe) close() { close(p.reqs) }

func (p *netProbe) dial(addr string) (net.Conn, error) {
	r := probeReq{addr: addr, reply: make(chan probeRep, 1)}
	p.reqs <- r
	rep := <-r.reply
	return rep.conn, rep.err
}

// get does an HTTP/1.0 GET inside the sandbox and returns status and body.
func (p *netProbe) get(port int, path string, timeout time.Duration) (int, []byte, error) {
	c, err := p.dial("127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path); err != nil {
		return 0, nil, err
	}
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		return 0, nil, err
	}
	f := strings.Fields(status)
	if len(f) < 2 {
		return 0, nil, fmt.Errorf("bad status line %q", status)
	}
	code, _ := strconv.Atoi(f[1])
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return code, nil, err
		}
		if l == "\r\n" {
			break
		}
	}
	body, err := io.ReadAll(br)
	return code, body, err
}

// answers says whether an HTTP server answers 200 on the port.
func (p *netProbe) answers(port int) bool {
	code, _, err := p.get(port, "/", time.Second)
	return err == nil && code == 200
}
