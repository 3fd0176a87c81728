package cockpit

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rockon/rockon/sandbox"
)

var (
	buildOnce sync.Once
	buildDir  string
	debPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildDeb builds the application's package with the repository's
// `make deb-cockpit` (npm and esbuild) once per test binary and returns
// the .deb's path.
func buildDeb(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "rockon-cockpit-deb-"); buildErr != nil {
			return
		}
		cmd := exec.Command("make", "-C", "..", "DESTDIR="+buildDir, "STAGE="+filepath.Join(buildDir, "stage"), "deb-cockpit")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("make deb-cockpit: %v\n%s", err, out)
			return
		}
		debs, _ := filepath.Glob(filepath.Join(buildDir, "rockon-cockpit_*_all.deb"))
		if len(debs) != 1 {
			buildErr = fmt.Errorf("make deb-cockpit made %v, want one package\n%s", debs, out)
			return
		}
		debPath = debs[0]
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return debPath
}

// env is a sandbox running rockond (polkit deciding for non-root callers),
// cockpit-ws with the application installed, two users, and a host port
// forwarded to cockpit-ws.
type env struct {
	s   *sandbox.Sandbox
	bin string
	url string // http://127.0.0.1:PORT on the host
}

const (
	adminUser, adminPass   = "admin", "admin-pass-1"
	viewerUser, viewerPass = "viewer", "viewer-pass-1"
	wsSocket               = "/run/rockon-cockpit/ws.sock" // units/rockon-cockpit.socket
)

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setup boots the sandbox. defs are extra catalog files (name -> JSON) next
// to the demo catalog's Hello.
func setup(t testing.TB, defs map[string]string) *env {
	sandbox.RequireRoot(t)
	deb := buildDeb(t)
	s := sandbox.New(t, sandbox.Options{})
	e := &env{s: s, bin: sandbox.Binaries(t)}
	s.LoadTestImages(t, "podman")

	hello, err := os.ReadFile("../demo/catalog/hello.json")
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"hello.json": string(hello)}
	maps.Copy(all, defs)
	// polkit with the packaged policy and no extra rule: a user who is not
	// root is refused (auth_admin without an agent).
	s.StartPolkit(t, "../packaging/polkit/org.rockon.rockon1.policy", "")
	s.InstallRockondForTest(t, sandbox.Rockond{Definitions: all, Config: sandbox.Config("podman", sandbox.Settings{
		"volumes": {"shares_root": "/srv/shares"},
		"dbus":    {"polkit": true},
	})})

	// The application from its package. rockon itself is not installed as
	// a package here (rockond runs from the freshly built binary), hence
	// the one dependency ignored.
	e.s.Write(t, "/var/tmp/rockon-cockpit.deb", string(mustRead(t, deb)), 0o644)
	s.Run(t, "dpkg", "--install", "--ignore-depends=rockon", "/var/tmp/rockon-cockpit.deb")

	// cockpit-ws without TLS, as the demo runs it (units/).
	for _, u := range []string{"rockon-cockpit.socket", "rockon-cockpit.service"} {
		e.s.Write(t, "/etc/systemd/system/"+u, string(mustRead(t, "units/"+u)), 0o644)
	}

	// An administrator (sudo group: Cockpit's administrative access runs
	// the privileged bridge through sudo with the login password) and a
	// user without it.
	s.Run(t, "useradd", "--create-home", "--groups", "sudo", "--shell", "/bin/bash", adminUser)
	s.Run(t, "useradd", "--create-home", "--shell", "/bin/bash", viewerUser)
	s.Run(t, "sh", "-c", fmt.Sprintf("printf '%%s\\n' '%s:%s' '%s:%s' | chpasswd", adminUser, adminPass, viewerUser, viewerPass))
	s.Run(t, "mkdir", "-p", "/srv/rockon/hello")
	s.Run(t, "systemctl", "daemon-reload")
	s.Run(t, "systemctl", "start", "rockon.service", "rockon-cockpit.socket")

	e.url = e.forward(t)
	return e
}

// forward listens on a host loopback port and connects each client to
// cockpit-ws's socket inside the sandbox (its network is private).
func (e *env) forward(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sock := e.s.HostPath(wsSocket)
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				u, err := net.Dial("unix", sock)
				if err != nil {
					return
				}
				defer u.Close()
				go func() {
					<-done
					c.Close()
					u.Close()
				}()
				go func() { io.Copy(u, c); u.(*net.UnixConn).CloseWrite() }() //nolint:errcheck
				io.Copy(c, u)                                                 //nolint:errcheck
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		close(done)
		wg.Wait()
	})
	return "http://" + l.Addr().String()
}

// browser starts a headless chromium (Debian's) with its own profile and
// returns a context driving its first tab.
func browser(t testing.TB) context.Context {
	t.Helper()
	// Not t.TempDir: chromium's helper processes may still be writing to
	// the profile for a moment after the browser is gone.
	tmp, err := os.MkdirTemp("", "rockon-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.NoSandbox, // root in a test
		chromedp.UserDataDir(filepath.Join(tmp, "profile")),
		chromedp.WindowSize(1280, 900),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.Flag("lang", "en-US"),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelC()
		cancelA()
		for i := 0; ; i++ {
			err := os.RemoveAll(tmp)
			if err == nil {
				return
			}
			if i == 50 {
				t.Errorf("removing the browser's profile: %v", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// login signs in on Cockpit's login page. With admin, the browser asks for
// administrative access as one does when Cockpit remembers that choice (its
// login page sends the "superuser:USER" key of localStorage): cockpit-ws
// then starts the privileged bridge with sudo and the login password.
func (e *env) login(t testing.TB, ctx context.Context, user, pass string, admin bool) {
	t.Helper()
	superuser := "none"
	if admin {
		superuser = "any"
	}
	do(t, ctx, "login",
		chromedp.Navigate(e.url+"/"),
		chromedp.WaitVisible("#login-user-input", chromedp.ByID),
		chromedp.Evaluate(fmt.Sprintf(`localStorage.setItem("superuser:%s", %q)`, user, superuser), nil),
		chromedp.SendKeys("#login-user-input", user, chromedp.ByID),
		chromedp.SendKeys("#login-password-input", pass, chromedp.ByID),
		chromedp.Click("#login-button", chromedp.ByID),
		chromedp.WaitVisible("#topnav, #nav-system, .pf-v5-c-page, .pf-c-page", chromedp.ByQuery),
	)
}

// openApp loads the application's page on its own (outside the shell's
// frame, as Cockpit serves every page) and waits until it has its rock-ons.
func (e *env) openApp(t testing.TB, ctx context.Context) {
	t.Helper()
	do(t, ctx, "open the application",
		chromedp.Navigate(e.url+"/cockpit/@localhost/rockon/index.html"),
		chromedp.WaitVisible(`body[data-ro-ready="1"]`, chromedp.ByQuery),
	)
}

// do runs browser actions with a time limit, failing the test with what
// was being done.
func do(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var html string
		_ = chromedp.Run(ctx, chromedp.OuterHTML("body", &html, chromedp.ByQuery))
		if len(html) > 4000 {
			html = html[:4000] + "..."
		}
		t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
}

// waitJS waits until a JavaScript expression is true.
func waitJS(t testing.TB, ctx context.Context, what, expr string) {
	t.Helper()
	var ok bool
	do(t, ctx, what, chromedp.Poll(expr, &ok, chromedp.WithPollingInterval(200*time.Millisecond)))
}

// screenshot saves the page as ROCKON_SCREENSHOTS/name.png when that
// variable names a directory (the README's pictures come from here).
func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ROCKON_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	do(t, ctx, "screenshot "+name, chromedp.Sleep(300*time.Millisecond), chromedp.CaptureScreenshot(&png))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
