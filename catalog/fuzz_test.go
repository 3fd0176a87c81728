package catalog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedDefinitions adds the real registry files (or the testdata copies
// when the snapshot is not beside the repository) to a fuzz corpus.
func seedDefinitions(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "registry", "*.json"))
	if len(files) == 0 {
		files, _ = filepath.Glob(filepath.Join("testdata", "registry", "*.json"))
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(wrap(`{"image": "a", "IMAGE": "b", "launch_order": 1, "opts": [["--restart", "no"], ["-it", ""]]}`)))
	f.Add([]byte(`{"A": {"containers": {"a": {"ports": {"0": {"host_default": 1e9}}}}}}`))
}

func FuzzDecode(f *testing.F) {
	seedDefinitions(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := Decode("fuzz.json", data)
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		for _, r := range defs {
			if !bytes.Equal(r.Raw, data) {
				t.Fatal("Raw differs from input")
			}
			if len(r.Containers) == 0 {
				t.Fatal("rock-on without containers accepted")
			}
			for _, c := range r.Containers {
				if checkEngineName(c.Name) != "" || checkImage(c.Image) != "" || checkTag(c.Tag) != "" || c.LaunchOrder < 1 {
					t.Fatalf("invalid container accepted: %+v", c)
				}
				for _, p := range c.Ports {
					if p.ContainerPort < 1 || p.ContainerPort > 65535 || p.HostDefault < 1 || p.HostDefault > 65535 {
						t.Fatalf("invalid port accepted: %+v", p)
					}
				}
				for _, o := range c.Opts {
					if unmanagedOpt(o) != "" || len(o[0]) == 0 || o[0][0] != '-' {
						t.Fatalf("option %q accepted", o)
					}
				}
			}
			for _, l := range r.Links {
				if _, ok := r.Container(l.Source); !ok {
					t.Fatalf("link from unknown %q accepted", l.Source)
				}
				if _, ok := r.Container(l.Target); !ok {
					t.Fatalf("link to unknown %q accepted", l.Target)
				}
			}
		}
		// Decoding is deterministic.
		again, err2 := Decode("fuzz.json", data)
		if (err == nil) != (err2 == nil) || len(again) != len(defs) {
			t.Fatal("second decode differs")
		}
		for i := range defs {
			if !reflect.DeepEqual(defs[i], again[i]) {
				t.Fatalf("second decode differs for %q", defs[i].Name)
			}
		}
	})
}

func FuzzDecodeRoot(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "shared", "registry", RootFile)); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"a": "a.json", "b": "../b.json", "c": 1, "A": "x.json"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _ := decodeRoot("root.json", data)
		for _, e := range entries {
			if checkFileName(e.File) != "" || filepath.Base(e.File) != e.File {
				t.Fatalf("unsafe file name %q accepted", e.File)
			}
		}
	})
}

func FuzzSocketTable(f *testing.F) {
	for _, name := range []string{"tcp", "tcp6", "udp"} {
		data, err := os.ReadFile(filepath.Join("testdata", "proc", "net", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := PortSet{}
		if err := parseSockets(bytes.NewReader(data), "tcp", "tcp", tcpListen, s); err != nil {
			return
		}
		for hp := range s {
			if hp.Port < 1 || hp.Port > 65535 || hp.Proto != "tcp" {
				t.Fatalf("bad port %+v", hp)
			}
		}
	})
}

func FuzzCacheFile(f *testing.F) {
	fileURL := func(name string) string { return "https://example.org/rockons/" + name }
	good, _ := json.Marshal(cacheFile{Version: cacheVersion, Files: []cacheFileEntry{
		{Name: RootFile, URL: fileURL(RootFile), ETag: `"r"`, Body: []byte(`{"app 00": "app00.json"}`)},
		{Name: "app00.json", URL: fileURL("app00.json"), LastModified: "Wed, 11 Feb 2026 00:00:00 GMT", Body: synthDef("App 00", 8000)},
	}})
	f.Add(good)
	f.Add([]byte(`{"version": 1, "files": [{"name": "../x.json", "url": "https://example.org/x.json", "body": ""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, ce := range decodeCacheFile(data, fileURL) {
			if name != RootFile && checkFileName(name) != "" {
				t.Fatalf("unsafe name %q", name)
			}
			if name != RootFile && len(ce.defs) == 0 {
				t.Fatalf("%s kept without a valid definition", name)
			}
		}
	})
}

// FuzzParseTree checks the hand-written JSON parser against encoding/json:
// both accept the same documents (within the parser's limits and for valid
// UTF-8) and read the same values.
func FuzzParseTree(f *testing.F) {
	seedDefinitions(f)
	for _, s := range []string{`"\ud83d\ude00 \ud800 \udc00x \ud800\u0041"`, `[1, -0, 0.5e+3, -1E-2, 10]`, `{"a": {"A": 1, "a": 2}}`,
		`[01]`, `[1.]`, `["\x"]`, `{"a" 1}`, `[true, false, null, tru]`, " \t\n[]\r ", `"\/\b\f\n\r\t\"\\"`, `{"":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parseTree(data, func(string, string) {})
		valid := json.Valid(data)
		if err != nil {
			msg := err.Error()
			limit := strings.Contains(msg, "nested deeper") || strings.Contains(msg, "longer than") || strings.Contains(msg, "too long")
			if valid && utf8.Valid(data) && !limit {
				t.Fatalf("valid JSON refused: %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("invalid JSON accepted: %q", data)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if got := treeValue(n); !reflect.DeepEqual(got, want) {
			t.Fatalf("parsed %#v, encoding/json %#v", got, want)
		}
	})
}

// treeValue converts a node tree to what encoding/json decodes into an
// interface (with UseNumber; the last of duplicate keys wins).
func treeValue(n *node) any {
	switch n.kind {
	case kindBool:
		return n.bool
	case kindNumber:
		return json.Number(n.str)
	case kindString:
		return n.str
	case kindArray:
		out := []any{}
		for _, e := range n.elems {
			out = append(out, treeValue(e))
		}
		return out
	case kindObject:
		out := map[string]any{}
		for i, k := range n.keys {
			out[k] = treeValue(n.vals[i])
		}
		return out
	}
	return nil
}
