// The 签名密钥 page (templates/keys/signing_keys.html): make a key in this browser (optional backup
// file), restore one from a backup, and mark the listed keys this browser holds. Registration goes
// through POST /api/v1/signing-keys with the session and X-CSRFToken; only the public key is sent.
// The PEM form and revocation are plain server forms and work without this script.

import { b64 } from "./envelope.js";
import * as store from "./keystore.js";

const root = document.querySelector("[data-keys-app]");
const msg = (name) => root.getAttribute(`data-msg-${name}`) || name;
const MIN_PASSPHRASE = 10;

function say(box, text, kind) {
  box.replaceChildren();
  const div = document.createElement("div");
  div.className = `alert alert-${kind} mb-0`;
  div.textContent = text;
  box.appendChild(div);
  return div;
}

function grouped(fp) {
  return fp.match(/.{1,4}/g).join(" ");
}

async function api(method, body) {
  const resp = await fetch(root.dataset.api, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf, Accept: "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw Object.assign(new Error(data.message || `HTTP ${resp.status}`), { code: data.error });
  return data;
}

function beijing(iso) {
  // "2026-11-10T09:00:00+08:00" → "2026-11-10 09:00" (the API already answers in Beijing time)
  return iso ? iso.slice(0, 16).replace("T", " ") : "";
}

function addRow(key) {
  const tpl = root.querySelector("[data-key-row-template]");
  const row = tpl.content.firstElementChild.cloneNode(true);
  row.dataset.kid = key.kid;
  row.dataset.keyId = String(key.id);
  row.querySelector('[data-field="label"]').textContent = key.label || "—";
  row.querySelector('[data-field="fingerprint"]').textContent = grouped(key.fingerprint);
  row.querySelector('[data-field="created"]').textContent = beijing(key.created_at);
  const form = row.querySelector("form");
  form.action = form.getAttribute("action").replace(/\/0\/revoke$/, `/${key.id}/revoke`);
  const input = form.querySelector("input[name=reason]");
  const label = form.querySelector("label");
  input.id = `reason-${key.id}`;
  label.htmlFor = input.id;
  const empty = root.querySelector("[data-empty-row]");
  if (empty) empty.remove();
  root.querySelector("[data-key-rows]").prepend(row);
}

async function markHeld() {
  const held = new Set((await store.listKeys()).map((k) => k.kid));
  root.querySelectorAll("[data-key-rows] tr[data-kid]").forEach((row) => {
    const badge = row.querySelector("[data-held-badge]");
    if (badge) badge.classList.toggle("d-none", !held.has(row.dataset.kid));
  });
}

function fileName(fingerprint) {
  return `signing-key-backup-${fingerprint.slice(0, 16)}.json`;
}

async function onGenerate(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const box = root.querySelector("[data-generate-status]");
  const pass = form.passphrase.value, pass2 = form.passphrase2.value;
  if (pass || pass2) {
    if (pass !== pass2) return say(box, msg("mismatch"), "danger");
    if (pass.length < MIN_PASSPHRASE) return say(box, msg("short"), "danger");
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  say(box, msg("working"), "info");
  let pair = null, record = null;
  try {
    pair = await store.generate();
    const label = form.label.value.trim();
    let backedUp = false;
    if (pass) {
      const backup = await store.makeBackup(pair.pkcs8, pair.publicRaw, pass, label);
      store.download(backup, fileName(backup.fingerprint));
      backedUp = true;
    }
    // Keep the private key here first: a key the server knows but no browser holds is useless.
    record = await store.storePkcs8(pair.pkcs8, pair.publicRaw, label);
    const key = await api("POST", { public: b64(pair.publicRaw), label, source: "browser" });
    addRow(key);
    const done = say(box, msg("generated") + " ", "success");
    const code = document.createElement("code");
    code.dataset.testid = "new-fingerprint";
    code.textContent = grouped(key.fingerprint);
    done.appendChild(code);
    if (backedUp) done.appendChild(Object.assign(document.createElement("div"), { textContent: msg("backup-saved") }));
    form.reset();
  } catch (err) {
    if (record) await store.deleteKey(record.kid).catch(() => {});
    say(box, err.message || String(err), "danger");
  } finally {
    if (pair) pair.pkcs8.fill(0);
    button.disabled = false;
  }
}

async function onRestore(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const box = root.querySelector("[data-restore-status]");
  const file = form.file.files[0];
  if (!file) return say(box, msg("no-file"), "danger");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  say(box, msg("working"), "info");
  let opened = null;
  try {
    try {
      opened = await store.openBackup(JSON.parse(await file.text()), form.passphrase.value);
    } catch (err) {
      throw new Error(msg("bad-backup"));
    }
    const record = await store.storePkcs8(opened.pkcs8, opened.publicRaw, opened.label);
    const listed = (await api("GET")).items;
    let key = listed.find((k) => k.kid === record.kid);
    if (!key) {
      // A backup of a key this organisation has not registered yet: register it now; if the platform
      // refuses it (another organisation's key), this browser must not keep it either.
      try {
        key = await api("POST", { public: b64(opened.publicRaw), label: opened.label, source: "browser" });
      } catch (err) {
        await store.deleteKey(record.kid).catch(() => {});
        throw err;
      }
      addRow(key);
    }
    const done = say(box, msg("restored") + " ", key.revoked_at ? "warning" : "success");
    done.appendChild(Object.assign(document.createElement("code"), { textContent: grouped(key.fingerprint) }));
    if (key.revoked_at) done.appendChild(Object.assign(document.createElement("div"), { textContent: msg("revoked") }));
    form.reset();
    await markHeld();
  } catch (err) {
    say(box, err.message || String(err), "danger");
  } finally {
    if (opened) opened.pkcs8.fill(0);
    button.disabled = false;
  }
}

if (root) {
  if (!store.supported()) {
    const warn = root.querySelector("[data-unsupported]");
    warn.textContent = msg("unsupported");
    warn.classList.remove("d-none");
  } else {
    root.querySelector("[data-needs-js]").classList.remove("d-none");
    root.querySelector("[data-generate-form]").addEventListener("submit", onGenerate);
    root.querySelector("[data-restore-form]").addEventListener("submit", onRestore);
    markHeld().catch(() => {});
  }
}
