package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Code, rec.Body.String()
}

func TestEndpoints(t *testing.T) {
	t.Setenv("ROCKON_TEST_MARK", "a=b c\tz")
	exited := -1
	h := newHandler("7", []string{"rockon-test", "--flag", "x y"}, func(code int) { exited = code })

	host, _ := os.Hostname()
	if code, body := get(t, h, "/"); code != 200 || body != "ok "+host+"\n" {
		t.Errorf("/ = %d %q", code, body)
	}
	if code, _ := get(t, h, "/nothing-here"); code != 404 {
		t.Errorf("/nothing-here = %d, want 404", code)
	}
	if _, body := get(t, h, "/env"); !slices.Contains(strings.Split(body, "\n"), "ROCKON_TEST_MARK=a=b c\tz") {
		t.Errorf("/env lacks the variable: %q", body)
	}
	_, body := get(t, h, "/args")
	var args []string
	if err := json.Unmarshal([]byte(body), &args); err != nil || !slices.Equal(args, []string{"rockon-test", "--flag", "x y"}) {
		t.Errorf("/args = %q (%v)", body, err)
	}
	if _, body := get(t, h, "/version"); body != "7\n" {
		t.Errorf("/version = %q", body)
	}

	p := filepath.Join(t.TempDir(), "f")
	if code, body := get(t, h, "/write?"+url.Values{"path": {p}, "data": {"héllo\n"}}.Encode()); code != 200 {
		t.Fatalf("/write = %d %q", code, body)
	}
	if code, body := get(t, h, "/file?path="+url.QueryEscape(p)); code != 200 || body != "héllo\n" {
		t.Errorf("/file = %d %q", code, body)
	}
	if code, _ := get(t, h, "/file?path="+url.QueryEscape(p+".missing")); code != 404 {
		t.Errorf("/file of a missing file = %d, want 404", code)
	}
	if code, _ := get(t, h, "/write?path="+url.QueryEscape(filepath.Join(p, "under-a-file"))); code != 500 {
		t.Errorf("/write below a regular file = %d, want 500", code)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if code, body := get(t, h, "/connect?addr="+addr); code != 200 || body != "ok\n" {
		t.Errorf("/connect to a listener = %d %q", code, body)
	}
	ln.Close()
	if code, _ := get(t, h, "/connect?addr="+addr); code != http.StatusBadGateway {
		t.Errorf("/connect to a closed port = %d, want 502", code)
	}

	if _, body := get(t, h, "/crash"); exited != 3 || !strings.Contains(body, "3") {
		t.Errorf("/crash: exit %d, body %q", exited, body)
	}
	if code, body := get(t, h, "/alloc?mb=2"); code != 200 || body != "allocated 2 MiB\n" {
		t.Errorf("/alloc?mb=2 = %d %q", code, body)
	}
	if code, _ := get(t, h, "/alloc?mb=x"); code != 400 {
		t.Errorf("/alloc?mb=x = %d, want 400", code)
	}
	if _, body := get(t, h, "/crash?code=0"); exited != 0 || !strings.Contains(body, "status 0") {
		t.Errorf("/crash?code=0: exit %d, body %q", exited, body)
	}
}

// TestProcess runs the real binary: it serves on $PORT, /crash exits 3, SIGTERM exits 0,
// and the subcommands behave.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "rockon-test")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := exec.Command(bin, "true").Run(); err != nil {
		t.Errorf("rockon-test true: %v", err)
	}
	broken := exec.Command(bin)
	broken.Env = append(os.Environ(), "ROCKON_TEST_VERSION=broken")
	if err := broken.Run(); exitCode(err) != 1 {
		t.Errorf("broken image: %v, want exit status 1", err)
	}

	sleeper := exec.Command(bin, "sleep")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	sleeper.Process.Signal(syscall.SIGTERM)
	if err := sleeper.Wait(); err != nil {
		t.Errorf("sleep after SIGTERM: %v", err)
	}

	for _, tc := range []struct {
		stop func(port string, p *os.Process)
		want int
	}{
		{func(port string, p *os.Process) { p.Signal(syscall.SIGTERM) }, 0},
		{func(port string, p *os.Process) { httpGet(t, "http://127.0.0.1:"+port+"/crash") }, 3},
	} {
		port := freePort(t)
		var out bytes.Buffer
		srv := exec.Command(bin)
		srv.Env = append(os.Environ(), "PORT="+port, "ROCKON_TEST_VERSION=2")
		srv.Stdout = &out
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		var body string
		for range 100 {
			if body = httpGet(t, "http://127.0.0.1:"+port+"/version"); body != "" {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if body != "2\n" {
			t.Errorf("/version over the network = %q", body)
		}
		tc.stop(port, srv.Process)
		if err := srv.Wait(); exitCode(err) != tc.want {
			t.Errorf("exit: %v, want status %d; output:\n%s", err, tc.want, out.String())
		}
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func httpGet(t *testing.T, u string) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
