// The Node host of a Distlang Wasm module (`dlc run --target wasm`):
// `node host.mjs app.wasm [args…]` runs a script's `main` with the same
// stdout, stderr and exit status as its native executable.
//
// The module imports what only a host has (`dl.*`, `compiler/wasm/src/runtime.rs`
// lists them) and exports `memory` and `main`. A runtime error reaches
// here as a thrown `RuntimeError` with its message; a stack overflow as
// V8's RangeError, reported at the Distlang function it happened in.

import { readFileSync, writeSync } from "node:fs";
import { Worker, isMainThread } from "node:worker_threads";
import { portableImports } from "./portable.js";

class RuntimeError extends Error {}

// Runs the module given on the command line, as its native executable would.
async function main() {
  const [file] = process.argv.slice(2);
  const bytes = readFileSync(file);
  let memory;
  const out = { 1: [], 2: [] };
  const encoder = new TextEncoder();

  function flush(fd) {
    for (const chunk of out[fd]) {
      let at = 0;
      while (at < chunk.length) at += writeSync(fd, chunk, at);
    }
    out[fd] = [];
  }

  const view = () => new DataView(memory.buffer);
  // A `Str*`'s bytes: `[len, ptr, buf]`, words little-endian.
  function strBytes(address) {
    const v = view();
    const at = Number(address);
    const len = Number(v.getBigUint64(at, true));
    const ptr = Number(v.getBigUint64(at + 8, true));
    return new Uint8Array(memory.buffer, ptr, len);
  }
  const text = (address) => new TextDecoder().decode(strBytes(address));

  const imports = {
    dl: {
      write(fd, s) {
        out[Number(fd)].push(strBytes(s).slice());
        if (out[1].length > 4096) flush(1);
      },
      throw(message) {
        throw new RuntimeError(text(message));
      },
      ...portableImports(strBytes, (at, bytes) => new Uint8Array(memory.buffer, Number(at), bytes.length).set(bytes)),
      // A script has no stores or secrets (`dlc` refuses to run a service here).
      ...Object.fromEntries(["store_get", "store_put", "store_delete", "store_count", "store_scan", "store_index_scan", "store_row", "secret_value"]
        .map((name) => [name, () => { throw new Error(`a script called dl.${name}`); }])),
    },
  };

  const { instance } = await WebAssembly.instantiate(bytes, imports);
  memory = instance.exports.memory;

  // Where a stack overflow happened: the location in the name of the
  // innermost program function in V8's stack (`name@file:line:col (wasm://…)`).
  function overflowAt(error) {
    for (const line of String(error.stack).split("\n")) {
      const frame = line.trim().replace(/^at /, "").split(" (wasm")[0];
      if (line.includes("wasm") && frame.includes("@")) return frame.slice(frame.lastIndexOf("@") + 1);
    }
    return null;
  }

  let status = 0;
  const started = performance.now();
  try {
    instance.exports.main();
  } catch (error) {
    flush(1);
    if (error instanceof RuntimeError) {
      out[2].push(encoder.encode(`error: ${error.message}\n`));
    } else if (error instanceof RangeError && /call stack/.test(error.message)) {
      const at = overflowAt(error);
      out[2].push(encoder.encode(`error: stack overflow${at ? ` at ${at}` : ""}\n`));
    } else {
      out[2].push(encoder.encode(`error: internal error in the Wasm module: ${error.message}\n`));
    }
    status = 1;
  }
  // `dl-bench wasm` times the program alone, without Node's start-up.
  if (process.env.DL_TIME_MAIN) out[2].push(encoder.encode(`main took ${performance.now() - started} ms\n`));
  flush(1);
  flush(2);
  process.exit(status);
}

// Native invocations have a 64 MiB stack; Node's main thread has about
// 1 MB. So the module runs on a worker thread with a stack as deep as
// native's: V8's baseline code for Wasm uses frames about four times
// the size of Cranelift's, hence 256 MiB (only what is used is touched).
const STACK_MB = 256;
if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url), { argv: process.argv.slice(2), resourceLimits: { stackSizeMb: STACK_MB } });
  worker.on("exit", (code) => { process.exitCode = code; });
  worker.on("error", (error) => {
    writeSync(2, `error: internal error in the Wasm host: ${error.message}\n`);
    process.exitCode = 1;
  });
} else {
  await main();
}
