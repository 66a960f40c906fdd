// The `dl` imports that mean the same on every JS host of a Distlang Wasm
// module (`node/host.mjs`, `../workers/worker.js`): time, randomness, float
// arithmetic and text, case mapping, and crypto. Each host adds what differs
// (output, errors, stores, secrets).

import { formatFloat, parseFloat } from "./float.js";
import { cryptoImports } from "./crypto.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Over a host's access to the module's memory: `bytes(str)` a `Str`'s bytes,
// `write(at, bytes)` bytes into a buffer the module gave.
export function portableImports(bytes, write) {
  const text = (s) => decoder.decode(bytes(s));
  const put = (at, out) => {
    write(at, out);
    return BigInt(out.length);
  };
  return {
    now: () => BigInt(Date.now()),
    random: () => crypto.getRandomValues(new BigInt64Array(1))[0],
    fmod: (x, y) => x % y,
    pow: (x, y) => (x === 1 || y === 0 ? 1 : Math.pow(x, y)),
    float_format: (x, at) => put(at, encoder.encode(formatFloat(x))),
    float_parse: (s, at) => {
      const x = parseFloat(text(s));
      if (x === null) return 0n;
      const out = new Uint8Array(8);
      new DataView(out.buffer).setFloat64(0, x, true);
      write(at, out);
      return 1n;
    },
    // The module gives three times the text's bytes: no case mapping grows more.
    case_map: (s, upper, at) => {
      const t = text(s);
      const mapped = encoder.encode(upper ? t.toUpperCase() : t.toLowerCase());
      const room = 3 * bytes(s).length;
      if (mapped.length > room) throw new Error(`case mapping grew ${room / 3} bytes to ${mapped.length}`);
      return put(at, mapped);
    },
    ...cryptoImports(bytes, write),
  };
}
