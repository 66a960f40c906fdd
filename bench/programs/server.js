// The HTTP benchmark's server for Deno (`dl-bench http`): the same four
// routes as bench/programs/server.dl, on Deno.serve and a Deno KV store.
//
//   deno run --quiet --no-config --unstable-kv --allow-net --allow-read --allow-write \
//     server.js --port N --db PATH
//
//   GET /hello        text "hello"
//   GET /kv/:key      the stored value as JSON (a JSON string), or 404
//   PUT /kv/:key      stores the request body under key (Deno KV commits
//                     durably before kv.set resolves); 204
//   GET /compute/:n   sum of i * i % 7 for i below n, as text
//   GET /count/:p     how many keys start with p, as text (not measured:
//                     dl-bench checks with it that no answered PUT is lost)

function flag(name, fallback) {
  const i = Deno.args.indexOf(name);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const port = Number(flag("--port", "8080"));
const kv = await Deno.openKv(flag("--db", "server.sqlite"));

const text = (body, status = 200) =>
  new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

async function handle(request) {
  const url = new URL(request.url);
  const parts = url.pathname.split("/");
  if (parts.length === 2 && parts[1] === "hello") {
    if (request.method !== "GET") return new Response(null, { status: 405, headers: { allow: "GET" } });
    return text("hello");
  }
  if (parts.length === 3 && parts[1] === "kv") {
    const key = decodeURIComponent(parts[2]);
    if (request.method === "GET") {
      const entry = await kv.get(["kv", key]);
      if (entry.value === null) return text(`no key ${key}`, 404);
      return new Response(JSON.stringify(entry.value), { headers: { "content-type": "application/json" } });
    }
    if (request.method === "PUT") {
      await kv.set(["kv", key], await request.text());
      return new Response(null, { status: 204 });
    }
    return new Response(null, { status: 405, headers: { allow: "GET, PUT" } });
  }
  if (parts.length === 3 && parts[1] === "compute") {
    if (request.method !== "GET") return new Response(null, { status: 405, headers: { allow: "GET" } });
    if (!/^-?[0-9]+$/.test(parts[2])) return text(`not an integer: ${parts[2]}`, 400);
    const limit = Number(parts[2]);
    let sum = 0;
    for (let i = 0; i < limit; i++) sum += (i * i) % 7;
    return text(String(sum));
  }
  if (parts.length === 3 && parts[1] === "count") {
    if (request.method !== "GET") return new Response(null, { status: 405, headers: { allow: "GET" } });
    const prefix = decodeURIComponent(parts[2]);
    let count = 0;
    for await (const _ of kv.list({ start: ["kv", prefix], end: ["kv", prefix + "\uffff"] })) count++;
    return text(String(count));
  }
  return text("not found", 404);
}

Deno.serve({
  port,
  hostname: "127.0.0.1",
  onListen: ({ hostname, port }) => console.error(`listening on http://${hostname}:${port}`),
}, handle);
