package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
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
	f.Add(encodeCache(&cacheEntry{url: "https://x/root.json", etag: `"abc"`, lastModified: "Wed, 11 Feb 2026 00:00:00 GMT", body: []byte(`{"a": "a.json"}`)}))
	f.Add([]byte(cacheMagic + "\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ce, err := decodeCache(data)
		if err != nil {
			return
		}
		// What decodes encodes back to something that decodes the same.
		ce2, err := decodeCache(encodeCache(ce))
		if err != nil || !bytes.Equal(ce.body, ce2.body) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
