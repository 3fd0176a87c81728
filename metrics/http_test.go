package metrics

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/sandbox"
	"golang.org/x/crypto/bcrypt"
)

// needTool finds a real client; when missing it skips, except under CI,
// where every tool is installed and a missing one is a failure.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (Debian package prometheus): %v", name, err)
		}
		t.Skipf("%s not installed (Debian package prometheus)", name)
	}
	return p
}

func sampleRegistryHandler() http.Handler {
	rec := NewRecorder()
	rec.ObserveOperation(model.OpInstall, ResultSuccess, 42*time.Second)
	rec.ObservePull(1<<20, 3*time.Second)
	rec.ObserveRefresh(time.Second, errors.New("offline"))
	return Handler(NewRegistry(&fakeSource{snap: sampleSnapshot()}, rec))
}

func get(t *testing.T, c *http.Client, url string, setup func(*http.Request)) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

// TestPromtoolCheckMetrics lints the real /metrics output, Go and process
// collectors included, with Prometheus' own promtool.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := needTool(t, "promtool")
	srv := httptest.NewServer(sampleRegistryHandler())
	defer srv.Close()

	code, hdr, body := get(t, srv.Client(), srv.URL+"/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	for _, want := range []string{
		"rockon_rockon_state{rockon=\"Syncthing\",state=\"running\"} 1",
		"rockon_operations_total{operation=\"install\",result=\"success\"} 1",
		"rockon_image_pull_bytes_total 1.048576e+06",
		"rockon_catalog_refresh_failures_total 1",
		"go_goroutines ",
		"process_cpu_seconds_total ",
		"promhttp_metric_handler_requests_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}

	// A problem promtool knows must be caught, or the check above proves
	// nothing.
	bad := exec.Command(promtool, "check", "metrics")
	bad.Stdin = strings.NewReader("# HELP rockon_bad_counter x\n# TYPE rockon_bad_counter counter\nrockon_bad_counter 1\n")
	if out, err := bad.CombinedOutput(); err == nil {
		t.Fatalf("promtool accepted a counter without _total: %s", out)
	}
}

func TestHandlerRoutes(t *testing.T) {
	srv := httptest.NewServer(sampleRegistryHandler())
	defer srv.Close()
	if code, _, body := get(t, srv.Client(), srv.URL+"/", nil); code != http.StatusOK || !strings.Contains(body, "/metrics") {
		t.Errorf("GET /: %d %q", code, body)
	}
	if code, _, _ := get(t, srv.Client(), srv.URL+"/nothing", nil); code != http.StatusNotFound {
		t.Errorf("GET /nothing: %d, want 404", code)
	}
}

func TestListen(t *testing.T) {
	ln, err := Listen("")
	if ln != nil || err != nil {
		t.Fatalf("Listen(\"\") = %v, %v; want nil, nil (metrics off)", ln, err)
	}
	if err := Serve(context.Background(), nil, http.NotFoundHandler(), WebConfig{}); err != nil {
		t.Fatalf("Serve with metrics off: %v", err)
	}

	ln, err = Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, err = Listen(addr)
	if err == nil {
		t.Fatalf("second Listen(%s) succeeded", addr)
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "metrics") {
		t.Errorf("bind failure error %q should say metrics, name %s and wrap EADDRINUSE", err, addr)
	}
	if _, err := Listen("127.0.0.1:notaport"); err == nil || !strings.Contains(err.Error(), "notaport") {
		t.Errorf("Listen of a bad address: %v", err)
	}
}

// serve runs Serve in the background and returns its address and a stop
// function that cancels it and returns Serve's result.
func serve(t *testing.T, h http.Handler, web WebConfig) (addr string, stop func() error) {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, ln, h, web) }()
	var once sync.Once
	var serveErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-errc:
			case <-time.After(10 * time.Second):
				serveErr = errors.New("Serve did not return after cancel")
			}
		})
		return serveErr
	}
	t.Cleanup(func() { stop() })
	return ln.Addr().String(), stop
}

func TestServeBasicAuth(t *testing.T) {
	hash := hashPassword(t, "s3cret pass")
	web := WebConfig{BasicAuthUsers: map[string]string{"prometheus": hash}}
	addr, stop := serve(t, sampleRegistryHandler(), web)
	url := "http://" + addr + "/metrics"
	c := &http.Client{Timeout: 10 * time.Second}

	for _, tc := range []struct {
		name       string
		user, pass string
		set        bool
	}{
		{name: "no credentials"},
		{name: "wrong password", user: "prometheus", pass: "nope", set: true},
		{name: "unknown user", user: "grafana", pass: "s3cret pass", set: true},
		{name: "empty", user: "", pass: "", set: true},
	} {
		code, hdr, _ := get(t, c, url, func(r *http.Request) {
			if tc.set {
				r.SetBasicAuth(tc.user, tc.pass)
			}
		})
		if code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: %d, WWW-Authenticate %q; want 401 with a Basic challenge", tc.name, code, hdr.Get("WWW-Authenticate"))
		}
	}
	// Twice: the second goes through the cache of good credentials.
	for i := 0; i < 2; i++ {
		code, _, body := get(t, c, url, func(r *http.Request) { r.SetBasicAuth("prometheus", "s3cret pass") })
		if code != http.StatusOK || !strings.Contains(body, "rockon_catalog_entries 89") {
			t.Fatalf("good credentials (try %d): %d %.200s", i+1, code, body)
		}
	}
	// A cached success must not let a wrong password through.
	if code, _, _ := get(t, c, url, func(r *http.Request) { r.SetBasicAuth("prometheus", "s3cret pas") }); code != http.StatusUnauthorized {
		t.Errorf("wrong password after a success: %d, want 401", code)
	}

	if err := stop(); err != nil {
		t.Fatalf("Serve after cancel: %v, want nil", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("still accepting connections on %s after shutdown", addr)
	}
}

// hashPassword returns the bcrypt hash of pw a web configuration holds.
func hashPassword(t *testing.T, pw string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(hash)
}

// writeCert writes a fresh self-signed certificate for 127.0.0.1 and
// returns its pool.
func writeCert(t *testing.T, certFile, keyFile, cn string) *x509.CertPool {
	t.Helper()
	certPEM, keyPEM, err := sandbox.SelfSignedCert(cn)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatal("the test certificate is not PEM")
	}
	return pool
}

func TestServeTLSWithAuth(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeCert(t, certFile, keyFile, "first")
	hash := hashPassword(t, "pw")
	web := WebConfig{TLSCertFile: certFile, TLSKeyFile: keyFile, BasicAuthUsers: map[string]string{"u": hash}}
	addr, stop := serve(t, sampleRegistryHandler(), web)

	client := func(pool *x509.CertPool) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool},
			DisableKeepAlives: true,
		}}
	}
	auth := func(r *http.Request) { r.SetBasicAuth("u", "pw") }
	code, _, body := get(t, client(pool), "https://"+addr+"/metrics", auth)
	if code != http.StatusOK || !strings.Contains(body, "rockon_rockon_info") {
		t.Fatalf("https with auth: %d %.200s", code, body)
	}
	if code, _, _ := get(t, client(pool), "https://"+addr+"/metrics", nil); code != http.StatusUnauthorized {
		t.Errorf("https without auth: %d, want 401", code)
	}
	// Plain HTTP to the TLS port gets no metrics.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "rockon_") {
			t.Errorf("plain http to the TLS port served metrics: %d", resp.StatusCode)
		}
	}

	// Renewed certificate files are used by the next handshake, without a
	// restart; the old CA no longer verifies.
	newPool := writeCert(t, certFile, keyFile, "second")
	if code, _, _ := get(t, client(newPool), "https://"+addr+"/metrics", auth); code != http.StatusOK {
		t.Errorf("after certificate renewal: %d", code)
	}
	if _, err := client(pool).Get("https://" + addr + "/metrics"); err == nil {
		t.Errorf("old certificate still served after renewal")
	}

	if err := stop(); err != nil {
		t.Fatalf("Serve after cancel: %v, want nil", err)
	}
}

func TestWebConfigValidate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, "v")
	good := hashPassword(t, "x")
	for _, tc := range []struct {
		name string
		web  WebConfig
		want string // substring of the error; "" for valid
	}{
		{"empty", WebConfig{}, ""},
		{"tls", WebConfig{TLSCertFile: certFile, TLSKeyFile: keyFile}, ""},
		{"auth", WebConfig{BasicAuthUsers: map[string]string{"a": good}}, ""},
		{"cert without key", WebConfig{TLSCertFile: certFile}, "must be set together"},
		{"key without cert", WebConfig{TLSKeyFile: keyFile}, "must be set together"},
		{"missing files", WebConfig{TLSCertFile: certFile + ".no", TLSKeyFile: keyFile}, "cert.pem.no"},
		{"swapped files", WebConfig{TLSCertFile: keyFile, TLSKeyFile: certFile}, "loading"},
		{"plain password", WebConfig{BasicAuthUsers: map[string]string{"a": "hunter2"}}, `user "a"`},
		{"empty user", WebConfig{BasicAuthUsers: map[string]string{"": good}}, "empty user"},
	} {
		err := tc.web.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}

	// Serve refuses a bad configuration rather than serving without it,
	// and releases the listener.
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = Serve(context.Background(), ln, http.NotFoundHandler(), WebConfig{BasicAuthUsers: map[string]string{"a": "plain"}})
	if err == nil {
		t.Fatal("Serve accepted a plain-text password")
	}
	if ln2, err := net.Listen("tcp", ln.Addr().String()); err != nil {
		t.Errorf("listener not released after refused configuration: %v", err)
	} else {
		ln2.Close()
	}
}

// An in-flight scrape finishes when the context is cancelled, and Serve
// then returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	addr, stop := serve(t, h, WebConfig{})

	type result struct {
		code int
		body string
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		resc <- result{resp.StatusCode, string(b), err}
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(100 * time.Millisecond) // let Shutdown start waiting
	close(release)
	res := <-resc
	if res.err != nil || res.code != http.StatusOK || res.body != "done" {
		t.Errorf("in-flight request during shutdown: %d %q %v", res.code, res.body, res.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve after cancel: %v, want nil", err)
	}
}

func TestGzip(t *testing.T) {
	srv := httptest.NewServer(sampleRegistryHandler())
	defer srv.Close()
	// Go's transport asks for gzip and decompresses on its own only when
	// the caller did not set Accept-Encoding; set it to see the raw body.
	_, hdr, raw := get(t, srv.Client(), srv.URL+"/metrics", func(r *http.Request) {
		r.Header.Set("Accept-Encoding", "deflate, gzip;q=0.8")
	})
	if hdr.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", hdr.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decompressing: %v", err)
	}
	if !strings.Contains(string(plain), "rockon_rockon_info{") {
		t.Errorf("decompressed body lacks rockon_rockon_info: %.200s", plain)
	}

	for _, ae := range []string{"", "identity", "gzip;q=0", "br, gzip; q=0.0"} {
		_, hdr, body := get(t, srv.Client(), srv.URL+"/metrics", func(r *http.Request) {
			r.Header.Set("Accept-Encoding", ae)
		})
		if hdr.Get("Content-Encoding") != "" || !strings.Contains(body, "rockon_rockon_info{") {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, body %.100q", ae, hdr.Get("Content-Encoding"), body)
		}
	}
	if !acceptsGzip([]string{"*"}) || !acceptsGzip([]string{"br", "GZIP"}) || acceptsGzip([]string{"*;q=0"}) {
		t.Error("acceptsGzip misreads wildcard, several values or case")
	}
}

// Overlapping scrapes share the fixed label pairs and the source; under
// -race this shows they only read them.
func TestConcurrentScrapes(t *testing.T) {
	rec := NewRecorder()
	h := Handler(NewRegistry(&fakeSource{snap: bigSnapshot(20)}, rec))
	want := fmt.Sprintf(`rockon_rockon_state{rockon="RockOn 019",state=%q} 1`, States[19%len(States)])
	var wg sync.WaitGroup
	errs := make(chan string, 4*5)
	for i := 0; i < 4; i++ { // the handler serves at most 4 at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				rec.ObserveOperation(model.OpStart, ResultSuccess, time.Millisecond)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
					errs <- fmt.Sprintf("scrape: %d %.200s", w.Code, w.Body.String())
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
