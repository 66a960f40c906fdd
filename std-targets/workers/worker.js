// The Cloudflare Workers host of a Distlang service (`dlc ship --target
// workers`): the same HTTP conversation as the native executable
// (`vm/src/server/`, `vm/src/service/`), with the program's Wasm module
// (`compiler/wasm/`) running in one Durable Object whose SQLite storage
// holds the stores.
//
// - `fetch` and `scheduled` go to the object `PROGRAM` named "main"; it
//   runs one invocation at a time (a Durable Object is single-threaded), each
//   inside `ctx.storage.transactionSync`, so a runtime error rolls back every
//   write of its invocation and a response leaves only after its writes
//   committed. The heap is reset after each invocation, as native's region.
// - Each store is a table `key TEXT PRIMARY KEY, value TEXT` (values as
//   JSON); `_dl_schema` records each store's schema (`schema.js`, the same
//   text and compatibility rules as native's); each index is a table of its
//   own, recorded in `_dl_index` (`indexes.js`).
// - Secrets are Worker secrets (`env.NAME`; `.dev.vars` under `wrangler
//   dev`); a missing one answers every request with an error naming it.
//
// `program.js`, written by `dlc ship` beside this file, gives each cron's
// trigger in `wrangler.toml`.

import { DurableObject } from "cloudflare:workers";
import wasm from "./app.wasm";
import program from "./program.js";
import { portableImports } from "./portable.js";
import { parseTypes, schemaOf, schemaText, parseSchema, checkCompatible, refusal } from "./schema.js";
import { Indexes, IndexClash, TAG_STRING, indexSpec, valueText } from "./indexes.js";

const WORD = 8;
const MAX_BODY = 1 << 20;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder();

class RuntimeError extends Error {}

export default {
  async fetch(request, env) {
    return main(env).fetch(request);
  },
  async scheduled(event, env) {
    // A failed cron fails the scheduled event, as Cloudflare counts it.
    const failed = await main(env).runCrons(event.cron);
    if (failed.length) throw new Error(`cron ${failed.join(", ")} failed (rolled back)`);
  },
};

function main(env) {
  return env.PROGRAM.get(env.PROGRAM.idFromName("main"));
}

export class Program extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.started = null;
    this.output = { 1: "", 2: "" };
  }

  async fetch(request) {
    const started = Date.now();
    const url = new URL(request.url);
    const reply = await this.respond(request, url);
    for (const [name, value] of corsHeaders(this.cors ?? [], request.headers)) reply.headers.append(name, value);
    log(`${request.method} ${url.pathname} ${reply.status} ${(Date.now() - started).toFixed(1)}ms`);
    return reply;
  }

  async respond(request, url) {
    const refused = this.start();
    if (refused) return refused();
    const found = this.router.find(request.method, url.pathname);
    if (found.notFound) return textReply(404, "not found");
    if (found.allow && request.method === "OPTIONS" && this.cors.length > 0) return preflight(found.allow, request.headers);
    if (found.allow) {
      const reply = textReply(405, "method not allowed");
      reply.headers.set("allow", found.allow.join(", "));
      return reply;
    }
    const announced = Number(request.headers.get("content-length") ?? 0);
    if (announced > MAX_BODY) return textReply(413, "request body too large");
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.length > MAX_BODY) return textReply(413, "request body too large");
    let body;
    try {
      body = decoder.decode(bytes);
    } catch {
      return jsonReply(400, '{"error":"request body is not valid UTF-8"}');
    }
    const route = this.routes[found.route];
    const headers = [...request.headers];
    const query = parseQuery(url.search.slice(1));
    let reply;
    try {
      reply = this.invoke(() => {
        const req = this.object([this.str(request.method), this.str(url.pathname), this.str(body), this.pairs(headers), this.pairs(query)]);
        const params = this.list(found.params.map((p) => this.str(p)));
        return this.readResponse(this.code(route.code)(params, req));
      });
      return toResponse(reply, request.method === "HEAD");
    } catch (error) {
      const failure = reply ? `invalid reply: ${error.message}` : this.failure(error);
      return internalError(`${request.method} ${url.pathname}: ${this.redact(failure)}`);
    }
  }

  // Runs the crons whose trigger is `expression`, as native's scheduler
  // does: one transaction each, logged with its outcome. The names of those
  // that failed.
  async runCrons(expression) {
    const refused = this.start();
    if (refused) {
      refused();
      return ["(not started)"];
    }
    const failed = [];
    for (const [index, { trigger }] of program.crons.entries()) {
      if (trigger !== expression) continue;
      const { name, code } = this.crons[index];
      const started = Date.now();
      try {
        this.invoke(() => {
          this.code(code)();
        });
        log(`cron ${name} ok ${(Date.now() - started).toFixed(1)}ms`);
      } catch (error) {
        log(`cron ${name} failed (rolled back): ${this.redact(this.failure(error))}`);
        failed.push(name);
      }
    }
    return failed;
  }

  // Instantiates the module, reads its descriptor, checks secrets and store
  // schemas, and runs `main`, once: `null`, or what every request is
  // answered with until the object restarts (native refuses to start). A
  // refusal names its reason; a failure of `main` is an internal error.
  start() {
    if (this.started === null) {
      this.started = false;
      try {
        const refusal = this.boot();
        if (refusal) {
          log(`error: ${refusal}`);
          this.started = () => jsonReply(500, JSON.stringify({ error: refusal }));
        }
      } catch (error) {
        const failure = `the program did not start: ${this.redact(this.failure(error))}`;
        this.started = () => internalError(failure);
      }
    }
    return this.started || null;
  }

  boot() {
    this.rows = [];
    this.instance = new WebAssembly.Instance(wasm, { dl: this.imports() });
    const x = this.instance.exports;
    this.memory = x.memory;
    this.readDescriptor(x.descriptor.value);
    const missing = this.secretNames.find((name) => typeof this.env[name] !== "string");
    if (missing !== undefined) {
      return `missing secret ${missing}: set it with \`npx wrangler secret put ${missing}\` (under \`wrangler dev\`: a line ${missing}=… in .dev.vars)`;
    }
    this.secrets = this.secretNames.map((name) => this.env[name]);
    this.sql.exec("CREATE TABLE IF NOT EXISTS _dl_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const state = this.sql.exec("SELECT value FROM _dl_meta WHERE key = 'state'").toArray()[0];
    if (state) state.value.split(" ").forEach((w, i) => this.view().setBigInt64(x.state.value + WORD * i, BigInt(w), true));
    this.recordedState = this.stateWords().join(" ");
    const refused = this.openStores(x.type_table.value);
    if (refused) return refused;
    this.router = new Router(this.routes);
    if (this.main) this.invoke(() => void this.code(this.main)());
    return null;
  }

  readDescriptor(at) {
    const word = (i) => this.word(at + WORD * i);
    const [routes, crons, stores, secrets, tests] = [0, 1, 2, 3, 4].map(word);
    this.main = word(5);
    const [origins, indexes] = [word(6), word(7)];
    let i = 8;
    const take = (n, read) => Array.from({ length: n }, () => {
      const item = read(i);
      i += read.words;
      return item;
    });
    const text = (j) => this.text(word(j));
    const routeAt = Object.assign((j) => ({ method: text(j), path: text(j + 1), code: word(j + 2) }), { words: 4 });
    const cronAt = Object.assign((j) => ({ name: text(j), schedule: text(j + 1), code: word(j + 2) }), { words: 4 });
    const storeAt = Object.assign((j) => ({ name: text(j), type: word(j + 1) }), { words: 2 });
    const secretAt = Object.assign((j) => text(j), { words: 1 });
    const testAt = Object.assign(() => null, { words: 2 });
    const originAt = Object.assign((j) => text(j), { words: 1 });
    const indexAt = Object.assign((j) => ({ store: word(j), spec: indexSpec(text(j + 1), word(j + 3), word(j + 4)) }), { words: 5 });
    this.routes = take(routes, routeAt);
    this.crons = take(crons, cronAt);
    this.stores = take(stores, storeAt);
    this.secretNames = take(secrets, secretAt);
    take(tests, testAt);
    this.cors = take(origins, originAt);
    const declared = take(indexes, indexAt);
    for (const [s, store] of this.stores.entries()) {
      const specs = declared.filter((d) => d.store === s).map((d) => d.spec);
      store.indexes = new Indexes(this.sql, store.name, specs);
    }
  }

  // Creates the stores' tables and checks (or records) each store's schema;
  // an incompatible program is refused before anything is written.
  openStores(typeTable) {
    const types = parseTypes(this.memory, typeTable);
    this.sql.exec("CREATE TABLE IF NOT EXISTS _dl_schema (store TEXT PRIMARY KEY, schema TEXT NOT NULL)");
    const recorded = new Map(this.sql.exec("SELECT store, schema FROM _dl_schema").toArray().map((r) => [r.store, r.schema]));
    const wanted = [];
    for (const store of this.stores) {
      const text = schemaText(schemaOf(types, store.type));
      const old = recorded.get(store.name);
      if (old !== undefined && old !== text) {
        const difference = checkCompatible(parseSchema(old), types, store.type);
        if (difference !== null) return refusal(store.name, difference);
      }
      wanted.push([store.name, text]);
    }
    this.sql.exec("CREATE TABLE IF NOT EXISTS _dl_index (name TEXT PRIMARY KEY, spec TEXT NOT NULL)");
    const indexes = new Map(this.sql.exec("SELECT name, spec FROM _dl_index").toArray().map((r) => [r.name, r.spec]));
    try {
      this.ctx.storage.transactionSync(() => {
        for (const [name, text] of wanted) {
          this.sql.exec(`CREATE TABLE IF NOT EXISTS ${table(name)} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
          this.sql.exec("INSERT OR REPLACE INTO _dl_schema (store, schema) VALUES (?, ?)", name, text);
        }
        // Indexes no longer declared go; new or changed ones are built.
        const declared = new Set(this.stores.flatMap((s) => s.indexes.tables()));
        for (const name of indexes.keys()) {
          if (declared.has(name)) continue;
          this.sql.exec(`DROP TABLE IF EXISTS ${name}`);
          this.sql.exec("DELETE FROM _dl_index WHERE name = ?", name);
        }
        for (const store of this.stores) store.indexes.open(indexes, table(store.name));
      });
    } catch (error) {
      if (error instanceof IndexClash) return error.message;
      throw error;
    }
    return null;
  }

  // One invocation: `body` in a transaction, then the heap reset and its
  // output's last line out. The runtime's state words (`Id.new`'s clock,
  // which `insert`'s keys come from) are recorded in the same transaction,
  // so keys stay ordered across restarts, as native's.
  invoke(body) {
    try {
      return this.ctx.storage.transactionSync(() => {
        const result = body();
        const state = this.stateWords().join(" ");
        if (state !== this.recordedState) {
          this.sql.exec("INSERT OR REPLACE INTO _dl_meta (key, value) VALUES ('state', ?)", state);
          this.recordedState = state;
        }
        return result;
      });
    } catch (error) {
      this.recordedState = undefined;
      throw error;
    } finally {
      this.instance.exports.heap.value = this.instance.exports.heap_base.value;
      for (const fd of [1, 2]) if (this.output[fd]) this.write(fd, "\n");
    }
  }

  // A scan (`store_scan`, `store_index_scan`): the rows of `rows` (SQL:
  // a table or join `from`, its `key` and `value` columns, a condition
  // `where` on `?5`, given as `more`) whose key starts with `prefix`, after
  // `after` (a Str* or 0) in key order or `reverse`d, at most `limit` (-1:
  // all), kept for `store_row`. SQLite compares TEXT bytewise (UTF-8
  // order, as native's keys); both ends of the prefix bound the key's
  // range, so a page reads its rows whichever way it goes.
  scan(rows, prefix, after, limit, reverse, ...more) {
    const [beyond, order] = reverse ? ["<", "DESC"] : [">", "ASC"];
    const start = this.text(prefix);
    const { from, key, value, where } = rows;
    this.rows = this.sql
      .exec(
        `SELECT ${key} AS key, ${value} AS value FROM ${from} WHERE ${where} AND ${key} >= ?1 AND (?4 IS NULL OR ${key} < ?4)
         AND substr(${key}, 1, length(?1)) = ?1 AND (?2 IS NULL OR ${key} ${beyond} ?2) ORDER BY ${key} ${order} LIMIT ?3`,
        start,
        after === 0n ? null : this.text(after),
        Number(limit),
        prefixEnd(start),
        ...more,
      )
      .toArray();
    return BigInt(this.rows.length);
  }

  // The program's stdout and stderr, a console line per line.
  write(fd, text) {
    const lines = (this.output[fd] + text).split("\n");
    this.output[fd] = lines.pop();
    for (const line of lines) (fd === 2 ? console.error : console.log)(line);
  }

  stateWords() {
    const at = this.instance.exports.state.value;
    return [0, 1, 2, 3].map((i) => this.view().getBigInt64(at + WORD * i, true));
  }

  code(slot) {
    return this.instance.exports.table.get(Number(slot));
  }

  failure(error) {
    if (error instanceof RuntimeError) return error.message;
    if (error instanceof RangeError && /call stack/.test(error.message)) return "stack overflow";
    return `internal error in the Wasm module: ${error.message}`;
  }

  // A runtime error's message may quote text built from a secret: each is
  // found as it is and as a quotation escapes it (native's `redact`).
  redact(message) {
    (this.secrets ?? []).forEach((value, i) => {
      for (const form of quotedForms(value)) message = message.split(form).join(`[secret ${this.secretNames[i]}]`);
    });
    return message;
  }

  // ---- the module's memory (layouts: `dl_abi::layout`) ----

  view() {
    return new DataView(this.memory.buffer);
  }

  word(at) {
    return Number(this.view().getBigInt64(Number(at), true));
  }

  bytes(str) {
    const len = this.word(str);
    const ptr = this.word(Number(str) + WORD);
    return new Uint8Array(this.memory.buffer, ptr, len);
  }

  text(str) {
    return lossy.decode(this.bytes(str));
  }

  alloc(bytes) {
    return Number(this.instance.exports.alloc(BigInt(bytes)));
  }

  // A new `Str` holding `value`'s UTF-8 bytes.
  str(value) {
    const bytes = encoder.encode(value);
    const at = this.alloc(3 * WORD + bytes.length);
    const v = this.view();
    v.setBigInt64(at, BigInt(bytes.length), true);
    v.setBigInt64(at + WORD, BigInt(at + 3 * WORD), true);
    v.setBigInt64(at + 2 * WORD, 0n, true);
    new Uint8Array(this.memory.buffer, at + 3 * WORD, bytes.length).set(bytes);
    return BigInt(at);
  }

  // An object of the given words.
  object(words) {
    const at = this.alloc(WORD * words.length);
    const v = this.view();
    words.forEach((w, i) => v.setBigInt64(at + WORD * i, BigInt(w), true));
    return BigInt(at);
  }

  list(items) {
    const at = this.alloc(3 * WORD + WORD * items.length);
    const v = this.view();
    v.setBigInt64(at, BigInt(items.length), true);
    v.setBigInt64(at + WORD, BigInt(at + 3 * WORD), true);
    v.setBigInt64(at + 2 * WORD, 0n, true);
    items.forEach((w, i) => v.setBigInt64(at + 3 * WORD + WORD * i, w, true));
    return BigInt(at);
  }

  pairs(pairs) {
    return this.list(pairs.map(([k, v]) => this.object([this.str(k), this.str(v)])));
  }

  listItems(list) {
    const len = this.word(list);
    const items = this.word(Number(list) + WORD);
    return Array.from({ length: len }, (_, i) => this.word(items + WORD * i));
  }

  // The prelude's `Response { status, headers, body }`.
  readResponse(response) {
    const at = Number(response);
    const headers = this.listItems(this.word(at + WORD)).map((pair) => [this.text(this.word(pair)), this.text(this.word(pair + WORD))]);
    return { status: this.word(at), headers, body: this.bytes(this.word(at + 2 * WORD)).slice() };
  }

  // ---- the `dl` imports (`compiler/wasm/src/runtime.rs`, `Host`) ----

  imports() {
    const put = (at, bytes) => new Uint8Array(this.memory.buffer, Number(at), bytes.length).set(bytes);
    const storeTable = (s) => table(this.stores[Number(s)].name);
    return {
      write: (fd, s) => this.write(Number(fd), this.text(s)),
      throw: (message) => {
        throw new RuntimeError(this.text(message));
      },
      ...portableImports((s) => this.bytes(s), put),
      store_get: (s, key) => {
        const row = this.sql.exec(`SELECT value FROM ${storeTable(s)} WHERE key = ?`, this.text(key)).toArray()[0];
        return row ? this.str(row.value) : 0n;
      },
      store_put: (s, key, json) => {
        const [k, value] = [this.text(key), this.text(json)];
        this.sql.exec(`INSERT OR REPLACE INTO ${storeTable(s)} (key, value) VALUES (?, ?)`, k, value);
        const clash = this.stores[Number(s)].indexes.put(k, value);
        return clash === null ? 0n : this.str(clash);
      },
      store_delete: (s, key) => {
        const k = this.text(key);
        const cursor = this.sql.exec(`DELETE FROM ${storeTable(s)} WHERE key = ?`, k);
        cursor.toArray();
        if (cursor.rowsWritten === 0) return 0n;
        this.stores[Number(s)].indexes.put(k, null);
        return 1n;
      },
      store_count: (s) => BigInt(this.sql.exec(`SELECT count(*) AS n FROM ${storeTable(s)}`).one().n),
      store_scan: (s, prefix, after, limit, reverse) => {
        const rows = { from: storeTable(s), key: "key", value: "value", where: "TRUE" };
        return this.scan(rows, prefix, after, limit, reverse);
      },
      store_index_scan: (s, i, value, prefix, after, limit, reverse) => {
        const indexes = this.stores[Number(s)].indexes;
        const index = indexes.indexes[Number(i)];
        const text = valueText(index, index.key === TAG_STRING ? this.text(value) : value);
        return this.scan(indexes.entries(Number(i), storeTable(s)), prefix, after, limit, reverse, text);
      },
      store_row: (i, which) => {
        const row = this.rows[Number(i)];
        return this.str(Number(which) === 0 ? row.key : row.value);
      },
      secret_value: (i) => this.str(this.secrets[Number(i)] ?? ""),
    };
  }
}

// The smallest string above every string that starts with `prefix` (its
// last char that can grow grown, cut after it), or null: as native's
// `prefix_end` (vm/src/store/mod.rs). SQLite orders TEXT by its UTF-8 bytes,
// which is code point order.
function prefixEnd(prefix) {
  const chars = Array.from(prefix);
  while (chars.length > 0) {
    let next = chars.pop().codePointAt(0) + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return chars.join("") + String.fromCodePoint(next);
  }
  return null;
}

// A store's table (store names are identifiers).
function table(name) {
  return `"store_${name}"`;
}

function log(line) {
  console.log(line);
}

function textReply(status, text) {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function jsonReply(status, text) {
  return new Response(text, { status, headers: { "content-type": "application/json" } });
}

// A program's reply as sent, checked as native's server checks it.
function toResponse(reply, head) {
  if (!(reply.status >= 200 && reply.status <= 599)) throw new Error(`status ${reply.status} is not in 200-599`);
  // A 204 or 304 has no body, so nothing to give a type.
  const bodiless = reply.status === 204 || reply.status === 304;
  const headers = new Headers();
  for (const [name, value] of reply.headers) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
    if (/[\0-\x08\x0a-\x1f\x7f]/.test(value)) throw new Error(`invalid value for header '${name.toLowerCase()}': ${JSON.stringify(value)}`);
    if (["content-length", "transfer-encoding", "connection"].includes(name.toLowerCase())) continue;
    if (bodiless && name.toLowerCase() === "content-type") continue;
    headers.append(name, value);
  }
  const empty = head || bodiless;
  return new Response(empty ? null : reply.body, { status: reply.status, headers });
}

// The ways a log line can spell `value`: as it is, and inside a JSON string
// or a Distlang literal (`debug`'s syntax), longest first.
function quotedForms(value) {
  if (value === "") return [];
  const literal = [...value].map((c) => {
    const escaped = { "\n": "\\n", "\t": "\\t", '"': '\\"', "\\": "\\\\", "{": "\\{" }[c];
    if (escaped) return escaped;
    return /\p{Cc}/u.test(c) ? `\\u{${c.codePointAt(0).toString(16)}}` : c;
  }).join("");
  const forms = new Set([value, JSON.stringify(value).slice(1, -1), literal]);
  return [...forms].sort((a, b) => b.length - a.length);
}

// CORS, as native's `vm/src/server/cors.rs`: the headers every response
// gets when `cors` lists `origins` (`["*"]`: any), and the preflight answer
// on a path routes take (`allow`, their methods).
function corsHeaders(origins, headers) {
  if (origins.length === 0) return [];
  if (origins.includes("*")) return [["access-control-allow-origin", "*"]];
  const origin = headers.get("origin");
  return [["vary", "origin"], ...(origins.includes(origin) ? [["access-control-allow-origin", origin]] : [])];
}

function preflight(allow, headers) {
  const methods = allow.join(", ");
  const reply = new Response(null, { status: 204, headers: { allow: methods, "access-control-allow-methods": methods } });
  const asked = headers.get("access-control-request-headers");
  if (asked !== null) reply.headers.set("access-control-allow-headers", asked);
  reply.headers.set("access-control-max-age", "86400");
  return reply;
}

// Logs `failure` with a new error id; the 500 that names it.
function internalError(failure) {
  const id = [...crypto.getRandomValues(new Uint8Array(4))].map((b) => b.toString(16).padStart(2, "0")).join("");
  log(`error ${id}: ${failure}`);
  return jsonReply(500, `{"error":"internal error","id":"${id}"}`);
}

// ---- routing: `vm/src/server/router.rs`'s rules ----

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

class Router {
  constructor(routes) {
    this.root = node();
    routes.forEach((route, index) => {
      let at = this.root;
      let rest = false;
      for (const segment of route.path.split("/").filter((s) => s !== "")) {
        if (segment.startsWith("*")) rest = true;
        else if (segment.startsWith(":")) at = at.param ??= node();
        else at = at.statics.get(segment) ?? (at.statics.set(segment, node()), at.statics.get(segment));
      }
      (rest ? at.rest : at.end)[route.method] = index;
    });
  }

  // `{route, params}`, `{allow}` (405) or `{notFound}`.
  find(method, path) {
    const segments = path.split("/").filter((s) => s !== "").map((s) => percentDecode(s, false));
    const wanted = method === "HEAD" ? "GET" : method;
    if (METHODS.includes(wanted)) {
      const params = [];
      const route = search(this.root, segments, wanted, params);
      if (route !== undefined) return { route, params };
    }
    const allow = [];
    for (const m of METHODS) {
      if (search(this.root, segments, m, []) !== undefined) allow.push(...(m === "GET" ? ["GET", "HEAD"] : [m]));
    }
    return allow.length ? { allow: allow.sort() } : { notFound: true };
  }
}

function node() {
  return { statics: new Map(), param: null, end: {}, rest: {} };
}

// Static segments first, then a parameter, then `*rest`, backtracking.
function search(at, segments, method, params) {
  if (segments.length === 0) {
    if (at.end[method] !== undefined) return at.end[method];
    if (at.rest[method] !== undefined) {
      params.push("");
      return at.rest[method];
    }
    return undefined;
  }
  const [first, ...later] = segments;
  const child = at.statics.get(first);
  if (child) {
    const found = search(child, later, method, params);
    if (found !== undefined) return found;
  }
  if (at.param) {
    params.push(first);
    const found = search(at.param, later, method, params);
    if (found !== undefined) return found;
    params.pop();
  }
  if (at.rest[method] !== undefined) {
    params.push(segments.join("/"));
    return at.rest[method];
  }
  return undefined;
}

// A `%` not followed by two hex digits stays; bytes that are not UTF-8
// become U+FFFD.
function percentDecode(s, plusIsSpace) {
  if (!s.includes("%") && !(plusIsSpace && s.includes("+"))) return s;
  const bytes = encoder.encode(s);
  const out = [];
  const hex = (b) => (b >= 48 && b <= 57 ? b - 48 : b >= 97 && b <= 102 ? b - 87 : b >= 65 && b <= 70 ? b - 55 : -1);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 37 && i + 2 < bytes.length && hex(bytes[i + 1]) >= 0 && hex(bytes[i + 2]) >= 0) {
      out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
      i += 2;
    } else {
      out.push(plusIsSpace && bytes[i] === 43 ? 32 : bytes[i]);
    }
  }
  return lossy.decode(new Uint8Array(out));
}

function parseQuery(query) {
  return query.split("&").filter((p) => p !== "").map((p) => {
    const at = p.indexOf("=");
    const [k, v] = at < 0 ? [p, ""] : [p.slice(0, at), p.slice(at + 1)];
    return [percentDecode(k, true), percentDecode(v, true)];
  });
}
