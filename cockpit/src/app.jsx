/* global cockpit */
import { memo, useEffect, useMemo, useRef, useState } from "react";
// PatternFly by component, not its index: the index pulls in every
// component's stylesheet (1.2 MB of CSS to parse before the first paint).
import { Alert } from "@patternfly/react-core/dist/esm/components/Alert/index.js";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { Page, PageSection } from "@patternfly/react-core/dist/esm/components/Page/index.js";
import { SearchInput } from "@patternfly/react-core/dist/esm/components/SearchInput/index.js";
import { Tab, Tabs, TabTitleText } from "@patternfly/react-core/dist/esm/components/Tabs/index.js";
import { Title } from "@patternfly/react-core/dist/esm/components/Title/index.js";
import { Toolbar, ToolbarContent, ToolbarItem } from "@patternfly/react-core/dist/esm/components/Toolbar/index.js";
// StateLabel below uses the label markup without the component: its stylesheet is imported here.
import "@patternfly/react-styles/css/components/Label/label.css";
import { connect, MANAGER, MANAGER_PATH, ROCKON, ROCKON_PREFIX } from "./api.js";
import { sanitize, safeURL } from "./sanitize.js";
import { InstallWizard } from "./wizard.jsx";
import { Installed } from "./installed.jsx";

export const NEEDS_ADMIN = "Changes need administrative access: turn it on with the \"Limited access\" button at the top of the page.";

// useRockOns follows every RockOn object of rockond: one GetManagedObjects
// call for the start, then the objects' PropertiesChanged and the Object
// Manager's InterfacesAdded/InterfacesRemoved signals (no polling). The
// subscriptions are made first, on the same channel: signals that arrive
// before the call's reply are older than it and are dropped. One snapshot
// per object, replaced only when that object changes, so that unchanged
// rows are not rendered again; re-rendering is batched to one per frame.
function useRockOns(client) {
    const [rockons, setRockOns] = useState(null);
    const [error, setError] = useState(null);
    useEffect(() => {
        performance.mark("rockon-watch");
        const snapshots = new Map();
        let loaded = false;
        let frame = null;
        const render = () => {
            frame = null;
            const list = Array.from(snapshots.values());
            list.sort((a, b) => a.Name.localeCompare(b.Name));
            setRockOns(list);
        };
        const schedule = () => {
            if (frame === null)
                frame = window.requestAnimationFrame(render);
        };
        const set = (path, props, replace) => {
            const old = replace ? { path } : snapshots.get(path);
            if (!old)
                return;
            const next = { ...old };
            for (const [k, v] of Object.entries(props))
                next[k] = v && typeof v === "object" && "v" in v && "t" in v ? v.v : v;
            if (next.Name === undefined)
                return;
            snapshots.set(path, next);
            schedule();
        };
        const subs = [
            client.subscribe({ interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged", path_namespace: ROCKON_PREFIX },
                (path, iface, signal, [ifaceName, changed]) => {
                    if (loaded && ifaceName === ROCKON)
                        set(path, changed, false);
                }),
            client.subscribe({ path: MANAGER_PATH, interface: "org.freedesktop.DBus.ObjectManager" },
                (path, iface, signal, args) => {
                    if (!loaded)
                        return;
                    if (signal === "InterfacesAdded" && args[1][ROCKON])
                        set(args[0], args[1][ROCKON], true);
                    else if (signal === "InterfacesRemoved" && args[1].includes(ROCKON) && snapshots.delete(args[0]))
                        schedule();
                }),
        ];
        client.call(MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", [])
                .then(([objects]) => {
                    performance.mark("rockon-objects");
                    loaded = true;
                    for (const [path, ifaces] of Object.entries(objects)) {
                        if (ifaces[ROCKON])
                            set(path, ifaces[ROCKON], true);
                    }
                    schedule();
                })
                .catch(err => setError(err.message || String(err)));
        client.addEventListener("close", (ev, opts) => setError(opts.problem || "closed"));
        return () => {
            for (const s of subs)
                s.remove();
            if (frame !== null)
                window.cancelAnimationFrame(frame);
        };
    }, [client]);
    return [rockons, error];
}

// useAdmin follows whether the user has administrative access in Cockpit.
function useAdmin() {
    const [allowed, setAllowed] = useState(null);
    useEffect(() => {
        const perm = cockpit.permission({ admin: true });
        const changed = () => setAllowed(perm.allowed);
        perm.addEventListener("changed", changed);
        changed();
        return () => perm.removeEventListener("changed", changed);
    }, []);
    return allowed;
}

// StateLabel is PatternFly's label markup without its component: the
// component measures its text after each render (for truncation), which
// forces a layout per row of a long list.
export function StateLabel({ state, installed }) {
    const text = installed ? state : "not-installed";
    const color = { running: "green", degraded: "orange", failed: "red", starting: "blue", stopping: "blue", installing: "blue", updating: "blue", uninstalling: "blue" }[text];
    return (
        <span className={"pf-v5-c-label ro-state" + (color ? " pf-m-" + color : "")} data-state={text}>
            <span className="pf-v5-c-label__content">{installed ? state : "not installed"}</span>
        </span>
    );
}

// AdminButton is a button that is disabled, with the reason as its title
// (the page's banner says it too), when the user lacks administrative access.
export function AdminButton({ admin, children, ...props }) {
    if (admin)
        return <Button {...props}>{children}</Button>;
    return <Button {...props} isAriaDisabled title={NEEDS_ADMIN} data-disabled-reason={NEEDS_ADMIN}>{children}</Button>;
}

// PAGE is how many catalog entries are rendered at once: with the whole
// registry and hundreds of installed rock-ons, rendering (and sanitising)
// every entry before the first paint took seconds; a page is what a screen
// shows and the search finds the rest, as cockpit-podman pages its lists.
export const PAGE = 40;

function Catalog({ client, rockons, admin, onInstall }) {
    const [filter, setFilter] = useState("");
    const [page, setPage] = useState(0);
    const [refreshing, setRefreshing] = useState(false);
    const [message, setMessage] = useState(null);
    const shown = useMemo(() => {
        const f = filter.trim().toLowerCase();
        if (!f)
            return rockons;
        return rockons.filter(r => r.Name.toLowerCase().includes(f) || (r.Description || "").toLowerCase().includes(f));
    }, [rockons, filter]);
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    // A filter that shrinks the list, or rock-ons going away, may leave the page past the end.
    const at = Math.min(page, pages - 1);
    const first = at * PAGE;
    const visible = shown.slice(first, first + PAGE);
    const refresh = () => {
        setRefreshing(true);
        setMessage(null);
        client.call(MANAGER_PATH, MANAGER, "RefreshCatalog", [], { type: "" })
                .then(([n]) => setMessage({ variant: "success", text: `Catalog refreshed: ${n} rock-ons.` }))
                .catch(err => setMessage({ variant: "danger", text: `Refreshing the catalog failed: ${err.message}` }))
                .finally(() => setRefreshing(false));
    };
    return (
        <>
            <Toolbar>
                <ToolbarContent>
                    <ToolbarItem>
                        <SearchInput id="ro-search" aria-label="Search rock-ons" placeholder="Search rock-ons"
                                     value={filter} onChange={(_e, v) => { setFilter(v); setPage(0) }} onClear={() => { setFilter(""); setPage(0) }} />
                    </ToolbarItem>
                    <ToolbarItem>
                        <AdminButton admin={admin} id="ro-refresh" variant="secondary" isLoading={refreshing} onClick={refresh}>
                            Refresh catalog
                        </AdminButton>
                    </ToolbarItem>
                    <ToolbarItem variant="pagination">
                        <span id="ro-count">{shown.length} of {rockons.length} rock-ons</span>
                        {pages > 1 && <Pager at={at} pages={pages} first={first} shown={visible.length} total={shown.length} setPage={setPage} />}
                    </ToolbarItem>
                </ToolbarContent>
            </Toolbar>
            {message && <Alert isInline variant={message.variant} title={message.text} />}
            <ul className="ro-catalog" id="ro-catalog">
                {visible.map(r => <CatalogEntry key={r.path} r={r} admin={admin} onInstall={onInstall} />)}
            </ul>
        </>
    );
}

function Pager({ at, pages, first, shown, total, setPage }) {
    return (
        <span className="ro-pager">
            <Button id="ro-page-prev" variant="plain" size="sm" aria-label="Previous page" isDisabled={at === 0} onClick={() => setPage(at - 1)}>‹</Button>
            <span id="ro-page">{first + 1}–{first + shown} of {total}</span>
            <Button id="ro-page-next" variant="plain" size="sm" aria-label="Next page" isDisabled={at >= pages - 1} onClick={() => setPage(at + 1)}>›</Button>
        </span>
    );
}

const CatalogEntry = memo(function CatalogEntry({ r, admin, onInstall }) {
    const description = useMemo(() => sanitize(r.Description), [r.Description]);
    const website = safeURL(r.Website);
    return (
        <li className="ro-entry" data-name={r.Name}>
            <div className="ro-entry-head">
                <h3 className="pf-v5-c-title pf-m-md ro-name">{r.Name}</h3>
                <span className="ro-version">{r.Version}</span>
                <StateLabel state={r.State} installed={r.Installed} />
                <span className="ro-spacer" />
                {website && <a className="ro-website" href={website} target="_blank" rel="noopener noreferrer">Website</a>}
                {!r.Installed &&
                    <AdminButton admin={admin} className="ro-install" variant="primary" size="sm" onClick={() => onInstall(r.Name)}>
                        Install
                    </AdminButton>}
            </div>
            {/* sanitised to the allow-list of sanitize.js above */}
            <div className="ro-description" dangerouslySetInnerHTML={{ __html: description }} />
        </li>
    );
});

export function App() {
    const client = useMemo(() => connect(), []);
    const [rockons, error] = useRockOns(client);
    const admin = useAdmin();
    const [tab, setTab] = useState(0);
    const [installing, setInstalling] = useState(null);
    const installedCount = rockons ? rockons.filter(r => r.Installed).length : 0;
    const ready = useRef(false);
    useEffect(() => {
        if (rockons && !ready.current) {
            ready.current = true;
            document.body.setAttribute("data-ro-ready", "1");
            performance.mark("rockon-rendered");
        }
    }, [rockons]);

    let body;
    if (error)
        body = <Alert isInline variant="danger" title={`rockond is not reachable: ${error}`} />;
    else if (!rockons)
        body = <p id="ro-loading">Loading rock-ons...</p>;
    else
        body = (
            <Tabs activeKey={tab} onSelect={(_e, k) => setTab(k)} id="ro-tabs" mountOnEnter unmountOnExit>
                <Tab eventKey={0} id="ro-tab-catalog" title={<TabTitleText>Catalog</TabTitleText>}>
                    <Catalog client={client} rockons={rockons} admin={admin} onInstall={setInstalling} />
                </Tab>
                <Tab eventKey={1} id="ro-tab-installed" title={<TabTitleText>Installed ({installedCount})</TabTitleText>}>
                    <Installed client={client} rockons={rockons.filter(r => r.Installed)} all={rockons} admin={admin} />
                </Tab>
            </Tabs>
        );
    return (
        <Page>
            <PageSection variant="light">
                <Title headingLevel="h1">Rock-ons</Title>
                {admin === false &&
                    <Alert id="ro-limited" isInline variant="info" title="Read-only: you do not have administrative access">
                        {NEEDS_ADMIN}
                    </Alert>}
            </PageSection>
            <PageSection>{body}</PageSection>
            {installing &&
                <InstallWizard client={client} name={installing} all={rockons || []}
                               onClose={() => setInstalling(null)} onDone={() => { setInstalling(null); setTab(1) }} />}
        </Page>
    );
}
