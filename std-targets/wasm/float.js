// `Float` text as native prints and parses it, for every JS host of a
// Distlang Wasm module (`node/host.mjs`, `../workers/worker.js`).

// As Rust's `{:?}`: the shortest digits that read back, in decimal from
// 1e-4 to below 1e16, else `1e16`, `1.5e-7`.
export function formatFloat(x) {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const abs = Math.abs(x);
  if (abs >= 1e-4 && abs < 1e16) {
    const s = decimal(x);
    return s.includes(".") ? s : s + ".0";
  }
  const [mantissa, exponent] = x.toExponential().split("e");
  return `${mantissa}e${exponent.replace("+", "")}`;
}

// `String(x)` is decimal for 1e-6 <= |x| < 1e21; below 1e-6 it is not, so
// spell the shortest digits out.
function decimal(x) {
  const s = String(x);
  if (!s.includes("e")) return s;
  const [mantissa, exponent] = x.toExponential().split("e");
  const digits = mantissa.replace("-", "").replace(".", "");
  const e = Number(exponent);
  const sign = x < 0 ? "-" : "";
  return e < 0 ? `${sign}0.${"0".repeat(-e - 1)}${digits}` : s;
}

// What Rust's `str::parse::<f64>` accepts: decimal with optional sign,
// fraction and exponent, or inf/infinity/nan in any case.
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

// The `Float` that `text` spells, or `null`.
export function parseFloat(text) {
  if (!FLOAT.test(text)) return null;
  const lower = text.toLowerCase().replace(/^[+]/, "");
  if (lower.endsWith("inf") || lower.endsWith("infinity")) return lower.startsWith("-") ? -Infinity : Infinity;
  return lower.endsWith("nan") ? NaN : Number(text);
}
