// The owner's sealed 底价 (templates/auctions/setup.html; 招标出让: templates/land_tender/parcel.html):
// sealed in this browser to the lot's opening key (static/js/sealing/envelope.js, part "reserve"), signed
// by a one-time key made here, and sent through the form's data-start-url / data-put-url
// (/api/v1/auctions/<lot>/reserve or /api/v1/land-tender/<lot>/reserve). The amount never leaves the
// browser in plain text.
import { hpke } from "../vendor/sealing-deps.js";
import { b64, seal, unb64 } from "./sealing/envelope.js";

const form = document.querySelector("[data-reserve-form]");
if (form && window.crypto && window.crypto.subtle) {
  const button = form.querySelector("[data-testid=save-reserve]");
  const status = form.querySelector("[data-reserve-status]");
  const csrf = form.querySelector("input[name=csrf_token]").value;
  button.disabled = false;

  const say = (kind, message) => { status.className = "small mt-2 text-" + kind; status.textContent = message; };
  const parseYuan = (text) => {
    const m = /^\s*(\d{1,13})(?:\.(\d{1,2}))?\s*$/.exec(String(text).replace(/[,，¥元]/g, ""));
    return m ? parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10) : null;
  };
  async function call(method, url, body) {
    const r = await fetch(url, { method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) { throw new Error(data.message || r.status); }
    return data;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fen = parseYuan(form.querySelector("[name=reserve]").value);
    if (!fen) { say("danger", form.dataset.textAmount); return; }
    button.disabled = true;
    say("muted", form.dataset.textSealing);
    try {
      const info = await call("POST", form.dataset.startUrl, {});
      const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
      const signingPublic = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
      const plaintext = new TextEncoder().encode(JSON.stringify({ v: 1, reserve_fen: fen }));
      const sealed = await seal({ hpke, plaintext, openingPublic: unb64(info.opening_key.public),
        signingKey: pair.privateKey, signingPublic,
        ctx: { lot_id: info.lot_id, bidder_id: info.bidder_id, part: info.part, submission_id: info.submission_id } });
      plaintext.fill(0);
      await call("PUT", form.dataset.putUrl, { submission_id: info.submission_id, manifest: sealed.manifest,
        payload: b64(sealed.payload), signer_public: b64(signingPublic) });
      say("success", form.dataset.textDone);
      window.location.reload();
    } catch (err) {
      say("danger", form.dataset.textFailed + err.message);
      button.disabled = false;
    }
  });
}
