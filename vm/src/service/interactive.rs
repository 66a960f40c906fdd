//! `dlc repl`: each input is one invocation and one transaction in an
//! instance of the program, on one thread whose region is never reset, so
//! the values of earlier inputs stay valid for later ones.

use std::sync::mpsc;

use super::descriptor::Access;
use super::instance::Instance;
use super::transaction;
use crate::error::protect;
use crate::stack;
use crate::types::{Ty, TypeIdx, Types};
use crate::value::{Word, new_object};

type Job = Box<dyn FnOnce() + Send>;

/// The invocation thread of a session.
pub struct Session {
    jobs: mpsc::Sender<Job>,
}

impl Session {
    pub fn start() -> std::io::Result<Session> {
        let (jobs, queue) = mpsc::channel::<Job>();
        stack::spawn(move || {
            for job in queue {
                job();
            }
        })?;
        Ok(Session { jobs })
    }

    /// Runs `job` on the session's thread and waits for it.
    pub fn run<R: Send + 'static>(&self, job: impl FnOnce() -> R + Send + 'static) -> Result<R, String> {
        let (done, result) = mpsc::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(job());
            }))
            .map_err(|_| "the session's thread has stopped".to_string())?;
        result.recv().map_err(|_| "the session's thread has stopped".to_string())
    }
}

/// Calls an input's code (a function of the program `instance` runs) on
/// this thread: `(session) -> result` with the words of `session` as a
/// record, or `() -> result` when there is none; its writes commit when it
/// succeeds. Must run on the session's thread.
///
/// # Safety
/// `code` is such a function of the instance's program; `session` holds
/// values of its parameter's field types.
pub unsafe fn call_input(instance: &Instance, code: *const u8, session: &[Word]) -> Result<Word, String> {
    instance.enter(|| {
        transaction::open(instance.begin(Access::Writes)?);
        let mut result: Word = 0;
        let ran = if session.is_empty() {
            // SAFETY: the caller's contract.
            let code = unsafe { std::mem::transmute::<*const u8, extern "C" fn() -> Word>(code) };
            protect(&mut || result = code())
        } else {
            let record = new_object(session) as Word;
            // SAFETY: the caller's contract.
            let code = unsafe { std::mem::transmute::<*const u8, extern "C" fn(Word) -> Word>(code) };
            protect(&mut || result = code(record))
        };
        let open = transaction::take();
        crate::output::flush();
        ran.and_then(|()| transaction::commit(open)).map(|()| result)
    })
}

/// The item types of a tuple type.
pub fn tuple_items(types: &Types, tuple: TypeIdx) -> Vec<TypeIdx> {
    match types.get(tuple) {
        Ty::Tuple(items) => items.to_vec(),
        _ => Vec::new(),
    }
}

/// A value in literal syntax (what `debug` prints).
///
/// # Safety
/// `value` is a valid value of type `ty`.
pub unsafe fn show(types: &Types, value: Word, ty: TypeIdx) -> String {
    let mut out = Vec::new();
    // SAFETY: the caller's contract.
    unsafe { crate::format::format_into(types, &mut out, value, ty, std::ptr::null()) };
    String::from_utf8_lossy(&out).into_owned()
}
