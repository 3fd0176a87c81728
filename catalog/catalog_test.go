package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadDirKeepsValidEntries(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.json":     string(synthDef("Alpha", 8001)),
		"b.json":     `{"Beta": {"description": "d", "version": "1", "website": "w", "containers": {"beta": {"image": "x", "launch_order": "1"}}}}`,
		"c.json":     `{"Gamma": `,
		"d.json":     string(synthDef("Delta", 8002)),
		"notes.txt":  "not a definition",
		"e.json":     strings.Replace(string(synthDef("Epsilon", 8003)), `"epsilon"`, `"alpha"`, 1), // reuses container "alpha"
		"alpha.json": strings.Replace(string(synthDef("ALPHA", 8004)), `"alpha"`, `"alpha2"`, 1),    // same name, other case
	})
	c, errs := LoadDir(dir)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		`b.json: $.Beta.containers.beta.launch_order: must be an integer 1-1000`,
		`c.json: $.Gamma: truncated JSON`,
		`e.json: $.Epsilon.containers.alpha: container name "alpha" is already used by rock-on "Alpha" (a.json)`,
		`alpha.json: $.ALPHA: rock-on "ALPHA" is already defined in a.json`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}
	if len(errs) != 4 {
		t.Errorf("%d errors:\n%s", len(errs), all)
	}
	if got := strings.Join(c.Names(), ","); got != "Alpha,Delta" {
		t.Errorf("names = %s", got)
	}
	for _, n := range []string{"alpha", "Alpha", "ALPHA", "delta"} {
		if _, ok := c.Get(n); !ok {
			t.Errorf("Get(%q) failed", n)
		}
	}
}

func TestLoadDirWithRoot(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		RootFile:     `{"one": "one.json", "two": "missing.json", "three": "../three.json", "four": 4}`,
		"one.json":   string(synthDef("One", 8001)),
		"extra.json": string(synthDef("Extra", 8002)), // not listed: ignored
	})
	c, errs := LoadDir(dir)
	if strings.Join(c.Names(), ",") != "One" {
		t.Errorf("names = %v", c.Names())
	}
	all := ""
	for _, e := range errs {
		all += e.Error() + "\n"
	}
	for _, want := range []string{"missing.json: open ", `root.json: $.three: file name "../three.json" must be a plain file name`, `root.json: $.four: must be a file name string, got a number`} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}
}

func TestEmptyCatalog(t *testing.T) {
	var c *Catalog
	if c.Len() != 0 || c.Names() != nil || c.All() != nil || c.Problems() != nil {
		t.Error("nil catalog not empty")
	}
	if _, ok := c.Get("x"); ok {
		t.Error("nil catalog has x")
	}
	c, errs := LoadDir(filepath.Join(t.TempDir(), "missing"))
	if c.Len() != 0 || len(errs) != 1 {
		t.Errorf("missing dir: %d rock-ons, errors %v", c.Len(), errs)
	}
}

func TestValidatePathsRegistry(t *testing.T) {
	dir := registryDir(t)
	report, ok := ValidatePaths([]string{dir})
	if !ok {
		t.Fatalf("registry invalid:\n%v", report)
	}
	// The only problems are the two opts rockon drops.
	var lines []string
	for _, p := range report {
		if !p.Warning {
			t.Errorf("error: %v", p)
		}
		lines = append(lines, p.String())
	}
	want := []string{
		filepath.Join(dir, "pocketmine.json") + `: $.PocketMine-MP.containers.pocketmine.opts[0]: warning: option -it dropped: systemd runs the container in the foreground without a terminal`,
		filepath.Join(dir, "zabbix-xxl.json") + `: $.Zabbix-XXL.containers.zabbix-db-storage.opts[0]: warning: option --restart no dropped: systemd restarts the container (Restart= in the unit)`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("report:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidatePathsFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"good.json": string(synthDef("Good", 8001)),
		"bad.json":  `{"Bad": {"description": "d", "version": "1", "website": "w", "containers": {"x": {"image": "-x", "launch_order": 1, "ports": {"80": {"label": "l", "host_default": 0}}}}}}`,
		// Same container name as the testdata immich: caught across arguments.
		"clash.json": strings.Replace(string(synthDef("Clash", 8002)), `"clash"`, `"immich-server"`, 1),
	})
	good := filepath.Join(dir, "good.json")
	if report, ok := ValidatePaths([]string{good}); !ok || len(report) != 0 {
		t.Errorf("good: %v %v", ok, report)
	}
	report, ok := ValidatePaths([]string{filepath.Join(dir, "bad.json"), filepath.Join(dir, "clash.json"),
		filepath.Join("testdata", "registry"), filepath.Join(dir, "nope.json")})
	if ok {
		t.Error("ok with errors")
	}
	text := report.Error()
	for _, want := range []string{
		filepath.Join(dir, "bad.json") + `: $.Bad.containers.x.image: invalid image reference "-x"`,
		filepath.Join(dir, "bad.json") + `: $.Bad.containers.x.ports.80.host_default: must be an integer 1-65535`,
		// In name order Clash comes first: Immich is the later one refused.
		filepath.Join("testdata", "registry", "immich.json") + `: $.Immich.containers.immich-server: container name "immich-server" is already used by rock-on "Clash" (` + filepath.Join(dir, "clash.json") + `)`,
		filepath.Join(dir, "nope.json") + `: stat `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}
