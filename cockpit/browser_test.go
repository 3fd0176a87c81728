package cockpit

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/rockon/rockon/unitgen"
)

// TestAdmin: an administrator logs in to real Cockpit, finds the demo
// rock-on in the catalog, installs it through the wizard, sees it come up
// live, toggles it off and on, reads its logs, changes a setting, updates
// it and uninstalls it; every change goes over D-Bus to rockond, and what
// the page shows is checked against the sandbox (curl, podman).
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
	screenshot(t, ctx, "catalog")

	// The wizard: the port's free default is offered; an empty greeting is
	// refused by rockond and the error is shown at that field.
	do(t, ctx, "open the wizard",
		chromedp.Click(`li[data-name="Hello"] .ro-install`, chromedp.ByQuery),
		chromedp.WaitVisible(`[id="env:hello:GREETING"]`, chromedp.ByQuery),
	)
	var port string
	do(t, ctx, "read the port", chromedp.Value(`[id="port:hello:8080"]`, &port, chromedp.ByQuery))
	if port != "8099" {
		t.Errorf("wizard offers port %q, want the free default 8099", port)
	}
	do(t, ctx, "type a port out of range",
		chromedp.Evaluate(setInput(`[id="port:hello:8080"]`, "70000"), nil))
	waitJS(t, ctx, "the port problem shown as typed", fieldError("port:hello:8080", "65535")+` && document.getElementById("ro-wizard-install").disabled`)
	do(t, ctx, "type the port back", chromedp.Evaluate(setInput(`[id="port:hello:8080"]`, "8099"), nil))
	do(t, ctx, "install without a greeting", chromedp.Click("#ro-wizard-install", chromedp.ByID))
	waitJS(t, ctx, "the daemon's error at the greeting field", fieldError("env:hello:GREETING", "GREETING"))
	screenshot(t, ctx, "wizard-error")

	do(t, ctx, "install with a greeting",
		chromedp.SendKeys(`[id="env:hello:GREETING"]`, "hello from cockpit", chromedp.ByQuery),
		chromedp.Click("#ro-wizard-install", chromedp.ByID),
	)
	waitJS(t, ctx, "the job's progress", `!!document.getElementById("ro-wizard-progress") || document.getElementById("ro-wizard") === null`)
	screenshot(t, ctx, "wizard-progress")
	// The wizard closes when the job is done and shows the installed tab;
	// the container's state arrives with PropertiesChanged.
	waitJS(t, ctx, "Hello running", `document.getElementById("ro-wizard") === null && `+containerState("hello", "running"))
	screenshot(t, ctx, "installed")
	if got := e.s.HTTPGet(t, "http://127.0.0.1:8099/env"); !strings.Contains(got, "hello from cockpit") {
		t.Errorf("the rock-on does not have the greeting typed in the wizard: %q", got)
	}

	// Off and on with the switch.
	do(t, ctx, "switch off", chromedp.Click(`label[for="ro-switch-hello"]`, chromedp.ByQuery))
	waitJS(t, ctx, "Hello stopped", `!!document.querySelector('.ro-installed[data-name="Hello"] .ro-state[data-state="stopped"]')`)
	if out, err := e.s.Command(ctx, "curl", "-sS", "--max-time", "2", "http://127.0.0.1:8099/").CombinedOutput(); err == nil {
		t.Errorf("the rock-on still answers after the switch turned it off: %s", out)
	}
	do(t, ctx, "switch on", chromedp.Click(`label[for="ro-switch-hello"]`, chromedp.ByQuery))
	waitJS(t, ctx, "Hello running again", containerState("hello", "running")+` && !!document.querySelector('.ro-installed[data-name="Hello"] .ro-state[data-state="running"]')`)
	e.s.HTTPGet(t, "http://127.0.0.1:8099/")

	// Logs: the container's own output, from the journal.
	do(t, ctx, "open the logs", chromedp.Click(`.ro-installed[data-name="Hello"] .ro-logs`, chromedp.ByQuery))
	waitJS(t, ctx, "the container's log lines", `(document.getElementById("ro-logs") || {}).textContent.includes("rockon-test: version 1 listening")`)
	screenshot(t, ctx, "logs")
	do(t, ctx, "close the logs", chromedp.Click(`#ro-logs-dialog button[aria-label="Close"]`, chromedp.ByQuery))

	// A setting: the web port, prefilled with the current one.
	do(t, ctx, "open the settings",
		chromedp.Click(`.ro-installed[data-name="Hello"] .ro-settings`, chromedp.ByQuery),
		chromedp.WaitVisible(`#ro-settings-form [id="port:hello:8080"]`, chromedp.ByQuery),
	)
	waitJS(t, ctx, "settings prefilled", `document.querySelector('#ro-settings-form [id="port:hello:8080"]').value === "8099" && document.querySelector('#ro-settings-form [id="env:hello:GREETING"]').value === "hello from cockpit"`)
	screenshot(t, ctx, "settings")
	do(t, ctx, "change the port",
		chromedp.Evaluate(setInput(`#ro-settings-form [id="port:hello:8080"]`, "8100"), nil),
		chromedp.Click("#ro-settings-save", chromedp.ByID),
	)
	waitJS(t, ctx, "the new port shown", `document.getElementById("ro-settings-dialog") === null && document.querySelector('.ro-installed[data-name="Hello"] .ro-ports').textContent.includes("→ 8100")`)
	waitJS(t, ctx, "running on the new port", containerState("hello", "running"))
	e.s.HTTPGet(t, "http://127.0.0.1:8100/")

	// Update: a new image under the same tag.
	e.s.Run(t, "podman", "tag", "localhost/rockon-test:2", "localhost/rockon-test:1")
	do(t, ctx, "update", chromedp.Click(`.ro-installed[data-name="Hello"] .ro-update`, chromedp.ByQuery))
	waitJS(t, ctx, "the update's outcome", `Array.from(document.querySelectorAll('.ro-installed[data-name="Hello"] .ro-outcome')).some(a => a.textContent.includes("update of Hello: done"))`)
	screenshot(t, ctx, "updated")
	if got := e.s.HTTPGet(t, "http://127.0.0.1:8100/version"); strings.TrimSpace(got) != "2" {
		t.Errorf("version after the update = %q, want 2", got)
	}

	// Uninstall, confirmed.
	do(t, ctx, "uninstall",
		chromedp.Click(`.ro-installed[data-name="Hello"] .ro-uninstall`, chromedp.ByQuery),
		chromedp.Click("#ro-uninstall-confirm", chromedp.ByID),
	)
	waitJS(t, ctx, "Hello gone from the installed rock-ons", `document.querySelector('.ro-installed[data-name="Hello"]') === null && document.getElementById("pf-tab-1-ro-tab-installed").textContent.includes("(0)")`)
	do(t, ctx, "the catalog tab", chromedp.Click(`#pf-tab-0-ro-tab-catalog`, chromedp.ByQuery))
	waitJS(t, ctx, "Hello not installed in the catalog", `!!document.querySelector('li[data-name="Hello"] .ro-state[data-state="not-installed"]')`)
	// The page may show the rock-on gone before the job has removed the
	// container: wait for podman to agree.
	deadline := time.Now().Add(time.Minute)
	for {
		out := e.s.Run(t, "podman", "ps", "-a", "--format", "{{.Names}}")
		if !strings.Contains(out, "hello") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containers left after uninstall: %s", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// setInput sets a React-controlled input's value as typing does (the
// value setter of the element's prototype, then an input event).
func setInput(selector, value string) string {
	return `(() => { const el = document.querySelector(` + jsString(selector) + `);
		Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(el, ` + jsString(value) + `);
		el.dispatchEvent(new Event("input", { bubbles: true })); return true })()`
}

// fieldError is true when the form group of the input with this id shows
// an error containing text.
func fieldError(id, text string) string {
	return `(() => { const el = document.getElementById(` + jsString(id) + `); if (!el) return false;
		const g = el.closest(".pf-v5-c-form__group"); const e = g && g.querySelector(".ro-field-error");
		return !!e && e.textContent.includes(` + jsString(text) + `) })()`
}

// containerState is true when the installed card of the rock-on shows the
// container in that state.
func containerState(container, state string) string {
	return `!!document.querySelector('.ro-container[data-container=` + jsString(container) + `][data-state=` + jsString(state) + `]')`
}

// jsString quotes s as a JavaScript string literal (JSON's is one).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// hostile is a definition whose texts try to run script in the page.
const hostile = `{
  "Hostile": {
    "description": "<p id=\"ok-part\">A <b>useful</b> app.</p><script>window.__pwned = \"script\"</script><img src=x onerror=\"window.__pwned = 'onerror'\"><a id=\"js-link\" href=\"javascript:window.__pwned = 'link'\">click me</a><svg onload=\"window.__pwned = 'svg'\"></svg><iframe src=\"javascript:parent.__pwned = 'iframe'\"></iframe><p onmouseover=\"window.__pwned = 'mouse'\" style=\"position:fixed;top:0;left:0;width:100%;height:100%\">cover</p><a id=\"good-link\" href=\"https://example.org/docs\">docs</a>",
    "version": "1.0",
    "website": "javascript:window.__pwned = 'website'",
    "containers": {
      "hostile": {
        "image": "localhost/rockon-test",
        "tag": "1",
        "launch_order": 1,
        "ports": {"8080": {"description": "<img src=x onerror=\"window.__pwned = 'port'\">Web port", "label": "Web", "host_default": 8097, "protocol": "tcp"}}
      }
    }
  }
}`

// TestViewerAndHostileDefinition: a user without administrative access
// sees the catalog and the running rock-on, every control that changes
// something is disabled and says why, and rockond refuses a change sent
// from the page anyway; a definition whose description holds script tags,
// javascript: links and event handler attributes runs no script and
// reaches the page reduced to formatting and an http(s) link.
func TestViewerAndHostileDefinition(t *testing.T) {
	e := setup(t, map[string]string{"hostile.json": hostile})
	e.s.Run(t, e.bin+"/rockon", "install", "Hello", "--no-input", "--env", "GREETING=installed by root")
	ctx := browser(t)
	e.login(t, ctx, viewerUser, viewerPass, false)
	e.openApp(t, ctx)

	waitJS(t, ctx, "the read-only notice", `!!document.getElementById("ro-limited")`)
	var names string
	do(t, ctx, "read the catalog", chromedp.Text("#ro-catalog", &names, chromedp.ByID))
	for _, n := range []string{"Hello", "Hostile"} {
		if !strings.Contains(names, n) {
			t.Errorf("catalog does not list %s: %q", n, names)
		}
	}
	waitJS(t, ctx, "Hello shown running", `!!document.querySelector('li[data-name="Hello"] .ro-state[data-state="running"]')`)
	var refresh, install string
	do(t, ctx, "the disabled catalog controls",
		chromedp.Evaluate(`(() => { const b = document.getElementById("ro-refresh"); return b.getAttribute("aria-disabled") + "|" + b.title })()`, &refresh),
		chromedp.Evaluate(`(() => { const b = document.querySelector('li[data-name="Hostile"] .ro-install'); return b.getAttribute("aria-disabled") + "|" + b.title })()`, &install),
	)
	for what, got := range map[string]string{"Refresh catalog": refresh, "Install": install} {
		if !strings.HasPrefix(got, "true|Changes need administrative access") {
			t.Errorf("%s button: disabled|reason = %q", what, got)
		}
	}
	do(t, ctx, "the installed tab", chromedp.Click(`#pf-tab-1-ro-tab-installed`, chromedp.ByQuery))
	waitJS(t, ctx, "Hello's container running", containerState("hello", "running"))
	screenshot(t, ctx, "read-only")
	var controls string
	do(t, ctx, "the installed rock-on's controls", chromedp.Evaluate(`(() => {
		const card = document.querySelector('.ro-installed[data-name="Hello"]');
		const out = [];
		out.push("switch:" + card.querySelector(".ro-switch input").disabled);
		for (const c of ["ro-restart", "ro-update", "ro-settings", "ro-uninstall"]) {
			const b = card.querySelector("." + c);
			out.push(c + ":" + b.getAttribute("aria-disabled") + ":" + b.title.startsWith("Changes need administrative access"));
		}
		return out.join(" ") })()`, &controls))
	if want := "switch:true ro-restart:true:true ro-update:true:true ro-settings:true:true ro-uninstall:true:true"; controls != want {
		t.Errorf("controls for a user without administrative access:\n got %s\nwant %s", controls, want)
	}
	// The page is only a client: a change sent anyway is refused by rockond.
	var refused string
	do(t, ctx, "a Stop call from the page", chromedp.Evaluate(`new Promise(resolve => {
		cockpit.dbus("org.rockon.rockon1", { bus: "system", superuser: "try" })
			.call("/org/rockon/rockon1", "org.rockon.rockon1.Manager", "Stop", ["Hello"])
			.then(() => resolve("accepted"), err => resolve(err.name)) })`, &refused, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
	if refused != "org.rockon.rockon1.Error.AccessDenied" {
		t.Errorf("Stop from a user without administrative access: %q, want AccessDenied", refused)
	}
	e.s.HTTPGet(t, "http://127.0.0.1:8099/")

	// The hostile definition, back on the catalog tab.
	do(t, ctx, "the catalog tab", chromedp.Click(`#pf-tab-0-ro-tab-catalog`, chromedp.ByQuery))
	waitJS(t, ctx, "the hostile description rendered", `!!document.querySelector('li[data-name="Hostile"] .ro-description #ok-part') || !!document.querySelector('li[data-name="Hostile"] .ro-description b')`)
	do(t, ctx, "hover and click what it offers",
		chromedp.Click(`li[data-name="Hostile"] .ro-description a`, chromedp.ByQuery),
		chromedp.Sleep(500*time.Millisecond), // give a handler, if any, its chance to run
	)
	var report string
	do(t, ctx, "inspect the page", chromedp.Evaluate(`(() => {
		const d = document.querySelector('li[data-name="Hostile"] .ro-description');
		const bad = [];
		if (window.__pwned !== undefined) bad.push("script ran: " + window.__pwned);
		for (const el of d.querySelectorAll("*")) {
			if (!["P", "B", "A"].includes(el.tagName)) bad.push("element " + el.tagName);
			for (const a of el.attributes) {
				if (a.name.startsWith("on") || a.name === "style" || a.name === "src") bad.push("attribute " + a.name + " on " + el.tagName);
				if (a.name === "href" && !a.value.startsWith("https://")) bad.push("href " + a.value);
			}
		}
		const links = Array.from(d.querySelectorAll("a[href]")).map(a => a.href);
		if (links.length !== 1 || links[0] !== "https://example.org/docs") bad.push("links " + links.join(","));
		if (document.querySelector('li[data-name="Hostile"] .ro-website')) bad.push("javascript: website linked");
		return bad.join("; ") })()`, &report))
	if report != "" {
		t.Errorf("hostile definition: %s", report)
	}
	screenshot(t, ctx, "hostile")
}

// TestShellMenuAndCatalogPages: Cockpit's shell lists "Rock-ons" in its
// menu and opens the application in its frame; with the real registry the
// catalog is paged (a page at a time, every rock-on counted), Next and
// Previous move through it and the search finds a rock-on of a later page.
func TestShellMenuAndCatalogPages(t *testing.T) {
	e := setup(t, registryDefinitions(t))
	total := strings.Count(e.s.Run(t, e.bin+"/rockon", "--json", "list"), `"slug"`)
	ctx := browser(t)
	e.login(t, ctx, viewerUser, viewerPass, false)

	// The shell (the page login lands on) lists the application and opens it
	// in its frame; the frame is same-origin, so its document can be read.
	waitJS(t, ctx, "Rock-ons in the shell's menu", `Array.from(document.querySelectorAll("a")).some(a => a.textContent.trim() === "Rock-ons")`)
	do(t, ctx, "open Rock-ons from the menu", chromedp.Evaluate(`Array.from(document.querySelectorAll("a")).find(a => a.textContent.trim() === "Rock-ons").click()`, nil))
	waitJS(t, ctx, "the application loaded in the shell's frame", `(() => {
		const f = Array.from(document.querySelectorAll("iframe")).find(f => (f.getAttribute("src") || "").includes("/rockon/index.html"));
		return !!f && !!f.contentDocument && !!f.contentDocument.body && f.contentDocument.body.getAttribute("data-ro-ready") === "1" &&
			f.contentDocument.querySelectorAll("#ro-catalog > li").length > 0;
	})()`)

	e.openApp(t, ctx)
	var rows int
	var page, first string
	read := func(what string) {
		t.Helper()
		do(t, ctx, what,
			chromedp.Evaluate(`document.querySelectorAll("#ro-catalog > li").length`, &rows),
			chromedp.Text("#ro-page", &page, chromedp.ByID),
			chromedp.Evaluate(`document.querySelector("#ro-catalog > li").dataset.name`, &first),
		)
	}
	read("read the first page")
	if rows == 0 || rows >= total || page != fmt.Sprintf("1–%d of %d", rows, total) {
		t.Fatalf("first page: %d rows, %q; want a page of the %d rock-ons", rows, page, total)
	}
	perPage, firstName := rows, first
	do(t, ctx, "next page", chromedp.Click("#ro-page-next", chromedp.ByID))
	waitJS(t, ctx, "the second page", fmt.Sprintf(`document.getElementById("ro-page").textContent.startsWith("%d–")`, perPage+1))
	read("read the second page")
	if first == firstName || rows == 0 || rows > perPage {
		t.Fatalf("second page: %d rows starting at %q, %q", rows, first, page)
	}
	// The last rock-on by name is on the last page; the search finds it from here.
	var last string
	do(t, ctx, "previous page", chromedp.Click("#ro-page-prev", chromedp.ByID))
	waitJS(t, ctx, "the first page again", `document.getElementById("ro-page").textContent.startsWith("1–")`)
	do(t, ctx, "the last rock-on's name", chromedp.Evaluate(fmt.Sprintf(`JSON.parse(%q).map(r => r.name).sort((a, b) => a.localeCompare(b)).pop()`, e.s.Run(t, e.bin+"/rockon", "--json", "list")), &last))
	do(t, ctx, "search", chromedp.SendKeys("#ro-search input, input#ro-search", last, chromedp.ByQuery))
	waitJS(t, ctx, "the search finds it", fmt.Sprintf(`!!document.querySelector('#ro-catalog > li[data-name=%q]')`, last))
}

// capable asks for a kernel capability beyond the engines' default set.
const capable = `{
  "Capable": {
    "description": "<p>Needs NET_ADMIN.</p>",
    "version": "1.0",
    "website": "https://example.org/capable",
    "containers": {
      "capable": {
        "image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
        "ports": {"8080": {"description": "Web.", "label": "Web", "host_default": 18610, "protocol": "tcp"}},
        "volumes": {"/data": {"description": "Data.", "label": "Data"}},
        "opts": [["--cap-add", "NET_ADMIN"]]
      }
    }
  }
}`

// TestWizardConsentAndHostPorts: rockond tells any D-Bus client (busctl
// here) which consents a definition needs and why, with the words the CLI
// uses, and which default ports are free against the host's own services;
// the wizard offers the free port, explains a host service's port as it is
// typed, asks each consent with its reason before Install, and installs
// with the consent the administrator gave.
func TestWizardConsentAndHostPorts(t *testing.T) {
	e := setup(t, map[string]string{"capable.json": capable})
	// Two shares and a file in the shares root (setup's rockond.toml).
	e.s.Run(t, "sh", "-c", "mkdir -p /srv/shares/media /srv/shares/photos && touch /srv/shares/notes.txt")
	shares := e.s.Run(t, "busctl", "--json=short", "call", "org.rockon.rockon1", "/org/rockon/rockon1", "org.rockon.rockon1.Manager", "ListShares")
	if strings.TrimSpace(shares) != `{"type":"sas","data":["/srv/shares",["media","photos"]]}` {
		t.Errorf("ListShares = %s, want /srv/shares with media and photos", shares)
	}
	// A service of the host holds Capable's default port.
	e.s.Run(t, "systemd-run", "--unit=host-service", "python3", "-m", "http.server", "--bind", "0.0.0.0", "18610")
	e.s.Run(t, "sh", "-c", "for i in $(seq 600); do ss -Hltn 'sport = :18610' | grep -q . && exit 0; sleep 0.1; done; echo nothing listens on 18610 >&2; exit 1")
	var use struct {
		Data []json.RawMessage `json:"data"`
	}
	out := e.s.Run(t, "busctl", "--json=short", "call", "org.rockon.rockon1", "/org/rockon/rockon1", "org.rockon.rockon1.Manager", "GetPortUse", "s", "Capable")
	if err := json.Unmarshal([]byte(out), &use); err != nil || len(use.Data) != 2 ||
		string(use.Data[0]) != `[["capable",8080,"tcp",18611]]` || !strings.Contains(string(use.Data[1]), `[18610,"tcp"]`) {
		t.Errorf("GetPortUse Capable = %s, want 18611 suggested and 18610/tcp bound", out)
	}
	reason := unitgen.ConsentReason("cap-add:NET_ADMIN")
	got := e.s.Run(t, "busctl", "--json=short", "call", "org.rockon.rockon1", "/org/rockon/rockon1", "org.rockon.rockon1.Manager", "GetConsent", "s", "Capable")
	want, _ := json.Marshal(struct {
		Type string       `json:"type"`
		Data [][][]string `json:"data"`
	}{"a(ss)", [][][]string{{{"cap-add:NET_ADMIN", reason}}}})
	if strings.TrimSpace(got) != string(want) {
		t.Errorf("GetConsent Capable = %s, want %s", got, want)
	}
	if got := e.s.Run(t, "busctl", "call", "org.rockon.rockon1", "/org/rockon/rockon1", "org.rockon.rockon1.Manager", "GetConsent", "s", "Hello"); strings.TrimSpace(got) != "a(ss) 0" {
		t.Errorf("GetConsent Hello = %q, want none", got)
	}

	ctx := browser(t)
	e.login(t, ctx, adminUser, adminPass, true)
	e.openApp(t, ctx)
	waitJS(t, ctx, "administrative access", `!!document.querySelector('li[data-name="Capable"] .ro-install:not([aria-disabled="true"])')`)
	do(t, ctx, "open the wizard", chromedp.Click(`li[data-name="Capable"] .ro-install`, chromedp.ByQuery))
	waitJS(t, ctx, "the free port offered", `(document.getElementById("port:capable:8080") || {}).value === "18611"`)
	do(t, ctx, "type the host service's port", chromedp.Evaluate(setInput(`[id="port:capable:8080"]`, "18610"), nil))
	waitJS(t, ctx, "the host service named as typed", fieldError("port:capable:8080", "a service on this host"))
	do(t, ctx, "type the free port back", chromedp.Evaluate(setInput(`[id="port:capable:8080"]`, "18611"), nil))
	// The volume offers the shares to pick from.
	waitJS(t, ctx, "the shares offered", `(() => {
		const input = document.getElementById("volume:capable:/data");
		const list = input && input.list;
		return !!list && Array.from(list.options).map(o => o.value).join(",") === "media,photos";
	})()`)
	do(t, ctx, "pick a share", chromedp.Evaluate(setInput(`[id="volume:capable:/data"]`, "media"), nil))
	// Asked before anything is sent, with the reason; Install waits for it.
	waitJS(t, ctx, "the consent asked up front", fmt.Sprintf(`(() => {
		const s = document.getElementById("ro-consent");
		const box = document.querySelector('#ro-consent input[data-token="cap-add:NET_ADMIN"]');
		return !!s && !!box && !box.checked && s.textContent.includes("Allow cap-add:NET_ADMIN") && s.textContent.includes(%q) &&
			document.getElementById("ro-wizard-install").disabled && !document.getElementById("ro-wizard-error");
	})()`, reason))
	screenshot(t, ctx, "wizard-consent")
	do(t, ctx, "accept", chromedp.Click(`#ro-consent input[data-token="cap-add:NET_ADMIN"]`, chromedp.ByQuery))
	waitJS(t, ctx, "Install enabled", `!document.getElementById("ro-wizard-install").disabled`)
	do(t, ctx, "install", chromedp.Click("#ro-wizard-install", chromedp.ByID))
	waitJS(t, ctx, "Capable installed", `document.getElementById("ro-wizard") === null && !!document.querySelector('.ro-installed[data-name="Capable"]')`)
	if rec := string(mustRead(t, e.s.HostPath("/var/lib/rockon/capable.toml"))); !strings.Contains(rec, `"cap-add:NET_ADMIN"`) || !strings.Contains(rec, "18611") || !strings.Contains(rec, `"media"`) {
		t.Errorf("installed record lacks the consent given in the wizard:\n%s", rec)
	}
}
