// Runs a bundle that `dlc ship --target workers` wrote under Miniflare (the
// workerd that wrangler runs, driven in-process), for the Workers target's
// tests: `node serve.mjs BUNDLE STATE [NAME=VALUE…]` serves it on a free
// port of 127.0.0.1 with its Durable Object's SQLite under STATE and the
// given secrets, prints `listening on PORT`, then reads commands from
// stdin, one a line: `cron EXPRESSION` fires a cron trigger (answering
// `fired`); the end of stdin stops it.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Miniflare } from "miniflare";

const [bundle, state, ...secrets] = process.argv.slice(2);
const toml = readFileSync(join(bundle, "wrangler.toml"), "utf8");
const compatibilityDate = toml.match(/^compatibility_date = "(.*)"$/m)[1];
const js = ["worker.js", "program.js", "schema.js", "float.js"];

const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  cf: false,
  compatibilityDate,
  modulesRoot: bundle,
  modules: [
    ...js.map((file) => ({ type: "ESModule", path: join(bundle, file) })),
    { type: "CompiledWasm", path: join(bundle, "app.wasm") },
  ],
  durableObjects: { PROGRAM: { className: "Program", useSQLite: true } },
  durableObjectsPersist: state,
  bindings: Object.fromEntries(secrets.map((s) => [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)])),
  handleRuntimeStdio(stdout, stderr) {
    stdout.pipe(process.stderr);
    stderr.pipe(process.stderr);
  },
});
const url = await mf.ready;
console.log(`listening on ${url.port}`);

for await (const line of createInterface({ input: process.stdin })) {
  const [command, ...rest] = line.split(" ");
  if (command === "cron") {
    const worker = await mf.getWorker();
    await worker.scheduled({ cron: rest.join(" ") });
    console.log("fired");
  }
}
await mf.dispose();
