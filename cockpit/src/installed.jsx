/* global cockpit */
import { memo, useEffect, useMemo, useRef, useState } from "react";
import { Alert } from "@patternfly/react-core/dist/esm/components/Alert/index.js";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { Card, CardBody, CardHeader, CardTitle } from "@patternfly/react-core/dist/esm/components/Card/index.js";
import { Form } from "@patternfly/react-core/dist/esm/components/Form/index.js";
import { Modal, ModalVariant } from "@patternfly/react-core/dist/esm/components/Modal/index.js";
import { Progress } from "@patternfly/react-core/dist/esm/components/Progress/index.js";
import { Switch } from "@patternfly/react-core/dist/esm/components/Switch/index.js";
import { containers as containersOf, errorName, MANAGER, MANAGER_PATH, parseConfigValues, ports as portsOf, runJob } from "./api.js";
import { AdminButton, NEEDS_ADMIN, StateLabel } from "./app.jsx";
import { fieldsOf, FieldInput, fieldForError, portProblems, usedPorts, choicesFrom } from "./wizard.jsx";
import { safeURL } from "./sanitize.js";

const BUSY_STATES = ["installing", "updating", "uninstalling", "starting", "stopping"];

export function Installed({ client, rockons, all, admin }) {
    if (rockons.length === 0)
        return <p id="ro-none-installed">No rock-on is installed. Install one from the catalog.</p>;
    return (
        <div id="ro-installed">
            {rockons.map(r => <InstalledRockOn key={r.path} client={client} r={r} all={all} admin={admin} />)}
        </div>
    );
}

function since(us) {
    if (!us)
        return "";
    return new Date(us / 1000).toLocaleString();
}

// Rendered again only when its own rock-on changes (the other rock-ons'
// ports, for the settings form, are read when it renders).
const InstalledRockOn = memo(function InstalledRockOn({ client, r, all, admin }) {
    const [job, setJob] = useState(null); // {kind, value, message}
    const [outcome, setOutcome] = useState(null);
    const [dialog, setDialog] = useState(null);
    const on = r.DesiredState === "on";
    const ui = safeURL(r.UIURL) ? uiLink(r.UIURL) : "";

    const run = (kind, method) => {
        setJob({ kind, value: 0, message: "" });
        setOutcome(null);
        return runJob(client, method, "s", [r.Name], (value, message) => setJob({ kind, value, message }))
                .then(() => setOutcome({ variant: "success", text: `${kind} of ${r.Name}: done` }))
                .catch(err => setOutcome({ variant: "danger", text: `${kind} of ${r.Name} failed: ${err.message}` }))
                .finally(() => setJob(null));
    };
    const busy = job !== null || BUSY_STATES.includes(r.State);
    const toggle = (
        <Switch id={`ro-switch-${r.Slug}`} className="ro-switch" aria-label={`${r.Name} on or off`} label="On" labelOff="Off"
                isChecked={on} isDisabled={!admin || busy}
                onChange={(_e, checked) => run(checked ? "start" : "stop", checked ? "Start" : "Stop")} />
    );
    return (
        <Card className="ro-installed" data-name={r.Name} isCompact>
            <CardHeader>
                <CardTitle>
                    <span className="ro-name">{r.Name}</span> <span className="ro-version">{r.Version}</span>{" "}
                    <StateLabel state={r.State} installed />
                    {admin ? toggle : <span title={NEEDS_ADMIN}>{toggle}</span>}
                </CardTitle>
            </CardHeader>
            <CardBody>
                {ui && <p><a className="ro-ui-link" href={ui} target="_blank" rel="noopener noreferrer">Open the web UI ({ui})</a></p>}
                <table className="ro-containers pf-v5-c-table pf-m-compact pf-m-grid-md">
                    <thead>
                        <tr><th>Container</th><th>State</th><th>Image</th><th>Restarts</th><th>Last exit</th><th>Since</th></tr>
                    </thead>
                    <tbody>
                        {containersOf(r.Containers).map(c =>
                            <tr key={c.name} className="ro-container" data-container={c.name} data-state={c.state}>
                                <td>{c.name}</td>
                                <td className="ro-container-state">{c.state} <small>({c.activeState}/{c.subState})</small></td>
                                <td>{c.image}</td>
                                <td className="ro-restarts">{c.restarts}</td>
                                <td>{c.exitCode}</td>
                                <td>{since(c.since)}</td>
                            </tr>)}
                    </tbody>
                </table>
                <p className="ro-ports">
                    {portsOf(r.Ports).filter(p => p.hostPort > 0).map(p =>
                        <span key={`${p.container}:${p.containerPort}/${p.protocol}`} className="ro-port">{p.container}:{p.containerPort}/{p.protocol} → {p.hostPort} </span>)}
                </p>
                {r.LastError && <Alert isInline isPlain variant="warning" title={`Last error: ${r.LastError}`} />}
                <div className="ro-actions">
                    <AdminButton admin={admin} className="ro-restart" variant="secondary" size="sm" isDisabled={busy} onClick={() => run("restart", "Restart")}>Restart</AdminButton>{" "}
                    <AdminButton admin={admin} className="ro-update" variant="secondary" size="sm" isDisabled={busy} onClick={() => run("update", "Update")}>Update</AdminButton>{" "}
                    <AdminButton admin={admin} className="ro-settings" variant="secondary" size="sm" isDisabled={busy} onClick={() => setDialog("settings")}>Settings</AdminButton>{" "}
                    <Button className="ro-logs" variant="secondary" size="sm" onClick={() => setDialog("logs")}>Logs</Button>{" "}
                    <AdminButton admin={admin} className="ro-uninstall" variant="danger" size="sm" isDisabled={busy} onClick={() => setDialog("uninstall")}>Uninstall</AdminButton>
                </div>
                {job && <Progress className="ro-job-progress" value={Math.round(job.value * 100)} title={`${job.kind}: ${job.message || "running"}`} />}
                {outcome && <Alert className="ro-outcome" isInline variant={outcome.variant} title={outcome.text} />}
            </CardBody>
            {dialog === "uninstall" &&
                <Modal id="ro-uninstall-dialog" variant={ModalVariant.small} isOpen title={`Uninstall ${r.Name}?`} onClose={() => setDialog(null)}
                       actions={[
                           <Button key="yes" id="ro-uninstall-confirm" variant="danger" onClick={() => { setDialog(null); run("uninstall", "Uninstall") }}>Uninstall</Button>,
                           <Button key="no" variant="link" onClick={() => setDialog(null)}>Cancel</Button>,
                       ]}>
                    Its containers and units are removed; its data directories are kept.
                </Modal>}
            {dialog === "logs" && <Logs r={r} onClose={() => setDialog(null)} />}
            {dialog === "settings" && <Settings client={client} r={r} all={all} onClose={() => setDialog(null)} />}
        </Card>
    );
}, (a, b) => a.r === b.r && a.admin === b.admin && a.client === b.client);

// uiLink points the daemon's UIURL (localhost) at the host this page was
// loaded from.
function uiLink(url) {
    try {
        const u = new URL(url);
        u.hostname = window.location.hostname || u.hostname;
        return u.toString();
    } catch (e) {
        return "";
    }
}

// Logs follows the journal of the rock-on's container units (journalctl
// --follow through the bridge, as Cockpit's own journal views do).
function Logs({ r, onClose }) {
    const [lines, setLines] = useState([]);
    const [error, setError] = useState(null);
    const pre = useRef(null);
    useEffect(() => {
        const units = containersOf(r.Containers).map(c => c.unit).filter(Boolean);
        const args = ["journalctl", "--no-pager", "--output=json", "--lines=200", "--follow"];
        for (const u of units)
            args.push("--unit=" + u);
        let buf = "";
        const proc = cockpit.spawn(args, { superuser: "try", err: "message" });
        proc.stream(data => {
            buf += data;
            const parts = buf.split("\n");
            buf = parts.pop();
            const add = [];
            for (const p of parts) {
                if (!p)
                    continue;
                try {
                    const e = JSON.parse(p);
                    const t = new Date(Number(e.__REALTIME_TIMESTAMP) / 1000).toISOString().replace("T", " ").slice(0, 19);
                    let msg = e.MESSAGE;
                    if (Array.isArray(msg))
                        msg = new TextDecoder().decode(new Uint8Array(msg));
                    add.push(`${t} ${e.SYSLOG_IDENTIFIER || e._SYSTEMD_UNIT || ""}: ${msg}`);
                } catch (e) {
                    add.push(p);
                }
            }
            if (add.length)
                setLines(old => old.concat(add).slice(-2000));
        });
        proc.catch(err => {
            if (err.problem !== "cancelled")
                setError(err.message || String(err));
        });
        return () => proc.close("cancelled");
    }, [r.Name]); // eslint-disable-line react-hooks/exhaustive-deps
    useEffect(() => {
        if (pre.current)
            pre.current.scrollTop = pre.current.scrollHeight;
    }, [lines]);
    return (
        <Modal id="ro-logs-dialog" variant={ModalVariant.large} isOpen title={`Logs of ${r.Name} (following)`} onClose={onClose}>
            {error && <Alert isInline variant="warning" title={`Cannot read the journal: ${error}`} />}
            <pre id="ro-logs" ref={pre} className="ro-logs">{lines.join("\n")}</pre>
        </Modal>
    );
}

// Settings reconfigures an installed rock-on: the same fields as the
// wizard, prefilled from its properties and (secrets included) GetConfig.
function Settings({ client, r, all, onClose }) {
    const [def, setDef] = useState(null);
    const [values, setValues] = useState(null);
    const [error, setError] = useState(null);
    const [fieldError, setFieldError] = useState({});
    const [progress, setProgress] = useState(null);
    useEffect(() => {
        Promise.all([
            client.call(MANAGER_PATH, MANAGER, "GetDefinition", [r.Name], { type: "s" }),
            client.call(MANAGER_PATH, MANAGER, "GetConfig", [r.Name], { type: "s" }),
        ]).then(([[json], [toml]]) => {
            const doc = JSON.parse(json);
            const d = doc[r.Name] || Object.values(doc)[0];
            const cfg = parseConfigValues(toml);
            const ps = portsOf(r.Ports);
            const vs = {};
            for (const f of fieldsOf(d)) {
                if (f.kind === "port") {
                    const p = ps.find(p => p.container === f.container && `${p.containerPort}` === f.key.split("/")[0] && p.protocol === f.protocol);
                    vs[f.id] = p ? String(p.hostPort) : "";
                } else if (f.kind === "volume") {
                    const v = (r.Volumes || []).find(v => v[0] === f.container && v[1] === f.key);
                    vs[f.id] = v ? v[2] : "";
                } else if (f.kind === "env") {
                    vs[f.id] = (cfg.env[f.container] || {})[f.key] ?? "";
                } else if (f.kind === "custom") {
                    vs[f.id] = cfg.custom[f.key] ?? "";
                } else {
                    vs[f.id] = "";
                }
            }
            setDef(d);
            setValues(vs);
        }).catch(err => setError({ title: "Cannot read the settings", text: err.message || String(err) }));
    }, [client, r.Name]); // eslint-disable-line react-hooks/exhaustive-deps
    const fields = useMemo(() => def ? fieldsOf(def).filter(f => f.kind !== "device") : [], [def]);
    const used = useMemo(() => usedPorts(all, r.Name), [all, r.Name]);
    const problems = values ? { ...portProblems(fields.filter(f => f.kind === "port"), values, used), ...fieldError } : {};
    const save = () => {
        setError(null);
        setProgress({ value: 0, message: "" });
        runJob(client, "Reconfigure", "sa{sv}", [r.Name, choicesFrom(fields, values, [])], (value, message) => setProgress({ value, message }))
                .then(onClose)
                .catch(err => {
                    setProgress(null);
                    const msg = err.message || String(err);
                    const id = ["InvalidArgs", "PortInUse"].includes(errorName(err)) ? fieldForError(fields, msg) : null;
                    if (id)
                        setFieldError({ [id]: msg });
                    setError({ title: `Changing the settings of ${r.Name} failed`, text: msg });
                });
    };
    return (
        <Modal id="ro-settings-dialog" variant={ModalVariant.medium} isOpen title={`Settings of ${r.Name}`} onClose={onClose}
               actions={[
                   <Button key="save" id="ro-settings-save" variant="primary" onClick={save} isDisabled={!values || progress !== null || Object.keys(problems).length > 0}>Save and restart</Button>,
                   <Button key="cancel" variant="link" onClick={onClose}>Cancel</Button>,
               ]}>
            {values &&
                <Form id="ro-settings-form" onSubmit={e => e.preventDefault()}>
                    {fields.map(f => <FieldInput key={f.id} f={f} value={values[f.id]} problem={problems[f.id]} disabled={progress !== null}
                                                 onChange={(id, v) => { setValues(old => ({ ...old, [id]: v })); setFieldError({}) }} />)}
                </Form>}
            {error && <Alert id="ro-settings-error" isInline variant="danger" title={error.title}>{error.text}</Alert>}
            {progress && <Progress value={Math.round(progress.value * 100)} title={progress.message || "Reconfiguring"} />}
        </Modal>
    );
}
