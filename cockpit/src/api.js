/* global cockpit */
// The rockon D-Bus API (org.rockon.rockon1, see dbus/doc.go) as the page
// uses it, through cockpit.js: calls, property proxies kept current by
// PropertiesChanged, and job objects followed until JobRemoved.

export const BUS = "org.rockon.rockon1";
export const MANAGER_PATH = "/org/rockon/rockon1";
export const MANAGER = "org.rockon.rockon1.Manager";
export const ROCKON = "org.rockon.rockon1.RockOn";
export const JOB = "org.rockon.rockon1.Job";
export const ROCKON_PREFIX = "/org/rockon/rockon1/rockon";

// connect opens the system bus through Cockpit's administrative access when
// the user has it ("try": the user's own bridge otherwise, where rockond
// refuses changes and polkit decides).
export function connect() {
    return cockpit.dbus(BUS, { bus: "system", superuser: "try" });
}

// containers turns the Containers property, a(sssssssiuts), into objects.
export function containers(prop) {
    return (prop || []).map(c => ({
        name: c[0],
        unit: c[1],
        state: c[2],
        activeState: c[3],
        subState: c[4],
        image: c[5],
        imageID: c[6],
        exitCode: c[7],
        restarts: c[8],
        since: c[9],
        lastLog: c[10],
    }));
}

// ports turns the Ports property, a(susub), into objects.
export function ports(prop) {
    return (prop || []).map(p => ({ container: p[0], containerPort: p[1], protocol: p[2], hostPort: p[3], ui: p[4] }));
}

// volumes turns the Volumes property, a(sss), into objects.
export function volumes(prop) {
    return (prop || []).map(v => ({ container: v[0], path: v[1], host: v[2] }));
}

// errorName is the short name of a rockon error ("InvalidArgs"), or the
// D-Bus error name as it came.
export function errorName(err) {
    const n = (err && err.name) || "";
    return n.startsWith("org.rockon.rockon1.Error.") ? n.slice("org.rockon.rockon1.Error.".length) : n;
}

// runJob calls a Manager method that starts a job and resolves when the
// job's JobRemoved says "done" (rejecting with {name, message} when it
// failed). onProgress(progress 0..1, message) follows the job's properties.
// The subscription is made before the call, on the same channel, so a job
// that ends at once is not missed.
export function runJob(client, method, signature, args, onProgress) {
    return new Promise((resolve, reject) => {
        let jobPath = null;
        let proxy = null;
        const early = {};
        let onChanged = null;
        const finish = a => {
            sub.remove();
            if (proxy && onChanged)
                proxy.removeEventListener("changed", onChanged);
            const [, , , result, name, message] = a;
            if (result === "done") {
                if (onProgress)
                    onProgress(1, "");
                resolve();
            } else {
                reject({ name, message });
            }
        };
        const sub = client.subscribe({ path: MANAGER_PATH, interface: MANAGER, member: "JobRemoved" },
            (path, iface, signal, a) => {
                if (jobPath === null)
                    early[a[1]] = a;
                else if (a[1] === jobPath)
                    finish(a);
            });
        client.call(MANAGER_PATH, MANAGER, method, args, { type: signature })
                .then(([path]) => {
                    jobPath = path;
                    if (early[path])
                        return finish(early[path]);
                    if (onProgress) {
                        proxy = client.proxy(JOB, path);
                        onChanged = () => {
                            if (proxy.valid)
                                onProgress(proxy.Progress || 0, proxy.Message || "");
                        };
                        proxy.addEventListener("changed", onChanged);
                    }
                })
                .catch(err => {
                    sub.remove();
                    reject(err);
                });
    });
}

// variants wraps a map of strings (t "s") or numbers (t "u") as D-Bus
// variants of a{sv}.
function wrapMap(m, sig) {
    return { t: sig, v: m };
}

// choicesArg builds the structured choices argument a{sv} of Install and
// Reconfigure from {containers: {name: {ports, volumes, env, devices}},
// customConfig, consent}; empty parts are left out.
export function choicesArg({ containers = {}, customConfig = {}, consent = [] }) {
    const cs = {};
    for (const [name, c] of Object.entries(containers)) {
        const fields = {};
        if (c.ports && Object.keys(c.ports).length)
            fields.ports = wrapMap(c.ports, "a{su}");
        for (const k of ["volumes", "env", "devices"]) {
            if (c[k] && Object.keys(c[k]).length)
                fields[k] = wrapMap(c[k], "a{ss}");
        }
        if (Object.keys(fields).length)
            cs[name] = fields;
    }
    const out = {};
    if (Object.keys(cs).length)
        out.containers = { t: "a{sa{sv}}", v: cs };
    if (Object.keys(customConfig).length)
        out.custom_config = { t: "a{ss}", v: customConfig };
    if (consent.length)
        out.consent = { t: "as", v: consent };
    return out;
}

// parseConfigEnv reads the env and custom_config values out of the
// install-config TOML that GetConfig returns (the daemon writes it, with
// basic strings only), for prefilling the settings form.
export function parseConfigValues(text) {
    const env = {};
    const custom = {};
    let table = null;
    for (const raw of (text || "").split("\n")) {
        const line = raw.trim();
        if (line.startsWith("[")) {
            table = line.replace(/^\[+|\]+$/g, "");
            continue;
        }
        const m = line.match(/^("(?:[^"\\]|\\.)*"|[A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*")\s*$/);
        if (!m || table === null)
            continue;
        const key = m[1].startsWith('"') ? JSON.parse(m[1]) : m[1];
        let value;
        try {
            value = JSON.parse(m[2]);
        } catch (e) {
            continue;
        }
        const cm = table.match(/^containers\.("(?:[^"\\]|\\.)*"|[A-Za-z0-9_-]+)\.env$/);
        if (cm) {
            const c = cm[1].startsWith('"') ? JSON.parse(cm[1]) : cm[1];
            (env[c] = env[c] || {})[key] = value;
        } else if (table === "custom_config") {
            custom[key] = value;
        }
    }
    return { env, custom };
}

// secretLooking tells the env names whose values are shown as password
// inputs.
export function secretLooking(name) {
    return /pass|secret|token|key|pwd/i.test(name);
}
