// `node timed.mjs PROGRAM.js`: runs a benchmark program and reports on
// stderr how long it took without Node's start-up, as the Wasm host does
// under DL_TIME_MAIN (`dl-bench wasm`).
import { pathToFileURL } from "node:url";

const started = performance.now();
await import(pathToFileURL(process.argv[2]).href);
process.stderr.write(`main took ${performance.now() - started} ms\n`);
