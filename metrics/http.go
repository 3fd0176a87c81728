package metrics

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/crypto/bcrypt"
)

// DefaultListenAddress is where metrics are served unless configured
// otherwise: loopback only, so nothing is exposed to the network by default.
const DefaultListenAddress = "127.0.0.1:9387"

// scrapeTimeout bounds one scrape; Prometheus' default scrape timeout is 10s.
const scrapeTimeout = 10 * time.Second

// Handler serves reg at /metrics and a short pointer to it at /.
func Handler(reg *Registry) http.Handler {
	scrape := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A collector error drops that collector's series, not the
		// whole scrape; the error is counted in
		// promhttp_metric_handler_errors_total.
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            reg.Registry,
		MaxRequestsInFlight: 4,
		// Compressed by gzipResponses, at a faster level.
		DisableCompression: true,
	})
	// The deadline goes around the compression, not inside it as
	// HandlerOpts.Timeout would put it: http.TimeoutHandler buffers the
	// whole body, and the compressed one is a sixteenth of the size.
	bounded := http.TimeoutHandler(gzipResponses(scrape), scrapeTimeout, "scrape timed out\n")
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.InstrumentMetricHandler(reg.Registry, bounded))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "rockond metrics: /metrics")
	})
	return mux
}

// WebConfig secures the metrics endpoint, after the exporter-toolkit web
// configuration: optional TLS from certificate and key files (re-read at
// each handshake, so renewed certificates are picked up without a restart)
// and optional HTTP basic auth against bcrypt hashes.
type WebConfig struct {
	// TLSCertFile and TLSKeyFile are PEM files; both set enables TLS.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// BasicAuthUsers maps user names to bcrypt hashes of their passwords
	// (for instance from `htpasswd -nbBC 10 user pass`). Empty: no auth.
	BasicAuthUsers map[string]string `toml:"basic_auth_users"`
}

// TLS reports whether the configuration enables TLS.
func (w WebConfig) TLS() bool { return w.TLSCertFile != "" || w.TLSKeyFile != "" }

// Validate checks the configuration, loading the certificate pair, so that
// mistakes surface at startup rather than at the first scrape.
func (w WebConfig) Validate() error {
	if w.TLS() {
		if w.TLSCertFile == "" || w.TLSKeyFile == "" {
			return errors.New("metrics tls: tls_cert_file and tls_key_file must be set together")
		}
		if _, err := tls.LoadX509KeyPair(w.TLSCertFile, w.TLSKeyFile); err != nil {
			return fmt.Errorf("metrics tls: loading %s and %s: %w", w.TLSCertFile, w.TLSKeyFile, err)
		}
	}
	users := make([]string, 0, len(w.BasicAuthUsers))
	for u := range w.BasicAuthUsers {
		users = append(users, u)
	}
	sort.Strings(users)
	for _, u := range users {
		if u == "" {
			return errors.New("metrics basic auth: empty user name")
		}
		if _, err := bcrypt.Cost([]byte(w.BasicAuthUsers[u])); err != nil {
			return fmt.Errorf("metrics basic auth: user %q: password is not a bcrypt hash: %w", u, err)
		}
	}
	return nil
}

// Listen binds the metrics address. The daemon calls it before telling
// systemd it is ready, so a taken port or a bad address is a startup error.
// An empty address means metrics are off: Listen returns a nil listener and
// no error, and Serve with a nil listener returns at once.
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("binding metrics listen address %q: %w", addr, err)
	}
	return ln, nil
}

// Serve serves h on ln, through TLS and basic auth as web says, until ctx
// is cancelled; it then shuts down gracefully (in-flight scrapes get a few
// seconds) and returns nil. It closes ln. A nil ln (metrics off) returns nil
// at once.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, web WebConfig) error {
	if ln == nil {
		return nil
	}
	if err := web.Validate(); err != nil {
		ln.Close()
		return err
	}
	if len(web.BasicAuthUsers) > 0 {
		h = newBasicAuth(web.BasicAuthUsers, h)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      scrapeTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		// Connection errors (bad TLS handshakes, port scans) are not
		// the daemon's problem; keep them out of its journal.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	if web.TLS() {
		certFile, keyFile := web.TLSCertFile, web.TLSKeyFile
		srv.TLSConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				cert, err := tls.LoadX509KeyPair(certFile, keyFile)
				if err != nil {
					return nil, fmt.Errorf("loading metrics certificate: %w", err)
				}
				return &cert, nil
			},
		}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving metrics: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Scrapes still running after the grace period are cut off;
		// that is what a shutdown means, not a failure.
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving metrics: %w", err)
	}
	return nil
}

// basicAuth checks HTTP basic credentials against bcrypt hashes.
//
// bcrypt is slow on purpose (tens of milliseconds per check), and
// Prometheus sends the same credentials at every scrape, so successful checks
// are remembered, keyed by a hash of user and password (the password itself
// is never kept). Unknown users are checked against a dummy hash so that the
// response time does not tell which users exist.
type basicAuth struct {
	users map[string][]byte
	next  http.Handler
	dummy []byte

	mu sync.Mutex
	ok map[[sha256.Size]byte]bool
}

const maxAuthCache = 64

func newBasicAuth(users map[string]string, next http.Handler) *basicAuth {
	a := &basicAuth{users: make(map[string][]byte, len(users)), next: next, ok: make(map[[sha256.Size]byte]bool)}
	cost := bcrypt.MinCost
	for u, h := range users {
		a.users[u] = []byte(h)
		if c, err := bcrypt.Cost([]byte(h)); err == nil && c > cost {
			cost = c
		}
	}
	// A hash of a random password at the configured cost, to spend on
	// unknown users the time a known one costs. Made now, not at the first
	// request, which it would slow down.
	pass := make([]byte, 32)
	rand.Read(pass)
	dummy, err := bcrypt.GenerateFromPassword(pass, cost)
	if err != nil {
		panic(fmt.Sprintf("bcrypt of a 32-byte password at cost %d: %v", cost, err))
	}
	a.dummy = dummy
	return a
}

func (a *basicAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || !a.check(user, pass) {
		w.Header().Set("WWW-Authenticate", `Basic realm="rockond", charset="UTF-8"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	a.next.ServeHTTP(w, r)
}

func (a *basicAuth) check(user, pass string) bool {
	hash, known := a.users[user]
	// The key binds user, password and the stored hash, so a changed
	// configuration never matches an old entry.
	key := sha256.Sum256([]byte(fmt.Sprintf("%d:%s:%d:%s:%s", len(user), user, len(pass), pass, hash)))
	a.mu.Lock()
	cached := a.ok[key]
	a.mu.Unlock()
	if cached && known {
		return true
	}
	if !known {
		hash = a.dummy
	}
	match := bcrypt.CompareHashAndPassword(hash, []byte(pass)) == nil
	if !known || !match {
		return false
	}
	a.mu.Lock()
	if len(a.ok) >= maxAuthCache {
		clear(a.ok)
	}
	a.ok[key] = true
	a.mu.Unlock()
	return true
}
