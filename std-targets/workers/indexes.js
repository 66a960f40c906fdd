// A store's secondary and unique indexes on Workers (`store users: User
// unique(email) index(tags)`): one SQLite table per index, `"index/STORE/
// FIELD"` (value TEXT, key TEXT), kept in step by the host on every write
// inside the invocation's transaction, so a rolled-back invocation leaves no
// entry; a unique index's table has `UNIQUE (value)`. The same tables, names
// and orders as native's (vm/src/store/index.rs): entries by value, then key.
//
// A value is kept as TEXT that sorts as the value does: a String as itself
// (SQLite compares TEXT by its UTF-8 bytes), an Int as 16 hex digits of
// `n + 2^63`, a Bool as "0" or "1".

// `dl_abi::TypeTag` and `dl_abi::descriptor`'s index flags.
const TAG_INT = 0;
const TAG_BOOL = 2;
export const TAG_STRING = 3;
const INDEX_UNIQUE = 1;
const INDEX_EACH = 2;

const OFFSET = 1n << 63n;

// An index from its descriptor words (`store field slot key flags`).
export function indexSpec(field, key, flags) {
  return { field, key: Number(key), unique: (Number(flags) & INDEX_UNIQUE) !== 0, each: (Number(flags) & INDEX_EACH) !== 0 };
}

// What the store records of an index, to know when to build it anew.
export function indexText(index) {
  const kind = index.unique ? "unique" : "index";
  return `${kind} ${index.field}${index.each ? " each" : ""} ${index.key}`;
}

export function indexTable(store, field) {
  return `"index/${store}/${field}"`;
}

// The SQL text of a value of the index's type: from JSON (`stored`, a
// BigInt for an Int) or from the module (a String already read, a BigInt
// word for an Int or a Bool).
export function valueText(index, value) {
  if (index.key === TAG_INT) return (BigInt.asIntN(64, BigInt(value)) + OFFSET).toString(16).padStart(16, "0");
  if (index.key === TAG_BOOL) return value === true || (typeof value === "bigint" && value !== 0n) ? "1" : "0";
  return value;
}

// A value's text as the program writes it, for messages (native's
// `IndexSpec::show_encoded`).
export function showValue(index, text) {
  if (index.key === TAG_INT) return (BigInt(`0x${text}`) - OFFSET).toString();
  if (index.key === TAG_BOOL) return text === "1" ? "true" : "false";
  return JSON.stringify(text);
}

// The distinct value texts a stored value (its JSON, fields by name) holds
// for the index.
export function valuesOf(index, json) {
  const field = exactJson(json)[index.field];
  const values = index.each ? field : [field];
  return [...new Set(values.map((v) => valueText(index, v)))];
}

// JSON with its integers as BigInts (JSON.parse would round those beyond
// 2^53): each integer token outside a string is read as a BigInt.
export function exactJson(json) {
  const marked = json.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (token) =>
    /^-?\d+$/.test(token) ? `{"\\u0000int":"${token}"}` : token,
  );
  return JSON.parse(marked, (_, v) => (v !== null && typeof v === "object" && "\u0000int" in v ? BigInt(v["\u0000int"]) : v));
}

// The store's indexes, over its SQL.
export class Indexes {
  constructor(sql, store, indexes) {
    this.sql = sql;
    this.store = store;
    this.indexes = indexes;
  }

  // The tables of its indexes.
  tables() {
    return this.indexes.map((index) => indexTable(this.store, index.field));
  }

  // Creates the tables, and builds anew each index whose recorded text
  // differs (`recorded`: table → text); returns what to record, or throws
  // the refusal of a unique index over a value two entries hold.
  open(recorded, storeTable) {
    for (const index of this.indexes) {
      const table = indexTable(this.store, index.field);
      if (recorded.get(table) === indexText(index)) continue;
      this.sql.exec(`DROP TABLE IF EXISTS ${table}`);
      const unique = index.unique ? ", UNIQUE (value)" : "";
      this.sql.exec(`CREATE TABLE ${table} (value TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (value, key)${unique})`);
      this.sql.exec(`CREATE INDEX ${indexTable(this.store, `${index.field}/keys`)} ON ${table} (key)`);
      for (const row of this.sql.exec(`SELECT key, value FROM ${storeTable}`)) {
        const clash = this.add(index, table, row.key, row.value);
        if (clash) throw new IndexClash(clash);
      }
      this.sql.exec("INSERT OR REPLACE INTO _dl_index (name, spec) VALUES (?, ?)", table, indexText(index));
    }
  }

  // The value `json` (or none: a deletion) now under `key`: its entries
  // replace the key's old ones. The error when a unique index has one of
  // its values for another key, else null.
  put(key, json) {
    for (const index of this.indexes) {
      const table = indexTable(this.store, index.field);
      this.sql.exec(`DELETE FROM ${table} WHERE key = ?`, key);
      const clash = json === null ? null : this.add(index, table, key, json);
      if (clash) return clash;
    }
    return null;
  }

  add(index, table, key, json) {
    for (const value of valuesOf(index, json)) {
      if (index.unique && this.sql.exec(`SELECT 1 FROM ${table} WHERE value = ?`, value).toArray().length > 0) {
        return `store ${this.store}: unique index ${index.field}: ${showValue(index, value)} is already taken`;
      }
      this.sql.exec(`INSERT INTO ${table} (value, key) VALUES (?, ?)`, value, key);
    }
    return null;
  }

  // Index `i`'s entries joined to their rows, as the host's `scan` reads
  // them: those of one value (`?5`), by their keys.
  entries(i, storeTable) {
    const table = indexTable(this.store, this.indexes[i].field);
    return { from: `${table} i JOIN ${storeTable} s ON s.key = i.key`, key: "i.key", value: "s.value", where: "i.value = ?5" };
  }
}

// A unique index that cannot be built over the rows already stored.
export class IndexClash extends Error {}
