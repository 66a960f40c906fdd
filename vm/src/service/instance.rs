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
    /// What the program's code needs alive (`dlc serve`: the code compiled
    /// into the process), dropped with the instance's last use.
    _code: Option<Box<dyn std::any::Any + Send + Sync>>,
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
        Ok(Instance::with_stores(program, secrets, stores, None))
    }

    /// An instance of `program` on stores already open for it, keeping
    /// `code` (what the program's code needs alive) as long as it is used.
    pub fn with_stores(program: Arc<Program>, secrets: Vec<String>, stores: Option<Stores>, code: Option<Box<dyn std::any::Any + Send + Sync>>) -> Instance {
        for (value, name) in secrets.iter().zip(&program.secrets) {
            crate::server::log::hide(name, value);
        }
        Instance { program, secrets, stores: Mutex::new(stores), _code: code }
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

    /// `message` with every secret's value replaced by `[secret NAME]`
    /// (`server::log::redact`, which also guards every log line).
    pub fn redact(&self, message: &str) -> String {
        crate::server::log::redact(message)
    }
}

/// Runs `body` with the instance this thread runs in, if any.
pub fn with_current<R>(body: impl FnOnce(Option<&Instance>) -> R) -> R {
    let current = CURRENT.with(Cell::get);
    // SAFETY: `enter` keeps the instance borrowed while it is current.
    body(unsafe { current.as_ref() })
}
