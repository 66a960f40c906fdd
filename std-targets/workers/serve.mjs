// Runs a bundle that `dlc ship --target workers` wrote under Miniflare (the
// workerd that wrangler runs, driven in-process), for the Workers target's
// tests, as a built executable runs:
//
//   node serve.mjs BUNDLE STATE            serves on a free port of 127.0.0.1
//                                          (stderr: `listening on http://ADDR`)
//   node serve.mjs BUNDLE STATE --run-cron NAME   fires the trigger of cron NAME, then exits
//                                          (status 1 if a cron failed, 2 if none has that name)
//
// The Durable Object's SQLite lives under STATE; secrets come from
// BUNDLE/.dev.vars (`NAME=value` lines), as under `wrangler dev`. The
// program's log (workerd's stdout and stderr) goes to stderr. SIGTERM
// stops it.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Miniflare } from "miniflare";

const [bundle, state, flag, name] = process.argv.slice(2);
const toml = readFileSync(join(bundle, "wrangler.toml"), "utf8");
const compatibilityDate = toml.match(/^compatibility_date = "(.*)"$/m)[1];
const vars = join(bundle, ".dev.vars");
const secrets = existsSync(vars)
  ? Object.fromEntries(readFileSync(vars, "utf8").split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))
  : {};

const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  cf: false,
  compatibilityDate,
  // `node:crypto`, as wrangler.toml asks for.
  compatibilityFlags: ["nodejs_compat"],
  modulesRoot: bundle,
  modules: [
    ...["worker.js", "program.js", "schema.js", "indexes.js", "portable.js", "float.js", "crypto.js"].map((file) => ({ type: "ESModule", path: join(bundle, file) })),
    { type: "CompiledWasm", path: join(bundle, "app.wasm") },
  ],
  durableObjects: { PROGRAM: { className: "Program", useSQLite: true } },
  durableObjectsPersist: state,
  bindings: secrets,
  handleRuntimeStdio(stdout, stderr) {
    stdout.pipe(process.stderr);
    stderr.pipe(process.stderr);
  },
});
const url = await mf.ready;
const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
if (flag === "--run-cron") {
  const program = (await import(pathToFileURL(join(bundle, "program.js")))).default;
  const cron = program.crons.find((c) => c.name === name);
  if (!cron) {
    process.stderr.write(`error: no cron named ${name}\n`);
    await mf.dispose();
    process.exit(2);
  }
  const { outcome } = await (await mf.getWorker()).scheduled({ cron: cron.trigger });
  // Let workerd's log reach us before it stops.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await mf.dispose();
  process.exit(outcome === "ok" ? 0 : 1);
} else {
  process.stderr.write(`listening on http://${url.host}\n`);
}
