// The dashboard of `dlc serve` in a real headless Chromium, for
// compiler/cli/tests/serve.rs: node dashboard.mjs URL SCREENSHOT
//
// Chromium is driven over the DevTools protocol on a pipe
// (`--remote-debugging-pipe`: JSON messages ending in NUL on fds 3 and 4),
// so nothing but Chromium and Node is needed. The script loads the page,
// and checks it as a user would look: the routes listed, the test's request
// shown as a trace (its runtime error and source line when clicked), a cron
// run with its button, a store entry edited and saved; then a screenshot.

import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, screenshot] = process.argv.slice(2);
const chromium = process.env.DLC_CHROMIUM || "chromium";
const profile = mkdtempSync(join(tmpdir(), "dl-chromium-"));
const browser = spawn(
  chromium,
  ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", `--user-data-dir=${profile}`, "--remote-debugging-pipe", "about:blank"],
  { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
);
let stderr = "";
browser.stderr.on("data", (d) => (stderr += d));
const [toBrowser, fromBrowser] = [browser.stdio[3], browser.stdio[4]];

let nextId = 0;
const pending = new Map();
let buffered = "";
fromBrowser.on("data", (chunk) => {
  buffered += chunk;
  let end;
  while ((end = buffered.indexOf("\0")) >= 0) {
    const message = JSON.parse(buffered.slice(0, end));
    buffered = buffered.slice(end + 1);
    const waiting = pending.get(message.id);
    if (waiting) {
      pending.delete(message.id);
      message.error ? waiting.reject(new Error(JSON.stringify(message.error))) : waiting.resolve(message.result);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = ++nextId;
  toBrowser.write(JSON.stringify({ id, method, params, sessionId }) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

function fail(message) {
  console.error(`dashboard: ${message}`);
  if (stderr) console.error(stderr.slice(-2000));
  browser.kill();
  process.exit(1);
}
setTimeout(() => fail("timed out"), 30000).unref();

const { targetId } = await send("Target.createTarget", { url: "about:blank" });
const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
const page = (method, params) => send(method, params, sessionId);
async function evaluate(expression) {
  const { result, exceptionDetails } = await page("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
  if (exceptionDetails) fail(`${expression}: ${JSON.stringify(exceptionDetails)}`);
  return result.value;
}
// Polls `expression` in the page until it is truthy.
async function until(what, expression) {
  for (let i = 0; i < 200; i++) {
    const value = await evaluate(expression);
    if (value) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  fail(`never saw ${what}: ${await evaluate("document.body.innerText")}`);
}

await page("Emulation.setDeviceMetricsOverride", { width: 1280, height: 860, deviceScaleFactor: 1, mobile: false });
await page("Page.enable");
await page("Page.navigate", { url });
await until("the routes", `document.querySelectorAll("#routes tr").length > 1`);
const routes = await evaluate(`document.querySelector("#routes").innerText`);
if (!routes.includes("/notes") || !routes.includes("/boom")) fail(`routes: ${routes}`);

// The test's failed request, as a trace: its runtime error and source line.
await until("the trace of GET /boom", `[...document.querySelectorAll("tr.trace")].some((r) => r.innerText.includes("/boom"))`);
await evaluate(`[...document.querySelectorAll("tr.trace")].find((r) => r.innerText.includes("/boom")).click()`);
const trace = await until("the trace's details", `document.querySelector("#trace").innerText`);
if (!trace.includes("division by zero") || !trace.includes("100 / xs.length()")) fail(`trace: ${trace}`);

// A cron run with its button.
await evaluate(`document.querySelector("#cron-tidy button").click()`);
await until("the cron's run", `document.querySelector("#cron-tidy").innerText.includes("ran")`);

// A store entry edited and saved.
await evaluate(`[...document.querySelectorAll("#stores button")].find((b) => b.textContent === "notes").click()`);
await until("the store's entries", `document.querySelector("#store textarea")`);
await evaluate(`(() => {
  const area = document.querySelector("#store textarea");
  area.value = JSON.stringify({ text: "edited in the browser" });
  [...area.closest("tr").querySelectorAll("button")].find((b) => b.textContent === "save").click();
})()`);
await until("the save", `document.querySelector("#store tr.entry").innerText.includes("saved")`);

const { data } = await page("Page.captureScreenshot", { format: "png" });
writeFileSync(screenshot, Buffer.from(data, "base64"));
await send("Browser.close").catch(() => {});
console.log("dashboard: ok");
process.exit(0);
