//! The stores on real redb files in a temporary directory: values through
//! `set`/`get`, key order, `insert` keys, transactions, persistence, and
//! schema evolution (refused changes leave the file byte-identical).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::format::format_into;
use crate::json;
use crate::types::build::Table;
use crate::value::testing::{items, text};
use crate::value::{none, some, str_bytes};

// ---- helpers ----

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dl-store-test-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            crate::time::now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("app.db")
    }
}

fn leak(t: &Table) -> &'static Types {
    Box::leak(Box::new(t.types()))
}

fn spec(name: &str, value: TypeIdx) -> StoreSpec {
    StoreSpec { name: name.to_string(), value, indexes: Vec::new() }
}

fn open(path: &Path, specs: &[StoreSpec], types: &'static Types) -> Stores {
    Stores::open(path, specs, types).unwrap_or_else(|e| panic!("open: {e}"))
}

fn open_err(path: &Path, specs: &[StoreSpec], types: &'static Types) -> String {
    match Stores::open(path, specs, types) {
        Ok(_) => panic!("opened"),
        Err(e) => e.message,
    }
}

/// A value written as JSON (the text is copied into the region, which the
/// decoded strings share).
fn val(types: &Types, json_text: &str, ty: TypeIdx) -> Word {
    let copy = new_str(json_text.as_bytes());
    let bytes = unsafe { str_bytes(copy) };
    json::decode(types, bytes, ty, std::ptr::null()).unwrap_or_else(|e| panic!("{json_text}: {e}"))
}

/// A value in literal syntax, as `debug` prints it.
fn show(types: &Types, v: Word, ty: TypeIdx) -> String {
    let mut out = Vec::new();
    unsafe { format_into(types, &mut out, v, ty, std::ptr::null()) };
    String::from_utf8(out).unwrap()
}

fn set(w: &mut WriteTxn, store: StoreId, key: &str, v: Word) {
    unsafe { w.set(store, key, v) }.unwrap()
}

fn insert(w: &mut WriteTxn, store: StoreId, v: Word) -> String {
    text(unsafe { w.insert(store, v) }.unwrap())
}

fn strings(l: *mut List) -> Vec<String> {
    items(l).into_iter().map(|w| text(w as *const Str)).collect()
}

// ---- a program's types ----

struct Program {
    types: &'static Types,
    int: u32,
    todo: u32,
    shape: u32,
    opt_opt: u32,
    opt_unit: u32,
    float: u32,
    dict: u32,
    pair: u32,
    tree: u32,
    list_todo: u32,
    entries_todo: u32,
}

fn program() -> Program {
    let mut t = Table::default();
    let int = t.int();
    let float = t.float();
    let string = t.string();
    let boolean = t.bool();
    let unit = t.tuple(&[]);
    let tags = t.list(string);
    let opt_int = t.option(int);
    let todo = t.record("Todo", &[("title", string), ("done", boolean), ("tags", tags), ("due", opt_int)]);
    let shape = t.enumeration("Shape", &[("Circle", &[float]), ("Rect", &[float, float]), ("Dot", &[])]);
    let opt_opt = t.option(opt_int);
    let opt_unit = t.option(unit);
    let list_int = t.list(int);
    let dict = t.dict(list_int);
    let pair = t.tuple(&[int, string]);
    let tree = t.reserve();
    t.set(tree, Table::enum_entry("Tree", &[("Leaf", &[]), ("Node", &[tree, int, tree])]));
    let list_todo = t.list(todo);
    let entry = t.tuple(&[string, todo]);
    let entries_todo = t.list(entry);
    Program { types: leak(&t), int, todo, shape, opt_opt, opt_unit, float, dict, pair, tree, list_todo, entries_todo }
}

const TODO_A: &str = r#"{"title":"a","done":false,"tags":["x","y"],"due":3}"#;
const TODO_B: &str = r#"{"title":"b \"q\" é","done":true,"tags":[],"due":null}"#;

// ---- values ----

#[test]
fn values_round_trip_through_set_and_get() {
    let dir = TempDir::new();
    let p = program();
    let specs = [
        spec("todos", p.todo),
        spec("shapes", p.shape),
        spec("opts", p.opt_opt),
        spec("units", p.opt_unit),
        spec("floats", p.float),
        spec("dicts", p.dict),
        spec("pairs", p.pair),
        spec("trees", p.tree),
        spec("ints", p.int),
    ];
    let cases: Vec<(StoreId, &str, Word)> = vec![
        (0, "a", val(p.types, TODO_A, p.todo)),
        (0, "b", val(p.types, TODO_B, p.todo)),
        (1, "circle", val(p.types, r#"{"Circle":[1.5]}"#, p.shape)),
        (1, "rect", val(p.types, r#"{"Rect":[2.0,-3.25]}"#, p.shape)),
        (1, "dot", val(p.types, r#""Dot""#, p.shape)),
        // What JSON cannot keep apart: Some(None), Some(()), NaN.
        (2, "some-none", some(none() as Word) as Word),
        (2, "none", none() as Word),
        (2, "some-some", some(some(7) as Word) as Word),
        (3, "some-unit", some(0) as Word),
        (3, "none", none() as Word),
        (4, "nan", f64::NAN.to_bits()),
        (4, "inf", f64::NEG_INFINITY.to_bits()),
        (4, "neg-zero", (-0.0f64).to_bits()),
        (5, "d", val(p.types, r#"{"b":[2],"a":[1,-1],"":[]}"#, p.dict)),
        (6, "p", val(p.types, r#"[-9223372036854775808,"x"]"#, p.pair)),
        (7, "t", val(p.types, r#"{"Node":["Leaf",1,{"Node":["Leaf",2,"Leaf"]}]}"#, p.tree)),
        (8, "max", i64::MAX as Word),
        (8, "min", i64::MIN as Word),
        (8, "zero", 0),
    ];
    let ty = |store: StoreId| specs[store].value;
    let expected: Vec<String> = cases.iter().map(|(s, _, v)| show(p.types, *v, ty(*s))).collect();
    assert_eq!(expected[5], "Some(None)");
    assert_eq!(expected[8], "Some(())");
    {
        let stores = open(&dir.db(), &specs, p.types);
        let mut w = stores.write().unwrap();
        for (store, key, v) in &cases {
            set(&mut w, *store, key, *v);
        }
        // The transaction sees its own writes.
        for ((store, key, _), want) in cases.iter().zip(&expected) {
            let got = w.get(*store, key).unwrap().unwrap();
            assert_eq!(&show(p.types, got, ty(*store)), want);
        }
        w.commit().unwrap();
    }
    // After reopening, read back in a read transaction.
    let stores = open(&dir.db(), &specs, p.types);
    let r = stores.read().unwrap();
    for ((store, key, _), want) in cases.iter().zip(&expected) {
        let got = r.get(*store, key).unwrap().unwrap();
        assert_eq!(&show(p.types, got, ty(*store)), want, "{key}");
    }
    let nan = r.get(4, "nan").unwrap().unwrap();
    assert!(f64::from_bits(nan).is_nan());
    assert_eq!(r.get(4, "neg-zero").unwrap(), Some((-0.0f64).to_bits()));
    assert_eq!(r.get(0, "nope").unwrap(), None);
    assert_eq!(r.get(1, "a").unwrap(), None, "stores are separate");
}

#[test]
fn listings_are_in_key_order() {
    let dir = TempDir::new();
    let p = program();
    let stores = open(&dir.db(), &[spec("todos", p.todo), spec("ints", p.int)], p.types);
    let keys = ["b", "a/2", "a", "a/10", "c", "é", "Z", "", "a/1"];
    let mut w = stores.write().unwrap();
    for (i, k) in keys.iter().enumerate() {
        let todo = val(p.types, &format!(r#"{{"title":"{k}","done":false,"tags":[],"due":{i}}}"#), p.todo);
        set(&mut w, 0, k, todo);
        set(&mut w, 1, k, i as Word);
    }
    w.commit().unwrap();
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort();
    assert_eq!(sorted, ["", "Z", "a", "a/1", "a/10", "a/2", "b", "c", "é"]);

    let r = stores.read().unwrap();
    assert_eq!(strings(r.keys(0).unwrap()), sorted);
    assert_eq!(r.count(0).unwrap(), keys.len() as i64);
    let titles: Vec<String> = items(r.values(0).unwrap())
        .into_iter()
        .map(|v| text(unsafe { crate::value::field(v, 0) } as *const Str))
        .collect();
    assert_eq!(titles, sorted);
    let ints: Vec<Word> = items(r.values(1).unwrap());
    let want: Vec<Word> = sorted.iter().map(|k| keys.iter().position(|x| x == k).unwrap() as Word).collect();
    assert_eq!(ints, want);
    assert_eq!(
        show(p.types, r.prefix(0, "a/").unwrap() as Word, p.entries_todo),
        r#"[("a/1", Todo { title: "a/1", done: false, tags: [], due: Some(8) }), ("a/10", Todo { title: "a/10", done: false, tags: [], due: Some(3) }), ("a/2", Todo { title: "a/2", done: false, tags: [], due: Some(1) })]"#
    );
    let entries = r.entries(0).unwrap();
    assert_eq!(items(entries).len(), keys.len());
    let first_keys: Vec<String> =
        items(entries).into_iter().map(|e| text(unsafe { crate::value::field(e, 0) } as *const Str)).collect();
    assert_eq!(first_keys, sorted);
    assert_eq!(items(r.prefix(0, "a").unwrap()).len(), 4);
    assert_eq!(items(r.prefix(0, "").unwrap()).len(), keys.len());
    assert_eq!(items(r.prefix(0, "zz").unwrap()).len(), 0);
    assert_eq!(items(r.prefix(0, "é").unwrap()).len(), 1);
    let values_shown = show(p.types, r.values(0).unwrap() as Word, p.list_todo);
    assert!(values_shown.starts_with(r#"[Todo { title: "", "#), "{values_shown}");
}

#[test]
fn writes_see_themselves_delete_reports_and_has_counts() {
    let dir = TempDir::new();
    let p = program();
    let stores = open(&dir.db(), &[spec("ints", p.int)], p.types);
    let mut w = stores.write().unwrap();
    set(&mut w, 0, "a", 1);
    set(&mut w, 0, "b", 2);
    set(&mut w, 0, "a", 3);
    assert_eq!(w.get(0, "a").unwrap(), Some(3));
    assert_eq!(w.count(0).unwrap(), 2);
    assert!(w.has(0, "b").unwrap());
    assert!(w.delete(0, "b").unwrap());
    assert!(!w.delete(0, "b").unwrap());
    assert!(!w.has(0, "b").unwrap());
    assert_eq!(strings(w.keys(0).unwrap()), ["a"]);
    w.commit().unwrap();
    let r = stores.read().unwrap();
    assert_eq!(r.count(0).unwrap(), 1);
    assert_eq!(r.get(0, "a").unwrap(), Some(3));
    assert!(!r.has(0, "b").unwrap());
}

// ---- transactions ----

#[test]
fn dropping_a_write_transaction_rolls_it_back() {
    let dir = TempDir::new();
    let p = program();
    let stores = open(&dir.db(), &[spec("ints", p.int)], p.types);
    let mut w = stores.write().unwrap();
    set(&mut w, 0, "kept", 1);
    w.commit().unwrap();

    let mut w = stores.write().unwrap();
    set(&mut w, 0, "lost", 2);
    set(&mut w, 0, "kept", 99);
    insert(&mut w, 0, 3);
    assert!(w.delete(0, "kept").unwrap());
    drop(w); // as after a runtime error
    let mut w = stores.write().unwrap();
    set(&mut w, 0, "also-lost", 4);
    w.rollback().unwrap();

    let r = stores.read().unwrap();
    assert_eq!(strings(r.keys(0).unwrap()), ["kept"]);
    assert_eq!(r.get(0, "kept").unwrap(), Some(1));
    drop(r);
    drop(stores);
    let stores = open(&dir.db(), &[spec("ints", p.int)], p.types);
    assert_eq!(strings(stores.read().unwrap().keys(0).unwrap()), ["kept"]);
}

#[test]
fn a_read_transaction_sees_its_snapshot() {
    let dir = TempDir::new();
    let p = program();
    let stores = open(&dir.db(), &[spec("ints", p.int)], p.types);
    let mut w = stores.write().unwrap();
    set(&mut w, 0, "a", 1);
    w.commit().unwrap();
    let before = stores.read().unwrap();
    assert_eq!(before.get(0, "a").unwrap(), Some(1));
    let mut w = stores.write().unwrap();
    set(&mut w, 0, "a", 2);
    set(&mut w, 0, "b", 2);
    // Not visible before the commit …
    assert_eq!(stores.read().unwrap().get(0, "a").unwrap(), Some(1));
    w.commit().unwrap();
    // … nor to a transaction that began before it.
    assert_eq!(before.get(0, "a").unwrap(), Some(1));
    assert_eq!(before.count(0).unwrap(), 1);
    let after = stores.read().unwrap();
    assert_eq!(after.get(0, "a").unwrap(), Some(2));
    assert_eq!(after.count(0).unwrap(), 2);
}

#[test]
fn reads_run_concurrently_with_a_write() {
    let dir = TempDir::new();
    let p = program();
    let stores = open(&dir.db(), &[spec("ints", p.int)], p.types);
    let mut w = stores.write().unwrap();
    for i in 0..100 {
        set(&mut w, 0, &format!("k{i:03}"), i);
    }
    w.commit().unwrap();
    let mut w = stores.write().unwrap();
    set(&mut w, 0, "k000", 1000);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let stores = stores.clone();
            std::thread::spawn(move || {
                let r = stores.read().unwrap();
                (r.count(0).unwrap(), r.get(0, "k000").unwrap())
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), (100, Some(0)));
    }
    w.commit().unwrap();
}

#[test]
fn data_persists_across_reopen() {
    let dir = TempDir::new();
    let p = program();
    let specs = [spec("todos", p.todo), spec("shapes", p.shape)];
    {
        let stores = open(&dir.db(), &specs, p.types);
        let mut w = stores.write().unwrap();
        set(&mut w, 0, "a", val(p.types, TODO_A, p.todo));
        set(&mut w, 1, "s", val(p.types, r#"{"Rect":[1.0,2.0]}"#, p.shape));
        w.commit().unwrap();
    }
    {
        // A program with fewer stores leaves the others' data alone.
        let stores = open(&dir.db(), &specs[1..], p.types);
        assert_eq!(stores.read().unwrap().count(0).unwrap(), 1);
    }
    let stores = open(&dir.db(), &specs, p.types);
    let r = stores.read().unwrap();
    let a = r.get(0, "a").unwrap().unwrap();
    assert_eq!(show(p.types, a, p.todo), r#"Todo { title: "a", done: false, tags: ["x", "y"], due: Some(3) }"#);
    assert_eq!(show(p.types, r.get(1, "s").unwrap().unwrap(), p.shape), "Rect(1.0, 2.0)");
    assert_eq!(stores.schema_version(0), Some(1));
}

// ---- insert ----

#[test]
fn insert_keys_are_unique_and_ordered_across_reopen() {
    let dir = TempDir::new();
    let p = program();
    let specs = [spec("ints", p.int), spec("others", p.int)];
    let mut made: Vec<String> = Vec::new();
    for round in 0..3 {
        let stores = open(&dir.db(), &specs, p.types);
        let mut w = stores.write().unwrap();
        let n = if round == 0 { 10_000 } else { 100 };
        for i in 0..n {
            made.push(insert(&mut w, (i % 2) as StoreId, i as Word));
        }
        w.commit().unwrap();
        // Several transactions, and a rolled back one, in a round.
        let mut w = stores.write().unwrap();
        made.push(insert(&mut w, 0, 0));
        w.commit().unwrap();
        let mut w = stores.write().unwrap();
        insert(&mut w, 0, 0);
        drop(w);
    }
    for pair in made.windows(2) {
        assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
    }
    assert!(made.iter().all(|k| k.len() == 26 && k.bytes().all(|b| b.is_ascii_alphanumeric())));
    // The time part is now, in the same base32 as Id.new.
    let ms = made[0][..10]
        .bytes()
        .fold(0u64, |n, c| n * 32 + b"0123456789abcdefghjkmnpqrstvwxyz".iter().position(|&a| a == c).unwrap() as u64);
    assert!((ms as i64 - crate::time::now_ms()).abs() < 60_000);
    let stores = open(&dir.db(), &specs, p.types);
    let r = stores.read().unwrap();
    let mut stored = strings(r.keys(0).unwrap());
    stored.extend(strings(r.keys(1).unwrap()));
    stored.sort();
    assert_eq!(stored, made);
}

#[test]
fn insert_keys_stay_ordered_when_the_clock_is_behind_the_file() {
    // The recorded stamp is in the future (a clock stepped back, or a
    // restart within the same millisecond): new keys still come after it.
    let mut keys = KeyGen::new(Stamp { ms: u64::MAX >> 20, counter: 5 });
    let a = keys.key(1_000);
    let b = keys.key(2_000);
    assert!(a < b);
    assert_eq!(keys.last, Stamp { ms: u64::MAX >> 20, counter: 7 });
    let mut keys = KeyGen::new(Stamp { ms: 10, counter: (1 << 30) - 1 });
    keys.key(10);
    assert_eq!(keys.last, Stamp { ms: 11, counter: 0 });
    let stamp = Stamp { ms: 123, counter: 456 };
    assert_eq!(Stamp::from_bytes(&stamp.to_bytes()), Some(stamp));
}

// ---- schemas ----

fn sha(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Version 1 of a program: `Todo { title, done }` and `Shape = Circle(Float) | Dot`.
fn v1() -> (&'static Types, u32, u32) {
    let mut t = Table::default();
    let string = t.string();
    let boolean = t.bool();
    let float = t.float();
    let todo = t.record("Todo", &[("title", string), ("done", boolean)]);
    let shape = t.enumeration("Shape", &[("Circle", &[float]), ("Dot", &[])]);
    (leak(&t), todo, shape)
}

fn v1_file(dir: &TempDir) -> (&'static Types, u32, u32) {
    let (types, todo, shape) = v1();
    let stores = open(&dir.db(), &[spec("todos", todo), spec("shapes", shape)], types);
    let mut w = stores.write().unwrap();
    set(&mut w, 0, "t1", val(types, r#"{"title":"old","done":true}"#, todo));
    set(&mut w, 1, "s1", val(types, r#"{"Circle":[2.0]}"#, shape));
    set(&mut w, 1, "s2", val(types, r#""Dot""#, shape));
    w.commit().unwrap();
    (types, todo, shape)
}

/// Opens the v1 file with a program whose `todos` are `todo` (built by
/// `make`) and expects a refusal that leaves the file byte-identical.
fn refused(make: impl FnOnce(&mut Table) -> (u32, u32)) -> String {
    let dir = TempDir::new();
    v1_file(&dir);
    let before = sha(&dir.db());
    let mut t = Table::default();
    let (todo, shape) = make(&mut t);
    let types = leak(&t);
    let message = open_err(&dir.db(), &[spec("todos", todo), spec("shapes", shape)], types);
    assert_eq!(sha(&dir.db()), before, "the file changed: {message}");
    // And the original program still opens it.
    let (types, todo, shape) = v1();
    let stores = open(&dir.db(), &[spec("todos", todo), spec("shapes", shape)], types);
    assert_eq!(stores.read().unwrap().count(0).unwrap(), 1);
    message
}

fn v1_shape(t: &mut Table) -> u32 {
    let float = t.float();
    t.enumeration("Shape", &[("Circle", &[float]), ("Dot", &[])])
}

#[test]
fn a_retyped_field_is_refused_and_the_file_is_unchanged() {
    let message = refused(|t| {
        let string = t.string();
        let todo = t.record("Todo", &[("title", string), ("done", string)]);
        (todo, v1_shape(t))
    });
    assert_eq!(message, "store todos: field `done` was Bool, is now String");
}

#[test]
fn a_removed_field_is_refused() {
    let message = refused(|t| {
        let string = t.string();
        let todo = t.record("Todo", &[("title", string)]);
        (todo, v1_shape(t))
    });
    assert_eq!(message, "store todos: field `done` was removed");
}

#[test]
fn a_new_field_that_is_not_an_option_is_refused() {
    let message = refused(|t| {
        let string = t.string();
        let boolean = t.bool();
        let int = t.int();
        let todo = t.record("Todo", &[("title", string), ("done", boolean), ("rank", int)]);
        (todo, v1_shape(t))
    });
    assert_eq!(
        message,
        "store todos: field `rank` is new and of type Int, which is not an Option and has no default (the stored values have no value for it)"
    );
}

#[test]
fn a_removed_variant_is_refused() {
    let message = refused(|t| {
        let string = t.string();
        let boolean = t.bool();
        let float = t.float();
        let todo = t.record("Todo", &[("title", string), ("done", boolean)]);
        let shape = t.enumeration("Shape", &[("Circle", &[float])]);
        (todo, shape)
    });
    assert_eq!(message, "store shapes: variant `Dot` of Shape was removed");
}

#[test]
fn a_changed_payload_is_refused() {
    let message = refused(|t| {
        let string = t.string();
        let boolean = t.bool();
        let float = t.float();
        let todo = t.record("Todo", &[("title", string), ("done", boolean)]);
        let shape = t.enumeration("Shape", &[("Circle", &[float, float]), ("Dot", &[])]);
        (todo, shape)
    });
    assert_eq!(message, "store shapes: variant `Circle` of Shape had 1 field, now has 2 fields");
    let message = refused(|t| {
        let string = t.string();
        let boolean = t.bool();
        let int = t.int();
        let todo = t.record("Todo", &[("title", string), ("done", boolean)]);
        let shape = t.enumeration("Shape", &[("Circle", &[int]), ("Dot", &[])]);
        (todo, shape)
    });
    assert_eq!(message, "store shapes: field `Circle.0` was Float, is now Int");
}

#[test]
fn a_changed_value_type_is_refused() {
    let message = refused(|t| {
        let int = t.int();
        (int, v1_shape(t))
    });
    assert_eq!(message, "store todos: the value type was Todo, is now Int");
}

#[test]
fn differences_inside_lists_and_options_name_the_enclosing_field() {
    let dir = TempDir::new();
    let mut t = Table::default();
    let int = t.int();
    let string = t.string();
    let list = t.list(int);
    let opt = t.option(int);
    let meta = t.record("Meta", &[("created", int)]);
    let metas = t.list(meta);
    let item = t.record("Item", &[("tags", list), ("due", opt), ("meta", meta), ("history", metas)]);
    let types = leak(&t);
    drop(open(&dir.db(), &[spec("items", item)], types));
    let before = sha(&dir.db());
    let attempt = |fields: &dyn Fn(&mut Table) -> u32| {
        let mut t = Table::default();
        let item = fields(&mut t);
        let types = leak(&t);
        let message = open_err(&dir.db(), &[spec("items", item)], types);
        assert_eq!(sha(&dir.db()), before);
        message
    };
    let base = |t: &mut Table, tags: u32, due: u32, meta: u32, history: u32| {
        t.record("Item", &[("tags", tags), ("due", due), ("meta", meta), ("history", history)])
    };
    assert_eq!(
        attempt(&|t| {
            let int = t.int();
            let string = t.string();
            let strings = t.list(string);
            let opt = t.option(int);
            let meta = t.record("Meta", &[("created", int)]);
            let metas = t.list(meta);
            base(t, strings, opt, meta, metas)
        }),
        "store items: field `tags` was List<Int>, is now List<String>"
    );
    assert_eq!(
        attempt(&|t| {
            let int = t.int();
            let string = t.string();
            let list = t.list(int);
            let opt = t.option(string);
            let meta = t.record("Meta", &[("created", int)]);
            let metas = t.list(meta);
            base(t, list, opt, meta, metas)
        }),
        "store items: field `due` was Option<Int>, is now Option<String>"
    );
    assert_eq!(
        attempt(&|t| {
            let int = t.int();
            let string = t.string();
            let list = t.list(int);
            let opt = t.option(int);
            let meta = t.record("Meta", &[("created", string)]);
            let metas = t.list(meta);
            base(t, list, opt, meta, metas)
        }),
        "store items: field `meta.created` was Int, is now String"
    );
    assert_eq!(
        attempt(&|t| {
            let int = t.int();
            let list = t.list(int);
            let opt = t.option(int);
            let meta = t.record("Meta", &[("created", int)]);
            let meta2 = t.record("Meta", &[]);
            let metas = t.list(meta2);
            base(t, list, opt, meta, metas)
        }),
        "store items: field `history[].created` was removed"
    );
    let _ = string;
}

#[test]
fn a_new_option_field_and_a_new_variant_are_accepted_and_old_rows_read() {
    let dir = TempDir::new();
    v1_file(&dir);
    // Version 2: a new Option field (placed first), a new variant (placed
    // first, so tags move), and the fields in another order.
    let mut t = Table::default();
    let string = t.string();
    let boolean = t.bool();
    let float = t.float();
    let int = t.int();
    let opt_int = t.option(int);
    let todo = t.record("Todo", &[("due", opt_int), ("done", boolean), ("title", string)]);
    let shape = t.enumeration("Shape", &[("Square", &[float]), ("Circle", &[float]), ("Dot", &[])]);
    let list_todo = t.list(todo);
    let types = leak(&t);
    let specs = [spec("todos", todo), spec("shapes", shape)];
    {
        let stores = open(&dir.db(), &specs, types);
        assert_eq!(stores.schema_version(0), Some(2));
        assert_eq!(stores.schema_version(1), Some(2));
        let mut w = stores.write().unwrap();
        let old = w.get(0, "t1").unwrap().unwrap();
        assert_eq!(show(types, old, todo), r#"Todo { due: None, done: true, title: "old" }"#);
        assert_eq!(show(types, w.get(1, "s1").unwrap().unwrap(), shape), "Circle(2.0)");
        assert_eq!(show(types, w.get(1, "s2").unwrap().unwrap(), shape), "Dot");
        set(&mut w, 0, "t2", val(types, r#"{"title":"new","done":false,"due":5}"#, todo));
        set(&mut w, 1, "s3", val(types, r#"{"Square":[1.0]}"#, shape));
        w.commit().unwrap();
    }
    // Reopening with the same program records nothing new; old and new rows read.
    let stores = open(&dir.db(), &specs, types);
    assert_eq!(stores.schema_version(0), Some(2));
    let r = stores.read().unwrap();
    assert_eq!(
        show(types, r.values(0).unwrap() as Word, list_todo),
        r#"[Todo { due: None, done: true, title: "old" }, Todo { due: Some(5), done: false, title: "new" }]"#
    );
    let shapes: Vec<String> = items(r.values(1).unwrap()).into_iter().map(|v| show(types, v, shape)).collect();
    assert_eq!(shapes, ["Circle(2.0)", "Dot", "Square(1.0)"]);
    drop(r);
    drop(stores);

    // The first program may no longer open the file: to it, `due` and
    // `Square` were removed.
    let before = sha(&dir.db());
    let (types, todo, shape) = v1();
    assert_eq!(
        open_err(&dir.db(), &[spec("todos", todo), spec("shapes", shape)], types),
        "store todos: field `due` was removed"
    );
    assert_eq!(sha(&dir.db()), before);
}

#[test]
fn a_type_with_a_function_cannot_be_stored() {
    let dir = TempDir::new();
    let mut t = Table::default();
    let f = t.func();
    let record = t.record("Handler", &[("run", f)]);
    let types = leak(&t);
    assert_eq!(
        open_err(&dir.db(), &[spec("handlers", record)], types),
        "store handlers: its type Handler contains a function, which cannot be stored"
    );
    assert!(!dir.db().exists() || std::fs::metadata(dir.db()).unwrap().len() == 0);
}

#[test]
fn schema_text_round_trips() {
    let p = program();
    for ty in [p.todo, p.shape, p.opt_opt, p.dict, p.pair, p.tree, p.entries_todo] {
        let schema = Schema::of_type(p.types, ty).unwrap();
        let text = schema.to_text();
        assert_eq!(Schema::parse(&text).unwrap(), schema, "{text}");
    }
    assert_eq!(
        Schema::of_type(p.types, p.todo).unwrap().to_text(),
        "distlang-schema 1\n0 record Todo title:1 done:2 tags:3 due:4\n1 String\n2 Bool\n3 List 1\n4 enum Option Some(5) None()\n5 Int\n"
    );
    assert_eq!(
        Schema::of_type(p.types, p.tree).unwrap().to_text(),
        "distlang-schema 1\n0 enum Tree Leaf() Node(0,1,0)\n1 Int\n"
    );
    let mut t = Table::default();
    let unit = t.tuple(&[]);
    let odd = t.record("A b%", &[("é", unit)]);
    let types = t.types();
    let schema = Schema::of_type(&types, odd).unwrap();
    assert_eq!(schema.to_text(), "distlang-schema 1\n0 record A%20b%25 %C3%A9:1\n1 Tuple\n");
    assert_eq!(Schema::parse(&schema.to_text()).unwrap(), schema);
    for bad in [
        "",
        "distlang-schema 2\n0 Int\n",
        "distlang-schema 1\n",
        "distlang-schema 1\n0 List 1\n",
        "distlang-schema 1\n1 Int\n",
    ] {
        assert!(Schema::parse(bad).is_err(), "{bad:?}");
    }
}

// ---- bad files ----

#[test]
fn a_file_that_is_not_a_store_is_an_error_not_a_panic() {
    let dir = TempDir::new();
    let p = program();
    std::fs::write(dir.db(), b"this is not a redb file at all, just some text that is long enough".repeat(100))
        .unwrap();
    let before = sha(&dir.db());
    let message = open_err(&dir.db(), &[spec("ints", p.int)], p.types);
    assert!(message.starts_with("cannot open the store file "), "{message}");
    assert_eq!(sha(&dir.db()), before);

    // A redb file of something else.
    let other = dir.0.join("other.db");
    {
        let db = Database::create(&other).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(Def::new("users")).unwrap().insert("a", b"b".as_slice()).unwrap();
        txn.commit().unwrap();
    }
    let message = open_err(&other, &[spec("ints", p.int)], p.types);
    assert!(message.ends_with("is a redb file but not a Distlang store file"), "{message}");
}

#[test]
fn a_damaged_row_is_an_error_naming_the_store_and_key() {
    let dir = TempDir::new();
    let p = program();
    let stores = open(&dir.db(), &[spec("todos", p.todo)], p.types);
    {
        let txn = stores.inner.db.begin_write().unwrap();
        let mut table = txn.open_table(Def::new("store/todos")).unwrap();
        table.insert("bad", [1u8, 3, b'a'].as_slice()).unwrap();
        table.insert("version", [9u8].as_slice()).unwrap();
        drop(table);
        txn.commit().unwrap();
    }
    let r = stores.read().unwrap();
    assert_eq!(
        r.get(0, "bad").unwrap_err().message,
        r#"store todos: the value at key "bad" cannot be read: truncated"#
    );
    assert_eq!(
        r.get(0, "version").unwrap_err().message,
        r#"store todos: the value at key "version" cannot be read: unknown schema version"#
    );
    assert!(r.values(0).is_err());
    assert_eq!(r.count(0).unwrap(), 2);
}

#[test]
fn a_file_left_by_a_crash_is_recovered() {
    let dir = TempDir::new();
    let p = program();
    let crashed = dir.0.join("crashed.db");
    {
        let stores = open(&dir.db(), &[spec("ints", p.int)], p.types);
        let mut w = stores.write().unwrap();
        set(&mut w, 0, "a", 1);
        w.commit().unwrap();
        // A copy taken while the file is open is what a kill -9 leaves.
        std::fs::copy(dir.db(), &crashed).unwrap();
    }
    assert!(matches!(ReadOnlyDatabase::open(&crashed), Err(DatabaseError::RepairAborted)));
    // An incompatible program is still refused …
    let mut t = Table::default();
    let string = t.string();
    let types = leak(&t);
    assert_eq!(open_err(&crashed, &[spec("ints", string)], types), "store ints: the value type was Int, is now String");
    // … and the program's own reads its data.
    let stores = open(&crashed, &[spec("ints", p.int)], p.types);
    assert_eq!(stores.read().unwrap().get(0, "a").unwrap(), Some(1));
}

// ---- durability and savepoints ----

/// The file as a `kill -9` right now would leave it, opened: `get(0, key)`.
fn after_crash(dir: &TempDir, types: &'static Types, ty: u32, key: &str) -> Option<Word> {
    let image = dir.0.join("image.db");
    std::fs::copy(dir.db(), &image).unwrap();
    let stores = open(&image, &[spec("ints", ty)], types);
    let got = stores.read().unwrap().get(0, key).unwrap();
    drop(stores);
    std::fs::remove_file(&image).unwrap();
    got
}

#[test]
fn a_commit_returns_once_it_survives_a_crash() {
    let dir = TempDir::new();
    let p = program();
    let stores = open(&dir.db(), &[spec("ints", p.int)], p.types);
    for i in 0..3 {
        let mut w = stores.write().unwrap();
        set(&mut w, 0, &format!("k{i}"), i);
        w.commit().unwrap();
        assert_eq!(after_crash(&dir, p.types, p.int, &format!("k{i}")), Some(i));
    }
    // What the test tells apart: a commit that is not durable yet is lost
    // in a crash.
    let mut txn = stores.inner.db.begin_write().unwrap();
    txn.set_durability(Durability::None).unwrap();
    txn.open_table(Def::new("store/ints")).unwrap().insert("volatile", [1u8, 2].as_slice()).unwrap();
    txn.commit().unwrap();
    assert_eq!(stores.read().unwrap().get(0, "volatile").unwrap(), Some(1));
    assert_eq!(after_crash(&dir, p.types, p.int, "volatile"), None);
}

#[test]
fn rolling_back_to_a_savepoint_undoes_only_the_writes_after_it() {
    let dir = TempDir::new();
    let p = program();
    let specs = [spec("ints", p.int), spec("more", p.int)];
    let stores = open(&dir.db(), &specs, p.types);
    let mut w = stores.write().unwrap();
    set(&mut w, 0, "a", 1);
    set(&mut w, 0, "b", 2);
    w.commit().unwrap();

    // Three invocations in one transaction: the second fails.
    let mut w = stores.write().unwrap();
    set(&mut w, 0, "first", 10);
    let before_second = w.savepoint();
    set(&mut w, 0, "a", 100); // replaced
    set(&mut w, 0, "a", 101); // twice
    assert!(w.delete(0, "b").unwrap()); // deleted
    assert!(!w.delete(0, "never").unwrap());
    set(&mut w, 0, "new", 5); // added
    set(&mut w, 1, "other", 6); // in another store
    let key = insert(&mut w, 0, 7);
    assert!(w.delete(0, "first").unwrap()); // a write of the batch before it
    w.rollback_to(before_second).unwrap();
    assert_eq!(w.get(0, "a").unwrap(), Some(1));
    assert_eq!(w.get(0, "b").unwrap(), Some(2));
    assert_eq!(w.get(0, "first").unwrap(), Some(10));
    assert_eq!(w.get(0, "new").unwrap(), None);
    assert_eq!(w.get(0, &key).unwrap(), None);
    assert_eq!(w.get(1, "other").unwrap(), None);
    let before_third = w.savepoint();
    set(&mut w, 0, "third", 30);
    w.rollback_to(before_third).unwrap();
    set(&mut w, 0, "third", 31);
    w.commit().unwrap();

    drop(stores);
    let stores = open(&dir.db(), &specs, p.types);
    let r = stores.read().unwrap();
    assert_eq!(strings(r.keys(0).unwrap()), ["a", "b", "first", "third"]);
    assert_eq!(r.get(0, "a").unwrap(), Some(1));
    assert_eq!(r.get(0, "third").unwrap(), Some(31));
    assert_eq!(r.count(1).unwrap(), 0);
}

#[test]
fn handles_can_move_between_threads() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Stores>();
    sync::<Stores>();
    send::<ReadTxn>();
    send::<WriteTxn>();
}

#[test]
fn renaming_a_type_is_compatible() {
    let dir = TempDir::new();
    v1_file(&dir);
    let mut t = Table::default();
    let string = t.string();
    let boolean = t.bool();
    let float = t.float();
    let task = t.record("Task", &[("title", string), ("done", boolean)]);
    let form = t.enumeration("Form", &[("Circle", &[float]), ("Dot", &[])]);
    let types = leak(&t);
    let stores = open(&dir.db(), &[spec("todos", task), spec("shapes", form)], types);
    assert_eq!(stores.schema_version(0), Some(2));
    let r = stores.read().unwrap();
    assert_eq!(show(types, r.get(0, "t1").unwrap().unwrap(), task), r#"Task { title: "old", done: true }"#);
    assert_eq!(show(types, r.get(1, "s2").unwrap().unwrap(), form), "Dot");
}

#[test]
fn a_file_in_use_is_an_error() {
    let dir = TempDir::new();
    let p = program();
    let stores = open(&dir.db(), &[spec("ints", p.int)], p.types);
    let message = open_err(&dir.db(), &[spec("ints", p.int)], p.types);
    assert!(message.starts_with("cannot open the store file "), "{message}");
    drop(stores);
    open(&dir.db(), &[spec("ints", p.int)], p.types);
}

#[test]
fn a_prefix_ends_before_the_first_string_it_does_not_start() {
    assert_eq!(prefix_end("a/").as_deref(), Some("a0"));
    assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
    // Surrogates are not chars: U+D7FF grows to U+E000.
    assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
    assert_eq!(prefix_end("\u{10FFFF}"), None);
    assert_eq!(prefix_end(""), None);
    for key in ["a/", "a/zzz", "a/\u{10FFFF}\u{10FFFF}"] {
        assert!(key < prefix_end("a/").unwrap().as_str(), "{key}");
    }
}
