package cockpit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rockon/rockon/model"
)

// seedDefinition is the rock-on whose installed record is copied to make
// many installed rock-ons quickly (as bench/ does for the daemon).
const seedDefinition = `{
  "Seed Template": {
    "description": "<p>A rock-on installed many times for the benchmark.</p>",
    "version": "1.0",
    "website": "https://example.org/seed",
    "containers": {
      "seed-template": {
        "image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
        "ports": {"8080": {"description": "Web.", "label": "Web", "host_default": 18500, "protocol": "tcp", "ui": true}}
      }
    }
  }
}`

// registryDir is the rock-on registry snapshot the benchmark loads:
// ROCKON_REGISTRY, else ../shared/registry beside the repository, else
// /work/shared/registry.
func registryDir(b testing.TB) string {
	cands := []string{os.Getenv("ROCKON_REGISTRY"), "../../shared/registry", "/work/shared/registry"}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(c, "root.json")); err == nil {
			return c
		}
	}
	b.Fatalf("no rock-on registry snapshot (root.json) in %s", strings.Join(cands, ", "))
	return ""
}

// registryDefinitions reads the registry snapshot's definitions, named as
// setup writes them beside its own.
func registryDefinitions(t testing.TB) map[string]string {
	defs := map[string]string{}
	reg := registryDir(t)
	files, _ := filepath.Glob(filepath.Join(reg, "*.json"))
	for _, f := range files {
		if filepath.Base(f) == "root.json" {
			continue
		}
		defs["registry-"+filepath.Base(f)] = string(mustRead(t, f))
	}
	return defs
}

// BenchmarkCatalogPage measures how long the catalog page takes to be
// usable (its first page of rock-ons listed, with their states, sanitised
// descriptions and controls, and every rock-on counted) from navigation, with the real registry's catalog and 200
// installed rock-ons, in real Cockpit and chromium.
func BenchmarkCatalogPage(b *testing.B) {
	defs := registryDefinitions(b)
	defs["seed.json"] = seedDefinition
	e := setup(b, defs)
	const installed = 200
	e.s.Run(b, e.bin+"/rockon", "install", "Seed Template", "--no-input", "--no-start")
	e.s.Run(b, "systemctl", "stop", "rockon.service")
	template := string(mustRead(b, e.s.HostPath("/var/lib/rockon/seed-template.toml")))
	for i := 1; i < installed; i++ {
		name := fmt.Sprintf("Seed %04d", i)
		rec := strings.ReplaceAll(template, "Seed Template", name)
		rec = strings.ReplaceAll(rec, "seed-template", model.Slug(name))
		e.s.Write(b, "/var/lib/rockon/"+model.Slug(name)+".toml", rec, 0o600)
	}
	e.s.Run(b, "systemctl", "start", "rockon.service")
	out := e.s.Run(b, e.bin+"/rockon", "--json", "list", "--installed")
	if n := strings.Count(out, `"slug"`); n != installed {
		b.Fatalf("rockond lists %d installed rock-ons, want %d", n, installed)
	}
	catalog := strings.Count(e.s.Run(b, e.bin+"/rockon", "--json", "list"), `"slug"`)

	t0 := time.Now()
	e.s.Run(b, "busctl", "call", "org.rockon.rockon1", "/org/rockon/rockon1", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
	b.Logf("GetManagedObjects with busctl: %s", time.Since(t0))
	ctx := browser(b)
	e.login(b, ctx, adminUser, adminPass, true)
	// Usable: the first page of the catalog is listed, with states, the
	// page counts every rock-on, and the Installed tab counts them all.
	usable := fmt.Sprintf(`(() => {
		const rows = document.querySelectorAll("#ro-catalog > li .ro-state").length;
		const page = document.getElementById("ro-page"), count = document.getElementById("ro-count");
		const tab = document.getElementById("pf-tab-1-ro-tab-installed");
		return rows > 0 && !!page && page.textContent === "1–" + rows + " of %d" &&
			!!count && count.textContent === "%d of %d rock-ons" && !!tab && tab.textContent.includes("(%d)");
	})()`, catalog, catalog, catalog, installed)
	e.openApp(b, ctx)
	waitJS(b, ctx, "the catalog listed", usable)
	var ms []float64
	var ok bool
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		do(b, ctx, "load the catalog page",
			chromedp.Navigate(e.url+"/cockpit/@localhost/rockon/index.html"),
			chromedp.Poll(usable, &ok, chromedp.WithPollingInterval(5*time.Millisecond)),
		)
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		var marks string
		do(b, ctx, "read the page's marks", chromedp.Evaluate(`performance.getEntriesByType("mark").map(m => m.name + "=" + Math.round(m.startTime)).join(" ")`, &marks))
		b.Logf("marks (ms since navigation): %s", marks)
	}
	b.StopTimer()
	b.ReportMetric(float64(catalog), "rockons")
	b.Logf("catalog page usable after (ms): %v; %d rock-ons listed, %d installed", ms, catalog, installed)
}
