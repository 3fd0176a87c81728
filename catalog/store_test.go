package catalog

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// metaServer is a remote metastore over real HTTP: it serves files with
// ETag or Last-Modified validators, honours conditional requests, and
// counts what it does.
type metaServer struct {
	mu           sync.Mutex
	files        map[string][]byte
	modTime      map[string]time.Time
	status       map[string]int    // forced answer for a file
	hang         map[string]bool   // never answer (until the client gives up)
	rewrite      map[string]string // redirect target for a file
	gzipBomb     map[string]int64  // gzip-encoded body of N zero bytes
	chunked      map[string]bool   // no Content-Length
	useLastMod   bool              // validators: Last-Modified instead of ETag
	delay        time.Duration     // added to every request
	inflight     int
	maxInflight  int
	requests     int
	notModified  int
	bodies       int            // 200 answers with a body
	bodyRequests map[string]int // 200 answers per file
}

func newMetaServer(files map[string][]byte) *metaServer {
	ms := &metaServer{files: files, modTime: map[string]time.Time{}, status: map[string]int{},
		hang: map[string]bool{}, rewrite: map[string]string{}, gzipBomb: map[string]int64{},
		chunked: map[string]bool{}, bodyRequests: map[string]int{}}
	for f := range files {
		ms.modTime[f] = time.Date(2026, 2, 11, 0, 0, 0, 0, time.UTC)
	}
	return ms
}

func (ms *metaServer) set(file string, body []byte) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.files[file] = body
	ms.modTime[file] = ms.modTime[file].Add(time.Hour)
}

func (ms *metaServer) counts() (requests, notModified, bodies, maxInflight int) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.requests, ms.notModified, ms.bodies, ms.maxInflight
}

func (ms *metaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ms.mu.Lock()
	ms.requests++
	ms.inflight++
	ms.maxInflight = max(ms.maxInflight, ms.inflight)
	name := strings.TrimPrefix(r.URL.Path, "/rockons/")
	body, ok := ms.files[name]
	mod := ms.modTime[name]
	status, forced := ms.status[name]
	hang, target, bomb, chunked := ms.hang[name], ms.rewrite[name], ms.gzipBomb[name], ms.chunked[name]
	useLastMod, delay := ms.useLastMod, ms.delay
	ms.mu.Unlock()
	defer func() {
		ms.mu.Lock()
		ms.inflight--
		ms.mu.Unlock()
	}()
	time.Sleep(delay)
	switch {
	case hang:
		<-r.Context().Done()
		return
	case target != "":
		http.Redirect(w, r, target, http.StatusFound)
		return
	case forced:
		http.Error(w, http.StatusText(status), status)
		return
	case bomb > 0:
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		chunk := make([]byte, 1<<20)
		for n := int64(0); n < bomb; n += int64(len(chunk)) {
			if _, err := zw.Write(chunk); err != nil {
				return
			}
		}
		zw.Close()
		return
	case !ok:
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if useLastMod {
		w.Header().Set("Last-Modified", mod.Format(http.TimeFormat))
		if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !mod.After(ims) {
			ms.mu.Lock()
			ms.notModified++
			ms.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
	} else {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			ms.mu.Lock()
			ms.notModified++
			ms.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	ms.mu.Lock()
	ms.bodies++
	ms.bodyRequests[name]++
	ms.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if chunked {
		// Write in two flushed pieces so there is no Content-Length.
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		w.Write(body[len(body)/2:])
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.Write(body)
}

// synthDef is a small valid definition with its own container name.
func synthDef(name string, port int) []byte {
	return fmt.Appendf(nil, `{"%s": {"description": "d", "version": "1", "website": "https://example.org",
  "containers": {"%s": {"image": "example/app", "launch_order": 1,
    "ports": {"80": {"label": "Web", "description": "d", "host_default": %d, "protocol": "tcp"}}}}}}`,
		name, strings.ToLower(strings.ReplaceAll(name, " ", "-")), port)
}

// metastoreFiles builds root.json and n synthetic definitions.
func metastoreFiles(n int) map[string][]byte {
	files := map[string][]byte{}
	root := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("App %02d", i)
		file := fmt.Sprintf("app%02d.json", i)
		files[file] = synthDef(name, 8000+i)
		root[strings.ToLower(name)] = file
	}
	files[RootFile], _ = json.Marshal(root)
	return files
}

// testdataFiles serves the hand-checked registry files of testdata/.
func testdataFiles(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "registry", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("testdata: %v", err)
	}
	files := map[string][]byte{}
	root := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		defs, err := Decode(filepath.Base(p), data)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = data
		root[strings.ToLower(defs[0].Name)] = filepath.Base(p)
	}
	files[RootFile], _ = json.Marshal(root)
	return files
}

func startMeta(t testing.TB, ms *metaServer) string {
	t.Helper()
	srv := httptest.NewServer(ms)
	t.Cleanup(srv.Close)
	return srv.URL + "/rockons"
}

func newTestStore(t testing.TB, opt StoreOptions) *Store {
	t.Helper()
	s, err := NewStore(opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreConditionalRefresh(t *testing.T) {
	for _, mode := range []string{"etag", "last-modified"} {
		t.Run(mode, func(t *testing.T) {
			files := testdataFiles(t)
			ms := newMetaServer(files)
			ms.useLastMod = mode == "last-modified"
			s := newTestStore(t, StoreOptions{RemoteURL: startMeta(t, ms), CacheDir: t.TempDir()})
			res, err := s.Refresh(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != len(files) || res.Fetched != len(files) || res.NotModified != 0 || res.Bytes == 0 || res.RockOns != 8 {
				t.Errorf("cold refresh: %+v", res)
			}
			if r, ok := s.Catalog().Get("IMMICH"); !ok || len(r.Containers) != 4 {
				t.Errorf("immich missing or wrong: %v", r)
			}
			_, _, bodiesBefore, _ := ms.counts()

			res, err = s.Refresh(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			requests, notModified, bodies, _ := ms.counts()
			if res.NotModified != len(files) || res.Fetched != 0 || res.Bytes != 0 || res.RockOns != 8 {
				t.Errorf("unchanged refresh: %+v", res)
			}
			if bodies != bodiesBefore || notModified != len(files) || requests != 2*len(files) {
				t.Errorf("server: %d requests, %d 304s, %d bodies (was %d)", requests, notModified, bodies, bodiesBefore)
			}

			// One changed file costs one body.
			ms.set("dashy.json", bytes.Replace(files["dashy.json"], []byte(`"version": "1.0"`), []byte(`"version": "9.9"`), 1))
			res, err = s.Refresh(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Fetched != 1 || res.NotModified != len(files)-1 {
				t.Errorf("one changed file: %+v", res)
			}
			if r, _ := s.Catalog().Get("dashy"); r.Version != "9.9" {
				t.Errorf("dashy version %q, want the changed 9.9", r.Version)
			}
		})
	}
}

func TestStoreConcurrencyBound(t *testing.T) {
	ms := newMetaServer(metastoreFiles(40))
	ms.delay = 20 * time.Millisecond
	s := newTestStore(t, StoreOptions{RemoteURL: startMeta(t, ms), Workers: 4})
	res, err := s.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, maxInflight := ms.counts()
	if maxInflight > 4 {
		t.Errorf("%d requests in flight, bound is 4", maxInflight)
	}
	if maxInflight < 2 {
		t.Errorf("%d requests in flight: not concurrent", maxInflight)
	}
	if res.RockOns != 40 {
		t.Errorf("%+v", res)
	}
}

func TestStoreFailuresKeepOthers(t *testing.T) {
	files := metastoreFiles(10)
	ms := newMetaServer(files)
	ms.status["app03.json"] = http.StatusNotFound
	ms.status["app04.json"] = http.StatusInternalServerError
	ms.hang["app05.json"] = true
	ms.files["app06.json"] = []byte(`{"Broken": `) // truncated
	ms.files["app07.json"] = bytes.Repeat([]byte(" "), 5000)
	ms.chunked["app07.json"] = true
	ms.files["app08.json"] = append(synthDef("App 08", 8008), bytes.Repeat([]byte(" "), 5000)...)
	s := newTestStore(t, StoreOptions{RemoteURL: startMeta(t, ms), Timeout: 300 * time.Millisecond, MaxBody: 4096})
	// app05 never answers: the per-request timeout ends it ("deadline
	// exceeded" below) and the refresh goes on.
	res, err := s.Refresh(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"app03.json: HTTP 404 Not Found",
		"app04.json: HTTP 500 Internal Server Error",
		"app05.json: ", "deadline exceeded",
		"app06.json: $.Broken: truncated JSON",
		"app07.json: body exceeds the 4096 byte cap",
		"app08.json: body of 5", "exceeds the 4096 byte cap",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if res.Failed != 6 || res.RockOns != 4 {
		t.Errorf("result: %+v", res)
	}
	for _, n := range []string{"app 00", "app 01", "app 02", "app 09"} {
		if _, ok := s.Catalog().Get(n); !ok {
			t.Errorf("%s missing", n)
		}
	}
}

func TestStoreServerDownKeepsLastGoodCopy(t *testing.T) {
	files := testdataFiles(t)
	ms := newMetaServer(files)
	srv := httptest.NewServer(ms)
	cache := t.TempDir()
	opt := StoreOptions{RemoteURL: srv.URL + "/rockons", CacheDir: cache, Timeout: 2 * time.Second}
	s := newTestStore(t, opt)
	if _, err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := s.Catalog().Names()

	// A broken answer for one file keeps its last good copy.
	ms.set("openvpn.json", []byte(`{"OpenVPN": {"containers": 1}}`))
	res, err := s.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "openvpn.json: $.OpenVPN.containers: containers must be an object") {
		t.Errorf("broken file: %v", err)
	}
	if r, ok := s.Catalog().Get("openvpn"); !ok || len(r.Containers) != 2 || res.RockOns != 8 {
		t.Errorf("openvpn lost after a broken answer: %v %+v", r, res)
	}

	srv.Close()
	res, err = s.Refresh(context.Background())
	if err == nil || res.Failed != 1 || res.Requests != 1 {
		t.Errorf("server down: %+v %v", res, err)
	}
	if got := s.Catalog().Names(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("after server down: %v, want %v", got, want)
	}

	// A fresh store (a restarted daemon) starts from the disk cache.
	s2 := newTestStore(t, opt)
	if got := s2.Catalog().Names(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("fresh store from cache: %v, want %v", got, want)
	}
	if r, ok := s2.Catalog().Get("openvpn"); !ok || len(r.Containers) != 2 {
		t.Errorf("fresh store has the broken openvpn: %v", r)
	}
	// The same cache used for another server is not trusted.
	s3 := newTestStore(t, StoreOptions{RemoteURL: "http://127.0.0.1:1/other", CacheDir: cache})
	if s3.Catalog().Len() != 0 {
		t.Errorf("cache of another server used: %v", s3.Catalog().Names())
	}
	// A damaged cache is ignored, not an error.
	data, err := os.ReadFile(filepath.Join(cache, CacheFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, CacheFile), data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if s4 := newTestStore(t, opt); s4.Catalog().Len() != 0 {
		t.Errorf("damaged cache used: %v", s4.Catalog().Names())
	}
}

func TestStoreLocalOverride(t *testing.T) {
	files := testdataFiles(t)
	ms := newMetaServer(files)
	local := t.TempDir()
	over := bytes.Replace(files["immich.json"], []byte(`"version": "1.0"`), []byte(`"version": "local"`), 1)
	if err := os.WriteFile(filepath.Join(local, "my-immich.json"), over, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "extra.json"), synthDef("Extra", 9000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "bad.json"), []byte(`{"Bad": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t, StoreOptions{RemoteURL: startMeta(t, ms), LocalDir: local})
	if _, err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := s.Catalog()
	r, ok := c.Get("immich")
	if !ok || r.Version != "local" || r.File != filepath.Join(local, "my-immich.json") {
		t.Errorf("immich = %v", r)
	}
	if _, ok := c.Get("extra"); !ok || c.Len() != 9 {
		t.Errorf("names = %v", c.Names())
	}
	if errs := c.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "bad.json: $.Bad: a rock-on definition must be an object") {
		t.Errorf("errors = %v", errs)
	}
}

func TestStoreGzipBombRefused(t *testing.T) {
	files := metastoreFiles(2)
	ms := newMetaServer(files)
	ms.gzipBomb["app01.json"] = 200 << 20 // 200 MiB of zeros, ~200 KiB on the wire
	s := newTestStore(t, StoreOptions{RemoteURL: startMeta(t, ms)})
	res, err := s.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "app01.json: body exceeds the 1048576 byte cap") {
		t.Errorf("err = %v", err)
	}
	if res.Bytes > 2*MaxFileSize || res.RockOns != 1 {
		t.Errorf("result: %+v", res)
	}
}

func TestStoreRefusesHTTPSDowngrade(t *testing.T) {
	plain := httptest.NewServer(newMetaServer(metastoreFiles(1)))
	defer plain.Close()
	ms := newMetaServer(metastoreFiles(1))
	ms.rewrite[RootFile] = plain.URL + "/rockons/root.json"
	tlsSrv := httptest.NewTLSServer(ms)
	defer tlsSrv.Close()
	s := newTestStore(t, StoreOptions{RemoteURL: tlsSrv.URL + "/rockons", Client: tlsSrv.Client()})
	_, err := s.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refusing redirect from https to http") {
		t.Errorf("err = %v", err)
	}
	if s.Catalog().Len() != 0 {
		t.Errorf("catalog from a downgraded redirect: %v", s.Catalog().Names())
	}
	// The same server without the redirect works with its trusted client.
	delete(ms.rewrite, RootFile)
	if res, err := s.Refresh(context.Background()); err != nil || res.RockOns != 1 {
		t.Errorf("%+v %v", res, err)
	}
}

func TestStoreVerifiesCertificates(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(newMetaServer(metastoreFiles(1)))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	s := newTestStore(t, StoreOptions{RemoteURL: tlsSrv.URL + "/rockons"})
	_, err := s.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("err = %v", err)
	}
}

func TestStoreRootEntriesStayInside(t *testing.T) {
	files := metastoreFiles(1)
	files[RootFile] = []byte(`{"app 00": "app00.json", "evil": "../../etc/passwd.json", "evil2": "/etc/x.json", "root": "root.json"}`)
	ms := newMetaServer(files)
	cache := t.TempDir()
	s := newTestStore(t, StoreOptions{RemoteURL: startMeta(t, ms), CacheDir: cache})
	if _, err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Catalog().Len() != 1 {
		t.Errorf("names = %v", s.Catalog().Names())
	}
	var probs []string
	for _, p := range s.Catalog().Problems() {
		probs = append(probs, p.String())
	}
	for _, want := range []string{`$.evil: file name "../../etc/passwd.json" must be a plain file name`, `$.evil2: file name "/etc/x.json"`, `$.root: file name "root.json" must not be the index itself`} {
		if !strings.Contains(strings.Join(probs, "\n"), want) {
			t.Errorf("problems %q lack %q", probs, want)
		}
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.requests != 2 {
		t.Errorf("%d requests, want root.json and app00.json only", ms.requests)
	}
	data, err := os.ReadFile(filepath.Join(cache, CacheFile))
	if err != nil {
		t.Fatal(err)
	}
	var cf cacheFile
	if err := json.Unmarshal(data, &cf); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range cf.Files {
		names = append(names, e.Name)
	}
	if strings.Join(names, ",") != "app00.json,root.json" {
		t.Errorf("cache holds %v", names)
	}
}

func TestStoreConcurrentReaders(t *testing.T) {
	ms := newMetaServer(metastoreFiles(20))
	s := newTestStore(t, StoreOptions{RemoteURL: startMeta(t, ms)})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				c := s.Catalog()
				for _, n := range c.Names() {
					if _, ok := c.Get(n); !ok {
						t.Errorf("%s listed but missing", n)
					}
				}
			}
		})
	}
	for range 5 {
		if _, err := s.Refresh(context.Background()); err != nil {
			t.Error(err)
		}
	}
	cancel()
	wg.Wait()
	// A cancelled refresh leaves the catalog as it was.
	before := s.Catalog()
	_, err := s.Refresh(ctx)
	if err == nil || s.Catalog() != before {
		t.Errorf("cancelled refresh: err %v, catalog replaced %v", err, s.Catalog() != before)
	}
}

func TestNewStoreRejectsBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x/y", "file:///etc", "http://", "::"} {
		if _, err := NewStore(StoreOptions{RemoteURL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

func TestStoreFollowsIndexChanges(t *testing.T) {
	files := metastoreFiles(3)
	ms := newMetaServer(files)
	cache := t.TempDir()
	s := newTestStore(t, StoreOptions{RemoteURL: startMeta(t, ms), CacheDir: cache})
	if _, err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	// app01 leaves the index, app09 joins it.
	ms.set("app09.json", synthDef("App 09", 8009))
	ms.set(RootFile, []byte(`{"app 00": "app00.json", "app 02": "app02.json", "app 09": "app09.json"}`))
	res, err := s.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Catalog().Names(), ","); got != "App 00,App 02,App 09" {
		t.Errorf("names = %s", got)
	}
	if res.Fetched != 2 || res.NotModified != 2 {
		t.Errorf("result %+v: want root.json and app09.json fetched, the rest 304", res)
	}
	// The disk cache follows: a restarted store has the same catalog.
	s2 := newTestStore(t, StoreOptions{RemoteURL: s.opt.RemoteURL, CacheDir: cache})
	if got := strings.Join(s2.Catalog().Names(), ","); got != "App 00,App 02,App 09" {
		t.Errorf("names from the cache = %s", got)
	}
}

func TestStoreLocalOnly(t *testing.T) {
	local := t.TempDir()
	if err := os.WriteFile(filepath.Join(local, "one.json"), synthDef("One", 8001), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t, StoreOptions{LocalDir: local})
	if s.Catalog().Len() != 1 {
		t.Fatalf("names = %v", s.Catalog().Names())
	}
	if err := os.WriteFile(filepath.Join(local, "two.json"), synthDef("Two", 8002), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := s.Refresh(context.Background())
	if err != nil || res.Requests != 0 || res.RockOns != 2 || s.LastRefresh().RockOns != 2 {
		t.Errorf("%+v %v", res, err)
	}
}

func TestStoreBrokenIndexKeepsCatalog(t *testing.T) {
	ms := newMetaServer(metastoreFiles(3))
	s := newTestStore(t, StoreOptions{RemoteURL: startMeta(t, ms)})
	if _, err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	ms.set(RootFile, []byte(`<html>maintenance</html>`))
	res, err := s.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "root.json: ") || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("err = %v", err)
	}
	// The cached index still lists the files; they are revalidated.
	if res.RockOns != 3 || res.NotModified != 3 || s.Catalog().Len() != 3 {
		t.Errorf("result %+v, names %v", res, s.Catalog().Names())
	}

	// An index that fails outright keeps everything as it was, even a
	// file that changed meanwhile (answers fetched while root.json was in
	// flight are dropped).
	ms.mu.Lock()
	ms.status[RootFile] = http.StatusInternalServerError
	ms.mu.Unlock()
	ms.set("app01.json", synthDef("App 01 Renamed", 8101))
	res, err = s.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "root.json: HTTP 500") {
		t.Errorf("err = %v", err)
	}
	if res.Requests != 1 || res.Failed != 1 || strings.Join(s.Catalog().Names(), ",") != "App 00,App 01,App 02" {
		t.Errorf("result %+v, names %v", res, s.Catalog().Names())
	}
}
