//! Durable stores (`store name: T`, brief §4) on one redb file per program:
//! opening it against the program's store types, and the transactions an
//! invocation reads and writes them through.
//!
//! - `Stores::open` records each store's schema in the file, or checks the
//!   recorded one against the program's type (`schema.rs`); an incompatible
//!   program is refused before anything is written, so the file is left
//!   byte-for-byte as it was.
//! - `Stores::read` gives a `ReadTxn` (a snapshot; any number at once),
//!   `Stores::write` a `WriteTxn` (one at a time; it sees its own writes).
//!   `WriteTxn::commit` returns once the commit is durable; dropping a
//!   `WriteTxn` without committing rolls it back.
//! - Values come back as Distlang values in the calling thread's region;
//!   results listing several rows are in key order.
//! - Every failure — of the file, or bytes that do not read back — is an
//!   `OpenError` or a `StoreError` naming the store; nothing here panics on
//!   a bad file (a panic inside redb is caught and reported as an error).
//!
//! The file format is in README.md ("Stores"); the value encoding in
//! `codec.rs`, the schema text and the compatibility rules in `schema.rs`,
//! `insert`'s keys in `keys.rs`, the indexes' entries in `index.rs`.

mod codec;
mod index;
mod keys;
mod schema;
#[cfg(test)]
mod tests;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::path::Path;
use std::sync::{Arc, Mutex};

use redb::{
    Database, DatabaseError, Durability, ReadOnlyDatabase, ReadOnlyTable, ReadTransaction, ReadableDatabase,
    ReadableTable, ReadableTableMetadata, TableDefinition, TableError, TableHandle, WriteTransaction,
};

use crate::types::{TypeIdx, Types};
use crate::value::{List, Str, Word, new_list, new_object, new_str};

pub use index::IndexSpec;
pub use schema::Schema;

use codec::Reader;
use index::IndexDef;
use keys::{KeyGen, Stamp};
use schema::Plan;

/// Keys and encoded values of every table.
type Def<'a> = TableDefinition<'a, &'static str, &'static [u8]>;

/// The metadata table: the format, every store's schemas, `insert`'s state.
const META: Def<'static> = TableDefinition::new("distlang/meta");
const FORMAT_KEY: &str = "format";
const FORMAT: &[u8] = b"distlang-store 1";
const STAMP_KEY: &str = "insert/last";
/// Each index's `IndexSpec::text` is recorded under `index/STORE/FIELD`.
const INDEX_PREFIX: &str = "index/";

/// redb's page cache (reads, and half of it for a transaction's writes
/// before they go to the file): the server's memory stays within bounds
/// however big the file grows; beyond it, pages come from the system's
/// file cache.
const CACHE: usize = 16 << 20;

/// Versions are zero-padded so that their keys sort in version order.
fn schema_key(store: &str, version: u64) -> String {
    format!("schema/{store}/{version:010}")
}

fn table_name(store: &str) -> String {
    format!("store/{store}")
}

/// Which store of the program: its position in the `specs` given to
/// `Stores::open`.
pub type StoreId = usize;

/// A store the program declares: `store name: T`.
#[derive(Clone, Debug)]
pub struct StoreSpec {
    pub name: String,
    /// The value type `T`.
    pub value: TypeIdx,
    /// `unique(…)` and `index(…)`, in declaration order.
    pub indexes: Vec<IndexSpec>,
}

/// Why `Stores::open` refused the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenError {
    pub message: String,
}

/// A store operation that failed (the file, or a stored value that cannot
/// be read); the invocation should end as after a runtime error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    pub message: String,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OpenError {}
impl std::error::Error for StoreError {}

fn open_error(message: impl Into<String>) -> OpenError {
    OpenError { message: message.into() }
}

fn file_error(path: &Path, e: impl fmt::Display) -> OpenError {
    open_error(format!("cannot open the store file {}: {e}", path.display()))
}

fn store_error(e: impl fmt::Display) -> StoreError {
    StoreError { message: format!("store file error: {e}") }
}

/// Runs `f`, turning a panic (redb's reaction to some corrupted files) into
/// an error. A runtime error (`error::fail`, e.g. running out of memory
/// while decoding) keeps unwinding to the invocation's boundary.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        if payload.is::<crate::error::RuntimeError>() {
            std::panic::resume_unwind(payload);
        }
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".to_string());
        format!("the store file is damaged ({what})")
    })
}

/// One store, as opened.
struct StoreInfo {
    name: Box<str>,
    table: String,
    ty: TypeIdx,
    /// The schema new rows are written under.
    version: u64,
    /// `plans[v - 1]` reads rows written under version `v`.
    plans: Vec<Plan>,
    schema_text: String,
    indexes: Vec<Index>,
}

/// An index of a store, as opened: its spec and its table's name.
struct Index {
    spec: IndexSpec,
    table: String,
}

impl Index {
    fn def(&self) -> IndexDef<'_> {
        TableDefinition::new(&self.table)
    }
}

impl StoreInfo {
    fn def(&self) -> Def<'_> {
        TableDefinition::new(&self.table)
    }

    fn index(&self, index: usize) -> Result<&Index, StoreError> {
        self.indexes.get(index).ok_or_else(|| StoreError { message: format!("internal error: store {} has no index {index}", self.name) })
    }

    /// The "already taken" error of a unique index.
    fn clash(&self, index: &IndexSpec, value: &[u8]) -> StoreError {
        StoreError {
            message: format!("store {}: unique index {}: {} is already taken", self.name, index.field, index.show_encoded(value)),
        }
    }

    /// Decodes the row stored under `key` into the region.
    fn decode(&self, key: &str, bytes: &[u8]) -> Result<Word, StoreError> {
        let mut r = Reader::new(bytes);
        let result = r.varint().and_then(|version| {
            let plan = usize::try_from(version)
                .ok()
                .and_then(|v| v.checked_sub(1))
                .and_then(|v| self.plans.get(v))
                .ok_or("unknown schema version")?;
            let v = r.value(plan, 0)?;
            if r.at_end() { Ok(v) } else { Err("bytes after the value") }
        });
        result.map_err(|what| StoreError {
            message: format!("store {}: the value at key {key:?} cannot be read: {what}", self.name),
        })
    }
}

struct Inner {
    /// Shared by the `reopen`s of one file.
    db: Arc<Database>,
    path: std::path::PathBuf,
    types: &'static Types,
    stores: Vec<StoreInfo>,
    keys: Arc<Mutex<KeyGen>>,
    /// The indexes `open` built (store, index), for `rebuild`.
    built: Vec<(usize, usize)>,
}

/// A mutex's contents, even after a panic elsewhere while it was held (the
/// state stays consistent: every update is a single assignment).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The open store file of a program (cheap to clone; the file closes when
/// the last clone and the last transaction are gone).
#[derive(Clone)]
pub struct Stores {
    inner: Arc<Inner>,
}

/// What the file records, read before deciding anything.
#[derive(Default)]
struct Recorded {
    format: Option<Vec<u8>>,
    /// Per store, its schemas' texts in version order (version 1 first).
    schemas: HashMap<String, Vec<(u64, String)>>,
    stamp: Stamp,
    /// Tables in the file besides the metadata.
    tables: Vec<String>,
    /// Each index's recorded text, by its metadata key.
    indexes: HashMap<String, String>,
}

fn read_recorded<D: ReadableDatabase>(db: &D) -> Result<Recorded, String> {
    let txn = db.begin_read().map_err(|e| e.to_string())?;
    let mut recorded = Recorded {
        tables: txn.list_tables().map_err(|e| e.to_string())?.map(|t| t.name().to_string()).collect(),
        ..Recorded::default()
    };
    recorded.tables.retain(|t| t != META.name());
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(TableError::TableDoesNotExist(_)) => return Ok(recorded),
        Err(e) => return Err(e.to_string()),
    };
    for entry in meta.iter().map_err(|e| e.to_string())? {
        let (key, value) = entry.map_err(|e| e.to_string())?;
        let (key, value) = (key.value(), value.value());
        if key == FORMAT_KEY {
            recorded.format = Some(value.to_vec());
        } else if key == STAMP_KEY {
            recorded.stamp = Stamp::from_bytes(value).ok_or("malformed insert state")?;
        } else if key.starts_with(INDEX_PREFIX) {
            let text = String::from_utf8(value.to_vec()).map_err(|_| format!("malformed metadata key {key:?}"))?;
            recorded.indexes.insert(key.to_string(), text);
        } else if let Some(rest) = key.strip_prefix("schema/") {
            let bad = || format!("malformed metadata key {key:?}");
            let (store, version) = rest.rsplit_once('/').ok_or_else(bad)?;
            let version: u64 = version.parse().map_err(|_| bad())?;
            let text = String::from_utf8(value.to_vec()).map_err(|_| bad())?;
            recorded.schemas.entry(store.to_string()).or_default().push((version, text));
        }
    }
    Ok(recorded)
}

/// The outcome of checking one store against what the file records.
struct Checked {
    version: u64,
    plans: Vec<Plan>,
    schema_text: String,
    /// The schema to record as `version`, if it is new.
    record: bool,
}

/// Checks the program's stores against the file; `Err` names the store and
/// the difference.
fn check(
    path: &Path,
    specs: &[StoreSpec],
    wanted: &[Schema],
    recorded: &Recorded,
    types: &Types,
) -> Result<Vec<Checked>, OpenError> {
    match &recorded.format {
        Some(f) if f != FORMAT => {
            return Err(open_error(format!(
                "{} is a store file of an unknown format ({:?})",
                path.display(),
                String::from_utf8_lossy(f)
            )));
        }
        None if !recorded.tables.is_empty() => {
            return Err(open_error(format!("{} is a redb file but not a Distlang store file", path.display())));
        }
        _ => {}
    }
    let mut out = Vec::with_capacity(specs.len());
    for (spec, schema) in specs.iter().zip(wanted) {
        let name = &spec.name;
        let text = schema.to_text();
        let identity =
            |s: &Schema| schema::plan(s, types, spec.value).map_err(|e| open_error(format!("store {name}: {e}")));
        let Some(versions) = recorded.schemas.get(name) else {
            out.push(Checked { version: 1, plans: vec![identity(schema)?], schema_text: text, record: true });
            continue;
        };
        let mut old = Vec::with_capacity(versions.len());
        for (i, (version, old_text)) in versions.iter().enumerate() {
            if *version != i as u64 + 1 {
                return Err(open_error(format!("store {name}: the recorded schema versions are not 1, 2, 3…")));
            }
            let s = Schema::parse(old_text)
                .map_err(|e| open_error(format!("store {name}: recorded schema version {version}: {e}")))?;
            old.push(s);
        }
        let latest = versions.len();
        // The latest recorded schema first: its difference is the one to report.
        let mut plans: Vec<Option<Plan>> = (0..latest).map(|_| None).collect();
        for i in (0..latest).rev() {
            let plan = schema::plan(&old[i], types, spec.value).map_err(|e| {
                if i + 1 == latest {
                    open_error(format!("store {name}: {e}"))
                } else {
                    open_error(format!("store {name}: {e} (for the values written under schema version {})", i + 1))
                }
            })?;
            plans[i] = Some(plan);
        }
        let mut plans: Vec<Plan> = plans.into_iter().flatten().collect();
        let unchanged = versions[latest - 1].1 == text;
        if !unchanged {
            plans.push(identity(schema)?);
        }
        let version = plans.len() as u64;
        out.push(Checked { version, plans, schema_text: text, record: !unchanged });
    }
    Ok(out)
}

/// Runs `f` on a thread of its own (its region released with it), a panic
/// inside redb caught.
fn on_build_thread<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, String> {
    std::thread::scope(|scope| {
        let builder = std::thread::Builder::new().name("dl-store-build".into()).stack_size(crate::stack::STACK_SIZE);
        match builder.spawn_scoped(scope, || guarded(f)) {
            Ok(thread) => thread.join().unwrap_or_else(|_| Err("the store file could not be prepared".into())),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// Why an index could not be built.
enum Build {
    /// A unique index over a value that two entries hold.
    Clash(StoreError),
    File(String),
}

/// Fills `index`'s table anew from every row of `info`'s store.
fn build_index(txn: &WriteTransaction, info: &StoreInfo, index: &Index) -> Result<(), Build> {
    let file = |e: &dyn fmt::Display| Build::File(e.to_string());
    txn.delete_table(index.def()).map_err(|e| file(&e))?;
    let mut entries = txn.open_table(index.def()).map_err(|e| file(&e))?;
    let rows = txn.open_table(info.def()).map_err(|e| file(&e))?;
    for (n, row) in rows.iter().map_err(|e| file(&e))?.enumerate() {
        if n % 1024 == 0 {
            crate::region::reset();
        }
        let (key, bytes) = row.map_err(|e| file(&e))?;
        let record = info.decode(key.value(), bytes.value()).map_err(|e| Build::File(e.message))?;
        // SAFETY: `decode` made a value of the store's type.
        for value in unsafe { index.spec.values_of(record) } {
            if index.spec.unique && first_entry(&entries, &value).map_err(|e| Build::File(e.message))?.is_some() {
                return Err(Build::Clash(info.clash(&index.spec, &value)));
            }
            entries.insert(index::entry(&value, key.value()).as_slice(), ()).map_err(|e| file(&e))?;
        }
    }
    crate::region::reset();
    Ok(())
}

/// The first entry of `value` in an index table (its key's bytes).
fn first_entry<T: ReadableTable<&'static [u8], ()>>(table: &T, value: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    let end = index::end_of(value);
    let mut range = table.range::<&[u8]>(value..end.as_slice()).map_err(store_error)?;
    match range.next() {
        Some(entry) => Ok(Some(entry.map_err(store_error)?.0.value().to_vec())),
        None => Ok(None),
    }
}

impl Stores {
    /// Opens (or creates) the store file at `path` for a program declaring
    /// `specs`, whose types are `types`.
    ///
    /// A store with no recorded schema gets one. A recorded schema must be
    /// compatible with the program's type (see `schema::plan`); if one is
    /// not, the error names the store and the difference and the file is
    /// left exactly as it was: the check runs on a read-only handle, before
    /// the file is opened for writing. (Only a file left by a crash is
    /// opened for writing first, since redb must recover it before it can
    /// be read; recovery changes no data.) Compatible changes are recorded
    /// as a new schema version; rows keep the version they were written
    /// under and are converted when read.
    pub fn open(path: impl AsRef<Path>, specs: &[StoreSpec], types: &'static Types) -> Result<Stores, OpenError> {
        let path = path.as_ref();
        let wanted = Stores::schemas(specs, types)?;

        // The check on a read-only handle, which never writes to the file.
        let exists = std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
        if exists {
            match guarded(|| ReadOnlyDatabase::open(path)).map_err(|e| file_error(path, e))? {
                Ok(ro) => {
                    let recorded = guarded(|| read_recorded(&ro)).and_then(|r| r).map_err(|e| file_error(path, e))?;
                    check(path, specs, &wanted, &recorded, types)?;
                }
                // Not shut down cleanly: redb recovers it on the writable open below.
                Err(DatabaseError::RepairAborted) => {}
                Err(e) => return Err(file_error(path, e)),
            }
        }

        let db = guarded(|| Database::builder().set_cache_size(CACHE).create(path))
            .map_err(|e| file_error(path, e))?
            .map_err(|e| file_error(path, e))?;
        Stores::prepare(Arc::new(db), path, specs, &wanted, types, None)
    }

    /// The same file for another program (`dlc serve`'s reload): checked
    /// and prepared as by `open`, with the database and `insert`'s key
    /// state shared with this one, which stays usable. `Err` changes
    /// nothing.
    pub fn reopen(&self, specs: &[StoreSpec], types: &'static Types) -> Result<Stores, OpenError> {
        let wanted = Stores::schemas(specs, types)?;
        let inner = &self.inner;
        Stores::prepare(Arc::clone(&inner.db), &inner.path, specs, &wanted, types, Some(Arc::clone(&inner.keys)))
    }

    /// A new, empty set of stores in memory (`dlc test`: a fresh one per test).
    pub fn in_memory(specs: &[StoreSpec], types: &'static Types) -> Result<Stores, OpenError> {
        let wanted = Stores::schemas(specs, types)?;
        let path = Path::new(":memory:");
        let db = guarded(|| Database::builder().create_with_backend(redb::backends::InMemoryBackend::new()))
            .map_err(|e| file_error(path, e))?
            .map_err(|e| file_error(path, e))?;
        Stores::prepare(Arc::new(db), path, specs, &wanted, types, None)
    }

    /// Checks the stores against what `db` records, and records what is
    /// new: schemas, tables, and indexes built anew (a unique index over
    /// values already taken twice refuses the file, which stays as it was).
    fn prepare(
        db: Arc<Database>,
        path: &Path,
        specs: &[StoreSpec],
        wanted: &[Schema],
        types: &'static Types,
        keys: Option<Arc<Mutex<KeyGen>>>,
    ) -> Result<Stores, OpenError> {
        let recorded = guarded(|| read_recorded(&*db)).and_then(|r| r).map_err(|e| file_error(path, e))?;
        let checked = check(path, specs, wanted, &recorded, types)?;

        let records: Vec<bool> = checked.iter().map(|c| c.record).collect();
        let stores: Vec<StoreInfo> = specs
            .iter()
            .zip(checked)
            .map(|(spec, c)| StoreInfo {
                name: spec.name.as_str().into(),
                table: table_name(&spec.name),
                ty: spec.value,
                version: c.version,
                plans: c.plans,
                schema_text: c.schema_text,
                indexes: spec
                    .indexes
                    .iter()
                    .map(|i| Index { spec: i.clone(), table: index::table_name(&spec.name, &i.field) })
                    .collect(),
            })
            .collect();
        // Indexes new or changed since the file recorded them, and those no
        // longer declared.
        let builds: Vec<(usize, usize)> = stores
            .iter()
            .enumerate()
            .flat_map(|(s, info)| info.indexes.iter().enumerate().map(move |(i, index)| (s, i, index)))
            .filter(|(_, _, index)| recorded.indexes.get(&index.table) != Some(&index.spec.text()))
            .map(|(s, i, _)| (s, i))
            .collect();
        let declared = |key: &String| stores.iter().any(|s| s.indexes.iter().any(|i| &i.table == key));
        let dropped: Vec<&String> = recorded.indexes.keys().filter(|key| !declared(key)).collect();

        let missing_table = |spec: &StoreSpec| !recorded.tables.contains(&table_name(&spec.name));
        let must_write = recorded.format.is_none()
            || records.contains(&true)
            || specs.iter().any(missing_table)
            || !builds.is_empty()
            || !dropped.is_empty();
        if must_write {
            // On a thread of its own: building an index decodes rows into
            // that thread's region, released as it goes.
            let write = || -> Result<(), OpenError> {
                let fail = |e: String| file_error(path, e);
                let txn = db.begin_write().map_err(|e| fail(e.to_string()))?;
                {
                    let mut meta = txn.open_table(META).map_err(|e| fail(e.to_string()))?;
                    meta.insert(FORMAT_KEY, FORMAT).map_err(|e| fail(e.to_string()))?;
                    for (info, record) in stores.iter().zip(&records) {
                        if *record {
                            let key = schema_key(&info.name, info.version);
                            meta.insert(key.as_str(), info.schema_text.as_bytes()).map_err(|e| fail(e.to_string()))?;
                        }
                        txn.open_table(info.def()).map_err(|e| fail(e.to_string()))?;
                    }
                    for key in &dropped {
                        txn.delete_table(IndexDef::new(key)).map_err(|e| fail(e.to_string()))?;
                        meta.remove(key.as_str()).map_err(|e| fail(e.to_string()))?;
                    }
                    for &(s, i) in &builds {
                        let index = &stores[s].indexes[i];
                        build_index(&txn, &stores[s], index).map_err(|e| match e {
                            Build::Clash(e) => open_error(e.message),
                            Build::File(e) => fail(e),
                        })?;
                        meta.insert(index.table.as_str(), index.spec.text().as_bytes()).map_err(|e| fail(e.to_string()))?;
                    }
                }
                txn.commit().map_err(|e| fail(e.to_string()))
            };
            on_build_thread(write).map_err(|e| file_error(path, e))??;
        }

        let keys = keys.unwrap_or_else(|| Arc::new(Mutex::new(KeyGen::new(recorded.stamp))));
        Ok(Stores { inner: Arc::new(Inner { db, path: path.to_path_buf(), types, stores, keys, built: builds }) })
    }

    /// Builds again the indexes that opening built (`dlc serve`: once the
    /// version before, which did not keep them, has stopped writing).
    pub fn rebuild(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        if inner.built.is_empty() {
            return Ok(());
        }
        let write = || -> Result<(), StoreError> {
            let txn = inner.db.begin_write().map_err(store_error)?;
            for &(s, i) in &inner.built {
                build_index(&txn, &inner.stores[s], &inner.stores[s].indexes[i]).map_err(|e| match e {
                    Build::Clash(e) => e,
                    Build::File(e) => store_error(e),
                })?;
            }
            txn.commit().map_err(store_error)
        };
        on_build_thread(write).map_err(store_error)?
    }

    /// The schema of each store's type; two stores of one name are refused.
    fn schemas(specs: &[StoreSpec], types: &'static Types) -> Result<Vec<Schema>, OpenError> {
        let mut wanted = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            if specs[..i].iter().any(|s| s.name == spec.name) {
                return Err(open_error(format!("store {} is declared twice", spec.name)));
            }
            let schema = Schema::of_type(types, spec.value).map_err(|_| {
                open_error(format!(
                    "store {}: its type {} contains a function, which cannot be stored",
                    spec.name,
                    types.name(spec.value)
                ))
            })?;
            wanted.push(schema);
        }

        Ok(wanted)
    }

    /// The store declared as `name`.
    pub fn id(&self, name: &str) -> Option<StoreId> {
        self.inner.stores.iter().position(|s| &*s.name == name)
    }

    /// The recorded schema of a store, in its text form (`schema.rs`).
    pub fn schema_text(&self, store: StoreId) -> Option<&str> {
        self.inner.stores.get(store).map(|s| s.schema_text.as_str())
    }

    /// The schema version new rows of `store` are written under (1 for a
    /// new store; one more for each compatible change of its type).
    pub fn schema_version(&self, store: StoreId) -> Option<u64> {
        self.inner.stores.get(store).map(|s| s.version)
    }

    /// A read transaction: a consistent snapshot of every store, as the
    /// last commit left them (every commit is durable before it is seen).
    pub fn read(&self) -> Result<ReadTxn, StoreError> {
        let txn = guarded(|| self.inner.db.begin_read()).map_err(store_error)?.map_err(store_error)?;
        let tables = self.inner.stores.iter().map(|_| OnceCell::new()).collect();
        Ok(ReadTxn { inner: self.inner.clone(), txn, tables })
    }

    /// A write transaction (waits for the one in progress, if any).
    pub fn write(&self) -> Result<WriteTxn, StoreError> {
        let mut txn = guarded(|| self.inner.db.begin_write()).map_err(store_error)?.map_err(store_error)?;
        txn.set_durability(Durability::Immediate).map_err(store_error)?;
        Ok(WriteTxn { inner: self.inner.clone(), txn, stamp: None, buf: Vec::new(), undo: Vec::new() })
    }
}

// ---- reads, shared by both kinds of transaction ----

fn info(inner: &Inner, store: StoreId) -> Result<&StoreInfo, StoreError> {
    inner.stores.get(store).ok_or_else(|| StoreError { message: format!("internal error: no store {store}") })
}

fn get_in<T: ReadableTable<&'static str, &'static [u8]>>(
    info: &StoreInfo,
    table: &T,
    key: &str,
) -> Result<Option<Word>, StoreError> {
    match table.get(key).map_err(store_error)? {
        Some(bytes) => info.decode(key, bytes.value()).map(Some),
        None => Ok(None),
    }
}

fn has_in<T: ReadableTable<&'static str, &'static [u8]>>(table: &T, key: &str) -> Result<bool, StoreError> {
    Ok(table.get(key).map_err(store_error)?.is_some())
}

fn count_in<T: ReadableTableMetadata>(table: &T) -> Result<i64, StoreError> {
    Ok(table.len().map_err(store_error)? as i64)
}

/// What a listing returns per row.
#[derive(Clone, Copy)]
enum Listing {
    Keys,
    Values,
    Entries,
}

/// The rows whose key starts with `prefix`, in key order, as a `List`.
fn list_in<T: ReadableTable<&'static str, &'static [u8]>>(
    info: &StoreInfo,
    table: &T,
    prefix: &str,
    what: Listing,
) -> Result<*mut List, StoreError> {
    let mut words = Vec::new();
    let range = if prefix.is_empty() { table.iter() } else { table.range::<&str>(prefix..) };
    for row in range.map_err(store_error)? {
        let (key, value) = row.map_err(store_error)?;
        let key = key.value();
        if !key.starts_with(prefix) {
            break;
        }
        words.push(match what {
            Listing::Keys => new_str(key.as_bytes()) as Word,
            Listing::Values => info.decode(key, value.value())?,
            Listing::Entries => entry(info, key, value.value())?,
        });
    }
    Ok(new_list(&words))
}

/// A row as a `(key, value)` tuple.
fn entry(info: &StoreInfo, key: &str, bytes: &[u8]) -> Result<Word, StoreError> {
    let v = info.decode(key, bytes)?;
    Ok(new_object(&[new_str(key.as_bytes()) as Word, v]) as Word)
}

/// What `store.page(scan)` asks for (`stdlib/store.dl`'s `Scan`).
pub struct Scan<'a> {
    pub prefix: &'a str,
    pub after: Option<&'a str>,
    pub limit: usize,
    pub reverse: bool,
}

/// The smallest string above every string that starts with `prefix`, if
/// any: the prefix with its last char that can grow grown, cut after it.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The keys a scan reads, as range bounds: `None` when the range is empty
/// (`after` before the prefix, going back).
fn scan_bounds(scan: &Scan) -> Option<(Bound<String>, Bound<String>)> {
    let end = prefix_end(scan.prefix);
    let (low, high) = if scan.reverse {
        let high = match (scan.after, end) {
            (Some(after), Some(end)) => Excluded(if after < end.as_str() { after.to_string() } else { end }),
            (Some(after), None) => Excluded(after.to_string()),
            (None, Some(end)) => Excluded(end),
            (None, None) => Unbounded,
        };
        (Included(scan.prefix.to_string()), high)
    } else {
        let low = match scan.after {
            Some(after) if after >= scan.prefix => Excluded(after.to_string()),
            _ => Included(scan.prefix.to_string()),
        };
        (low, end.map_or(Unbounded, Excluded))
    };
    let crossed = match (&low, &high) {
        (Included(l) | Excluded(l), Excluded(h)) => l >= h,
        _ => false,
    };
    (!crossed).then_some((low, high))
}

/// A `Page<T>` of rows read in the scan's order, `limit + 1` at most: the
/// first `limit`, and the last one's key when more follow.
fn page_of(mut rows: Vec<Word>, limit: usize) -> *mut Word {
    let next = if rows.len() > limit {
        rows.truncate(limit);
        // SAFETY: each row is a `(key, value)` pair.
        Some(unsafe { *(rows[limit - 1] as *const Word) })
    } else {
        None
    };
    new_object(&[new_list(&rows) as Word, crate::value::option(next) as Word])
}

/// The rows of a range, forward or back.
fn in_order<'r, I: DoubleEndedIterator + 'r>(range: I, reverse: bool) -> Box<dyn Iterator<Item = I::Item> + 'r> {
    if reverse { Box::new(range.rev()) } else { Box::new(range) }
}

/// One page of a scan of the store. Reads `limit + 1` rows at most.
fn page_in<T: ReadableTable<&'static str, &'static [u8]>>(
    info: &StoreInfo,
    table: &T,
    scan: &Scan,
) -> Result<*mut Word, StoreError> {
    let mut rows = Vec::new();
    if let Some((low, high)) = scan_bounds(scan) {
        let range = table.range::<&str>((low.as_ref().map(String::as_str), high.as_ref().map(String::as_str))).map_err(store_error)?;
        for row in in_order(range, scan.reverse) {
            let (key, value) = row.map_err(store_error)?;
            let key = key.value();
            if rows.len() > scan.limit || !key.starts_with(scan.prefix) {
                break;
            }
            rows.push(entry(info, key, value.value())?);
        }
    }
    Ok(page_of(rows, scan.limit))
}

/// The entry whose field is `value` in a unique index, as an
/// `Option<(String, T)>`.
fn index_get_in<T, I>(info: &StoreInfo, table: &T, entries: &I, value: &[u8]) -> Result<*mut Word, StoreError>
where
    T: ReadableTable<&'static str, &'static [u8]>,
    I: ReadableTable<&'static [u8], ()>,
{
    let found = match first_entry(entries, value)? {
        Some(e) => Some(indexed_entry(info, table, &e, value)?),
        None => None,
    };
    Ok(crate::value::option(found))
}

/// The row an index entry of `value` points to, as a `(key, value)` tuple.
fn indexed_entry<T: ReadableTable<&'static str, &'static [u8]>>(
    info: &StoreInfo,
    table: &T,
    index_entry: &[u8],
    value: &[u8],
) -> Result<Word, StoreError> {
    let damaged = |what: String| StoreError { message: format!("store {}: the index is damaged: {what}", info.name) };
    let key = index::key_of(index_entry, value).ok_or_else(|| damaged("an entry's key is not UTF-8".into()))?;
    match table.get(key).map_err(store_error)? {
        Some(bytes) => entry(info, key, bytes.value()),
        None => Err(damaged(format!("an entry for the missing key {key:?}"))),
    }
}

/// One page of the entries an index has for `value`: the scan's keys of
/// them, as `page_in`'s. Reads `limit + 1` index entries and their rows.
fn index_page_in<T, I>(info: &StoreInfo, table: &T, entries: &I, value: &[u8], scan: &Scan) -> Result<*mut Word, StoreError>
where
    T: ReadableTable<&'static str, &'static [u8]>,
    I: ReadableTable<&'static [u8], ()>,
{
    let mut rows = Vec::new();
    if let Some((low, high)) = scan_bounds(scan) {
        // The same keys, after the value; the end of its entries by default.
        let within = |k: &String| index::entry(value, k);
        let high = match high {
            Unbounded => Excluded(index::end_of(value)),
            bound => bound.as_ref().map(within),
        };
        let low = low.as_ref().map(within);
        let range = entries
            .range::<&[u8]>((low.as_ref().map(Vec::as_slice), high.as_ref().map(Vec::as_slice)))
            .map_err(store_error)?;
        for e in in_order(range, scan.reverse) {
            let e = e.map_err(store_error)?.0;
            let within = index::key_of(e.value(), value).is_none_or(|key| key.starts_with(scan.prefix));
            if rows.len() > scan.limit || !within {
                break;
            }
            rows.push(indexed_entry(info, table, e.value(), value)?);
        }
    }
    Ok(page_of(rows, scan.limit))
}

/// The reads both kinds of transaction offer (a `WriteTxn` sees its own
/// writes). Values are made in the calling thread's region.
pub trait Reads {
    /// `store.get(key)`.
    fn get(&self, store: StoreId, key: &str) -> Result<Option<Word>, StoreError>;
    /// `store.has(key)`.
    fn has(&self, store: StoreId, key: &str) -> Result<bool, StoreError>;
    /// `store.count()`.
    fn count(&self, store: StoreId) -> Result<i64, StoreError>;
    /// `store.keys()`: a `List<String>` in key order.
    fn keys(&self, store: StoreId) -> Result<*mut List, StoreError>;
    /// `store.values()`: a `List<T>` in key order.
    fn values(&self, store: StoreId) -> Result<*mut List, StoreError>;
    /// `store.entries()`: a `List<(String, T)>` in key order.
    fn entries(&self, store: StoreId) -> Result<*mut List, StoreError>;
    /// `store.prefix(p)`: the entries whose key starts with `p`, in key
    /// order, as a `List<(String, T)>`.
    fn prefix(&self, store: StoreId, prefix: &str) -> Result<*mut List, StoreError>;
    /// `store.page(scan)`: a `Page<T>`.
    fn page(&self, store: StoreId, scan: &Scan) -> Result<*mut Word, StoreError>;
    /// `store.by_FIELD(value)` on a unique index: an `Option<(String, T)>`.
    ///
    /// # Safety
    /// `value` is a value of the index's type.
    unsafe fn index_get(&self, store: StoreId, index: usize, value: Word) -> Result<*mut Word, StoreError>;
    /// `store.by_FIELD(value, scan)` on another index: a `Page<T>`.
    ///
    /// # Safety
    /// As `index_get`.
    unsafe fn index_page(&self, store: StoreId, index: usize, value: Word, scan: &Scan) -> Result<*mut Word, StoreError>;
}

/// `Reads` for a transaction type with a `with_table`.
macro_rules! impl_reads {
    ($t:ty) => {
        impl Reads for $t {
            fn get(&self, store: StoreId, key: &str) -> Result<Option<Word>, StoreError> {
                self.with_table(store, |info, t| get_in(info, t, key))
            }

            fn has(&self, store: StoreId, key: &str) -> Result<bool, StoreError> {
                self.with_table(store, |_, t| has_in(t, key))
            }

            fn count(&self, store: StoreId) -> Result<i64, StoreError> {
                self.with_table(store, |_, t| count_in(t))
            }

            fn keys(&self, store: StoreId) -> Result<*mut List, StoreError> {
                self.with_table(store, |info, t| list_in(info, t, "", Listing::Keys))
            }

            fn values(&self, store: StoreId) -> Result<*mut List, StoreError> {
                self.with_table(store, |info, t| list_in(info, t, "", Listing::Values))
            }

            fn entries(&self, store: StoreId) -> Result<*mut List, StoreError> {
                self.with_table(store, |info, t| list_in(info, t, "", Listing::Entries))
            }

            fn prefix(&self, store: StoreId, prefix: &str) -> Result<*mut List, StoreError> {
                self.with_table(store, |info, t| list_in(info, t, prefix, Listing::Entries))
            }

            fn page(&self, store: StoreId, scan: &Scan) -> Result<*mut Word, StoreError> {
                self.with_table(store, |info, t| page_in(info, t, scan))
            }

            unsafe fn index_get(&self, store: StoreId, index: usize, value: Word) -> Result<*mut Word, StoreError> {
                self.with_index(store, index, |info, spec, t, entries| {
                    // SAFETY: the caller's contract.
                    index_get_in(info, t, entries, &unsafe { spec.encode(value) })
                })
            }

            unsafe fn index_page(&self, store: StoreId, index: usize, value: Word, scan: &Scan) -> Result<*mut Word, StoreError> {
                self.with_index(store, index, |info, spec, t, entries| {
                    // SAFETY: the caller's contract.
                    index_page_in(info, t, entries, &unsafe { spec.encode(value) }, scan)
                })
            }
        }
    };
}

impl_reads!(ReadTxn);
impl_reads!(WriteTxn);

/// A read-only transaction: every read sees the snapshot taken when it began.
pub struct ReadTxn {
    inner: Arc<Inner>,
    txn: ReadTransaction,
    /// Each store's table, opened on first use.
    tables: Vec<OnceCell<ReadOnlyTable<&'static str, &'static [u8]>>>,
}

impl ReadTxn {
    fn with_table<R>(
        &self,
        store: StoreId,
        f: impl FnOnce(&StoreInfo, &ReadOnlyTable<&'static str, &'static [u8]>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let info = info(&self.inner, store)?;
        let cell = self.tables.get(store).ok_or_else(|| store_error("no such store"))?;
        let table = match cell.get() {
            Some(table) => table,
            None => {
                let table = guarded(|| self.txn.open_table(info.def())).map_err(store_error)?.map_err(store_error)?;
                cell.get_or_init(|| table)
            }
        };
        guarded(|| f(info, table)).map_err(store_error)?
    }

    /// `with_table`, with the store's index `index` too.
    fn with_index<R>(
        &self,
        store: StoreId,
        index: usize,
        f: impl FnOnce(&StoreInfo, &IndexSpec, &ReadOnlyTable<&'static str, &'static [u8]>, &ReadOnlyTable<&'static [u8], ()>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.with_table(store, |info, table| {
            let index = info.index(index)?;
            let entries = self.txn.open_table(index.def()).map_err(store_error)?;
            f(info, &index.spec, table, &entries)
        })
    }
}

/// A read-write transaction: reads see its own writes; `commit` makes them
/// durable and visible together, dropping it discards them. Its writes
/// since a `savepoint` can be undone alone (`rollback_to`), which lets many
/// invocations share one transaction, and so one flush to disk.
pub struct WriteTxn {
    inner: Arc<Inner>,
    txn: WriteTransaction,
    /// The last `insert` key's stamp, to record at commit.
    stamp: Option<Stamp>,
    /// Reused for encoding.
    buf: Vec<u8>,
    /// What each write changed, in order: the undo log of `rollback_to`.
    undo: Vec<Undo>,
}

enum Undo {
    /// A row as it was before a write: `old` is `None` where there was none.
    Row { store: StoreId, key: Box<str>, old: Option<Box<[u8]>> },
    /// An index entry the write `added`, or removed.
    Entry { store: StoreId, index: usize, entry: Box<[u8]>, added: bool },
}

/// A point in a `WriteTxn` to roll back to.
#[derive(Clone, Copy, Debug)]
pub struct Savepoint(usize);

impl WriteTxn {
    fn with_table<R>(
        &self,
        store: StoreId,
        f: impl FnOnce(&StoreInfo, &redb::Table<'_, &'static str, &'static [u8]>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let info = info(&self.inner, store)?;
        guarded(|| {
            let table = self.txn.open_table(info.def()).map_err(store_error)?;
            f(info, &table)
        })
        .map_err(store_error)?
    }

    /// `with_table`, with the store's index `index` too.
    fn with_index<R>(
        &self,
        store: StoreId,
        index: usize,
        f: impl FnOnce(&StoreInfo, &IndexSpec, &redb::Table<'_, &'static str, &'static [u8]>, &redb::Table<'_, &'static [u8], ()>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.with_table(store, |info, table| {
            let index = info.index(index)?;
            let entries = self.txn.open_table(index.def()).map_err(store_error)?;
            f(info, &index.spec, table, &entries)
        })
    }

    /// `store.set(key, value)`: insert or replace.
    ///
    /// # Safety
    /// `value` is a valid value of the store's type.
    pub unsafe fn set(&mut self, store: StoreId, key: &str, value: Word) -> Result<(), StoreError> {
        let inner = self.inner.clone();
        let info = info(&inner, store)?;
        // SAFETY: the caller's contract.
        unsafe { self.encode(info, value)? };
        let buf = &self.buf;
        let old = guarded(|| {
            let mut table = self.txn.open_table(info.def()).map_err(store_error)?;
            let old = table.insert(key, buf.as_slice()).map_err(store_error)?;
            Ok(old.map(|old| Box::from(old.value())))
        })
        .map_err(store_error)??;
        self.undo.push(Undo::Row { store, key: key.into(), old: old.clone() });
        // SAFETY: the caller's contract.
        unsafe { self.reindex(info, store, key, old.as_deref(), Some(value)) }
    }

    /// `store.insert(value)`: stores `value` under a fresh key (`keys.rs`)
    /// and returns the key, a `String` in this thread's region.
    ///
    /// # Safety
    /// `value` is a valid value of the store's type.
    pub unsafe fn insert(&mut self, store: StoreId, value: Word) -> Result<*mut Str, StoreError> {
        let inner = self.inner.clone();
        let info = info(&inner, store)?;
        // SAFETY: the caller's contract.
        unsafe { self.encode(info, value)? };
        let buf = &self.buf;
        let stamp = &mut self.stamp;
        let txn = &self.txn;
        let undo = &mut self.undo;
        let key = guarded(|| {
            let mut table = txn.open_table(info.def()).map_err(store_error)?;
            loop {
                let (key, made) = {
                    let mut keys = lock(&inner.keys);
                    let key = keys.key(crate::time::now_ms().max(0) as u64);
                    (key, keys.last)
                };
                *stamp = Some(made);
                // SAFETY: base32 digits are ASCII.
                let key = unsafe { std::str::from_utf8_unchecked(&key) };
                // A key set by the program may, however unlikely, be the same.
                if table.get(key).map_err(store_error)?.is_some() {
                    continue;
                }
                table.insert(key, buf.as_slice()).map_err(store_error)?;
                undo.push(Undo::Row { store, key: key.into(), old: None });
                return Ok(new_str(key.as_bytes()));
            }
        })
        .map_err(store_error)??;
        // SAFETY: the caller's contract; `key` was just made.
        unsafe { self.reindex(info, store, crate::value::str_text(key), None, Some(value))? };
        Ok(key)
    }

    /// `store.delete(key)`: whether the key existed.
    pub fn delete(&mut self, store: StoreId, key: &str) -> Result<bool, StoreError> {
        let inner = self.inner.clone();
        let info = info(&inner, store)?;
        let old: Option<Box<[u8]>> = guarded(|| {
            let mut table = self.txn.open_table(info.def()).map_err(store_error)?;
            let old = table.remove(key).map_err(store_error)?;
            Ok(old.map(|old| Box::from(old.value())))
        })
        .map_err(store_error)??;
        let Some(old) = old else { return Ok(false) };
        self.undo.push(Undo::Row { store, key: key.into(), old: Some(old.clone()) });
        // SAFETY: no new value.
        unsafe { self.reindex(info, store, key, Some(&old), None)? };
        Ok(true)
    }

    /// Moves `key`'s entries in the indexes of `info`'s store from what the
    /// row `old` held to what `new` holds; a value a unique index has for
    /// another key is an error (the invocation's writes are then undone).
    ///
    /// # Safety
    /// `new` is a valid value of the store's type.
    unsafe fn reindex(&mut self, info: &StoreInfo, store: StoreId, key: &str, old: Option<&[u8]>, new: Option<Word>) -> Result<(), StoreError> {
        if info.indexes.is_empty() {
            return Ok(());
        }
        let old = old.map(|bytes| info.decode(key, bytes)).transpose()?;
        let (txn, undo) = (&self.txn, &mut self.undo);
        guarded(|| {
            for (i, index) in info.indexes.iter().enumerate() {
                // SAFETY: `old` was decoded as, and `new` is, a value of the store's type.
                let values = |row: Option<Word>| row.map_or_else(Vec::new, |v| unsafe { index.spec.values_of(v) });
                let (before, after) = (values(old), values(new));
                let mut table = txn.open_table(index.def()).map_err(store_error)?;
                for value in before.iter().filter(|v| !after.contains(v)) {
                    let entry = index::entry(value, key);
                    table.remove(entry.as_slice()).map_err(store_error)?;
                    undo.push(Undo::Entry { store, index: i, entry: entry.into(), added: false });
                }
                for value in after.iter().filter(|v| !before.contains(v)) {
                    if index.spec.unique && first_entry(&table, value)?.is_some() {
                        return Err(info.clash(&index.spec, value));
                    }
                    let entry = index::entry(value, key);
                    table.insert(entry.as_slice(), ()).map_err(store_error)?;
                    undo.push(Undo::Entry { store, index: i, entry: entry.into(), added: true });
                }
            }
            Ok(())
        })
        .map_err(store_error)?
    }

    /// The transaction as it is now, to come back to with `rollback_to`.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint(self.undo.len())
    }

    /// Undoes every write since `savepoint` (the writes before it stay).
    /// On `Err` the transaction is in no known state: drop it.
    pub fn rollback_to(&mut self, savepoint: Savepoint) -> Result<(), StoreError> {
        let undone = self.undo.split_off(savepoint.0.min(self.undo.len()));
        let (inner, txn) = (&self.inner, &self.txn);
        guarded(|| {
            for change in undone.iter().rev() {
                match change {
                    Undo::Row { store, key, old } => {
                        let mut table = txn.open_table(info(inner, *store)?.def()).map_err(store_error)?;
                        match old {
                            Some(old) => drop(table.insert(&**key, &**old).map_err(store_error)?),
                            None => drop(table.remove(&**key).map_err(store_error)?),
                        }
                    }
                    Undo::Entry { store, index, entry, added } => {
                        let mut table = txn.open_table(info(inner, *store)?.index(*index)?.def()).map_err(store_error)?;
                        match added {
                            true => drop(table.remove(&**entry).map_err(store_error)?),
                            false => drop(table.insert(&**entry, ()).map_err(store_error)?),
                        }
                    }
                }
            }
            Ok(())
        })
        .map_err(store_error)?
    }

    /// Commits: once this returns `Ok`, every write is on disk and visible
    /// to transactions that begin after. On `Err` nothing was committed.
    pub fn commit(self) -> Result<(), StoreError> {
        let WriteTxn { txn, stamp, .. } = self;
        guarded(|| {
            if let Some(stamp) = stamp {
                let mut meta = txn.open_table(META).map_err(store_error)?;
                meta.insert(STAMP_KEY, stamp.to_bytes().as_slice()).map_err(store_error)?;
            }
            txn.commit().map_err(store_error)
        })
        .map_err(store_error)?
    }

    /// Discards every write (as dropping the transaction does, but reports
    /// a failure).
    pub fn rollback(self) -> Result<(), StoreError> {
        guarded(|| self.txn.abort().map_err(store_error)).map_err(store_error)?
    }

    /// Encodes `value` as a row of `info`'s store into `self.buf`.
    ///
    /// # Safety
    /// `value` is a valid value of the store's type.
    unsafe fn encode(&mut self, info: &StoreInfo, value: Word) -> Result<(), StoreError> {
        self.buf.clear();
        codec::put_varint(&mut self.buf, info.version);
        // SAFETY: the caller's contract.
        unsafe { codec::encode(self.inner.types, &mut self.buf, value, info.ty) }
            .map_err(|e| StoreError { message: format!("store {}: {e}", info.name) })
    }
}
