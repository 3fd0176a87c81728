package export

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/unitgen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// options are fixed host answers: volumes owned by 1000:100, the shares
// root /srv, the image of db declaring a VOLUME the definition does not
// map.
func options() unitgen.Options {
	return unitgen.Options{
		Host:         model.Host{Engine: unitgen.Podman, SharesRoot: "/srv"},
		PathOwner:    func(string) (int, int, error) { return 1000, 100, nil },
		DockerGID:    func() (int, error) { return 998, nil },
		ImageVolumes: map[string][]string{"cache": {"/data"}},
	}
}

func load(t *testing.T, dir string) (*catalog.RockOn, model.Choices) {
	t.Helper()
	file := filepath.Join(dir, "definition.json")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := catalog.Decode(file, data)
	if err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(filepath.Join(dir, "install.toml"))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := model.DecodeChoices(data)
	if err != nil {
		t.Fatal(err)
	}
	return defs[0], ch
}

func export(t *testing.T, format string, def *catalog.RockOn, ch model.Choices, opt Options) ([]byte, []string) {
	t.Helper()
	res, err := unitgen.Compile(def, ch, options())
	if err != nil {
		t.Fatal(err)
	}
	out, warnings, err := Export(format, def, res, opt)
	if err != nil {
		t.Fatal(err)
	}
	return out, warnings
}

// TestGolden exports testdata/app (three containers, links, ports of both
// protocols, a share, a host path, an image VOLUME, a device, engine
// options, limits) in each form and compares with the files beside it.
func TestGolden(t *testing.T) {
	def, ch := load(t, "testdata/app")
	for _, tc := range []struct {
		file, format string
		opt          Options
	}{
		{"kube.yaml", Kube, Options{}},
		{"kube-pvc.yaml", Kube, Options{PVC: true}},
		{"compose.yaml", Compose, Options{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out, warnings := export(t, tc.format, def, ch, tc.opt)
			got := append(out, []byte("# warnings:\n# "+strings.Join(warnings, "\n# ")+"\n")...)
			golden := filepath.Join("testdata/app", tc.file)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (go test ./export -update rewrites it); got:\n%s", golden, got)
			}
		})
	}
}

// TestWarnings: what does not carry over is said, in the warnings and in
// the output's comment.
func TestWarnings(t *testing.T) {
	def, ch := load(t, "testdata/app")
	for _, format := range []string{Kube, Compose} {
		out, warnings := export(t, format, def, ch, Options{})
		want := []string{"--cap-add=SYS_ADMIN"}
		if format == Kube {
			want = append(want, "/dev/dri", "launch_order")
		}
		for _, w := range want {
			found := false
			for _, x := range warnings {
				if strings.Contains(x, w) {
					found = true
					if !strings.Contains(string(out), "# - "+x) {
						t.Errorf("%s: warning %q is not a comment of the output", format, x)
					}
				}
			}
			if !found {
				t.Errorf("%s: no warning mentions %q: %q", format, w, warnings)
			}
		}
	}
}

// hostile are values an untrusted catalog or a user could give, meant to
// end a YAML scalar and start keys or documents of their own.
var hostile = []string{
	"a\nkind: Secret",
	"x: y",
	"# comment",
	"---\napiVersion: v1",
	"'quoted\" \\ back",
	"- item",
	"{a: b}",
	"*alias",
	"&anchor",
	"!!binary AAAA",
	"value\r\n---",
	"tab\tand\u2028line separator\u0085",
	"$HOME ${X} $$",
	"yes",
	"null",
	"0x10",
	"",
}

// TestHostileValues: environment values, labels and command arguments full
// of YAML syntax come back from a YAML parser as exactly the same strings
// (for Compose, after its "$$" unescaping), in the same number of documents
// and under the same keys as harmless ones; hostile text in warnings stays
// inside comments.
func TestHostileValues(t *testing.T) {
	def, _ := load(t, "testdata/app")
	baseCh := model.Choices{Containers: map[string]model.ContainerChoices{
		"db":  {Volumes: map[string]string{"/var/lib/postgresql/data": "db"}, Env: map[string]string{"POSTGRES_PASSWORD": "p"}},
		"web": {Volumes: map[string]string{"/photos": "p", "/config": "c"}, Env: map[string]string{"DB_PASSWORD": "p"}},
	}, Consent: []string{"cap-add:SYS_ADMIN"}}
	for _, v := range hostile {
		// a value with a line break cannot be installed (unitgen refuses
		// it), but the export must not depend on that
		ch := baseCh
		ch.Containers = map[string]model.ContainerChoices{"db": baseCh.Containers["db"], "web": baseCh.Containers["web"]}
		res, err := unitgen.Compile(def, ch, options())
		if err != nil {
			t.Fatal(err)
		}
		for i := range res.Containers {
			r := &res.Containers[i].Run
			if res.Containers[i].Name == "web" {
				r.Env = append(r.Env, unitgen.EnvVar{Name: "HOSTILE", Value: v})
				r.Args = append(r.Args, v)
				r.Labels = map[string]string{"hostile": v}
				r.Opts = append(r.Opts, unitgen.Opt{Flag: "--sysctl", Value: v, HasValue: true})
			}
		}
		for _, format := range []string{Kube, Compose} {
			out, warnings, err := Export(format, def, res, Options{})
			if err != nil {
				t.Fatalf("%q: %v", v, err)
			}
			if !strings.Contains(strings.Join(warnings, "\n"), "--sysctl") {
				t.Errorf("%s %q: no warning for the option", format, v)
			}
			docs := decodeAll(t, out)
			want := 1 // the Compose file
			if format == Kube {
				want = 3 // Deployment, Service, the claim of the image's VOLUME
			}
			if len(docs) != want {
				t.Fatalf("%s %q: %d documents, want %d:\n%s", format, v, len(docs), want, out)
			}
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, "--sysctl") && !strings.HasPrefix(l, "#") {
					t.Errorf("%s %q: warning text outside a comment: %q", format, v, l)
				}
			}
			var env, args []any
			var labels map[string]any
			if format == Kube {
				spec := docs[0]["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
				for k := range spec {
					if k != "containers" && k != "hostAliases" && k != "volumes" {
						t.Errorf("kube %q: pod spec key %q", v, k)
					}
				}
				for _, c := range spec["containers"].([]any) {
					c := c.(map[string]any)
					if c["name"] == "web" {
						env = c["env"].([]any)
						args = c["args"].([]any)
					}
				}
				found := false
				for _, e := range env {
					e := e.(map[string]any)
					if e["name"] == "HOSTILE" {
						found = true
						if e["value"] != v || len(e) != 2 {
							t.Errorf("kube %q: env %v", v, e)
						}
					}
				}
				if !found || len(env) != 3 {
					t.Errorf("kube %q: env %v", v, env)
				}
			} else {
				svc := docs[0]["services"].(map[string]any)["web"].(map[string]any)
				if got := svc["environment"].(map[string]any)["HOSTILE"]; got != esc(v) {
					t.Errorf("compose %q: env HOSTILE = %q, want %q", v, got, esc(v))
				}
				labels = svc["labels"].(map[string]any)
				if len(labels) != 1 || labels["hostile"] != esc(v) {
					t.Errorf("compose %q: labels %v", v, labels)
				}
				args = svc["command"].([]any)
				if len(docs[0]) != 2 { // services, volumes
					t.Errorf("compose %q: top-level keys %v", v, keys(docs[0]))
				}
				v = esc(v)
			}
			if last := args[len(args)-1]; last != v {
				t.Errorf("%s: last argument %q, want %q", format, last, v)
			}
		}
	}
}

func decodeAll(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(out))
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			if err.Error() == "EOF" {
				return docs
			}
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		docs = append(docs, d)
	}
}

func keys(m map[string]any) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	return k
}

// TestComment: a comment line cannot break out.
func TestComment(t *testing.T) {
	for _, s := range hostile {
		c := comment(s)
		if strings.ContainsAny(c, "\n\r\u2028\u2029\u0085") {
			t.Errorf("comment(%q) = %q keeps a line break", s, c)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	def, ch := load(t, "testdata/app")
	res, err := unitgen.Compile(def, ch, options())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Export("helm", def, res, Options{}); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("Export(helm) = %v", err)
	}
	if _, _, err := Export(Compose, def, res, Options{PVC: true}); err == nil {
		t.Error("Export(compose, PVC) accepted")
	}
}
