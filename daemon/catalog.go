package daemon

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
	"time"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/state"
)

// catalogEntry is one definition and where it came from.
type catalogEntry struct {
	def    *catalog.RockOn
	source string
}

// maxCatalogFile bounds one fetched definition or root file.
const maxCatalogFile = 4 << 20

// fetchCatalog reads the local metastore directory and the remote
// metastore. Local definitions win over remote ones of the same name.
// Broken files are reported and skipped: one bad definition does not hide
// the others.
func fetchCatalog(ctx context.Context, m state.Metastore, timeout time.Duration) (map[string]catalogEntry, []error) {
	out := map[string]catalogEntry{}
	var errs []error
	if m.RemoteURL != "" {
		e, err := fetchRemote(ctx, m.RemoteURL, m.RootFile, timeout)
		errs = append(errs, err...)
		for k, v := range e {
			out[k] = v
		}
	}
	if m.LocalDir != "" {
		files, _ := filepath.Glob(filepath.Join(m.LocalDir, "*.json"))
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			defs, err := catalog.Decode(f, data)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, d := range defs {
				out[d.Name] = catalogEntry{def: d, source: f}
			}
		}
	}
	return out, errs
}

func fetchRemote(ctx context.Context, base, root string, timeout time.Duration) (map[string]catalogEntry, []error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	bu, err := url.Parse(strings.TrimSuffix(base, "/") + "/")
	if err != nil {
		return nil, []error{fmt.Errorf("metastore URL %q: %w", base, err)}
	}
	get := func(name string) ([]byte, string, error) {
		u, err := bu.Parse(url.PathEscape(name))
		if err != nil {
			return nil, "", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, "", fmt.Errorf("fetching %s: %w", u, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("fetching %s: %s", u, resp.Status)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxCatalogFile+1))
		if err != nil {
			return nil, "", fmt.Errorf("fetching %s: %w", u, err)
		}
		if len(data) > maxCatalogFile {
			return nil, "", fmt.Errorf("fetching %s: larger than %d bytes", u, maxCatalogFile)
		}
		return data, u.String(), nil
	}
	data, _, err := get(root)
	if err != nil {
		return nil, []error{err}
	}
	var index map[string]string
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, []error{fmt.Errorf("metastore %s: %w", root, err)}
	}
	out := map[string]catalogEntry{}
	var errs []error
	for _, file := range index {
		if strings.ContainsAny(file, "/\\") || !strings.HasSuffix(file, ".json") {
			errs = append(errs, fmt.Errorf("metastore %s: bad file name %q", root, file))
			continue
		}
		data, src, err := get(file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		defs, err := catalog.Decode(file, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, d := range defs {
			out[d.Name] = catalogEntry{def: d, source: src}
		}
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errs
	}
	return out, errs
}

// errNoCatalog says the catalog is empty because nothing could be read.
var errNoCatalog = errors.New("no rock-on definitions could be read")
