//! One invocation, one transaction: the transaction open on each thread,
//! and running an invocation in it so that a failure undoes its writes.

use std::cell::RefCell;

use crate::store::{ReadTxn, Reads, StoreError, WriteTxn};
use crate::value::Str;
use crate::{error::fail, output, region, stack};

#[allow(clippy::large_enum_variant, reason = "one per thread, never moved about")]
pub enum Transaction {
    Read(ReadTxn),
    Write(WriteTxn),
    /// A write transaction that failed part-way; nothing of it commits.
    Broken(String),
}

/// An invocation's transaction as `Instance::begin` opened it: none when
/// the manifest shows no store use (or the program has no stores).
pub type Opened = Result<Option<Transaction>, String>;

thread_local! {
    /// The transaction of the invocation running on this thread.
    static TRANSACTION: RefCell<Option<Transaction>> = const { RefCell::new(None) };
}

/// Puts `transaction` on this thread (dropping one left there: a batch
/// that panicked, a bug, is rolled back so the next can begin).
pub fn open(transaction: Option<Transaction>) {
    TRANSACTION.with(|t| *t.borrow_mut() = transaction);
}

/// Takes this thread's transaction off it.
pub fn take() -> Option<Transaction> {
    TRANSACTION.with(|t| t.borrow_mut().take())
}

/// Commits this thread's transaction, if it writes; `Err` when it cannot.
pub fn commit(transaction: Option<Transaction>) -> Result<(), String> {
    match transaction {
        Some(Transaction::Write(write)) => write.commit().map_err(|e| e.message),
        Some(Transaction::Broken(message)) => Err(message),
        Some(Transaction::Read(_)) | None => Ok(()),
    }
}

/// An invocation that only reads, or uses no store, in the transaction
/// `opened`, which ends with it.
pub fn in_transaction<T>(opened: Opened, body: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    open(opened?);
    let outcome = run_invocation(body);
    take();
    outcome
}

/// One invocation in the transaction open on this thread (see `undoing`);
/// then the region is released.
pub fn run_invocation<T>(body: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    super::dashboard::begin_ops();
    let outcome = undoing(body);
    output::flush();
    region::reset();
    outcome
}

/// Runs `body` in the transaction open on this thread: when it fails, its
/// writes are undone (the writes before it in the transaction stay).
pub fn undoing<T>(body: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let savepoint = TRANSACTION.with(|t| match &*t.borrow() {
        Some(Transaction::Write(write)) => Some(write.savepoint()),
        _ => None,
    });
    let outcome = body();
    if outcome.is_err() {
        if let Some(savepoint) = savepoint {
            TRANSACTION.with(|t| {
                let mut slot = t.borrow_mut();
                if let Some(Transaction::Write(write)) = slot.as_mut()
                    && let Err(e) = write.rollback_to(savepoint)
                {
                    *slot = Some(Transaction::Broken(format!("cannot undo a failed invocation's writes: {}", e.message)));
                }
            });
        }
        // A stack overflow has touched the whole stack: give it back.
        stack::release_unused();
    }
    outcome
}

/// Runs a store operation in this invocation's transaction; its errors
/// (the file, an unreadable value) end the invocation.
fn with_transaction<R>(loc: *const Str, op: impl FnOnce(&mut Transaction) -> Result<R, StoreError>) -> R {
    let result = TRANSACTION.with(|t| match t.borrow_mut().as_mut() {
        Some(transaction) => op(transaction).map_err(|e| e.message),
        None => Err("no transaction: a store used outside an invocation".to_string()),
    });
    result.unwrap_or_else(|message| fail(&message, loc))
}

/// A read, in whichever kind of transaction is open.
pub fn read<R>(loc: *const Str, op: impl FnOnce(&dyn Reads) -> Result<R, StoreError>) -> R {
    with_transaction(loc, |t| match t {
        Transaction::Read(read) => op(read),
        Transaction::Write(write) => op(write),
        Transaction::Broken(message) => Err(StoreError { message: message.clone() }),
    })
}

pub fn write<R>(loc: *const Str, op: impl FnOnce(&mut WriteTxn) -> Result<R, StoreError>) -> R {
    with_transaction(loc, |t| match t {
        Transaction::Write(write) => op(write),
        Transaction::Broken(message) => Err(StoreError { message: message.clone() }),
        Transaction::Read(_) => Err(StoreError { message: "internal error: a write in a read-only invocation".into() }),
    })
}
