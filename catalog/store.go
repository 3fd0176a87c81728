package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"
)

// Defaults for fetching a remote metastore.
const (
	// DefaultWorkers bounds concurrent requests to one metastore server.
	// The registry is ~90 small files; 16 requests in flight (fewer
	// connections than a browser opens to load a page of 90 assets over
	// HTTP/2 or six HTTP/1.1 connections) make a refresh cost about six
	// round trips instead of ninety.
	DefaultWorkers = 16
	// DefaultTimeout bounds each request, body included.
	DefaultTimeout = 30 * time.Second
)

// StoreOptions configure a Store.
type StoreOptions struct {
	// RemoteURL is the base URL of the remote metastore (Rockstor's
	// setting, e.g. "https://rockstor.com/rockons"): RemoteURL/root.json
	// indexes the definition files beside it. Empty for none.
	RemoteURL string
	// LocalDir is the local metastore: a directory of *.json definitions
	// (or a root.json and its files) whose rock-ons override remote ones of
	// the same name, as in Rockstor. Empty for none; a missing directory is
	// an empty metastore.
	LocalDir string
	// CacheDir keeps the last good copy of every remote file with its
	// validators (ETag, Last-Modified), so that a refresh of an unchanged
	// catalog transfers no bodies and an unreachable or broken server
	// leaves the catalog as it was, across restarts too. Empty keeps the
	// copy in memory only.
	CacheDir string
	// Client makes the requests; nil uses NewHTTPClient(Workers). Whatever
	// the client, redirects from https to http are refused.
	Client *http.Client
	// Workers bounds concurrent requests (default DefaultWorkers).
	Workers int
	// Timeout bounds each request including its body (default
	// DefaultTimeout).
	Timeout time.Duration
	// MaxBody caps each response body after decompression (default
	// MaxFileSize); a larger body is an error, so a gzip bomb costs at
	// most MaxBody bytes of memory.
	MaxBody int64
}

// RefreshResult says what a refresh did.
type RefreshResult struct {
	Requests    int           // HTTP requests made
	Fetched     int           // answered with a body (200)
	NotModified int           // answered 304: the cached copy is current
	Failed      int           // failed: network, status, size cap, or an invalid body
	Bytes       int64         // body bytes received (decompressed)
	Duration    time.Duration // wall time of the refresh
	RockOns     int           // rock-ons in the catalog afterwards
	Errors      []error       // one per failed file, naming it
}

// Store is a catalog kept from a remote and a local metastore. It is safe
// for concurrent use: Catalog returns an immutable snapshot while Refresh
// builds the next one.
type Store struct {
	opt    StoreOptions
	base   *url.URL
	client *http.Client

	refreshMu sync.Mutex             // one refresh at a time
	cache     map[string]*cacheEntry // remote files by name; under refreshMu

	mu   sync.RWMutex
	cat  *Catalog
	last RefreshResult
}

// cacheEntry is the last good copy of one remote file.
type cacheEntry struct {
	url                string // where it came from: a cache made for another server is ignored
	etag, lastModified string
	body               []byte
	defs               []*RockOn   // decoded definitions (definition files)
	probs              Problems    // their warnings
	root               []RootEntry // decoded index (root.json)
}

// NewHTTPClient returns the client a Store uses by default: the system's
// TLS roots with verification, connection reuse for workers concurrent
// requests, bounded handshakes, and no https to http redirects.
func NewHTTPClient(workers int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(workers, 2)
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = DefaultTimeout
	return &http.Client{Transport: tr, CheckRedirect: noDowngrade(nil)}
}

// noDowngrade refuses a redirect from https to anything else, then defers
// to next (or the standard limit of 10 redirects).
func noDowngrade(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("refusing redirect from https to %s (%s)", req.URL.Scheme, req.URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// NewStore makes a store and loads its catalog from the cache and the
// local metastore, without network: call Refresh to fetch.
func NewStore(opt StoreOptions) (*Store, error) {
	if opt.Workers <= 0 {
		opt.Workers = DefaultWorkers
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = MaxFileSize
	}
	s := &Store{opt: opt, cache: map[string]*cacheEntry{}}
	if opt.RemoteURL != "" {
		u, err := url.Parse(opt.RemoteURL)
		if err != nil {
			return nil, fmt.Errorf("remote metastore URL: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("remote metastore URL %q: want http(s)://host/path", opt.RemoteURL)
		}
		s.base = u
	}
	if opt.Client == nil {
		s.client = NewHTTPClient(opt.Workers)
	} else {
		c := *opt.Client
		c.CheckRedirect = noDowngrade(opt.Client.CheckRedirect)
		s.client = &c
	}
	if opt.CacheDir != "" {
		if err := os.MkdirAll(opt.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("metastore cache: %w", err)
		}
		s.loadCache()
	}
	s.cat = s.assemble()
	return s, nil
}

// Catalog returns the current catalog snapshot.
func (s *Store) Catalog() *Catalog {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cat
}

// LastRefresh returns the result of the latest Refresh.
func (s *Store) LastRefresh() RefreshResult {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.last
}

// fetchResult is the outcome of one request.
type fetchResult struct {
	status             int // 200 or 304 when err is nil
	body               []byte
	etag, lastModified string
	err                error
}

// Refresh fetches the remote metastore (root.json, then every file it
// lists, concurrently and conditionally), rereads the local one and
// replaces the catalog. Files that fail keep their last good copy. The
// error joins the per-file errors (also in the result); the catalog is
// replaced either way. A cancelled ctx stops the refresh and leaves the
// catalog as it was.
func (s *Store) Refresh(ctx context.Context) (RefreshResult, error) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	start := time.Now()
	var res RefreshResult
	if s.base != nil {
		s.refreshRemote(ctx, &res)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	cat := s.assemble()
	res.RockOns = cat.Len()
	res.Duration = time.Since(start)
	s.mu.Lock()
	s.cat = cat
	s.last = res
	s.mu.Unlock()
	return res, errors.Join(res.Errors...)
}

func (s *Store) refreshRemote(ctx context.Context, res *RefreshResult) {
	var resMu sync.Mutex
	count := func(file string, fr fetchResult) {
		resMu.Lock()
		defer resMu.Unlock()
		res.Requests++
		res.Bytes += int64(len(fr.body))
		switch {
		case fr.err != nil:
			res.Failed++
			res.Errors = append(res.Errors, fmt.Errorf("%s: %w", s.fileURL(file), fr.err))
		case fr.status == http.StatusNotModified:
			res.NotModified++
		default:
			res.Fetched++
		}
	}
	fail := func(file string, err error) {
		resMu.Lock()
		defer resMu.Unlock()
		res.Failed++
		res.Fetched-- // counted as fetched, but the body was refused
		var ps Problems
		if !errors.As(err, &ps) {
			err = fmt.Errorf("%s: %w", s.fileURL(file), err)
		}
		res.Errors = append(res.Errors, err) // Problems name the file already
	}

	// The index first: it names the files.
	fr := s.fetch(ctx, RootFile, s.cache[RootFile])
	count(RootFile, fr)
	rootFresh := false
	if fr.err == nil && fr.status == http.StatusOK {
		entries, probs := decodeRoot(s.fileURL(RootFile), fr.body)
		if len(entries) == 0 && probs.HasErrors() {
			fail(RootFile, probs.ErrorsOnly())
		} else {
			ce := &cacheEntry{etag: fr.etag, lastModified: fr.lastModified, body: fr.body, root: entries, probs: probs}
			s.cache[RootFile] = ce
			s.saveCache(RootFile, ce, res, &resMu)
			rootFresh = true
		}
	}
	root := s.cache[RootFile]
	if fr.err != nil || root == nil || ctx.Err() != nil {
		// An unreachable or failing server: keep every last good copy
		// rather than wait out a timeout per file.
		return
	}

	jobs := make(chan string)
	type done struct {
		file string
		ce   *cacheEntry
	}
	results := make(chan done)
	var wg sync.WaitGroup
	for range min(s.opt.Workers, len(root.root)) {
		wg.Go(func() {
			for file := range jobs {
				prev := s.cache[file] // read-only while workers run
				fr := s.fetch(ctx, file, prev)
				count(file, fr)
				if fr.err != nil || fr.status != http.StatusOK {
					continue
				}
				defs, probs := decodeFile(s.fileURL(file), fr.body)
				if probs.HasErrors() {
					fail(file, probs.ErrorsOnly())
					if prev != nil {
						continue // keep the last good copy
					}
				}
				ce := &cacheEntry{etag: fr.etag, lastModified: fr.lastModified, body: fr.body, defs: defs, probs: probs}
				if !probs.HasErrors() {
					s.saveCache(file, ce, res, &resMu)
				} else {
					ce.etag, ce.lastModified = "", "" // never revalidate a broken copy
				}
				results <- done{file, ce}
			}
		})
	}
	go func() {
		defer close(jobs)
		for _, e := range root.root {
			select {
			case jobs <- e.File:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	updated := map[string]*cacheEntry{}
	for d := range results {
		updated[d.file] = d.ce
	}
	for f, ce := range updated {
		s.cache[f] = ce
	}
	if rootFresh && ctx.Err() == nil {
		s.prune(root.root)
	}
}

// prune forgets cached files the index no longer lists.
func (s *Store) prune(entries []RootEntry) {
	keep := map[string]bool{RootFile: true}
	for _, e := range entries {
		keep[e.File] = true
	}
	for f := range s.cache {
		if !keep[f] {
			delete(s.cache, f)
			if s.opt.CacheDir != "" {
				_ = os.Remove(filepath.Join(s.opt.CacheDir, f))
			}
		}
	}
}

func (s *Store) fileURL(file string) string {
	if s.base == nil {
		return file
	}
	return s.base.JoinPath(file).String()
}

// fetch makes one conditional GET.
func (s *Store) fetch(ctx context.Context, file string, prev *cacheEntry) fetchResult {
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base.JoinPath(file).String(), nil)
	if err != nil {
		return fetchResult{err: err}
	}
	req.Header.Set("User-Agent", "rockon")
	req.Header.Set("Accept", "application/json")
	if prev != nil {
		if prev.etag != "" {
			req.Header.Set("If-None-Match", prev.etag)
		}
		if prev.lastModified != "" {
			req.Header.Set("If-Modified-Since", prev.lastModified)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fetchResult{err: err}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		if prev == nil {
			return fetchResult{err: errors.New("304 Not Modified without a conditional request")}
		}
		return fetchResult{status: http.StatusNotModified}
	default:
		return fetchResult{err: fmt.Errorf("HTTP %s", resp.Status)}
	}
	if resp.ContentLength > s.opt.MaxBody {
		return fetchResult{err: fmt.Errorf("body of %d bytes exceeds the %d byte cap", resp.ContentLength, s.opt.MaxBody)}
	}
	// resp.Body is already decompressed when the transport negotiated
	// gzip: the cap applies to what we would hold in memory.
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.opt.MaxBody+1))
	if err != nil {
		return fetchResult{body: body, err: fmt.Errorf("reading body: %w", err)}
	}
	if int64(len(body)) > s.opt.MaxBody {
		return fetchResult{body: body, err: fmt.Errorf("body exceeds the %d byte cap", s.opt.MaxBody)}
	}
	return fetchResult{
		status:       http.StatusOK,
		body:         body,
		etag:         headerValue(resp.Header.Get("ETag")),
		lastModified: headerValue(resp.Header.Get("Last-Modified")),
	}
}

// headerValue keeps a validator only if it can be stored on one line.
func headerValue(v string) string {
	if strings.ContainsAny(v, "\r\n") || len(v) > 1024 {
		return ""
	}
	return v
}

// assemble builds the catalog from the cached remote files (in index
// order) and the local metastore.
func (s *Store) assemble() *Catalog {
	var remote []fileResult
	if root := s.cache[RootFile]; root != nil && s.base != nil {
		remote = append(remote, fileResult{file: s.fileURL(RootFile), probs: root.probs})
		for _, e := range root.root {
			if ce := s.cache[e.File]; ce != nil {
				remote = append(remote, fileResult{file: s.fileURL(e.File), defs: ce.defs, probs: ce.probs})
			}
		}
	}
	var local []fileResult
	if s.opt.LocalDir != "" {
		if _, err := os.Stat(s.opt.LocalDir); err == nil {
			local = loadDir(s.opt.LocalDir, true)
		}
	}
	return build(remote, local)
}

// The on-disk cache holds one file per remote file: a small header with
// the validators, a blank line, then the body exactly as received. Each is
// replaced atomically, so a crash leaves either copy whole, header and body
// always matching.
const cacheMagic = "rockon-metastore-cache 1\n"

func encodeCache(ce *cacheEntry) []byte {
	var b bytes.Buffer
	b.WriteString(cacheMagic)
	fmt.Fprintf(&b, "url: %s\netag: %s\nlast-modified: %s\n\n", ce.url, ce.etag, ce.lastModified)
	b.Write(ce.body)
	return b.Bytes()
}

func decodeCache(data []byte) (*cacheEntry, error) {
	rest, ok := bytes.CutPrefix(data, []byte(cacheMagic))
	if !ok {
		return nil, errors.New("not a metastore cache file")
	}
	head, body, ok := bytes.Cut(rest, []byte("\n\n"))
	if !ok {
		return nil, errors.New("truncated cache file")
	}
	ce := &cacheEntry{body: body}
	for _, line := range strings.Split(string(head), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		switch k {
		case "url":
			ce.url = v
		case "etag":
			ce.etag = v
		case "last-modified":
			ce.lastModified = v
		}
	}
	return ce, nil
}

func (s *Store) saveCache(file string, ce *cacheEntry, res *RefreshResult, mu *sync.Mutex) {
	if s.opt.CacheDir == "" {
		return
	}
	ce.url = s.fileURL(file)
	if err := renameio.WriteFile(filepath.Join(s.opt.CacheDir, file), encodeCache(ce), 0o644); err != nil {
		mu.Lock()
		res.Errors = append(res.Errors, fmt.Errorf("caching %s: %w", file, err))
		mu.Unlock()
	}
}

// loadCache reads the on-disk cache; unreadable or invalid entries are
// skipped (the next refresh fetches them again).
func (s *Store) loadCache() {
	read := func(file string) *cacheEntry {
		data, err := readCappedN(filepath.Join(s.opt.CacheDir, file), s.opt.MaxBody+8192)
		if err != nil {
			return nil
		}
		ce, err := decodeCache(data)
		if err != nil || ce.url != s.fileURL(file) {
			return nil
		}
		return ce
	}
	root := read(RootFile)
	if root == nil {
		return
	}
	entries, probs := decodeRoot(s.fileURL(RootFile), root.body)
	if len(entries) == 0 && probs.HasErrors() {
		return
	}
	root.root, root.probs = entries, probs
	s.cache[RootFile] = root
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.File)
	}
	sort.Strings(names)
	for _, f := range names {
		ce := read(f)
		if ce == nil {
			continue
		}
		defs, probs := decodeFile(s.fileURL(f), ce.body)
		if probs.HasErrors() {
			continue
		}
		ce.defs, ce.probs = defs, probs
		s.cache[f] = ce
	}
}
