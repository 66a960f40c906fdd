// `Crypto`, `Base64` and `Password` for every JS host of a Distlang Wasm
// module (`node/host.mjs`, `../workers/worker.js`), over Node's `crypto`
// (workerd's `node:crypto` under the `nodejs_compat` flag): the same
// results and messages as native's `vm/src/crypto.rs`.

import { createHash, createHmac, scryptSync, randomBytes, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

// The module's `digest`, `base64` and `password` imports
// (`compiler/wasm/src/runtime.rs`, `Host`), over a host's access to the
// module's memory: `bytes(str)` a `Str`'s bytes, `write(at, bytes)`.
export function cryptoImports(bytes, write) {
  const put = (at, out) => {
    write(at, out);
    return BigInt(out.length);
  };
  const encoder = new TextEncoder();
  return {
    digest: (kind, key, s, at) => put(at, encoder.encode(digest(Number(kind), bytes(key), bytes(s)))),
    base64: (kind, s, at) => {
      const result = base64(Number(kind), bytes(s));
      return typeof result === "number" ? BigInt(result) : put(at, result);
    },
    password: (kind, pw, hash, at) => {
      if (Number(kind) === 1) return passwordVerify(bytes(pw), new TextDecoder().decode(bytes(hash))) ? 1n : 0n;
      return put(at, encoder.encode(passwordHash(bytes(pw))));
    },
  };
}

// `digest`'s kinds, as `std-targets/wasm/runtime/crypto.dl` passes them.
const SHA256 = 0, HMAC = 1, HMAC_URL = 2;

// SHA-256 or HMAC-SHA256 (`key`) of `text` (bytes): hex, or base64url.
function digest(kind, key, text) {
  if (kind === SHA256) return createHash("sha256").update(text).digest("hex");
  const mac = createHmac("sha256", key).update(text);
  return kind === HMAC ? mac.digest("hex") : mac.digest("base64url");
}

// `base64`'s kinds.
const ENCODE = 0, DECODE = 1, URL_ENCODE = 2, URL_DECODE = 3;

// `bytes` encoded, or decoded: the result's bytes, or -1 if they are not
// base64, -2 if what they stand for is not UTF-8 text (the two `Err`s of
// native's `Base64.decode`).
function base64(kind, bytes) {
  if (kind === ENCODE || kind === URL_ENCODE) {
    return new TextEncoder().encode(Buffer.from(bytes).toString(kind === ENCODE ? "base64" : "base64url"));
  }
  const text = new TextDecoder().decode(bytes);
  if (!isBase64(text, kind === URL_DECODE)) return -1;
  const decoded = new Uint8Array(Buffer.from(text, kind === URL_DECODE ? "base64url" : "base64"));
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(decoded);
  } catch {
    return -2;
  }
  return decoded;
}

// What the `base64` crate decodes (Buffer accepts far more): the alphabet,
// padding either right or absent, and no stray bits in the last symbol.
function isBase64(text, url) {
  const alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const body = text.replace(/=*$/, "");
  const padding = text.length - body.length;
  if ([...body].some((c) => !alphabet.includes(c)) || body.length % 4 === 1) return false;
  if (padding > 0 && (text.length % 4 !== 0 || padding !== (4 - (body.length % 4)) % 4)) return false;
  const last = alphabet.indexOf(body[body.length - 1]);
  return body.length % 4 === 2 ? (last & 15) === 0 : body.length % 4 === 3 ? (last & 3) === 0 : true;
}

// New hashes: scrypt with OWASP's 16 MiB parameters (native's constants).
const LOG_N = 14, R = 8, P = 5, SALT_LEN = 16, KEY_LEN = 32;

const derive = (password, salt, logN, r, p, length) =>
  scryptSync(password, salt, length, { N: 2 ** logN, r, p, maxmem: 300 * 1024 * 1024 });

const phcBase64 = (bytes) => Buffer.from(bytes).toString("base64").replace(/=+$/, "");

// A PHC string `$scrypt$ln=14,r=8,p=5$SALT$KEY` for `password` (bytes).
function passwordHash(password) {
  const salt = randomBytes(SALT_LEN);
  return `$scrypt$ln=${LOG_N},r=${R},p=${P}$${phcBase64(salt)}$${phcBase64(derive(password, salt, LOG_N, R, P, KEY_LEN))}`;
}

// Whether `password` (bytes) made `phc`, which must have parameters a
// server can afford (native's `parse_phc` accepts exactly the same).
function passwordVerify(password, phc) {
  const parts = phc.split("$");
  if (parts.length !== 5 || parts[0] !== "" || parts[1] !== "scrypt") return false;
  const params = parts[2].match(/^ln=(\d+),r=(\d+),p=(\d+)$/);
  if (!params) return false;
  const [logN, r, p] = params.slice(1).map(Number);
  const affordable = logN >= 1 && logN <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16 && 128 * r * 2 ** logN <= 256 * 1024 * 1024;
  const [salt, key] = [parts[3], parts[4]].map(fromPhcBase64);
  if (!affordable || !salt || !key || salt.length === 0 || key.length < 16 || key.length > 64) return false;
  return timingSafeEqual(derive(password, salt, logN, r, p, key.length), key);
}

function fromPhcBase64(text) {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || !isBase64(text, false)) return null;
  return Buffer.from(text, "base64");
}
