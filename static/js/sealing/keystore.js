// The bidder's signing keys in this browser: ECDSA P-256 made with Web Crypto, kept in IndexedDB as
// NON-extractable CryptoKeys (script on this origin can sign with them but never read them out),
// with an optional passphrase-protected backup file (PBKDF2-SHA256 → AES-256-GCM over the PKCS#8).
//
// The pair is generated extractable only so that the PKCS#8 can go into the backup; it is then
// imported again with extractable = false, and only that copy is stored. The raw bytes are wiped.

import { b64, concat, hex, kidOf, sha256, unb64 } from "./envelope.js";

const subtle = globalThis.crypto.subtle;
const te = new TextEncoder();
const ECDSA = { name: "ECDSA", namedCurve: "P-256" };
const DB_NAME = "ptbid-keys";
const STORE = "signing-keys";
const PENDING = "pending-uploads"; // sealed envelopes whose upload has not completed (resume after a reload)
export const BACKUP_FORMAT = "ptbid-signing-key-backup";
export const PBKDF2_ITERATIONS = 600000; // OWASP 2023 minimum for PBKDF2-HMAC-SHA256
const BACKUP_AAD = te.encode("ptbid-signing-key-backup/v1");

export function supported() {
  return Boolean(globalThis.crypto && globalThis.crypto.subtle && globalThis.indexedDB);
}

// --- IndexedDB -------------------------------------------------------------------------------

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 2);
    req.onupgradeneeded = (event) => {
      if (event.oldVersion < 1) req.result.createObjectStore(STORE, { keyPath: "kid" });
      if (event.oldVersion < 2) req.result.createObjectStore(PENDING, { keyPath: "key" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, work, store = STORE) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      const req = work(t.objectStore(store));
      t.oncomplete = () => resolve(req && req.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

/** record: {kid (b64), privateKey (non-extractable CryptoKey), publicRaw (Uint8Array), fingerprint, label, createdAt} */
export function putKey(record) { return tx("readwrite", (s) => s.put(record)); }
export function getKey(kid) { return tx("readonly", (s) => s.get(kid)); }
export function listKeys() { return tx("readonly", (s) => s.getAll()); }
export function deleteKey(kid) { return tx("readwrite", (s) => s.delete(kid)); }

/** pending: {key: `${lot}/${part}`, sid, manifestBytes, payload, savedAt} — what uploadSealed needs. */
export function putPending(pending) { return tx("readwrite", (s) => s.put(pending), PENDING); }
export function getPending(key) { return tx("readonly", (s) => s.get(key), PENDING); }
export function deletePending(key) { return tx("readwrite", (s) => s.delete(key), PENDING); }

// --- keys ------------------------------------------------------------------------------------

export async function describe(publicRaw) {
  return { kid: b64(await kidOf(publicRaw)), fingerprint: hex(await sha256(publicRaw)) };
}

/** A new pair: {pkcs8 (Uint8Array, wipe after use), publicRaw}. */
export async function generate() {
  const pair = await subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey));
  const publicRaw = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
  return { pkcs8, publicRaw };
}

export function importPrivate(pkcs8) {
  return subtle.importKey("pkcs8", pkcs8, ECDSA, false, ["sign"]);
}

/** Whether `privateKey` is the private half of `publicRaw` (sign, then verify: works non-extractable). */
export async function matches(privateKey, publicRaw) {
  const probe = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const sig = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, probe);
  const pub = await subtle.importKey("raw", publicRaw, ECDSA, false, ["verify"]);
  return subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, sig, probe);
}

/** Store the pair non-extractable; returns the stored record. */
export async function storePkcs8(pkcs8, publicRaw, label) {
  const privateKey = await importPrivate(pkcs8);
  if (!(await matches(privateKey, publicRaw))) throw new Error("private and public key do not match");
  const { kid, fingerprint } = await describe(publicRaw);
  const record = { kid, privateKey, publicRaw, fingerprint, label: label || "", createdAt: new Date().toISOString() };
  await putKey(record);
  return record;
}

// --- backup file -----------------------------------------------------------------------------

async function backupKey(passphrase, salt, iterations) {
  const base = await subtle.importKey("raw", te.encode(passphrase.normalize("NFC")), "PBKDF2", false, ["deriveKey"]);
  return subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base,
                          { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

/** The backup file's JSON object. The public key is in the AAD: a file with a swapped public key fails. */
export async function makeBackup(pkcs8, publicRaw, passphrase, label) {
  const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const key = await backupKey(passphrase, salt, PBKDF2_ITERATIONS);
  const ct = await subtle.encrypt({ name: "AES-GCM", iv, additionalData: concat(BACKUP_AAD, publicRaw) }, key, pkcs8);
  const { kid, fingerprint } = await describe(publicRaw);
  return {
    format: BACKUP_FORMAT, v: 1, kid, fingerprint, public: b64(publicRaw), label: label || "",
    created_at: new Date().toISOString(),
    kdf: { alg: "PBKDF2-SHA256", iterations: PBKDF2_ITERATIONS, salt: b64(salt) },
    enc: { alg: "A256GCM", iv: b64(iv) },
    ciphertext: b64(new Uint8Array(ct)),
  };
}

/** {pkcs8, publicRaw, label} from a backup object, or throws (wrong passphrase, damaged file). */
export async function openBackup(obj, passphrase) {
  if (!obj || obj.format !== BACKUP_FORMAT || obj.v !== 1 || !obj.kdf || !obj.enc) {
    throw new Error("not a signing-key backup file");
  }
  const iterations = obj.kdf.iterations;
  if (obj.kdf.alg !== "PBKDF2-SHA256" || !Number.isInteger(iterations) || iterations < PBKDF2_ITERATIONS) {
    throw new Error("unsupported key derivation in the backup file");
  }
  const publicRaw = unb64(obj.public);
  const key = await backupKey(passphrase, unb64(obj.kdf.salt), iterations);
  const pkcs8 = new Uint8Array(await subtle.decrypt(
    { name: "AES-GCM", iv: unb64(obj.enc.iv), additionalData: concat(BACKUP_AAD, publicRaw) }, key,
    unb64(obj.ciphertext)));
  return { pkcs8, publicRaw, label: obj.label || "" };
}

export function download(obj, filename) {
  const blob = new Blob([JSON.stringify(obj, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
