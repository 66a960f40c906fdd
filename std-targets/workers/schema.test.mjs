// Tests of schema.js against what the Rust side says: the expected texts
// and messages are quoted from vm/src/store/tests.rs (and types.rs) where
// Rust asserts them; the others are marked as read off schema.rs.
//
//   node --test std-targets/workers/schema.test.mjs

import test from "node:test";
import assert from "node:assert/strict";

import {
  parseTypes,
  schemaOf,
  schemaText,
  parseSchema,
  checkCompatible,
  refusal,
  typeName,
  unstorable,
} from "./schema.js";

// ---- tables in vm/README.md's format (Rust's `types::build::Table`) ----

function pushName(out, name) {
  const bytes = new TextEncoder().encode(name);
  out.push(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    const chunk = [0, 0, 0, 0];
    bytes.slice(i, i + 4).forEach((b, k) => (chunk[k] = b));
    out.push((chunk[0] | (chunk[1] << 8) | (chunk[2] << 16) | (chunk[3] << 24)) >>> 0);
  }
}

class Table {
  entries = [];
  add(entry) {
    this.entries.push(entry);
    return this.entries.length - 1;
  }
  reserve() {
    return this.add([]);
  }
  set(idx, entry) {
    this.entries[idx] = entry;
  }
  int() { return this.add([0]); }
  float() { return this.add([1]); }
  bool() { return this.add([2]); }
  string() { return this.add([3]); }
  list(elem) { return this.add([4, elem]); }
  dict(value) { return this.add([5, value]); }
  tuple(items) { return this.add([6, items.length, ...items]); }
  func() { return this.add([9]); }
  static recordEntry(name, fields) {
    const e = [7];
    pushName(e, name);
    e.push(fields.length);
    for (const [field, ty] of fields) {
      pushName(e, field);
      e.push(ty);
    }
    // Each field's JSON key, then its default's JSON text ("": none).
    for (const [field] of fields) pushName(e, field);
    for (const [, , byDefault = ""] of fields) pushName(e, byDefault);
    return e;
  }
  record(name, fields) { return this.add(Table.recordEntry(name, fields)); }
  static enumEntry(name, variants) {
    const e = [8];
    pushName(e, name);
    e.push(variants.length);
    for (const [variant, fields] of variants) {
      pushName(e, variant);
      e.push(fields.length, ...fields);
    }
    return e;
  }
  enumeration(name, variants) { return this.add(Table.enumEntry(name, variants)); }
  option(t) { return this.enumeration("Option", [["Some", [t]], ["None", []]]); }

  /// count, offsets (word indices into the table), entries.
  encode() {
    const table = [this.entries.length];
    let offset = 1 + this.entries.length;
    for (const entry of this.entries) {
      table.push(offset);
      offset += entry.length;
    }
    for (const entry of this.entries) table.push(...entry);
    return Uint32Array.from(table);
  }

  /// Parsed from a Uint32Array-backed buffer at address 0.
  types() {
    return parseTypes(this.encode().buffer, 0);
  }
}

// ---- the program of vm/src/store/tests.rs (`program()`) ----

function program() {
  const t = new Table();
  const int = t.int();
  const float = t.float();
  const string = t.string();
  const boolean = t.bool();
  const unit = t.tuple([]);
  const tags = t.list(string);
  const optInt = t.option(int);
  const todo = t.record("Todo", [["title", string], ["done", boolean], ["tags", tags], ["due", optInt]]);
  const shape = t.enumeration("Shape", [["Circle", [float]], ["Rect", [float, float]], ["Dot", []]]);
  const optOpt = t.option(optInt);
  const optUnit = t.option(unit);
  const listInt = t.list(int);
  const dict = t.dict(listInt);
  const pair = t.tuple([int, string]);
  const tree = t.reserve();
  t.set(tree, Table.enumEntry("Tree", [["Leaf", []], ["Node", [tree, int, tree]]]));
  const listTodo = t.list(todo);
  const entry = t.tuple([string, todo]);
  const entriesTodo = t.list(entry);
  return { types: t.types(), int, todo, shape, optOpt, optUnit, float, dict, pair, tree, listTodo, entriesTodo };
}

// ---- the type table ----

test("parses every kind and names types (types.rs parses_every_kind_and_names_types)", () => {
  const t = new Table();
  const int = t.int();
  const string = t.string();
  const list = t.list(int);
  const pair = t.tuple([int, string]);
  const unit = t.tuple([]);
  const opt = t.option(int);
  const point = t.record("Point", [["x", int], ["y", int]]);
  const f = t.func();
  const dict = t.dict(list);
  const types = t.types();
  assert.equal(typeName(types, list), "List<Int>");
  assert.equal(typeName(types, pair), "(Int, String)");
  assert.equal(typeName(types, unit), "Unit");
  assert.equal(typeName(types, opt), "Option<Int>");
  assert.equal(typeName(types, point), "Point");
  assert.equal(typeName(types, dict), "Dict<List<Int>>");
  assert.equal(typeName(types, f), "function");
  assert.deepEqual(types[point], { kind: "Record", name: "Point", fields: [["x", int], ["y", int]], defaulted: [false, false] });
  assert.deepEqual(types[opt], {
    kind: "Enum",
    name: "Option",
    variants: [{ name: "Some", fields: [int] }, { name: "None", fields: [] }],
    option: true,
  });
  assert.deepEqual(types[list], { kind: "List", elem: int });
  assert.deepEqual(types[dict], { kind: "Dict", value: list });
  assert.deepEqual(types[pair], { kind: "Tuple", items: [int, string] });
  assert.deepEqual(types[f], { kind: "Func" });
});

test("the option flag needs exactly Option { Some(T), None }", () => {
  const t = new Table();
  const int = t.int();
  const swapped = t.enumeration("Option", [["None", []], ["Some", [int]]]);
  const wide = t.enumeration("Option", [["Some", [int, int]], ["None", []]]);
  const other = t.enumeration("Maybe", [["Some", [int]], ["None", []]]);
  const real = t.option(int);
  const types = t.types();
  assert.equal(types[swapped].option, false);
  assert.equal(types[wide].option, false);
  assert.equal(types[other].option, false);
  assert.equal(types[real].option, true);
  assert.equal(typeName(types, swapped), "Option");
});

test("reads the table at an address in WebAssembly memory, unaligned and with long names", () => {
  const t = new Table();
  const int = t.int();
  const rec = t.record("AVeryLongRecordName", [["é ü", int], ["abcd", int]]);
  const words = t.encode();
  const memory = new WebAssembly.Memory({ initial: 1 });
  const address = 1001; // Rust reads unaligned words
  new Uint8Array(memory.buffer).set(new Uint8Array(words.buffer), address);
  const types = parseTypes(memory, address);
  assert.equal(types.length, 2);
  assert.deepEqual(types[rec], { kind: "Record", name: "AVeryLongRecordName", fields: [["é ü", 0], ["abcd", 0]], defaulted: [false, false] });
  // An unknown tag is a function, as `TypeTag::from_word` gives None.
  const odd = new Table();
  odd.add([42]);
  assert.deepEqual(odd.types(), [{ kind: "Func" }]);
});

// ---- schema text ----

test("schema text is Rust's (tests.rs schema_text_round_trips)", () => {
  const p = program();
  for (const ty of [p.todo, p.shape, p.optOpt, p.dict, p.pair, p.tree, p.entriesTodo]) {
    const schema = schemaOf(p.types, ty);
    const text = schemaText(schema);
    assert.deepEqual(parseSchema(text), schema, text);
    assert.equal(schemaText(parseSchema(text)), text);
  }
  assert.equal(
    schemaText(schemaOf(p.types, p.todo)),
    "distlang-schema 1\n0 record Todo title:1 done:2 tags:3 due:4\n1 String\n2 Bool\n3 List 1\n4 enum Option Some(5) None()\n5 Int\n",
  );
  assert.equal(schemaText(schemaOf(p.types, p.tree)), "distlang-schema 1\n0 enum Tree Leaf() Node(0,1,0)\n1 Int\n");

  const t = new Table();
  const unit = t.tuple([]);
  const odd = t.record("A b%", [["é", unit]]);
  const types = t.types();
  const schema = schemaOf(types, odd);
  assert.equal(schemaText(schema), "distlang-schema 1\n0 record A%20b%25 %C3%A9:1\n1 Tuple\n");
  assert.deepEqual(parseSchema(schemaText(schema)), schema);
});

test("the other node kinds (read off schema.rs)", () => {
  const p = program();
  assert.equal(
    schemaText(schemaOf(p.types, p.shape)),
    "distlang-schema 1\n0 enum Shape Circle(1) Rect(1,1) Dot()\n1 Float\n",
  );
  assert.equal(schemaText(schemaOf(p.types, p.dict)), "distlang-schema 1\n0 Dict 1\n1 List 2\n2 Int\n");
  assert.equal(schemaText(schemaOf(p.types, p.pair)), "distlang-schema 1\n0 Tuple 1 2\n1 Int\n2 String\n");
  assert.equal(
    schemaText(schemaOf(p.types, p.optOpt)),
    "distlang-schema 1\n0 enum Option Some(1) None()\n1 enum Option Some(2) None()\n2 Int\n",
  );
  assert.equal(
    schemaText(schemaOf(p.types, p.entriesTodo)),
    "distlang-schema 1\n0 List 1\n1 Tuple 2 3\n2 String\n3 record Todo title:2 done:4 tags:5 due:6\n4 Bool\n5 List 2\n6 enum Option Some(7) None()\n7 Int\n",
  );
});

test("bad schema text is refused with Rust's words", () => {
  // The inputs are tests.rs's; the messages are read off Schema::parse.
  const refused = (text) => {
    try {
      parseSchema(text);
    } catch (e) {
      return e.message;
    }
    assert.fail(`parsed: ${JSON.stringify(text)}`);
  };
  assert.equal(refused(""), "not a schema (expected the line `distlang-schema 1`)");
  assert.equal(refused("distlang-schema 2\n0 Int\n"), "not a schema (expected the line `distlang-schema 1`)");
  assert.equal(refused("distlang-schema 1\n"), "bad schema: a type refers to a missing node");
  assert.equal(refused("distlang-schema 1\n0 List 1\n"), "bad schema: a type refers to a missing node");
  assert.equal(refused("distlang-schema 1\n1 Int\n"), 'bad schema line 2: "1 Int"');
  assert.equal(refused("distlang-schema 1\n0 Int\n1 List 0 0\n"), 'bad schema line 3: "1 List 0 0"');
  assert.equal(refused("distlang-schema 1\n0 record A b\n"), 'bad schema line 2: "0 record A b"');
  assert.equal(refused("distlang-schema 1\n0 enum E A(\n"), 'bad schema line 2: "0 enum E A("');
  assert.equal(refused("distlang-schema 1\n0 record A%2 x:0\n"), 'bad schema line 2: "0 record A%2 x:0"');
  assert.equal(refused("distlang-schema 1\n0 Tuple \n"), 'bad schema line 2: "0 Tuple "');
  assert.equal(refused('distlang-schema 1\n0 Int\t"\\\u0301\u200b\n'), 'bad schema line 2: "0 Int\\t\\"\\\\\\u{301}\\u{200b}"');
  // Rust's `lines` drops the `\r` of `\r\n`; its integers take a `+`.
  assert.deepEqual(parseSchema("distlang-schema 1\r\n+0 List +1\r\n1 Int"), {
    nodes: [{ kind: "List", elem: 1 }, { kind: "Int" }],
  });
  // Names: a `%XX` of invalid UTF-8 is refused, escapes of word bytes read.
  assert.equal(refused("distlang-schema 1\n0 record %FF\n"), 'bad schema line 2: "0 record %FF"');
  assert.deepEqual(parseSchema("distlang-schema 1\n0 record %41b\n"), {
    nodes: [{ kind: "Record", name: "Ab", fields: [] }],
  });
});

test("a type with a function has no schema (tests.rs a_type_with_a_function_cannot_be_stored)", () => {
  const t = new Table();
  const f = t.func();
  const record = t.record("Handler", [["run", f]]);
  const types = t.types();
  // Rust's `Err` is the function type's name; its caller names the whole type.
  assert.throws(() => schemaOf(types, record), { message: "function" });
  assert.equal(
    refusal("handlers", unstorable(types, record)),
    "store handlers: its type Handler contains a function, which cannot be stored",
  );
});

// ---- compatibility: tests.rs's version 1 and its successors ----

/// `v1()`: `Todo { title, done }` and `Shape = Circle(Float) | Dot`, as
/// recorded texts.
function v1() {
  const t = new Table();
  const string = t.string();
  const boolean = t.bool();
  const float = t.float();
  const todo = t.record("Todo", [["title", string], ["done", boolean]]);
  const shape = t.enumeration("Shape", [["Circle", [float]], ["Dot", []]]);
  const types = t.types();
  return { todos: schemaText(schemaOf(types, todo)), shapes: schemaText(schemaOf(types, shape)) };
}

/// What native says opening the v1 file with the program `make` builds:
/// the first store refused, or null.
function opened(make) {
  const recorded = v1();
  const t = new Table();
  const [todo, shape] = make(t);
  const types = t.types();
  for (const [name, ty] of [["todos", todo], ["shapes", shape]]) {
    const message = checkCompatible(parseSchema(recorded[name]), types, ty);
    if (message !== null) return refusal(name, message);
  }
  return null;
}

const v1Shape = (t) => {
  const float = t.float();
  return t.enumeration("Shape", [["Circle", [float]], ["Dot", []]]);
};

test("the v1 texts", () => {
  assert.deepEqual(v1(), {
    todos: "distlang-schema 1\n0 record Todo title:1 done:2\n1 String\n2 Bool\n",
    shapes: "distlang-schema 1\n0 enum Shape Circle(1) Dot()\n1 Float\n",
  });
});

test("a retyped field", () => {
  const message = opened((t) => {
    const string = t.string();
    return [t.record("Todo", [["title", string], ["done", string]]), v1Shape(t)];
  });
  assert.equal(message, "store todos: field `done` was Bool, is now String");
});

test("a removed field", () => {
  const message = opened((t) => {
    const string = t.string();
    return [t.record("Todo", [["title", string]]), v1Shape(t)];
  });
  assert.equal(message, "store todos: field `done` was removed");
});

test("a new field that is not an Option", () => {
  const message = opened((t) => {
    const string = t.string();
    const boolean = t.bool();
    const int = t.int();
    return [t.record("Todo", [["title", string], ["done", boolean], ["rank", int]]), v1Shape(t)];
  });
  assert.equal(
    message,
    "store todos: field `rank` is new and of type Int, which is not an Option and has no default (the stored values have no value for it)",
  );
});

test("a new field with a default", () => {
  const message = opened((t) => {
    const string = t.string();
    const boolean = t.bool();
    const int = t.int();
    return [t.record("Todo", [["title", string], ["done", boolean], ["rank", int, "0"]]), v1Shape(t)];
  });
  assert.equal(message, null);
});

test("a removed variant", () => {
  const message = opened((t) => {
    const string = t.string();
    const boolean = t.bool();
    const float = t.float();
    return [t.record("Todo", [["title", string], ["done", boolean]]), t.enumeration("Shape", [["Circle", [float]]])];
  });
  assert.equal(message, "store shapes: variant `Dot` of Shape was removed");
});

test("a changed payload", () => {
  let message = opened((t) => {
    const string = t.string();
    const boolean = t.bool();
    const float = t.float();
    const todo = t.record("Todo", [["title", string], ["done", boolean]]);
    return [todo, t.enumeration("Shape", [["Circle", [float, float]], ["Dot", []]])];
  });
  assert.equal(message, "store shapes: variant `Circle` of Shape had 1 field, now has 2 fields");
  message = opened((t) => {
    const string = t.string();
    const boolean = t.bool();
    const int = t.int();
    const todo = t.record("Todo", [["title", string], ["done", boolean]]);
    return [todo, t.enumeration("Shape", [["Circle", [int]], ["Dot", []]])];
  });
  assert.equal(message, "store shapes: field `Circle.0` was Float, is now Int");
});

test("a changed value type", () => {
  const message = opened((t) => [t.int(), v1Shape(t)]);
  assert.equal(message, "store todos: the value type was Todo, is now Int");
});

test("a new Option field, a new variant, reordered fields and renamed types are accepted", () => {
  assert.equal(
    opened((t) => {
      const string = t.string();
      const boolean = t.bool();
      const float = t.float();
      const int = t.int();
      const optInt = t.option(int);
      const todo = t.record("Todo", [["due", optInt], ["done", boolean], ["title", string]]);
      const shape = t.enumeration("Shape", [["Square", [float]], ["Circle", [float]], ["Dot", []]]);
      return [todo, shape];
    }),
    null,
  );
  assert.equal(
    opened((t) => {
      const string = t.string();
      const boolean = t.bool();
      const float = t.float();
      const task = t.record("Task", [["title", string], ["done", boolean]]);
      const form = t.enumeration("Form", [["Circle", [float]], ["Dot", []]]);
      return [task, form];
    }),
    null,
  );
});

test("going back: to version 1, `due` was removed", () => {
  const t = new Table();
  const string = t.string();
  const boolean = t.bool();
  const int = t.int();
  const optInt = t.option(int);
  const v2 = t.record("Todo", [["due", optInt], ["done", boolean], ["title", string]]);
  const recorded = schemaText(schemaOf(t.types(), v2));
  const back = new Table();
  const s = back.string();
  const b = back.bool();
  const todo = back.record("Todo", [["title", s], ["done", b]]);
  assert.equal(refusal("todos", checkCompatible(recorded, back.types(), todo)), "store todos: field `due` was removed");
  // Native's wording when an older recorded version is the one refused.
  assert.equal(
    refusal("todos", "field `due` was removed", 1),
    "store todos: field `due` was removed (for the values written under schema version 1)",
  );
});

test("differences inside lists and options name the enclosing field (tests.rs)", () => {
  const t = new Table();
  const int = t.int();
  t.string();
  const list = t.list(int);
  const opt = t.option(int);
  const meta = t.record("Meta", [["created", int]]);
  const metas = t.list(meta);
  const item = t.record("Item", [["tags", list], ["due", opt], ["meta", meta], ["history", metas]]);
  const recorded = parseSchema(schemaText(schemaOf(t.types(), item)));
  const attempt = (fields) => {
    const t = new Table();
    const item = fields(t);
    return refusal("items", checkCompatible(recorded, t.types(), item));
  };
  const base = (t, tags, due, meta, history) =>
    t.record("Item", [["tags", tags], ["due", due], ["meta", meta], ["history", history]]);
  assert.equal(
    attempt((t) => {
      const int = t.int();
      const string = t.string();
      const strings = t.list(string);
      const opt = t.option(int);
      const meta = t.record("Meta", [["created", int]]);
      return base(t, strings, opt, meta, t.list(meta));
    }),
    "store items: field `tags` was List<Int>, is now List<String>",
  );
  assert.equal(
    attempt((t) => {
      const int = t.int();
      const string = t.string();
      const list = t.list(int);
      const opt = t.option(string);
      const meta = t.record("Meta", [["created", int]]);
      return base(t, list, opt, meta, t.list(meta));
    }),
    "store items: field `due` was Option<Int>, is now Option<String>",
  );
  assert.equal(
    attempt((t) => {
      const int = t.int();
      const string = t.string();
      const list = t.list(int);
      const opt = t.option(int);
      const meta = t.record("Meta", [["created", string]]);
      return base(t, list, opt, meta, t.list(meta));
    }),
    "store items: field `meta.created` was Int, is now String",
  );
  assert.equal(
    attempt((t) => {
      const int = t.int();
      const list = t.list(int);
      const opt = t.option(int);
      const meta = t.record("Meta", [["created", int]]);
      const meta2 = t.record("Meta", []);
      return base(t, list, opt, meta, t.list(meta2));
    }),
    "store items: field `history[].created` was removed",
  );
});

test("recursive enums, dicts, tuples and nested options (messages read off schema.rs)", () => {
  const p = program();
  const treeText = schemaText(schemaOf(p.types, p.tree));
  assert.equal(checkCompatible(treeText, p.types, p.tree), null);
  // Every type is compatible with its own schema.
  for (const ty of [p.todo, p.shape, p.optOpt, p.optUnit, p.dict, p.pair, p.int, p.float, p.listTodo, p.entriesTodo]) {
    assert.equal(checkCompatible(schemaOf(p.types, ty), p.types, ty), null);
  }

  const t = new Table();
  const string = t.string();
  const tree = t.reserve();
  t.set(tree, Table.enumEntry("Tree", [["Leaf", []], ["Node", [tree, string, tree]]]));
  const dict = t.dict(t.list(string));
  const pair = t.tuple([t.int(), t.int()]);
  const triple = t.tuple([t.int(), string, t.int()]);
  const optOpt = t.option(t.option(string));
  const types = t.types();
  assert.equal(checkCompatible(treeText, types, tree), "field `Node.1` was Int, is now String");
  assert.equal(
    checkCompatible(schemaOf(p.types, p.dict), types, dict),
    "the value type was Dict<List<Int>>, is now Dict<List<String>>",
  );
  assert.equal(checkCompatible(schemaOf(p.types, p.pair), types, pair), "the value type was (Int, String), is now (Int, Int)");
  assert.equal(
    checkCompatible(schemaOf(p.types, p.pair), types, triple),
    "the value type was (Int, String), is now (Int, String, Int)",
  );
  assert.equal(
    checkCompatible(schemaOf(p.types, p.optOpt), types, optOpt),
    "the value type was Option<Option<Int>>, is now Option<Option<String>>",
  );

  // Inside a user enum's payload the path names the variant; a variant
  // removed below the value type names where.
  const u = new Table();
  const f = u.float();
  const shape = u.enumeration("Shape", [["Circle", [f]], ["Rect", [f, f]]]);
  const box = u.record("Box", [["shape", shape]]);
  const shapes = u.list(shape);
  const old = u.types();
  const v = new Table();
  const g = v.float();
  const shape2 = v.enumeration("Shape", [["Circle", [g]], ["Rect", [g]], ["Dot", []]]);
  const box2 = v.record("Box", [["shape", shape2]]);
  const shape3 = v.enumeration("Shape", [["Circle", [g]]]);
  const box3 = v.record("Box", [["shape", shape3]]);
  const shapes3 = v.list(shape3);
  const now = v.types();
  assert.equal(
    checkCompatible(schemaOf(old, box), now, box2),
    "variant `Rect` of Shape had 2 fields, now has 1 field (at `shape`)",
  );
  assert.equal(checkCompatible(schemaOf(old, box), now, box3), "variant `Rect` of Shape was removed (at `shape`)");
  assert.equal(checkCompatible(schemaOf(old, shapes), now, shapes3), "variant `Rect` of Shape was removed (at `[]`)");
});

test("a cyclic recorded schema still has a finite name", () => {
  const t = new Table();
  const int = t.int();
  const types = t.types();
  const message = checkCompatible("distlang-schema 1\n0 List 0\n", types, int);
  assert.equal(message, `the value type was ${"List<".repeat(17)}…${">".repeat(17)}, is now Int`);
});
