package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/rockon/rockon/catalog"
)

// latency is added by the registry server to every request.
const latency = 5 * time.Millisecond

// registryServer serves a registry snapshot with validators (ETag,
// Last-Modified), adding latency to each request, and counts the bodies
// it sends.
type registryServer struct {
	files  map[string][]byte
	etags  map[string]string
	mod    time.Time
	bodies atomic.Int64
}

func newRegistryServer(dir string) (*registryServer, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	rs := &registryServer{files: map[string][]byte{}, etags: map[string]string{}, mod: time.Now().Add(-time.Hour).Truncate(time.Second)}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		rs.files[filepath.Base(p)] = data
		rs.etags[filepath.Base(p)] = `"` + hex.EncodeToString(sum[:8]) + `"`
	}
	if _, ok := rs.files["root.json"]; !ok {
		return nil, fmt.Errorf("no root.json in %s", dir)
	}
	return rs, nil
}

type countingWriter struct {
	http.ResponseWriter
	rs *registryServer
}

func (c countingWriter) WriteHeader(code int) {
	if code == http.StatusOK {
		c.rs.bodies.Add(1)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (rs *registryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(latency)
	name := path.Base(r.URL.Path)
	data, ok := rs.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", rs.etags[name])
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(countingWriter{w, rs}, r, name, rs.mod, bytes.NewReader(data))
}

// oneByOne fetches root.json and then every file it lists, one after the
// other, with a plain keep-alive client: Rockstor's refresh loop.
func oneByOne(ctx context.Context, base string) (int, error) {
	client := &http.Client{Timeout: time.Minute}
	defer client.CloseIdleConnections()
	get := func(file string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/"+file, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s", file, resp.Status)
		}
		return io.ReadAll(resp.Body)
	}
	root, err := get("root.json")
	if err != nil {
		return 0, err
	}
	var index map[string]string
	if err := json.Unmarshal(root, &index); err != nil {
		return 0, fmt.Errorf("root.json: %w", err)
	}
	n := 0
	for _, file := range index {
		if _, err := get(file); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// measureCatalog is measurement 5: cold and unchanged refreshes through
// catalog.Store against the one-by-one loop.
func measureCatalog(ctx context.Context, dir string, reps int) ([]Row, error) {
	rs, err := newRegistryServer(dir)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(rs)
	defer srv.Close()
	var cold, seq, unchanged []float64
	want := len(rs.files) - 1
	for i := 0; i < reps; i++ {
		st, err := catalog.NewStore(catalog.StoreOptions{RemoteURL: srv.URL})
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		res, err := st.Refresh(ctx)
		d := time.Since(t0)
		st.CloseIdleConnections()
		if err != nil || res.RockOns < want {
			return nil, fmt.Errorf("cold refresh: %d rock-ons of %d files: %v", res.RockOns, want, err)
		}
		cold = append(cold, ms(d))
		t0 = time.Now()
		n, err := oneByOne(ctx, srv.URL)
		if err != nil {
			return nil, fmt.Errorf("one-by-one fetch: %w", err)
		}
		if n != want {
			return nil, fmt.Errorf("one-by-one fetch: %d files, want %d", n, want)
		}
		seq = append(seq, ms(time.Since(t0)))
	}
	st, err := catalog.NewStore(catalog.StoreOptions{RemoteURL: srv.URL, CacheDir: ""})
	if err != nil {
		return nil, err
	}
	if _, err := st.Refresh(ctx); err != nil {
		return nil, err
	}
	before := rs.bodies.Load()
	var defBytes int64
	for i := 0; i < reps; i++ {
		t0 := time.Now()
		res, err := st.Refresh(ctx)
		if err != nil {
			return nil, fmt.Errorf("unchanged refresh: %w", err)
		}
		unchanged = append(unchanged, ms(time.Since(t0)))
		defBytes += res.Bytes
	}
	bodies := float64(rs.bodies.Load() - before)
	files := fmt.Sprintf("%d files", len(rs.files))
	return []Row{
		{Name: "5 catalog refresh, cold, " + files + ", 5 ms/request", Unit: "ms", Samples: cold,
			Baseline: "one by one", Base: seq, Target: &Target{Ratio: true, Max: 0.1}},
		{Name: "5 catalog refresh, unchanged (conditional)", Unit: "ms", Samples: unchanged,
			Baseline: "one by one", Base: seq},
		{Name: "5 definition bodies sent during unchanged refreshes", Samples: []float64{bodies},
			Target: &Target{Max: 0}, Note: fmt.Sprintf("%d body bytes received", defBytes)},
	}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
