// A store's schema on the Workers target: the program's type table read
// from Wasm memory, the schema of a store's value type and its text form,
// and the check of a recorded schema against the program's type.
//
// This mirrors vm/src/store/schema.rs (and the table reading of
// vm/src/types.rs, the refusal wording of vm/src/store/mod.rs): both
// targets record the same schema text and refuse the same programs with
// the same words, so a change there is a change here — keep them in step.
//
// What it leaves out: Rust's `Plan`. Rows are JSON on Workers, and JSON
// decoding already reads old rows as the new type (a new Option field is
// absent, hence None; variants go by name), so only the verdict is needed.
//
// A schema is `{nodes}`, node 0 the value type, numbered in the order a
// breadth-first walk from it first meets them. Its text, one node a line:
//
//   distlang-schema 1
//   0 record Todo title:1 done:2 tags:3 due:4
//   1 String
//   2 Bool
//   3 List 1
//   4 enum Option Some(5) None()
//   5 Int
//
// Type objects (from `parseTypes`) and schema nodes share their shapes:
//   {kind:"Int"} {kind:"Float"} {kind:"Bool"} {kind:"String"}
//   {kind:"List", elem} {kind:"Dict", value} {kind:"Tuple", items}  (no items: Unit)
//   {kind:"Record", name, fields:[[name, idx]…], defaulted:[bool…]}
//   {kind:"Enum", name, variants:[{name, fields:[idx…]}…]}  (+ `option` on types only)
//   {kind:"Func"}  (types only)
//
// Plain ES module, no dependencies, no Node APIs: it runs in workerd.

const HEADER = "distlang-schema 1";

const utf8 = new TextEncoder();
// Names in the table: `String::from_utf8_lossy` (U+FFFD for bad bytes).
const lossy = new TextDecoder("utf-8");
// Names in schema text: `String::from_utf8(..).ok()` (bad bytes refuse).
const strict = new TextDecoder("utf-8", { fatal: true });

// ---- the type table (vm/README.md "Type descriptors", `Types::parse`) ----

/// The program's type table at byte address `tableAddress` of `memory` (a
/// `WebAssembly.Memory`, an ArrayBuffer, or a typed array over one).
export function parseTypes(memory, tableAddress) {
  const view = dataView(memory);
  const base = Number(tableAddress);
  // Little-endian u32 words; offsets are word indices into the table.
  const word = (i) => view.getUint32(base + 4 * i, true);
  const count = word(0);
  const types = [];
  for (let i = 0; i < count; i++) {
    let at = word(1 + i);
    const next = () => word(at++);
    const times = (n, f) => Array.from({ length: n }, f);
    const readName = () => {
      const len = next();
      const bytes = new Uint8Array(Math.ceil(len / 4) * 4);
      const words = new DataView(bytes.buffer);
      for (let k = 0; k < bytes.length; k += 4) words.setUint32(k, next(), true);
      return lossy.decode(bytes.subarray(0, len));
    };
    let ty;
    switch (next()) {
      case 0: ty = { kind: "Int" }; break;
      case 1: ty = { kind: "Float" }; break;
      case 2: ty = { kind: "Bool" }; break;
      case 3: ty = { kind: "String" }; break;
      case 4: ty = { kind: "List", elem: next() }; break;
      case 5: ty = { kind: "Dict", value: next() }; break;
      case 6: ty = { kind: "Tuple", items: times(next(), () => next()) }; break;
      case 7: {
        const name = readName();
        const fields = times(next(), () => {
          const field = readName();
          return [field, next()];
        });
        fields.forEach(readName); // the JSON keys
        // Which fields have a default (its JSON text, not needed here).
        const defaulted = fields.map(() => readName() !== "");
        ty = { kind: "Record", name, fields, defaulted };
        break;
      }
      case 8: {
        const name = readName();
        const variants = times(next(), () => {
          const name = readName();
          return { name, fields: times(next(), () => next()) };
        });
        // The prelude's Option: JSON (and the compatibility check) treat it apart.
        const option =
          name === "Option" &&
          variants.length === 2 &&
          variants[0].name === "Some" &&
          variants[0].fields.length === 1 &&
          variants[1].name === "None" &&
          variants[1].fields.length === 0;
        ty = { kind: "Enum", name, variants, option };
        break;
      }
      // 9, and any tag Rust does not know (`TypeTag::from_word` is None).
      default: ty = { kind: "Func" };
    }
    types.push(ty);
  }
  return types;
}

function dataView(memory) {
  if (memory instanceof ArrayBuffer) return new DataView(memory);
  if (ArrayBuffer.isView(memory)) return new DataView(memory.buffer, memory.byteOffset, memory.byteLength);
  return new DataView(memory.buffer);
}

/// `Types::get`: Rust stops the program on a bad index; here it throws.
function get(types, idx) {
  const ty = types[idx];
  if (ty === undefined) throw new Error("internal error: invalid type index");
  return ty;
}

/// The type as a programmer writes it (`Types::name`): `List<Int>`,
/// `(Int, String)`, `Option<Todo>`; records and enums by name.
export function typeName(types, idx) {
  const ty = get(types, idx);
  switch (ty.kind) {
    case "Int": case "Float": case "Bool": case "String": return ty.kind;
    case "List": return `List<${typeName(types, ty.elem)}>`;
    case "Dict": return `Dict<${typeName(types, ty.value)}>`;
    case "Tuple":
      if (ty.items.length === 0) return "Unit";
      return `(${ty.items.map((t) => typeName(types, t)).join(", ")})`;
    case "Record": return ty.name;
    case "Enum":
      return ty.option ? `${ty.name}<${typeName(types, ty.variants[0].fields[0])}>` : ty.name;
    default: return "function";
  }
}

// ---- the schema of a type (`Schema::of_type`) ----

/// The schema of type `root`. Throws, as Rust returns `Err`, when the type
/// contains a function; the message is Rust's Err text, `types.name` of the
/// function type itself — always "function". Rust's caller
/// (`Stores::schemas` in vm/src/store/mod.rs) drops that text and reports
///   store NAME: its type ROOT contains a function, which cannot be stored
/// naming the store's whole value type: that is `refusal(name, unstorable(types, root))`.
export function schemaOf(types, root) {
  const index = new Map(); // type index -> node index
  const order = [];
  const visit = (ty) => {
    let n = index.get(ty);
    if (n === undefined) {
      n = order.length;
      index.set(ty, n);
      order.push(ty);
    }
    return n;
  };
  visit(root);
  const nodes = [];
  // `order` grows as the walk meets new types: breadth-first numbering.
  for (let next = 0; next < order.length; next++) {
    const idx = order[next];
    const ty = get(types, idx);
    let node;
    switch (ty.kind) {
      case "Int": case "Float": case "Bool": case "String": node = { kind: ty.kind }; break;
      case "List": node = { kind: "List", elem: visit(ty.elem) }; break;
      case "Dict": node = { kind: "Dict", value: visit(ty.value) }; break;
      case "Tuple": node = { kind: "Tuple", items: ty.items.map(visit) }; break;
      case "Record":
        node = { kind: "Record", name: ty.name, fields: ty.fields.map(([f, t]) => [f, visit(t)]) };
        break;
      case "Enum":
        node = {
          kind: "Enum",
          name: ty.name,
          variants: ty.variants.map((v) => ({ name: v.name, fields: v.fields.map(visit) })),
        };
        break;
      default: throw new Error(typeName(types, idx));
    }
    nodes.push(node);
  }
  return { nodes };
}

/// What native says of a store whose type `root` contains a function (to
/// pass to `refusal`).
export function unstorable(types, root) {
  return `its type ${typeName(types, root)} contains a function, which cannot be stored`;
}

// ---- the text form (`Schema::to_text`, `Schema::parse`) ----

/// The text form, exactly as Rust writes it (what the store records).
export function schemaText(schema) {
  let out = HEADER + "\n";
  schema.nodes.forEach((node, i) => {
    out += `${i} `;
    switch (node.kind) {
      case "Int": case "Float": case "Bool": case "String": out += node.kind; break;
      case "List": out += `List ${node.elem}`; break;
      case "Dict": out += `Dict ${node.value}`; break;
      case "Tuple": out += "Tuple" + node.items.map((t) => ` ${t}`).join(""); break;
      case "Record":
        out += "record " + escapeName(node.name);
        for (const [f, t] of node.fields) out += ` ${escapeName(f)}:${t}`;
        break;
      case "Enum":
        out += "enum " + escapeName(node.name);
        for (const v of node.variants) out += ` ${escapeName(v.name)}(${v.fields.join(",")})`;
        break;
      default: throw new Error(`internal error: no schema node kind ${node.kind}`);
    }
    out += "\n";
  });
  return out;
}

/// Parses the text form; throws an Error whose message is Rust's Err text.
export function parseSchema(text) {
  const lines = rustLines(text);
  if (lines[0] !== HEADER) throw new Error(`not a schema (expected the line \`${HEADER}\`)`);
  const nodes = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const line = lines[i + 1];
    const bad = () => new Error(`bad schema line ${i + 2}: ${rustDebug(line)}`);
    const words = line.split(" ");
    let w = 0;
    const word = () => {
      if (w >= words.length) throw bad();
      return words[w++];
    };
    const index = (s) => {
      const n = parseUnsigned(s, 0xffffffffn);
      if (n === null) throw bad();
      return Number(n);
    };
    const name = (s) => {
      const n = readName(s);
      if (n === null) throw bad();
      return n;
    };
    if (w >= words.length || parseUnsigned(words[w++], 0xffffffffffffffffn) !== BigInt(i)) throw bad();
    let node;
    switch (w < words.length ? words[w++] : undefined) {
      case "Int": case "Float": case "Bool": case "String": node = { kind: words[w - 1] }; break;
      case "List": node = { kind: "List", elem: index(word()) }; break;
      case "Dict": node = { kind: "Dict", value: index(word()) }; break;
      case "Tuple": node = { kind: "Tuple", items: words.splice(w).map(index) }; break;
      case "record": {
        const recordName = name(word());
        const fields = words.splice(w).map((s) => {
          const colon = s.indexOf(":");
          if (colon < 0) throw bad();
          return [name(s.slice(0, colon)), index(s.slice(colon + 1))];
        });
        node = { kind: "Record", name: recordName, fields };
        break;
      }
      case "enum": {
        const enumName = name(word());
        const variants = words.splice(w).map((s) => {
          const paren = s.indexOf("(");
          if (paren < 0 || !s.endsWith(")") || s.length < paren + 2) throw bad();
          const payload = s.slice(paren + 1, -1);
          const fields = payload === "" ? [] : payload.split(",").map(index);
          return { name: name(s.slice(0, paren)), fields };
        });
        node = { kind: "Enum", name: enumName, variants };
        break;
      }
      default: throw bad();
    }
    if (w < words.length) throw bad();
    nodes.push(node);
  }
  const count = nodes.length;
  const ok = (t) => t < count;
  const refsOk = nodes.every((n) => {
    switch (n.kind) {
      case "List": return ok(n.elem);
      case "Dict": return ok(n.value);
      case "Tuple": return n.items.every(ok);
      case "Record": return n.fields.every(([, t]) => ok(t));
      case "Enum": return n.variants.every((v) => v.fields.every(ok));
      default: return true;
    }
  });
  if (count === 0 || !refsOk) throw new Error("bad schema: a type refers to a missing node");
  return { nodes };
}

/// Node `n` as a programmer writes the type (`Schema::name`); the depth
/// bound keeps a cyclic parsed schema (`0 List 0`) from looping.
function nodeName(schema, n, depth = 0) {
  if (depth > 16) return "…";
  const node = schema.nodes[n];
  const inner = (t) => nodeName(schema, t, depth + 1);
  switch (node.kind) {
    case "Int": case "Float": case "Bool": case "String": return node.kind;
    case "List": return `List<${inner(node.elem)}>`;
    case "Dict": return `Dict<${inner(node.value)}>`;
    case "Tuple": return node.items.length === 0 ? "Unit" : `(${node.items.map(inner).join(", ")})`;
    case "Record": return node.name;
    case "Enum": {
      const payload = optionPayload(node);
      return payload === null ? node.name : `${node.name}<${inner(payload)}>`;
    }
    default: throw new Error(`internal error: no schema node kind ${node.kind}`);
  }
}

/// The payload node of a recorded prelude `Option`, else null.
function optionPayload(node) {
  const [some, none] = node.variants;
  const is =
    node.name === "Option" &&
    node.variants.length === 2 &&
    some.name === "Some" &&
    none.name === "None" &&
    some.fields.length === 1 &&
    none.fields.length === 0;
  return is ? some.fields[0] : null;
}

const isWordByte = (b) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f;
const isHexByte = (b) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/// Every UTF-8 byte outside `[A-Za-z0-9_]` as `%XX` (`push_name`).
function escapeName(name) {
  let out = "";
  for (const b of utf8.encode(name)) {
    out += isWordByte(b) ? String.fromCharCode(b) : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/// `read_name`: the name a word spells, or null.
function readName(word) {
  const bytes = utf8.encode(word);
  const out = [];
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if (b === 0x25) {
      // `u8::from_str_radix(&word[i+1..i+3], 16)`, which also takes `+F`.
      if (i + 3 > bytes.length) return null;
      const [x, y] = [bytes[i + 1], bytes[i + 2]];
      if (!((isHexByte(x) || x === 0x2b) && isHexByte(y))) return null;
      out.push(parseInt(String.fromCharCode(x, y), 16));
      i += 3;
    } else if (isWordByte(b)) {
      out.push(b);
      i += 1;
    } else {
      return null;
    }
  }
  if (out.length === 0) return null;
  try {
    return strict.decode(new Uint8Array(out));
  } catch {
    return null;
  }
}

/// Rust's `str::parse` of an unsigned integer (digits, an optional `+`)
/// at most `max`, as a BigInt; else null.
function parseUnsigned(s, max) {
  if (!/^\+?[0-9]+$/.test(s)) return null;
  const n = BigInt(s.replace(/^\+/, ""));
  return n <= max ? n : null;
}

/// Rust's `str::lines`: split after each `\n`, drop it and a `\r` before
/// it; no last empty line for a final `\n`.
function rustLines(text) {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l, i) => (i < lines.length - 1 || text.endsWith("\n")) && l.endsWith("\r") ? l.slice(0, -1) : l);
}

// Characters Rust's `{:?}` writes as `\u{…}`: not printable (Unicode
// categories C* and Z* but space) or grapheme-extending.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}\p{Grapheme_Extend}]/u;

/// A string as Rust's `{:?}` writes it (the messages quote schema lines so).
function rustDebug(s) {
  let out = '"';
  for (const c of s) {
    switch (c) {
      case "\0": out += "\\0"; break;
      case "\t": out += "\\t"; break;
      case "\r": out += "\\r"; break;
      case "\n": out += "\\n"; break;
      case "\\": out += "\\\\"; break;
      case '"': out += '\\"'; break;
      default:
        out += c !== " " && UNPRINTABLE.test(c) ? `\\u{${c.codePointAt(0).toString(16)}}` : c;
    }
  }
  return out + '"';
}

// ---- compatibility (`schema::plan`, its `Checker` and `Diff`) ----

/// A difference found: where (`tags[]`, `meta.created`, `shape.Rect.1`;
/// "" for the value type) and what.
class Diff {
  constructor(path, kind, detail = {}) {
    this.path = path;
    this.kind = kind;
    Object.assign(this, detail);
  }

  /// `Diff::message`.
  message() {
    const at = (what) => (this.path === "" ? what : `${what} \`${this.path}\``);
    const where = this.path === "" ? "" : ` (at \`${this.path}\`)`;
    switch (this.kind) {
      case "Retyped":
        if (this.path === "") return `the value type was ${this.was}, is now ${this.now}`;
        return `${at("field")} was ${this.was}, is now ${this.now}`;
      case "FieldRemoved":
        return `${at("field")} was removed`;
      case "FieldNotOption":
        return `${at("field")} is new and of type ${this.ty}, which is not an Option and has no default (the stored values have no value for it)`;
      case "VariantRemoved":
        return `variant \`${this.variant}\` of ${this.enumName} was removed${where}`;
      case "VariantArity": {
        const fields = (n) => (n === 1 ? "1 field" : `${n} fields`);
        return `variant \`${this.variant}\` of ${this.enumName} had ${fields(this.was)}, now has ${fields(this.now)}${where}`;
      }
      default: throw new Error(`internal error: no difference kind ${this.kind}`);
    }
  }
}

const join = (path, segment) => (path === "" ? segment : `${path}.${segment}`);

/// Whether rows written under `recorded` (a schema, or its text) can be
/// read as values of the program's type `root`: null if so, else Rust's
/// message for the first difference, found in Rust's order. Text that does
/// not parse throws as `parseSchema` does.
export function checkCompatible(recorded, types, root) {
  const old = typeof recorded === "string" ? parseSchema(recorded) : recorded;
  // Pairs checked or being checked: a pair met again is taken as fine,
  // which is what lets recursive types end (Rust's `memo`).
  const seen = new Set();

  const retyped = (path, node, ty) =>
    new Diff(path, "Retyped", { was: nodeName(old, node), now: typeName(types, ty) });

  // A part that is not a user record or enum (list elements, tuple items,
  // an Option's payload): a type change there is reported as a change of
  // the enclosing type at `path`.
  const inner = (path, innerPath, atNode, atTy, node, ty) => {
    try {
      check(innerPath, node, ty);
    } catch (e) {
      if (e instanceof Diff && e.kind === "Retyped" && e.path === innerPath) throw retyped(path, atNode, atTy);
      throw e;
    }
  };

  const check = (path, node, ty) => {
    const key = `${node},${ty}`;
    if (seen.has(key)) return;
    seen.add(key);
    const was = old.nodes[node];
    const now = get(types, ty);
    const same = was.kind === now.kind;
    if (same && (was.kind === "Int" || was.kind === "Float" || was.kind === "Bool" || was.kind === "String")) return;
    if (same && was.kind === "List") return inner(path, `${path}[]`, node, ty, was.elem, now.elem);
    if (same && was.kind === "Dict") return inner(path, `${path}{}`, node, ty, was.value, now.value);
    if (same && was.kind === "Tuple" && was.items.length === now.items.length) {
      was.items.forEach((x, i) => inner(path, join(path, String(i)), node, ty, x, now.items[i]));
      return;
    }
    if (same && was.kind === "Record") {
      // The recorded fields in their order, then the program's new ones.
      for (const [name, t] of was.fields) {
        const fieldPath = join(path, name);
        const slot = now.fields.findIndex(([f]) => f === name);
        if (slot < 0) throw new Diff(fieldPath, "FieldRemoved");
        check(fieldPath, t, now.fields[slot][1]);
      }
      for (const [i, [name, t]] of now.fields.entries()) {
        if (was.fields.some(([f]) => f === name)) continue;
        const fieldTy = get(types, t);
        if (!now.defaulted[i] && !(fieldTy.kind === "Enum" && fieldTy.option)) {
          throw new Diff(join(path, name), "FieldNotOption", { ty: typeName(types, t) });
        }
      }
      return;
    }
    if (same && was.kind === "Enum") {
      // Only a recorded Option read as the program's Option is "inner".
      const isOption = now.option && optionPayload(was) !== null;
      for (const { name: vname, fields: payload } of was.variants) {
        const tag = now.variants.findIndex((v) => v.name === vname);
        if (tag < 0) throw new Diff(path, "VariantRemoved", { enumName: was.name, variant: vname });
        const newPayload = now.variants[tag].fields;
        if (newPayload.length !== payload.length) {
          throw new Diff(path, "VariantArity", {
            enumName: was.name,
            variant: vname,
            was: payload.length,
            now: newPayload.length,
          });
        }
        payload.forEach((x, i) => {
          if (isOption) inner(path, path, node, ty, x, newPayload[i]);
          else check(join(path, `${vname}.${i}`), x, newPayload[i]);
        });
      }
      return;
    }
    throw retyped(path, node, ty);
  };

  try {
    check("", 0, root);
  } catch (e) {
    if (e instanceof Diff) return e.message();
    throw e;
  }
  return null;
}

// ---- what the user is told (vm/src/store/mod.rs, `check` and `Stores::schemas`) ----

/// The refusal of a program over store `storeName`, as native words it:
///   store todos: field `done` was removed
/// `message` is `checkCompatible`'s, or `unstorable(types, root)`. Native
/// checks every recorded version, latest first, and stops at the first
/// that fails; for an older one (`olderVersion`, its number) it adds
///   … (for the values written under schema version N)
/// Native's process prints this as `error: FILE: <refusal>` (FILE the store
/// file's path; no prefix for an in-memory store), with no hint after it.
export function refusal(storeName, message, olderVersion) {
  const tail = olderVersion === undefined ? "" : ` (for the values written under schema version ${olderVersion})`;
  return `store ${storeName}: ${message}${tail}`;
}
