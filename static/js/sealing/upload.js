// The upload protocol of notes/interfaces.md, for the browser (session cookie + X-CSRFToken):
//   GET sealing info → POST submissions {part} → seal for the issued context → PUT manifest →
//   PUT chunks one after another (progress callback; a network error or 5xx retries that chunk) →
//   POST complete → the signed receipt.
// Resume: GET /submissions/{sid} tells which chunks arrived; only the missing ones are sent again.

import { seal, unb64 } from "./envelope.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

const RETRIES = 5;

export class UploadClient {
  constructor({ api = "/api/v1", csrf = "", fetchImpl = null, sleep = null, retries = RETRIES } = {}) {
    this.api = api.replace(/\/$/, "");
    this.retries = retries;
    this.csrf = csrf;
    this.fetch = fetchImpl || ((...a) => globalThis.fetch(...a));
    this.sleep = sleep || ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async request(method, path, { json = undefined, bytes = undefined, retry = false } = {}) {
    const headers = { Accept: "application/json" };
    let body;
    if (bytes !== undefined) {
      headers["Content-Type"] = "application/octet-stream";
      body = bytes;
    } else if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    if (method !== "GET" && this.csrf) headers["X-CSRFToken"] = this.csrf;
    for (let attempt = 0; ; attempt++) {
      let resp;
      try {
        resp = await this.fetch(this.api + path, { method, headers, body, credentials: "same-origin" });
      } catch (err) {
        // fetch rejects only on network failure: the request may or may not have arrived, and
        // every protocol step is idempotent, so sending it again is safe.
        if (!retry || attempt >= this.retries) throw new ApiError(0, "network", String(err && err.message || err));
        await this.sleep(Math.min(30000, 500 * 2 ** attempt));
        continue;
      }
      if (resp.status >= 500 && retry && attempt < this.retries) {
        await this.sleep(Math.min(30000, 500 * 2 ** attempt));
        continue;
      }
      const data = await resp.json().catch(() => ({}));
      if (!resp.ok) throw new ApiError(resp.status, data.error || "error", data.message);
      return data;
    }
  }

  sealingInfo(lot) { return this.request("GET", `/lots/${encodeURIComponent(lot)}/sealing`); }
  start(lot, part) { return this.request("POST", `/lots/${encodeURIComponent(lot)}/submissions`, { json: { part } }); }
  putManifest(sid, manifestBytes) {
    return this.request("PUT", `/submissions/${sid}/manifest`, { bytes: manifestBytes, retry: true });
  }
  putChunk(sid, index, bytes) { return this.request("PUT", `/submissions/${sid}/chunks/${index}`, { bytes, retry: true }); }
  state(sid) { return this.request("GET", `/submissions/${sid}`, { retry: true }); }
  complete(sid) { return this.request("POST", `/submissions/${sid}/complete`, { json: {}, retry: true }); }
  receiptKey() { return this.request("GET", "/receipt-key"); }
}

/**
 * Send a sealed envelope for submission `sid` (new or interrupted) and complete it. onProgress({sent,
 * total, index, count}) after each chunk (bytes of the payload known to be on the server).
 */
export async function uploadSealed(client, { sid, manifestBytes, payload, onProgress = () => {} }) {
  const layout = await client.putManifest(sid, manifestBytes);
  const size = layout.upload_chunk_bytes, count = layout.chunks_expected;
  const state = await client.state(sid);
  const have = new Set(state.received);
  const bytesOf = (i) => Math.min(size, payload.length - i * size);
  let sent = [...have].reduce((n, i) => n + bytesOf(i), 0);
  onProgress({ sent, total: payload.length, index: -1, count });
  for (let i = 0; i < count; i++) {
    if (have.has(i)) continue;
    await client.putChunk(sid, i, payload.subarray(i * size, i * size + bytesOf(i)));
    sent += bytesOf(i);
    onProgress({ sent, total: payload.length, index: i, count });
  }
  return client.complete(sid);
}

/**
 * The whole flow for one part: start a submission, seal `plaintext` for its context with the
 * signing key, check the size limit, upload, complete. onStage(name) reports "start", "seal",
 * "upload", "complete"; onSealed({sid, sealed}) hands over what uploadSealed needs to resume if the
 * connection drops. Returns {answer (signed receipt), sealed, sid}.
 */
export async function submitPart(client, { lot, part, plaintext, signingKey, signingPublic, hpke,
                                            onProgress = () => {}, onStage = () => {}, onSealed = () => {} }) {
  onStage("start");
  const info = await client.sealingInfo(lot);
  const started = await client.start(lot, part);
  onStage("seal");
  const sealed = await seal({
    hpke, plaintext, ctx: started.context, openingPublic: unb64(info.opening_key.public),
    signingKey, signingPublic,
  });
  if (sealed.payload.length > info.max_part_bytes) {
    throw new ApiError(0, "too_large", `${sealed.payload.length} > ${info.max_part_bytes}`);
  }
  onSealed({ sid: started.submission_id, sealed });
  onStage("upload");
  const answer = await uploadSealed(client, {
    sid: started.submission_id, manifestBytes: sealed.manifestBytes, payload: sealed.payload, onProgress,
  });
  onStage("complete");
  return { answer, sealed, sid: started.submission_id };
}

// --- receipts --------------------------------------------------------------------------------

/** The platform's canonical JSON (sorted keys, no spaces, UTF-8 as is): the signed bytes of a receipt. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Check a signed receipt ({receipt, signature, key_id}) against GET /receipt-key with Web Crypto
 * Ed25519: true or false, or null where the browser has no Ed25519 (the server-side PDF still shows it).
 */
export async function verifyReceipt(client, answer) {
  const info = await client.receiptKey();
  let key;
  try {
    key = await globalThis.crypto.subtle.importKey("raw", unb64(info.public), { name: "Ed25519" }, false, ["verify"]);
  } catch (err) {
    return null;
  }
  if (info.key_id !== answer.key_id) return false;
  return globalThis.crypto.subtle.verify({ name: "Ed25519" }, key, unb64(answer.signature),
                                         new TextEncoder().encode(canonicalJson(answer.receipt)));
}
