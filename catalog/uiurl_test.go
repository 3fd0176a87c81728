package catalog

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

func TestUIURL(t *testing.T) {
	for _, c := range []struct {
		ui   *UI
		port int
		want string
	}{
		{nil, 8080, "http://nas:8080"},
		{&UI{}, 8080, "http://nas:8080"},
		{&UI{Slug: "web"}, 8080, "http://nas:8080/web"},
		{&UI{Slug: "/admin/", HTTPS: true}, 443, "https://nas:443/admin/"},
		{&UI{HTTPS: true}, 8443, "https://nas:8443"},
		{&UI{Slug: "web"}, 0, ""},
	} {
		if got := UIURL(c.ui, "nas", c.port); got != c.want {
			t.Errorf("UIURL(%+v, %d) = %q, want %q", c.ui, c.port, got, c.want)
		}
	}
}

// TestRegistryUILinks: every rock-on of the real catalog with a port
// marked "ui" gets a link, with or without a top-level "ui" object.
func TestRegistryUILinks(t *testing.T) {
	const dir = "../../shared/registry"
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("registry not found at %s: %v", dir, err)
		}
		t.Skipf("registry not found at %s: %v", dir, err)
	}
	cat, errs := LoadDir(dir)
	for _, err := range errs {
		t.Logf("catalog: %v", err)
	}
	withPort, withoutUIObject := 0, 0
	for _, def := range cat.All() {
		port := 0
		for _, c := range def.Containers {
			for _, p := range c.Ports {
				if p.UI && port == 0 {
					port = p.HostDefault
				}
			}
		}
		if port == 0 {
			continue
		}
		withPort++
		if def.UI == nil {
			withoutUIObject++
		}
		u := UIURL(def.UI, "nas", port)
		want := "http://nas:" + strconv.Itoa(port)
		if def.UI != nil && def.UI.HTTPS {
			want = "https://nas:" + strconv.Itoa(port)
		}
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(want) + `(/.*)?$`).MatchString(u) {
			t.Errorf("%s: UI link %q, want %s[/SLUG]", def.Name, u, want)
		}
	}
	t.Logf("%d rock-ons with a ui port, %d of them without a top-level ui object", withPort, withoutUIObject)
	if withPort != 74 {
		t.Errorf("%d rock-ons with a ui port, want the registry's 74", withPort)
	}
}
