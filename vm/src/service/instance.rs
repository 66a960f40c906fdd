//! A running program: the value a host starts, stops and replaces. It
//! holds what used to be process-wide — the program's types, its secrets,
//! its open stores — and each invocation runs *in* one (`enter`), so that
//! one process can run a program, drop it and run another (`dlc test` runs
//! one instance per test, each with a fresh store in memory).

use std::cell::Cell;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::descriptor::{Access, Program};
use super::transaction::{Opened, Transaction};
use crate::store::Stores;
use crate::types;

pub struct Instance {
    pub program: Arc<Program>,
    /// By `SecretId`.
    secrets: Vec<String>,
    /// `None` when the program declares no store, or once closed.
    stores: Mutex<Option<Stores>>,
}

/// Where an instance keeps its stores.
pub enum StoreFile<'a> {
    Path(&'a Path),
    /// A fresh, empty store in memory.
    Memory,
}

thread_local! {
    /// The instance whose invocation runs on this thread (null: none).
    static CURRENT: Cell<*const Instance> = const { Cell::new(std::ptr::null()) };
}

impl Instance {
    /// Opens the program's stores (checking their schemas) with its secrets
    /// (by `SecretId`). `Err` says what is wrong, naming the file.
    pub fn start(program: Arc<Program>, secrets: Vec<String>, file: StoreFile) -> Result<Instance, String> {
        let stores = if program.stores.is_empty() {
            None
        } else {
            let opened = match file {
                StoreFile::Path(path) => Stores::open(path, &program.stores, program.types),
                StoreFile::Memory => Stores::in_memory(&program.stores, program.types),
            };
            match (opened, file) {
                (Ok(stores), _) => Some(stores),
                (Err(err), StoreFile::Path(path)) => return Err(format!("{}: {}", path.display(), err.message)),
                (Err(err), StoreFile::Memory) => return Err(err.message),
            }
        };
        Ok(Instance { program, secrets, stores: Mutex::new(stores) })
    }

    /// Runs `body` as this instance's: its secrets, stores and types are
    /// the ones the runtime's externs see on this thread meanwhile.
    pub fn enter<R>(&self, body: impl FnOnce() -> R) -> R {
        let outer = CURRENT.with(|c| c.replace(self));
        struct Restore(*const Instance);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(outer);
        types::with_types(self.program.types, body)
    }

    /// The transaction of an invocation with `access`: a read transaction
    /// when the manifest shows only reads, none when it shows no store use.
    pub fn begin(&self, access: Access) -> Opened {
        let stores = self.stores.lock().ok().and_then(|s| s.clone());
        let Some(stores) = stores else { return Ok(None) };
        let transaction = match access {
            Access::None => return Ok(None),
            Access::Reads => stores.read().map(Transaction::Read),
            Access::Writes => stores.write().map(Transaction::Write),
        };
        transaction.map(Some).map_err(|e| e.message)
    }

    /// Closes the store file (once the transactions still open end):
    /// invocations that begin after this see no stores.
    pub fn close(&self) {
        if let Ok(mut stores) = self.stores.lock() {
            stores.take();
        }
    }

    pub fn secret(&self, index: usize) -> &str {
        self.secrets.get(index).map_or("", String::as_str)
    }

    /// `message` with every secret's value replaced by `[secret NAME]`: a
    /// runtime error's message may quote program text built from a secret, and
    /// secrets never appear in logs. A secret is found as it is and as a
    /// quotation would escape it (Distlang's literal syntax, JSON, Rust's
    /// `{:?}`), since one with a quote or a control character changes when
    /// quoted.
    pub fn redact(&self, message: &str) -> String {
        let mut message = message.to_string();
        for (value, name) in self.secrets.iter().zip(&self.program.secrets) {
            for form in quoted_forms(value) {
                message = message.replace(&form, &format!("[secret {name}]"));
            }
        }
        message
    }
}

/// The ways a log line can spell `value`: as it is and inside each kind
/// of quotation the runtime writes, longest first.
fn quoted_forms(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    let unquote = |quoted: Vec<u8>| String::from_utf8_lossy(&quoted[1..quoted.len() - 1]).into_owned();
    let mut literal = Vec::new();
    crate::format::write_string_literal(&mut literal, value);
    let mut json = Vec::new();
    crate::json::write_json_string(&mut json, value.as_bytes());
    let mut forms = vec![value.to_string(), unquote(literal), unquote(json), unquote(format!("{value:?}").into_bytes())];
    forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    forms.dedup();
    forms
}

/// Runs `body` with the instance this thread runs in, if any.
pub fn with_current<R>(body: impl FnOnce(Option<&Instance>) -> R) -> R {
    let current = CURRENT.with(Cell::get);
    // SAFETY: `enter` keeps the instance borrowed while it is current.
    body(unsafe { current.as_ref() })
}
