package hardening

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/sandbox"
)

// The catalog tests run catalog.Store against real HTTP servers that turn
// hostile after one good refresh. Each must end with a clear error, the
// last good catalog intact (in memory and in the on-disk cache a restarted
// daemon reads), and bounded time and memory.

const goodApp = `{"Good App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"web": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1}}}}`

// hostileServer serves a good metastore until hostile is set; then every
// request goes to hostile.
type hostileServer struct {
	hostile atomic.Pointer[http.HandlerFunc]
	written atomic.Int64 // body bytes the hostile handler managed to send
	onTurn  func()       // what else turns hostile (a certificate)
}

func (h *hostileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f := h.hostile.Load(); f != nil {
		(*f)(w, r)
		return
	}
	switch strings.TrimPrefix(r.URL.Path, "/rockons/") {
	case "root.json":
		io.WriteString(w, `{"Good App": "good.json"}`)
	case "good.json":
		io.WriteString(w, goodApp)
	default:
		http.NotFound(w, r)
	}
}

func (h *hostileServer) turn(f http.HandlerFunc) {
	h.hostile.Store(&f)
	if h.onTurn != nil {
		h.onTurn()
	}
}

// storeCase refreshes once against the good server, turns it hostile,
// refreshes again and checks the outcome: an error containing want, the
// good catalog kept, and a fresh Store on the same cache dir still has it.
func storeCase(t *testing.T, url string, client *http.Client, h *hostileServer, hostile http.HandlerFunc, want ...string) {
	t.Helper()
	cache := t.TempDir()
	opt := catalog.StoreOptions{RemoteURL: url, CacheDir: cache, Client: client, Timeout: 2 * time.Second}
	s, err := catalog.NewStore(opt)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Refresh(context.Background()); err != nil || res.RockOns != 1 {
		t.Fatalf("good refresh: %+v, %v", res, err)
	}
	good := s.Catalog()
	h.turn(hostile)

	// A safety net far above the store's own bounds: hitting it is the
	// failure "the refresh hangs".
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := s.Refresh(ctx)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if ctx.Err() != nil {
		t.Fatalf("refresh did not end by itself: %v", err)
	}
	if err == nil {
		t.Fatalf("hostile server: no error (%+v)", res)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("refresh allocated %d MiB", alloc>>20)
	}
	t.Logf("error: %v; allocated %d KiB; hostile body bytes sent %d", err, (after.TotalAlloc-before.TotalAlloc)>>10, h.written.Load())
	checkGood(t, s.Catalog(), good)
	// what a restarted daemon would load
	again, err := catalog.NewStore(opt)
	if err != nil {
		t.Fatal(err)
	}
	checkGood(t, again.Catalog(), good)
}

func checkGood(t *testing.T, c, good *catalog.Catalog) {
	t.Helper()
	def, ok := c.Get("Good App")
	if !ok || c.Len() != 1 {
		t.Fatalf("catalog after the hostile refresh: %q", c.Names())
	}
	was, _ := good.Get("Good App")
	if !bytes.Equal(def.Raw, was.Raw) {
		t.Errorf("definition changed: %s", def.Raw)
	}
}

func plainServer(t *testing.T) (*hostileServer, string) {
	h := &hostileServer{}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return h, srv.URL + "/rockons"
}

func TestCatalogFetch_NeverAnswers(t *testing.T) {
	h, url := plainServer(t)
	storeCase(t, url, nil, h, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "root.json")
}

func TestCatalogFetch_ByteDripper(t *testing.T) {
	h, url := plainServer(t)
	storeCase(t, url, nil, h, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(200)
		for i := 0; i < 100000; i++ {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			h.written.Add(1)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}, "root.json")
}

// zeros streams n zero bytes (a 5 GB body is never held by the server).
func (h *hostileServer) zeros(w io.Writer, n int64) {
	buf := make([]byte, 64<<10)
	for n > 0 {
		k, err := w.Write(buf[:min(int64(len(buf)), n)])
		h.written.Add(int64(k))
		n -= int64(k)
		if err != nil {
			return
		}
	}
}

func TestCatalogFetch_FiveGigabyteBody(t *testing.T) {
	const five = 5 << 30
	t.Run("declared", func(t *testing.T) {
		h, url := plainServer(t)
		storeCase(t, url, nil, h, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(five))
			h.zeros(w, five)
		}, "root.json", "cap")
		if n := h.written.Load(); n > 64<<20 {
			t.Errorf("the client read %d MiB of a body it should have refused", n>>20)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		h, url := plainServer(t)
		storeCase(t, url, nil, h, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			w.(http.Flusher).Flush() // no Content-Length: chunked
			h.zeros(w, five)
		}, "root.json", "cap")
		if n := h.written.Load(); n > 64<<20 {
			t.Errorf("the client read %d MiB past the cap", n>>20)
		}
	})
}

func TestCatalogFetch_GzipBomb(t *testing.T) {
	h, url := plainServer(t)
	member := gzipZeros(t, 64<<20)
	storeCase(t, url, nil, h, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/json")
		// 80 gzip members of 64 MiB of zeros each: 5 GB unpacked, ~5 MB on the
		// wire, until the client stops reading. The member is compressed once:
		// compressing 5 GB on the fly kept the server busy long after the client
		// had given up, and under -race that outlasted the test's deadlines.
		for range 80 {
			k, err := w.Write(member)
			h.written.Add(int64(k))
			if err != nil {
				return
			}
		}
	}, "root.json", "cap")
}

// gzipZeros returns one gzip member holding n zero bytes.
func gzipZeros(t *testing.T, n int64) []byte {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(zw, zeroReader{}, n); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestCatalogFetch_ServerError500(t *testing.T) {
	h, url := plainServer(t)
	storeCase(t, url, nil, h, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}, "root.json", "500")
}

func TestCatalogFetch_TruncatedJSON(t *testing.T) {
	t.Run("short body", func(t *testing.T) {
		h, url := plainServer(t)
		storeCase(t, url, nil, h, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"new"`)
			if strings.HasSuffix(r.URL.Path, "root.json") {
				io.WriteString(w, `{"Good App": "good.json"}`)
				return
			}
			io.WriteString(w, goodApp[:len(goodApp)/2])
		}, "good.json")
	})
	t.Run("connection cut", func(t *testing.T) {
		h, url := plainServer(t)
		storeCase(t, url, nil, h, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "root.json") {
				io.WriteString(w, `{"Good App": "good.json"}`)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(goodApp)+100))
			w.Header().Set("ETag", `"cut"`)
			w.WriteHeader(200)
			io.WriteString(w, goodApp[:len(goodApp)/2])
			w.(http.Flusher).Flush()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, "good.json")
	})
}

func TestCatalogFetch_HTTPSToHTTPRedirect(t *testing.T) {
	_, plainURL := plainServer(t) // a good metastore, but over http
	h := &hostileServer{}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	storeCase(t, srv.URL+"/rockons", srv.Client(), h, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plainURL+strings.TrimPrefix(r.URL.Path, "/rockons"), http.StatusFound)
	}, "root.json", "refusing redirect from https to http")
}

// TestCatalogFetch_BadCertificate: after a good refresh the server
// presents a certificate nobody signed; the store must refuse it.
func TestCatalogFetch_BadCertificate(t *testing.T) {
	h := &hostileServer{}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	forged := selfSigned(t)
	var bad atomic.Bool
	good := srv.TLS.Certificates[0]
	srv.TLS.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		if bad.Load() {
			return &forged, nil
		}
		return &good, nil
	}
	srv.TLS.Certificates = nil
	client := srv.Client()
	client.Transport.(*http.Transport).DisableKeepAlives = true // a new handshake per request
	h.onTurn = func() { bad.Store(true) }
	var once sync.Once
	storeCase(t, srv.URL+"/rockons", client, h, func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { t.Error("a request arrived over the forged certificate") })
	}, "root.json", "certificate")
}

// selfSigned makes a certificate for 127.0.0.1 signed by itself.
func selfSigned(t *testing.T) tls.Certificate {
	certPEM, keyPEM, err := sandbox.SelfSignedCert("forged")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
