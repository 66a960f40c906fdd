// The paged-scan benchmark's server for Deno (`dl-bench pages`): the routes
// of bench/programs/pages.dl on Deno.serve and Deno KV.
//
//   deno run --quiet --no-config --unstable-kv --allow-net --allow-read --allow-write \
//     pages.js --port N --db PATH
//
// Keys are time-ordered as Distlang's `insert` makes them (milliseconds, then
// a counter), each post written with its secondary key `["by_slug", slug]`
// in the same atomic commit, 250 posts (500 mutations) to a commit (Deno KV
// takes at most 1000 in one); the newest page is `kv.list` with `limit` and
// `reverse`, a lookup by slug the secondary key, then the post.

function flag(name, fallback) {
  const i = Deno.args.indexOf(name);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const port = Number(flag("--port", "8080"));
const kv = await Deno.openKv(flag("--db", "pages.sqlite"));
let counter = 0;
const newKey = () => `${String(Date.now()).padStart(15, "0")}-${String(counter++).padStart(12, "0")}`;
const padding = "x".repeat(48);

async function handle(request) {
  const parts = new URL(request.url).pathname.split("/");
  if (request.method === "POST" && parts.length === 4 && parts[1] === "fill") {
    const [from, n] = [Number(parts[2]), Number(parts[3])];
    for (let start = from; start < from + n; start += 250) {
      const atomic = kv.atomic();
      for (let i = start; i < Math.min(start + 250, from + n); i++) {
        const [key, slug] = [newKey(), `post-${i}`];
        atomic.set(["posts", key], { slug, body: `post ${i} ${padding}` }).set(["by_slug", slug], key);
      }
      await atomic.commit();
    }
    return new Response(null, { status: 204 });
  }
  if (request.method === "GET" && parts.length === 2 && parts[1] === "newest") {
    const entries = [];
    for await (const entry of kv.list({ prefix: ["posts"] }, { limit: 20, reverse: true })) entries.push([entry.key[1], entry.value]);
    return new Response(JSON.stringify(entries), { headers: { "content-type": "application/json" } });
  }
  if (request.method === "GET" && parts.length === 3 && parts[1] === "slug") {
    const key = (await kv.get(["by_slug", parts[2]])).value;
    const post = key === null ? null : (await kv.get(["posts", key])).value;
    if (post === null) return new Response(`no post ${parts[2]}`, { status: 404 });
    return new Response(JSON.stringify([key, post]), { headers: { "content-type": "application/json" } });
  }
  return new Response("not found", { status: 404 });
}

Deno.serve({
  port,
  hostname: "127.0.0.1",
  onListen: ({ hostname, port }) => console.error(`listening on http://${hostname}:${port}`),
}, handle);
