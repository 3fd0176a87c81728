package packaging

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	rstate "github.com/rockon/rockon/state"
)

// The shipped configuration agrees with the package: it names no engine,
// so rockond takes the one installed, in the order of the package's
// "Recommends: podman | docker.io" (apt installs the first alternative);
// the directories it names are shipped or belong to Debian's base system.
func TestDefaultsAgreeWithThePackage(t *testing.T) {
	cfg, err := rstate.LoadConfig("rockond.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Engine.Name != "" {
		t.Errorf("rockond.toml names engine %q: a fixed engine disagrees with Recommends whenever apt picked the other", cfg.Engine.Name)
	}
	yaml, err := os.ReadFile("nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+- (podman \| docker\.io)\s*$`).FindSubmatch(yaml)
	if m == nil {
		t.Fatalf("nfpm.yaml recommends no \"podman | docker.io\" for the deb")
	}
	var fromRecommends []string
	for _, p := range strings.Split(string(m[1]), " | ") {
		fromRecommends = append(fromRecommends, strings.TrimSuffix(p, ".io"))
	}
	if !slices.Equal(fromRecommends, rstate.Engines) {
		t.Errorf("Recommends order %v, rockond's preference %v: they must agree", fromRecommends, rstate.Engines)
	}
	if cfg.Metastore.LocalDir == "" || !regexp.MustCompile(`(?m)^\s+- dst: `+regexp.QuoteMeta(cfg.Metastore.LocalDir)+`\n\s+type: dir$`).Match(yaml) {
		t.Errorf("the local metastore %q is not a directory of the package", cfg.Metastore.LocalDir)
	}
	// The shares root and allowed roots exist on every Debian system:
	// base-files creates them (its postinst, on this Debian host).
	postinst, err := os.ReadFile("/var/lib/dpkg/info/base-files.postinst")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("not a Debian host: %v", err)
	}
	for _, d := range append([]string{cfg.Volumes.SharesRoot}, cfg.Volumes.AllowedRoots...) {
		dir := strings.TrimPrefix(d, "/")
		if strings.Contains(dir, "/") || !regexp.MustCompile(`(?m)^\s*install_directory `+regexp.QuoteMeta(dir)+`\s`).Match(postinst) {
			t.Errorf("%s is not a directory Debian's base-files creates", d)
		}
	}
}

// rockond(8) and rockond.toml(5) format without a warning from groff, have
// EXAMPLES, and the configuration page names every key of the shipped
// configuration.
func TestManPages(t *testing.T) {
	requireTools(t, "groff")
	for _, page := range []string{"man/rockond.8", "man/rockond.toml.5"} {
		out, err := exec.Command("groff", "-man", "-ww", "-z", page).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff %s: %v\n%s", page, err, out)
		}
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "\n.SH EXAMPLES\n") {
			t.Errorf("%s has no EXAMPLES section", page)
		}
	}
	page, err := os.ReadFile("man/rockond.toml.5")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	md, err := toml.DecodeFile("rockond.toml", &doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range md.Keys() {
		last := k[len(k)-1]
		if len(k) == 1 && md.Type(k...) == "Hash" {
			last = "[" + last + "]"
		}
		if !strings.Contains(string(page), last) {
			t.Errorf("rockond.toml(5) does not mention %s", k)
		}
	}
}
