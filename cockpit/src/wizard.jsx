import { useEffect, useMemo, useState } from "react";
import { Alert } from "@patternfly/react-core/dist/esm/components/Alert/index.js";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { Checkbox } from "@patternfly/react-core/dist/esm/components/Checkbox/index.js";
import { Form, FormGroup, FormHelperText } from "@patternfly/react-core/dist/esm/components/Form/index.js";
import { HelperText, HelperTextItem } from "@patternfly/react-core/dist/esm/components/HelperText/index.js";
import { Modal, ModalVariant } from "@patternfly/react-core/dist/esm/components/Modal/index.js";
import { Progress } from "@patternfly/react-core/dist/esm/components/Progress/index.js";
import { TextInput } from "@patternfly/react-core/dist/esm/components/TextInput/index.js";
import { Title } from "@patternfly/react-core/dist/esm/components/Title/index.js";
import { choicesArg, errorName, MANAGER, MANAGER_PATH, ports as portsOf, runJob, secretLooking } from "./api.js";
import { sanitize } from "./sanitize.js";

// usedPorts maps "port/proto" to who holds it among the installed rock-ons
// (except `except`), from their Ports properties.
export function usedPorts(all, except) {
    const used = {};
    for (const r of all) {
        if (!r.Installed || r.Name === except)
            continue;
        for (const p of portsOf(r.Ports)) {
            if (p.hostPort > 0)
                used[`${p.hostPort}/${p.protocol || "tcp"}`] = `rock-on ${r.Name} (${p.container}:${p.containerPort})`;
        }
    }
    return used;
}

// portProblems explains, per port field, why its value cannot be used: not a
// number in range, taken by another rock-on, or chosen twice in this form.
export function portProblems(fields, values, used) {
    const problems = {};
    const seen = {};
    for (const f of fields) {
        const v = (values[f.id] ?? "").toString().trim();
        if (v === "" || v === "0")
            continue;
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
            problems[f.id] = "A port is a number from 1 to 65535 (0 or empty: not published).";
            continue;
        }
        const key = `${Number(v)}/${f.protocol}`;
        if (used[key])
            problems[f.id] = `Port ${key} is used by ${used[key]}.`;
        else if (seen[key])
            problems[f.id] = `Port ${key} is also chosen for ${seen[key]}.`;
        else
            seen[key] = f.label;
    }
    return problems;
}

// fieldsOf lists the form fields a definition asks for, container by
// container, in the order Rockstor's wizard shows them.
export function fieldsOf(def) {
    const fields = [];
    const containers = Object.entries(def.containers || {})
            .sort((a, b) => (a[1].launch_order || 0) - (b[1].launch_order || 0));
    for (const [cname, c] of containers) {
        for (const [cport, p] of Object.entries(c.ports || {})) {
            const protos = p.protocol ? [p.protocol] : ["tcp", "udp"];
            for (const proto of protos) {
                const key = p.protocol ? cport : `${cport}/${proto}`;
                fields.push({
                    id: `port:${cname}:${key}`, kind: "port", container: cname, key, protocol: proto,
                    label: p.label || `Port ${cport}`, description: p.description, initial: String(p.host_default || ""),
                });
            }
        }
        for (const [path, v] of Object.entries(c.volumes || {}))
            fields.push({ id: `volume:${cname}:${path}`, kind: "volume", container: cname, key: path, label: v.label || path, description: v.description, initial: "" });
        const env = Object.entries(c.environment || {}).sort((a, b) => (a[1].index || 0) - (b[1].index || 0));
        for (const [name, v] of env)
            fields.push({ id: `env:${cname}:${name}`, kind: "env", container: cname, key: name, label: v.label || name, description: v.description, initial: "", secret: secretLooking(name) });
        for (const [name, v] of Object.entries(c.devices || {}))
            fields.push({ id: `device:${cname}:${name}`, kind: "device", container: cname, key: name, label: v.label || name, description: v.description, initial: "", optional: true });
    }
    for (const [key, v] of Object.entries(def.custom_config || {}))
        fields.push({ id: `custom::${key}`, kind: "custom", container: "", key, label: v.label || key, description: v.description, initial: "" });
    return fields;
}

// riskyOpts lists each container's engine options, shown with the consent
// the daemon asks for.
function optsOf(def) {
    const out = [];
    for (const [cname, c] of Object.entries(def.containers || {})) {
        for (const o of c.opts || [])
            out.push(`${cname}: ${o.filter(Boolean).join(" ")}`);
    }
    return out;
}

// choicesFrom turns form values into the structured choices.
export function choicesFrom(fields, values, consent) {
    const containers = {};
    const customConfig = {};
    const c = name => (containers[name] = containers[name] || { ports: {}, volumes: {}, env: {}, devices: {} });
    for (const f of fields) {
        const v = (values[f.id] ?? "").toString();
        switch (f.kind) {
        case "port":
            c(f.container).ports[f.key] = v.trim() === "" ? 0 : Number(v.trim());
            break;
        case "volume":
            if (v.trim() !== "")
                c(f.container).volumes[f.key] = v.trim();
            break;
        case "env":
            c(f.container).env[f.key] = v;
            break;
        case "device":
            if (v.trim() !== "")
                c(f.container).devices[f.key] = v.trim();
            break;
        case "custom":
            customConfig[f.key] = v;
            break;
        }
    }
    return choicesArg({ containers, customConfig, consent });
}

// fieldForError finds the field an InvalidArgs/PortInUse message names.
export function fieldForError(fields, message) {
    for (const f of fields) {
        const names = f.kind === "port"
            ? [`${f.container}:${f.key}`, `ports.${f.key}`]
            : [`${f.container}:${f.key}`, `${f.kind === "custom" ? "custom_config" : f.kind + "s"}.${f.key}`, `"${f.key}"`, ` ${f.key} `, ` ${f.key}:`];
        if (names.some(n => message.includes(n)))
            return f.id;
    }
    return null;
}

export function FieldInput({ f, value, onChange, problem, disabled }) {
    const type = f.kind === "port" ? "number" : (f.secret ? "password" : "text");
    return (
        <FormGroup label={f.label} fieldId={f.id} isRequired={f.kind === "env"}>
            <TextInput id={f.id} name={f.id} type={type} value={value ?? ""} isDisabled={disabled}
                       list={f.kind === "volume" ? "ro-shares" : undefined}
                       validated={problem ? "error" : "default"} onChange={(_e, v) => onChange(f.id, v)}
                       placeholder={f.kind === "volume" ? "/srv/rockon/… or a share name" : (f.kind === "device" ? "optional, e.g. /dev/ttyUSB0" : undefined)} />
            <FormHelperText>
                <HelperText>
                    {problem
                        ? <HelperTextItem variant="error" className="ro-field-error">{problem}</HelperTextItem>
                        : <HelperTextItem><span dangerouslySetInnerHTML={{ __html: sanitize(f.description) }} /></HelperTextItem>}
                </HelperText>
            </FormHelperText>
        </FormGroup>
    );
}

export function InstallWizard({ client, name, all, onClose, onDone }) {
    const [def, setDef] = useState(null);
    const [loadError, setLoadError] = useState(null);
    const [values, setValues] = useState({});
    const [busy, setBusy] = useState(false);
    const [progress, setProgress] = useState(null);
    const [error, setError] = useState(null);
    const [fieldError, setFieldError] = useState({});
    const [consentNeeded, setConsentNeeded] = useState([]); // [{token, reason}] from rockond
    const [consent, setConsent] = useState({});
    const [bound, setBound] = useState([]); // [[port, protocol]] bound on the host, from rockond
    const [shares, setShares] = useState([]); // directory names in the shares root

    // The consents are asked for up front, with the daemon's reasons (the
    // same words as the CLI's), not learnt from a refused install.
    useEffect(() => {
        Promise.all([
            client.call(MANAGER_PATH, MANAGER, "GetDefinition", [name], { type: "s" }),
            client.call(MANAGER_PATH, MANAGER, "GetConsent", [name], { type: "s" }),
            client.call(MANAGER_PATH, MANAGER, "GetPortUse", [name], { type: "s" }),
            client.call(MANAGER_PATH, MANAGER, "ListShares", [], { type: "" }),
        ])
                .then(([[json], [needed], [suggested, hostBound], [, shareNames]]) => {
                    setShares(shareNames);
                    const doc = JSON.parse(json);
                    const d = doc[name] || Object.values(doc)[0];
                    setConsentNeeded(needed.map(([token, reason]) => ({ token, reason })));
                    setDef(d);
                    // rockond's free defaults: the definition's unless another
                    // rock-on or a host service holds it (the CLI's rule).
                    const free = {};
                    for (const [container, cport, proto, host] of suggested) {
                        for (const p of proto ? [proto] : ["tcp", "udp"])
                            free[`${container}:${cport}/${p}`] = host;
                    }
                    setBound(hostBound);
                    const v = {};
                    for (const f of fieldsOf(d)) {
                        const host = f.kind === "port" ? free[`${f.container}:${f.key.split("/")[0]}/${f.protocol}`] : undefined;
                        v[f.id] = host !== undefined ? String(host || "") : f.initial;
                    }
                    setValues(v);
                })
                .catch(err => setLoadError(err.message || String(err)));
    }, [client, name]);

    const fields = useMemo(() => def ? fieldsOf(def) : [], [def]);
    const used = useMemo(() => {
        const u = {};
        for (const [port, proto] of bound)
            u[`${port}/${proto}`] = "a service on this host";
        return { ...u, ...usedPorts(all, name) };
    }, [all, name, bound]);
    const problems = { ...portProblems(fields.filter(f => f.kind === "port"), values, used), ...fieldError };
    const setValue = (id, v) => {
        setValues(old => ({ ...old, [id]: v }));
        setFieldError(old => { const n = { ...old }; delete n[id]; return n });
    };

    const install = () => {
        setBusy(true);
        setError(null);
        setProgress({ value: 0, message: "Starting" });
        const accepted = consentNeeded.map(c => c.token).filter(t => consent[t]);
        runJob(client, "Install", "sa{sv}a{sv}", [name, choicesFrom(fields, values, accepted), {}],
            (value, message) => setProgress({ value, message }))
                .then(() => onDone())
                .catch(err => {
                    setBusy(false);
                    setProgress(null);
                    const msg = err.message || String(err);
                    const kind = errorName(err);
                    const id = (kind === "InvalidArgs" || kind === "PortInUse") ? fieldForError(fields, msg) : null;
                    if (id)
                        setFieldError({ [id]: msg });
                    setError({ title: `Installing ${name} failed`, text: msg });
                });
    };

    const opts = def ? optsOf(def) : [];
    const blocked = Object.keys(problems).length > 0 || consentNeeded.some(c => !consent[c.token]);
    return (
        <Modal id="ro-wizard" variant={ModalVariant.medium} isOpen title={`Install ${name}`} onClose={busy ? undefined : onClose}
               actions={[
                   <Button key="install" id="ro-wizard-install" variant="primary" onClick={install} isDisabled={!def || busy || blocked} isLoading={busy}>Install</Button>,
                   <Button key="cancel" variant="link" onClick={onClose} isDisabled={busy}>Cancel</Button>,
               ]}>
            {loadError && <Alert isInline variant="danger" title={`Cannot read the definition: ${loadError}`} />}
            {def &&
                <Form id="ro-wizard-form" onSubmit={e => e.preventDefault()}>
                    {/* the shares a volume may be given by name: the browser offers them as typed */}
                    <datalist id="ro-shares">{shares.map(n => <option key={n} value={n} />)}</datalist>
                    {def.more_info && <div className="ro-more-info" dangerouslySetInnerHTML={{ __html: sanitize(def.more_info) }} />}
                    {Object.keys(def.containers || {}).map(cname => {
                        const cf = fields.filter(f => f.container === cname);
                        return (
                            <section key={cname} className="ro-wizard-container">
                                <Title headingLevel="h3" size="md">Container {cname}</Title>
                                {cf.length === 0 && <p>Nothing to choose.</p>}
                                {cf.map(f => <FieldInput key={f.id} f={f} value={values[f.id]} onChange={setValue} problem={problems[f.id]} disabled={busy} />)}
                            </section>
                        );
                    })}
                    {fields.filter(f => f.kind === "custom").map(f =>
                        <FieldInput key={f.id} f={f} value={values[f.id]} onChange={setValue} problem={problems[f.id]} disabled={busy} />)}
                    {opts.length > 0 &&
                        <section className="ro-opts">
                            <Title headingLevel="h3" size="md">Engine options</Title>
                            <ul>{opts.map(o => <li key={o}><code>{o}</code></li>)}</ul>
                        </section>}
                    {consentNeeded.length > 0 &&
                        <section id="ro-consent" className="ro-consent">
                            <Title headingLevel="h3" size="md">Risky privileges: accept each to install</Title>
                            {consentNeeded.map(({ token, reason }) =>
                                <Checkbox key={token} id={`ro-consent-${token}`} data-token={token} isChecked={!!consent[token]}
                                          onChange={(_e, c) => setConsent(old => ({ ...old, [token]: c }))}
                                          label={`Allow ${token}`} description={reason || "The definition asks for this privilege."} />)}
                        </section>}
                </Form>}
            {error && <Alert id="ro-wizard-error" isInline variant="danger" title={error.title}>{error.text}</Alert>}
            {progress &&
                <Progress id="ro-wizard-progress" value={Math.round(progress.value * 100)} title={progress.message || "Installing"} />}
        </Modal>
    );
}

