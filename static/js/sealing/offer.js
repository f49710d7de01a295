// The sealed-offer widget. Any element
//   <div data-seal-app data-lot="CODE" data-part="price|documents" data-api="/api/v1"
//        [data-csrf="…"] [data-keys-url="/keys/"] [data-receipt-pdf="/offers/receipts/"] [data-retries="5"]>
// gets a form (price: 报价/工期/质量/备注 → the price sheet JSON; documents: files zipped with fflate),
// a choice of this browser's signing keys (IndexedDB), sealing with envelope.js, the upload with a
// <progress> bar (upload.js) and the receipt. Load as <script type="module" src=".../offer.js">.
// Everything is built with DOM calls and textContent: no innerHTML, nothing inline (CSP).

import { fflate, hpke } from "../../vendor/sealing-deps.js";
import * as keystore from "./keystore.js";
import { UploadClient, submitPart, uploadSealed, verifyReceipt } from "./upload.js";

const EN = document.documentElement.lang === "en";
const T = (zh, en) => (EN ? en : zh);
const MAX_PRICE_FEN = 10 ** 15;

// --- price sheet -----------------------------------------------------------------------------

/** "123,456.78" → 12345678 by string parsing (never a float), or null. */
export function yuanToFen(text) {
  const m = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(String(text).trim().replace(/[,，]/g, ""));
  if (!m) return null;
  const fen = Number(m[1]) * 100 + Number((m[2] || "0").padEnd(2, "0"));
  return fen > 0 && fen <= MAX_PRICE_FEN ? fen : null;
}

/** The price sheet bytes exactly as the opening parses them (same key order as the offline tool). */
export function priceSheet({ priceFen, durationDays = null, quality = "", remarks = "" }) {
  return new TextEncoder().encode(JSON.stringify(
    { v: 1, price_fen: priceFen, duration_days: durationDays, quality, remarks }));
}

export async function zipFiles(files) {
  const entries = {};
  for (const file of files) {
    let name = file.name, n = 1;
    while (entries[name]) name = `${n++}-${file.name}`; // two files of the same name both go in
    entries[name] = [new Uint8Array(await file.arrayBuffer()), { mtime: new Date(2020, 0, 1) }];
  }
  return fflate.zipSync(entries, { level: 6 });
}

// --- DOM helpers -----------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || ["for", "role", "type", "name"].includes(k)) {
      node.setAttribute(k, v);
    } else node[k] = v;
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

function field(id, label, input, help) {
  input.id = id;
  input.classList.add("form-control");
  return el("div", { className: "mb-2" }, el("label", { className: "form-label", for: id, text: label }), input,
            help ? el("div", { className: "form-text", text: help }) : null);
}

function sizeText(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

// --- the widget ------------------------------------------------------------------------------

class SealApp {
  constructor(root) {
    this.root = root;
    this.lot = root.dataset.lot;
    this.part = root.dataset.part;
    const csrf = root.dataset.csrf || (document.querySelector('input[name="csrf_token"]') || {}).value || "";
    const retries = root.dataset.retries === undefined ? undefined : Number(root.dataset.retries);
    this.client = new UploadClient({ api: root.dataset.api || "/api/v1", csrf, retries });
    this.pending = null; // {sid, sealed} of an interrupted upload, for 继续上传
    this.uid = `seal-${this.part}-${Math.random().toString(36).slice(2, 8)}`;
  }

  async mount() {
    const form = el("form", { noValidate: true, "data-seal-form": "" });
    form.append(...(this.part === "price" ? this.priceFields() : this.documentFields()));
    this.keySelect = el("select", { className: "form-select", name: "signing_key" });
    form.append(field(`${this.uid}-key`, T("签名密钥", "Signing key"), this.keySelect));
    this.keySelect.classList.replace("form-control", "form-select");
    this.noKey = el("div", { className: "alert alert-warning d-none", role: "alert" });
    form.append(this.noKey);
    this.button = el("button", { className: "btn btn-brand", type: "submit", "data-testid": `seal-${this.part}`,
                                 text: T("密封并上传", "Seal and upload") });
    this.resumeButton = el("button", { className: "btn btn-primary ms-2 d-none", type: "button",
                                       text: T("继续上传", "Resume upload") });
    form.append(el("div", { className: "mt-3" }, this.button, this.resumeButton));
    this.progress = el("progress", { className: "w-100 mt-3 d-none", max: 100, value: 0,
                                     "aria-label": T("上传进度", "Upload progress"), "data-testid": "upload-progress" });
    this.status = el("div", { className: "mt-2", role: "status", "aria-live": "polite" });
    this.receipt = el("div", { className: "mt-3", "data-testid": "receipt" });
    this.root.replaceChildren(form, this.progress, this.status, this.receipt);
    form.addEventListener("submit", (e) => { e.preventDefault(); this.run(); });
    this.resumeButton.addEventListener("click", () => this.resume());
    await this.loadKeys();
    await this.findPending();
  }

  get pendingKey() { return `${this.lot}/${this.part}`; }

  // An upload interrupted before a reload (or a crash) can still complete: the sealed envelope
  // was kept in IndexedDB, the server kept the chunks it received.
  async findPending() {
    if (!keystore.supported()) return;
    const saved = await keystore.getPending(this.pendingKey).catch(() => null);
    if (!saved) return;
    let state;
    try {
      state = await this.client.state(saved.sid);
    } catch (err) {
      // offline now: keep it for the next visit; gone (404): forget it
      if (err.status === 404) await keystore.deletePending(this.pendingKey).catch(() => {});
      return;
    }
    if (state.status !== "uploading") { // completed, withdrawn or superseded meanwhile
      await keystore.deletePending(this.pendingKey).catch(() => {});
      return;
    }
    this.pending = { sid: saved.sid, sealed: { manifestBytes: saved.manifestBytes, payload: saved.payload } };
    this.resumeButton.classList.remove("d-none");
    this.say(T(`上次的上传（提交编号 ${saved.sid}）尚未完成，可点击“继续上传”。`,
               `An earlier upload (${saved.sid}) did not complete; press Resume to finish it.`), "warning");
  }

  remember(pending) {
    this.pending = pending;
    keystore.putPending({ key: this.pendingKey, sid: pending.sid, manifestBytes: pending.sealed.manifestBytes,
                          payload: pending.sealed.payload, savedAt: new Date().toISOString() }).catch(() => {});
  }

  priceFields() {
    this.price = el("input", { name: "price", inputMode: "decimal", autocomplete: "off", required: true });
    this.capitals = el("div", { className: "form-text amount-capitals", "aria-live": "polite" });
    this.price.addEventListener("input", () => {
      const cap = window.Trading && window.Trading.capitals;
      this.capitals.textContent = cap ? cap(this.price.value) : "";
    });
    this.duration = el("input", { name: "duration_days", type: "number", min: 1, max: 36500, step: 1 });
    this.quality = el("input", { name: "quality", maxLength: 200 });
    this.remarks = el("textarea", { name: "remarks", maxLength: 2000, rows: 2 });
    const priceBox = field(`${this.uid}-price`, T("投标报价（元）", "Price (yuan)"), this.price);
    priceBox.append(this.capitals);
    return [priceBox, field(`${this.uid}-days`, T("工期（日历天）", "Duration (calendar days)"), this.duration),
            field(`${this.uid}-quality`, T("质量标准", "Quality"), this.quality),
            field(`${this.uid}-remarks`, T("备注", "Remarks"), this.remarks)];
  }

  documentFields() {
    this.files = el("input", { name: "files", type: "file", multiple: true });
    this.fileList = el("ul", { className: "small text-muted mb-2" });
    this.files.addEventListener("change", () => {
      this.fileList.replaceChildren(...[...this.files.files].map((f) => el("li", { text: `${f.name} (${sizeText(f.size)})` })));
    });
    const box = field(`${this.uid}-files`, T("投标文件（可多选，将打包为 ZIP 后加密）", "Offer files (zipped, then sealed)"), this.files);
    box.append(this.fileList);
    return [box];
  }

  async loadKeys() {
    const keys = keystore.supported() ? await keystore.listKeys() : [];
    this.keys = new Map(keys.map((k) => [k.kid, k]));
    this.keySelect.replaceChildren(...keys.map((k) => el("option", {
      value: k.kid, text: `${k.label || T("签名密钥", "key")} · ${k.fingerprint.slice(0, 16).match(/.{4}/g).join(" ")}…` })));
    const none = keys.length === 0;
    this.noKey.classList.toggle("d-none", !none);
    this.button.disabled = none;
    if (none) {
      const href = this.root.dataset.keysUrl || "/keys/";
      this.noKey.replaceChildren(T("本浏览器中没有签名密钥。请先到", "This browser holds no signing key. First go to "),
                                 el("a", { href, text: T("签名密钥", "Signing keys") }),
                                 T("页面生成或从备份恢复。", " to make or restore one."));
    }
  }

  plaintext() {
    if (this.part === "price") {
      const fen = yuanToFen(this.price.value);
      if (fen === null) throw new Error(T("请填写正确的报价：元，最多两位小数，例如 123456.78", "Enter the price in yuan with at most two decimals"));
      const daysText = this.duration.value.trim();
      const days = daysText === "" ? null : Number(daysText);
      if (days !== null && !(Number.isInteger(days) && days >= 1 && days <= 36500)) {
        throw new Error(T("工期须为 1–36500 的整数天", "Duration must be a whole number of days, 1–36500"));
      }
      return Promise.resolve(priceSheet({ priceFen: fen, durationDays: days, quality: this.quality.value.trim(),
                                          remarks: this.remarks.value.trim() }));
    }
    if (!this.files.files.length) throw new Error(T("请选择要上传的文件", "Choose the files to upload"));
    return zipFiles([...this.files.files]);
  }

  say(text, kind = "info") {
    this.status.replaceChildren(el("div", { className: `alert alert-${kind} mb-0`, text }));
  }

  onProgress = ({ sent, total }) => {
    this.progress.classList.remove("d-none");
    this.progress.value = total ? Math.floor((sent * 100) / total) : 100;
    this.say(T(`正在上传：${sizeText(sent)} / ${sizeText(total)}`, `Uploading: ${sizeText(sent)} / ${sizeText(total)}`));
  };

  async run() {
    this.button.disabled = true;
    this.resumeButton.classList.add("d-none");
    this.receipt.replaceChildren();
    try {
      const plaintext = await this.plaintext();
      const key = this.keys.get(this.keySelect.value);
      const stages = { start: T("正在登记上传…", "Starting…"), seal: T("正在本机加密并签名…", "Sealing on this computer…"),
                       upload: T("正在上传…", "Uploading…"), complete: T("正在校验并取得回执…", "Completing…") };
      const { answer } = await submitPart(this.client, {
        lot: this.lot, part: this.part, plaintext, signingKey: key.privateKey, signingPublic: key.publicRaw, hpke,
        onProgress: this.onProgress, onStage: (s) => this.say(stages[s]),
        onSealed: (pending) => this.remember(pending),
      });
      plaintext.fill(0);
      this.done(answer);
    } catch (err) {
      this.failed(err);
    } finally {
      this.button.disabled = this.keys.size === 0;
    }
  }

  async resume() {
    if (!this.pending) return;
    this.resumeButton.disabled = true;
    try {
      const { sid, sealed } = this.pending;
      this.done(await uploadSealed(this.client, { sid, manifestBytes: sealed.manifestBytes, payload: sealed.payload,
                                                  onProgress: this.onProgress }));
    } catch (err) {
      this.failed(err);
    } finally {
      this.resumeButton.disabled = false;
    }
  }

  failed(err) {
    const network = err.code === "network";
    this.say(network && this.pending
      ? T("网络中断。已收到的数据块保存在服务器上，请检查网络后点击“继续上传”。",
          "The connection dropped. The chunks received are kept on the server; check the network and press Resume.")
      : (err.message || String(err)), "danger");
    // an upload that started can continue where it stopped (the server keeps the received chunks)
    const resumable = this.pending && (!err.status || err.status >= 500 || err.code === "network");
    this.resumeButton.classList.toggle("d-none", !resumable);
  }

  done(answer) {
    this.pending = null;
    keystore.deletePending(this.pendingKey).catch(() => {});
    this.resumeButton.classList.add("d-none");
    // host pages may react (e.g. refresh their own view of the submission)
    this.root.dispatchEvent(new CustomEvent("seal:done", { detail: answer, bubbles: true }));
    this.progress.value = 100;
    const r = answer.receipt;
    this.say(T("已提交，平台已签发回执。", "Submitted; the platform signed a receipt."), "success");
    const pdf = (this.root.dataset.receiptPdf || "/offers/receipts/") + `${answer.receipt_id}.pdf`;
    const json = el("button", { className: "btn btn-sm btn-outline-secondary ms-2", type: "button",
                                text: T("下载回执 JSON", "Download receipt JSON") });
    json.addEventListener("click", () => keystore.download(answer, `receipt-${r.lot_id}-${r.part}-${r.submission_id}.json`));
    this.verified = el("div", { className: "small mt-2 text-muted", "data-testid": "receipt-verified" });
    const row = (k, v, testid) => [el("dt", { className: "col-sm-3", text: k }),
                                    el("dd", { className: "col-sm-9 text-break", text: String(v), "data-testid": testid })];
    this.receipt.replaceChildren(el("div", { className: "card" }, el("div", { className: "card-body" },
      el("h3", { className: "h6 card-title", text: T("提交回执", "Receipt") }),
      el("dl", { className: "row small mb-2" },
         ...row(T("提交编号", "Submission"), r.submission_id, "receipt-sid"),
         ...row("SHA-256", r.payload_sha256, "receipt-sha256"),
         ...row(T("大小", "Size"), `${r.payload_len} ${T("字节", "bytes")}`, "receipt-size"),
         ...row(T("接收时间", "Received"), r.received_at_beijing, "receipt-time"),
         ...row(T("审计序号", "Audit seq"), r.audit_seq, "receipt-seq")),
      el("a", { className: "btn btn-sm btn-outline-secondary", href: pdf, text: T("下载回执 PDF", "Receipt PDF"),
                "data-testid": "receipt-pdf" }),
      json, this.verified)));
    verifyReceipt(this.client, answer).then((ok) => {
      if (ok === null) return;
      this.verified.className = `small mt-2 ${ok ? "text-success" : "text-danger"}`;
      this.verified.textContent = ok ? T("✓ 回执签名已用平台回执公钥验证", "✓ Receipt signature verified with the platform's key")
        : T("✗ 回执签名验证失败，请保存页面并联系交易中心", "✗ The receipt signature does not verify; contact the centre");
    }).catch(() => {});
  }
}

/** Mount every widget not mounted yet (pages that add one later call this again). */
export function mountAll(doc = document) {
  const roots = [...doc.querySelectorAll("[data-seal-app]:not([data-seal-mounted])")];
  roots.forEach((root) => root.setAttribute("data-seal-mounted", ""));
  return Promise.all(roots.map((root) => new SealApp(root).mount()));
}

mountAll();
