// ptbid/v1 suite 1 sealing in the browser (design/sealing.md), byte for byte what
// trading/sealing/envelope.py produces and opens:
//   context = LP("ptbid/v1") || LP(lot_id) || LP(bidder_id) || LP(part) || LP(submission_id)
//   payload = "PTBP" || 1 || chunk_log2 || nonce_prefix(7) || AES-256-GCM STREAM chunks
//   wrap    = HPKE base (DHKEM P-256, HKDF-SHA256, AES-256-GCM), info = context, pt = DEK
//   sig     = ECDSA P-256 / SHA-256 over to_be_signed, raw r||s (what Web Crypto returns)
// Only Web Crypto and @hpke/core (itself on Web Crypto). The HPKE module is passed in
// (`loadHpke(url)`), so the vendored path and version live in the template, not here,
// and Node can test this file with node_modules' copy.

const subtle = globalThis.crypto.subtle;
const te = new TextEncoder();

export const LABEL = "ptbid/v1";
export const SIG_LABEL = "ptbid/v1 sig";
export const VERSION = 1;
export const SUITE = 1;
export const HEADER_LEN = 13;
export const PREFIX_LEN = 7;
export const TAG_LEN = 16;
export const DEK_LEN = 32;
export const WRAP_LEN = 113;
export const KID_LEN = 8;
export const CHUNK_LOG2_DEFAULT = 22;
export const PARTS = ["price", "documents", "reserve"];  // "reserve": an owner's sealed 底价 (auctions)
const TOKEN = /^[A-Za-z0-9._-]{1,128}$/;
const CONTEXT_FIELDS = ["lot_id", "bidder_id", "part", "submission_id"];

// --- bytes ----------------------------------------------------------------------------------

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function lp(bytes) {
  if (bytes.length > 0xffff) throw new Error("LP field over 65535 bytes");
  return concat(new Uint8Array([bytes.length >> 8, bytes.length & 0xff]), bytes);
}

export function hex(u8) {
  return Array.from(u8, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

// Standard alphabet with padding: the only form the manifest parser accepts.
export function b64(u8) {
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export function unb64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export async function sha256(data) {
  return new Uint8Array(await subtle.digest("SHA-256", data));
}

// --- context, header, nonces -----------------------------------------------------------------

export function contextBytes(ctx) {
  for (const name of CONTEXT_FIELDS) {
    if (typeof ctx[name] !== "string" || !TOKEN.test(ctx[name])) {
      throw new Error(`${name} is not an ASCII token [A-Za-z0-9._-]{1,128}`);
    }
  }
  if (!PARTS.includes(ctx.part)) throw new Error("part is not 'price', 'documents' or 'reserve'");
  return concat(lp(te.encode(LABEL)), ...CONTEXT_FIELDS.map((n) => lp(te.encode(ctx[n]))));
}

export function header(chunkLog2, noncePrefix) {
  return concat(te.encode("PTBP"), new Uint8Array([VERSION, chunkLog2]), noncePrefix);
}

export function chunkNonce(noncePrefix, index, isLast) {
  const n = new Uint8Array(12);
  n.set(noncePrefix, 0);
  new DataView(n.buffer).setUint32(PREFIX_LEN, index, false);
  n[11] = isLast ? 1 : 0;
  return n;
}

export async function kidOf(publicRaw) {
  return (await sha256(publicRaw)).slice(0, KID_LEN);
}

// --- payload ---------------------------------------------------------------------------------

// One output buffer, each chunk encrypted into its place: no growing arrays for large files.
export async function encryptPayload(plaintext, dekRaw, context, chunkLog2, noncePrefix) {
  const size = 2 ** chunkLog2;
  const count = Math.max(1, Math.ceil(plaintext.length / size));
  const head = header(chunkLog2, noncePrefix);
  const aad = concat(head, context);
  const key = await subtle.importKey("raw", dekRaw, "AES-GCM", false, ["encrypt"]);
  const payload = new Uint8Array(HEADER_LEN + plaintext.length + count * TAG_LEN);
  payload.set(head, 0);
  for (let i = 0; i < count; i++) {
    const piece = plaintext.subarray(i * size, Math.min((i + 1) * size, plaintext.length));
    const ct = await subtle.encrypt(
      { name: "AES-GCM", iv: chunkNonce(noncePrefix, i, i === count - 1), additionalData: aad, tagLength: 128 },
      key, piece);
    payload.set(new Uint8Array(ct), HEADER_LEN + i * (size + TAG_LEN));
  }
  return payload;
}

// --- HPKE wrap -------------------------------------------------------------------------------

export async function loadHpke(url) {
  return import(url);
}

export function makeSuite(hpke) {
  return new hpke.CipherSuite({
    kem: new hpke.DhkemP256HkdfSha256(), kdf: new hpke.HkdfSha256(), aead: new hpke.Aes256Gcm(),
  });
}

export async function wrapDek(suite, dekRaw, recipientRaw, context) {
  const recipientPublicKey = await suite.kem.deserializePublicKey(recipientRaw);
  const { ct, enc } = await suite.seal({ recipientPublicKey, info: context }, dekRaw);
  const wire = concat(new Uint8Array(enc), new Uint8Array(ct));
  if (wire.length !== WRAP_LEN) throw new Error("HPKE wrap is not 113 bytes");
  return wire;
}

// --- signature -------------------------------------------------------------------------------

export async function toBeSigned(context, payloadSha256, recipients, sigKid) {
  const roles = concat(...recipients.map((r) => concat(lp(te.encode(r.role)), r.kid, r.wrap)));
  return concat(lp(te.encode(SIG_LABEL)), new Uint8Array([VERSION, SUITE]), context, payloadSha256,
                await sha256(roles), sigKid);
}

export async function sign(privateKey, message) {
  // Web Crypto returns IEEE P1363 r||s (64 bytes), the manifest's form; S is not normalised.
  return new Uint8Array(await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, message));
}

// --- seal ------------------------------------------------------------------------------------

/**
 * Seal `plaintext` (Uint8Array) for `ctx` ({lot_id, bidder_id, part, submission_id}) to the lot's
 * opening key (raw 65-byte point), signed by `signingKey` (ECDSA P-256 private CryptoKey, may be
 * non-extractable) whose raw public point is `signingPublic`. Returns {manifest (object),
 * manifestBytes (UTF-8 JSON), payload, payloadSha256 (hex)}. `dek`/`noncePrefix` for tests only.
 */
export async function seal({ hpke, plaintext, ctx, openingPublic, signingKey, signingPublic, bidderPublic = null,
                             chunkLog2 = CHUNK_LOG2_DEFAULT, dek = null, noncePrefix = null }) {
  if (!(chunkLog2 >= 10 && chunkLog2 <= 24)) throw new Error("chunk_log2 outside 10..24");
  const suite = makeSuite(hpke);
  const context = contextBytes(ctx);
  const dekRaw = dek || globalThis.crypto.getRandomValues(new Uint8Array(DEK_LEN));
  const prefix = noncePrefix || globalThis.crypto.getRandomValues(new Uint8Array(PREFIX_LEN));
  try {
    const payload = await encryptPayload(plaintext, dekRaw, context, chunkLog2, prefix);
    const digest = await sha256(payload);
    const recipients = [{ role: "opening", kid: await kidOf(openingPublic),
                          wrap: await wrapDek(suite, dekRaw, openingPublic, context) }];
    if (bidderPublic) {
      recipients.push({ role: "bidder", kid: await kidOf(bidderPublic),
                        wrap: await wrapDek(suite, dekRaw, bidderPublic, context) });
    }
    const sigKid = await kidOf(signingPublic);
    const value = await sign(signingKey, await toBeSigned(context, digest, recipients, sigKid));
    // Key order as in the design; the server parses strictly (no extra or missing keys).
    const manifest = {
      v: VERSION, suite: SUITE, lot_id: ctx.lot_id, bidder_id: ctx.bidder_id, part: ctx.part,
      submission_id: ctx.submission_id,
      recipients: recipients.map((r) => ({ role: r.role, kid: b64(r.kid), wrap: b64(r.wrap) })),
      payload_sha256: hex(digest), payload_len: payload.length,
      sig: { alg: "ES256", kid: b64(sigKid), value: b64(value) },
    };
    return { manifest, manifestBytes: te.encode(JSON.stringify(manifest)), payload, payloadSha256: hex(digest) };
  } finally {
    if (!dek) dekRaw.fill(0); // the DEK lives only as long as the sealing
  }
}

// --- verify and open -------------------------------------------------------------------------

/**
 * Check and open an envelope in the browser: the same order as envelope.py (digest, then the ES256
 * signature by `signerPublic`, then the wrap for `recipientPrivate` — raw 32-byte scalar or an HPKE
 * CryptoKey — then every chunk). Lighter manifest parsing than the server's strict one: it is for
 * reading one's own envelope back, not for accepting others'. Throws Error naming the failure.
 */
export async function openEnvelope({ hpke, manifestBytes, payload, recipientPrivate, signerPublic }) {
  const m = JSON.parse(new TextDecoder().decode(manifestBytes));
  if (m.v !== VERSION || m.suite !== SUITE) throw new Error("UnsupportedVersion/Suite");
  const ctx = { lot_id: m.lot_id, bidder_id: m.bidder_id, part: m.part, submission_id: m.submission_id };
  const context = contextBytes(ctx);
  if (payload.length !== m.payload_len) throw new Error("PayloadDigestMismatch: length");
  const digest = await sha256(payload);
  if (hex(digest) !== m.payload_sha256) throw new Error("PayloadDigestMismatch");
  const recipients = m.recipients.map((r) => ({ role: r.role, kid: unb64(r.kid), wrap: unb64(r.wrap) }));
  const sigKid = unb64(m.sig.kid);
  if (hex(await kidOf(signerPublic)) !== hex(sigKid)) throw new Error("SignerMismatch");
  const pub = await subtle.importKey("raw", signerPublic, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const ok = await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, unb64(m.sig.value),
                                 await toBeSigned(context, digest, recipients, sigKid));
  if (!ok) throw new Error("BadSignature");
  const suite = makeSuite(hpke);
  const recipientKey = recipientPrivate instanceof Uint8Array
    ? await suite.kem.deserializePrivateKey(recipientPrivate) : recipientPrivate;
  let dek = null;
  for (const r of recipients) {
    try {
      dek = new Uint8Array(await suite.open({ recipientKey, enc: r.wrap.slice(0, 65), info: context }, r.wrap.slice(65)));
      break;
    } catch (err) { /* not this recipient's wrap */ }
  }
  if (!dek) throw new Error("WrapError");
  const head = payload.subarray(0, HEADER_LEN);
  if (new TextDecoder().decode(head.subarray(0, 4)) !== "PTBP" || head[4] !== VERSION) throw new Error("HeaderError");
  const chunkLog2 = head[5], prefix = head.slice(6, 13), size = 2 ** chunkLog2;
  const body = payload.length - HEADER_LEN, full = size + TAG_LEN;
  const count = Math.max(1, Math.ceil(body / full));
  const key = await subtle.importKey("raw", dek, "AES-GCM", false, ["decrypt"]);
  dek.fill(0);
  const aad = concat(head, context);
  const parts = [];
  for (let i = 0; i < count; i++) {
    const piece = payload.subarray(HEADER_LEN + i * full, Math.min(HEADER_LEN + (i + 1) * full, payload.length));
    try {
      parts.push(new Uint8Array(await subtle.decrypt(
        { name: "AES-GCM", iv: chunkNonce(prefix, i, i === count - 1), additionalData: aad, tagLength: 128 }, key, piece)));
    } catch (err) {
      throw new Error(`ChunkAuthError: chunk ${i}`);
    }
  }
  return concat(...parts);
}
