package catalog

import (
	"context"
	"encoding/json"
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
	// The registry is ~90 small files; 24 requests in flight (fewer streams
	// than a browser multiplexes over HTTP/2 to load a page of 90 assets)
	// make a cold refresh cost about five round trips instead of ninety. 16
	// measured 10.3-10.5 round trips of 5 ms on an idle 2-core machine, 24
	// measured 7.5-8.
	DefaultWorkers = 24
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
	// validators (ETag, Last-Modified) in one file, CacheFile, so that a
	// refresh of an unchanged catalog transfers no bodies and an
	// unreachable or broken server leaves the catalog as it was, across
	// restarts too. Empty keeps the copy in memory only.
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
	etag, lastModified string
	broken             bool // invalid, kept in memory for want of a good copy, never saved
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

// CloseIdleConnections closes the connections kept for the next refresh
// (refreshes are rare; call it after one, or on shutdown).
func (s *Store) CloseIdleConnections() { s.client.CloseIdleConnections() }

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

// Refresh fetches the remote metastore (root.json and every file it lists,
// concurrently and conditionally, at most Workers requests in flight),
// rereads the local one and replaces the catalog. Files that fail keep
// their last good copy; when root.json itself cannot be fetched nothing
// changes. The error joins the per-file errors (also in the result); the
// catalog is replaced either way. A cancelled ctx stops the refresh and
// leaves the catalog as it was.
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
	// At most Workers requests in flight, root.json included.
	sem := make(chan struct{}, s.opt.Workers)
	acquire := func(ctx context.Context) bool {
		select {
		case sem <- struct{}{}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	release := func() { <-sem }

	// The index is fetched first, and while it is in flight the files the
	// cached index lists are revalidated already: an unchanged catalog
	// then costs one wave of requests less. Should the index fail, those
	// requests are cancelled and their answers dropped.
	cached := s.cache[RootFile]
	rootDone := make(chan fetchResult, 1)
	if !acquire(ctx) {
		return
	}
	go func() {
		defer release()
		rootDone <- s.fetch(ctx, RootFile, cached)
	}()

	filesCtx, cancelFiles := context.WithCancel(ctx)
	defer cancelFiles()
	var mu sync.Mutex // guards outcomes
	outcomes := map[string]fileOutcome{}
	started := map[string]bool{}
	var wg sync.WaitGroup
	startFile := func(file string) {
		started[file] = true
		prev := s.cache[file] // read-only until wg.Wait
		wg.Go(func() {
			if !acquire(filesCtx) {
				return
			}
			fr := s.fetch(filesCtx, file, prev)
			release()
			o := fileOutcome{fr: fr, prev: prev}
			if fr.err == nil && fr.status == http.StatusOK {
				o.defs, o.probs = decodeFile(s.fileURL(file), fr.body)
			}
			mu.Lock()
			outcomes[file] = o
			mu.Unlock()
		})
	}
	if cached != nil {
		for _, e := range cached.root {
			startFile(e.File)
		}
	}

	fr := <-rootDone
	res.add(s.fileURL(RootFile), fr)
	changed := false // whether the disk cache must be rewritten
	if fr.err != nil {
		// An unreachable or failing server: keep every last good copy.
		cancelFiles()
		wg.Wait()
		return
	}
	if fr.status == http.StatusOK {
		entries, probs := decodeRoot(s.fileURL(RootFile), fr.body)
		if len(entries) == 0 && probs.HasErrors() {
			res.refuse(probs.ErrorsOnly())
		} else {
			s.cache[RootFile] = &cacheEntry{etag: fr.etag, lastModified: fr.lastModified, body: fr.body, root: entries, probs: probs}
			changed = true
		}
	}
	root := s.cache[RootFile]
	if root == nil {
		cancelFiles()
		wg.Wait()
		return
	}
	for _, e := range root.root {
		if !started[e.File] {
			startFile(e.File)
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}

	// Account for the files of the index, in its order; answers for files
	// it no longer lists are dropped.
	for _, e := range root.root {
		o, ok := outcomes[e.File]
		if !ok {
			continue
		}
		res.add(s.fileURL(e.File), o.fr)
		if o.fr.err != nil || o.fr.status != http.StatusOK {
			continue
		}
		if o.probs.HasErrors() {
			res.refuse(o.probs.ErrorsOnly())
			if o.prev != nil {
				continue // keep the last good copy
			}
		}
		ce := &cacheEntry{etag: o.fr.etag, lastModified: o.fr.lastModified, body: o.fr.body, defs: o.defs, probs: o.probs}
		if o.probs.HasErrors() {
			ce.etag, ce.lastModified = "", "" // never revalidate a broken copy
			ce.broken = true
		}
		s.cache[e.File] = ce
		changed = true
	}
	if fr.status == http.StatusOK {
		s.prune(root.root)
	}
	if changed {
		if err := s.saveCache(); err != nil {
			res.Errors = append(res.Errors, err)
		}
	}
}

// fileOutcome is what became of one definition file during a refresh.
type fileOutcome struct {
	fr    fetchResult
	prev  *cacheEntry
	defs  []*RockOn
	probs Problems
}

// add accounts for one request.
func (res *RefreshResult) add(url string, fr fetchResult) {
	res.Requests++
	res.Bytes += int64(len(fr.body))
	switch {
	case fr.err != nil:
		res.Failed++
		res.Errors = append(res.Errors, fmt.Errorf("%s: %w", url, fr.err))
	case fr.status == http.StatusNotModified:
		res.NotModified++
	default:
		res.Fetched++
	}
}

// refuse turns a fetched body into a failure: it arrived but is invalid
// (the Problems name the file).
func (res *RefreshResult) refuse(ps Problems) {
	res.Fetched--
	res.Failed++
	res.Errors = append(res.Errors, ps)
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

// CacheFile is the file in StoreOptions.CacheDir holding the last good
// copy of the remote metastore.
const CacheFile = "metastore-cache.json"

// cacheFile is CacheFile's content: every remote file with its URL (a
// cache made for another server is not used), validators and body exactly
// as received. It is rewritten whole and atomically when a refresh changed
// anything: one write and one fsync, where a file per definition cost ninety.
type cacheFile struct {
	Version int              `json:"version"`
	Files   []cacheFileEntry `json:"files"`
}

type cacheFileEntry struct {
	Name         string `json:"name"`
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Body         []byte `json:"body"`
}

const (
	cacheVersion = 1
	// maxCacheFile bounds what loadCache reads: the registry is 0.2 MB.
	maxCacheFile = 64 << 20
)

// saveCache writes the cached remote files atomically (renameio: temporary
// file, fsync, rename).
func (s *Store) saveCache() error {
	if s.opt.CacheDir == "" {
		return nil
	}
	cf := cacheFile{Version: cacheVersion}
	names := make([]string, 0, len(s.cache))
	for f, ce := range s.cache {
		if !ce.broken {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	for _, f := range names {
		ce := s.cache[f]
		cf.Files = append(cf.Files, cacheFileEntry{Name: f, URL: s.fileURL(f), ETag: ce.etag, LastModified: ce.lastModified, Body: ce.body})
	}
	data, err := json.Marshal(cf)
	if err != nil {
		return fmt.Errorf("encoding the metastore cache: %w", err)
	}
	if err := renameio.WriteFile(filepath.Join(s.opt.CacheDir, CacheFile), data, 0o644); err != nil {
		return fmt.Errorf("writing the metastore cache: %w", err)
	}
	return nil
}

// decodeCacheFile returns the usable entries of a cache file for the
// metastore at fileURL: those of the same server whose content decodes
// without errors. Anything else is skipped (the next refresh fetches it).
func decodeCacheFile(data []byte, fileURL func(string) string) map[string]*cacheEntry {
	var cf cacheFile
	if err := json.Unmarshal(data, &cf); err != nil || cf.Version != cacheVersion {
		return nil
	}
	byName := map[string]cacheFileEntry{}
	for _, e := range cf.Files {
		if (e.Name == RootFile || checkFileName(e.Name) == "") && e.URL == fileURL(e.Name) {
			byName[e.Name] = e
		}
	}
	re, ok := byName[RootFile]
	if !ok {
		return nil
	}
	entries, probs := decodeRoot(fileURL(RootFile), re.Body)
	if len(entries) == 0 && probs.HasErrors() {
		return nil
	}
	out := map[string]*cacheEntry{RootFile: {etag: re.ETag, lastModified: re.LastModified, body: re.Body, root: entries, probs: probs}}
	for _, e := range entries {
		fe, ok := byName[e.File]
		if !ok {
			continue
		}
		defs, probs := decodeFile(fileURL(e.File), fe.Body)
		if probs.HasErrors() {
			continue
		}
		out[e.File] = &cacheEntry{etag: fe.ETag, lastModified: fe.LastModified, body: fe.Body, defs: defs, probs: probs}
	}
	return out
}

// loadCache reads the on-disk cache, if any.
func (s *Store) loadCache() {
	data, err := readCappedN(filepath.Join(s.opt.CacheDir, CacheFile), maxCacheFile)
	if err != nil {
		return
	}
	for f, ce := range decodeCacheFile(data, s.fileURL) {
		s.cache[f] = ce
	}
}
