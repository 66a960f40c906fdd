//! `dlc test`: every test of a program in an instance of its own — a
//! fresh store in memory, virtual time from 2026-01-01T00:00:00Z — on the
//! invocation threads, several at once; `App` calls run the program's
//! routes in-process, on the test's thread, each in its own transaction.
//!
//! The test's own writes are committed before each `App` call (so the
//! call sees them) and a new transaction begins after it (so the test sees
//! what the call wrote); `Time.advance` does the same around the crons it
//! runs. Routes, crons and tests share the test's region, which is reset
//! only when the test ends, so the `Response` of a call stays valid.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use super::descriptor::{Access, Program};
use super::instance::{Instance, StoreFile, with_current};
use super::invoke::{call_route, call_unit, pairs_of, response_value, route_failed, text};
use super::scheduler;
use super::transaction;
use crate::error::{fail, guard};
use crate::server::{self, Reply, RouteSpec, Router, as_sent, unmatched_reply};
use crate::value::{Str, Word};
use crate::{output, region, stack, time};

/// 2026-01-01T00:00:00Z: where the virtual time of every test starts.
pub const START: i64 = 1_767_225_600_000;

/// How one test went.
pub struct Outcome {
    /// `Err`: why it failed (a failed `assert`, a runtime error, `?`).
    pub result: Result<(), String>,
    /// What it printed.
    pub printed: Vec<u8>,
    /// What the server would have logged meanwhile (the 500s of its calls).
    pub log: Vec<String>,
}

/// What the tests of one program share.
struct Suite {
    program: Arc<Program>,
    secrets: Vec<String>,
    router: Router,
    schedules: Vec<croner::Cron>,
}

thread_local! {
    /// The suite of the test running on this thread, for `App` and `Time.advance`.
    static SUITE: std::cell::Cell<*const Suite> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Runs the tests `selected` (indices into `program.tests`) on up to
/// `threads` threads and gives each outcome to `report` in the order of
/// `selected`, as soon as it and those before it are done.
pub fn run(
    program: Arc<Program>,
    secrets: Vec<String>,
    selected: Vec<usize>,
    threads: usize,
    mut report: impl FnMut(usize, Outcome),
) -> Result<(), String> {
    let specs = program.routes.iter().map(|r| RouteSpec::parse(r.method, &r.path)).collect::<Result<Vec<_>, _>>()?;
    let router = Router::new(specs)?;
    let schedules = program.crons.iter().map(scheduler::schedule).collect::<Result<Vec<_>, _>>()?;
    let suite = Arc::new(Suite { program, secrets, router, schedules });
    let selected = Arc::new(selected);
    let next = Arc::new(AtomicUsize::new(0));
    let (done, outcomes) = mpsc::channel();
    let mut workers = Vec::new();
    for _ in 0..threads.clamp(1, selected.len().max(1)) {
        let (suite, selected, next, done) = (Arc::clone(&suite), Arc::clone(&selected), Arc::clone(&next), done.clone());
        let worker = stack::spawn(move || {
            SUITE.with(|s| s.set(Arc::as_ptr(&suite)));
            loop {
                let at = next.fetch_add(1, Ordering::Relaxed);
                let Some(&test) = selected.get(at) else { break };
                // A panic is a bug in the runtime: it fails that test, not the run.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(&suite, test)))
                    .unwrap_or_else(|_| Outcome { result: Err("internal error in the runtime".into()), printed: Vec::new(), log: Vec::new() });
                if done.send((at, outcome)).is_err() {
                    break;
                }
            }
            SUITE.with(|s| s.set(std::ptr::null()));
        });
        workers.push(worker.map_err(|e| format!("cannot start a test thread: {e}"))?);
    }
    drop(done);
    // Reported in order: a finished test waits for those before it.
    let mut waiting: Vec<Option<Outcome>> = (0..selected.len()).map(|_| None).collect();
    let mut reported = 0;
    for (at, outcome) in outcomes {
        waiting[at] = Some(outcome);
        while let Some(outcome) = waiting.get_mut(reported).and_then(Option::take) {
            report(selected[reported], outcome);
            reported += 1;
        }
    }
    for worker in workers {
        worker.join();
    }
    Ok(())
}

/// One test, in a new instance.
fn run_one(suite: &Suite, test: usize) -> Outcome {
    let instance = match Instance::start(Arc::clone(&suite.program), suite.secrets.clone(), StoreFile::Memory) {
        Ok(instance) => instance,
        Err(message) => return Outcome { result: Err(message), printed: Vec::new(), log: Vec::new() },
    };
    let code = suite.program.tests[test].code;
    let ((result, printed), log) = server::log::keep(|| {
        output::capture(|| {
            instance.enter(|| {
                time::set_virtual_now(Some(START));
                let result = instance.begin(Access::Writes).and_then(|opened| {
                    transaction::open(opened);
                    transaction::undoing(|| call_unit(code))
                });
                drop(transaction::take());
                time::set_virtual_now(None);
                region::reset();
                result
            })
        })
    });
    // What the report shows is as careful with secrets as a log (whose
    // lines `log` redacted already).
    let result = result.map_err(|message| instance.redact(&message));
    Outcome { result, printed, log }
}

/// The suite and instance of the test running on this thread, or a
/// runtime error naming `what` when there is none (the REPL, a server).
fn in_test<R>(what: &str, loc: *const Str, body: impl FnOnce(&Suite, &Instance) -> R) -> R {
    let suite = SUITE.with(|s| s.get());
    // SAFETY: `run` keeps the suite alive while its threads run tests.
    let Some(suite) = (unsafe { suite.as_ref() }) else { fail(&format!("{what} works only in `dlc test`"), loc) };
    with_current(|instance| match instance {
        Some(instance) => body(suite, instance),
        None => fail(&format!("{what} works only in `dlc test`"), loc),
    })
}

/// Commits what the test wrote, runs `body` (another invocation, which
/// opens its own transaction), then opens the test's next transaction.
fn between_transactions<R>(instance: &Instance, loc: *const Str, body: impl FnOnce() -> R) -> R {
    transaction::commit(transaction::take()).unwrap_or_else(|message| fail(&message, loc));
    let result = body();
    let opened = instance.begin(Access::Writes).unwrap_or_else(|message| fail(&message, loc));
    transaction::open(opened);
    result
}

/// Runs an invocation of `instance` with `access` in its own transaction
/// on this thread: committed if it succeeds, rolled back if it fails.
fn invocation<T>(instance: &Instance, access: Access, body: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    transaction::open(instance.begin(access)?);
    let ran = body();
    let transaction = transaction::take();
    ran.and_then(|value| transaction::commit(transaction).map(|()| value))
}

/// What a client sending this request would get back.
fn request(suite: &Suite, instance: &Instance, request: server::Request) -> Reply {
    let cors = &suite.program.cors;
    let mut reply = match suite.router.find(&request.method, &request.path) {
        server::Match::Found { route, params } => {
            let route = &suite.program.routes[route];
            let ran = invocation(instance, route.access, || call_route(route.code, &params, &request));
            ran.and_then(|reply| as_sent(reply).map_err(|e| format!("invalid reply: {e}")))
                .unwrap_or_else(|message| route_failed(&request, &message))
        }
        unmatched => cors
            .preflight(&unmatched, &request.headers)
            .or_else(|| unmatched_reply(&unmatched))
            .unwrap_or_else(|| Reply::text(404, "not found")),
    };
    reply.headers.extend(cors.headers(&request.headers));
    reply
}

/// `App.request(method, path, body, headers) -> Response`.
///
/// # Safety
/// Valid `Str`s and a `List<(String, String)>`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_App_request(method: *const Str, path: *const Str, body: *const Str, headers: Word, loc: *const Str) -> Word {
    guard(|| {
        // SAFETY: the caller's contract.
        let (method, target, body, headers) = unsafe { (text(method as Word), text(path as Word), text(body as Word), pairs_of(headers)) };
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let request = server::Request {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            query: server::router::parse_query(query),
            headers: headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(),
            body,
        };
        in_test("App.request", loc, |suite, instance| {
            let reply = between_transactions(instance, loc, || self::request(suite, instance, request));
            response_value(&reply)
        })
    })
}

/// Runs cron `index` at (virtual) time `at`; its failure fails the test.
fn run_cron(suite: &Suite, instance: &Instance, index: usize, loc: *const Str) {
    let cron = &suite.program.crons[index];
    if let Err(message) = invocation(instance, cron.access, || call_unit(cron.code)) {
        // SAFETY: `loc` is a location `Str` from compiled code.
        let at = unsafe { text(loc as Word) };
        crate::error::fail_no_loc(&format!("cron {} failed (run by the call at {at}): {}", cron.name, instance.redact(&message)));
    }
}

/// `App.run_cron(name)`: runs the cron `name` once, now.
///
/// # Safety
/// A valid `Str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_App_run_cron(name: *const Str, loc: *const Str) {
    guard(|| {
        // SAFETY: the caller's contract.
        let name = unsafe { text(name as Word) };
        in_test("App.run_cron", loc, |suite, instance| {
            let Some(index) = suite.program.crons.iter().position(|c| c.name == name) else {
                let known: Vec<&str> = suite.program.crons.iter().map(|c| c.name.as_str()).collect();
                let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                fail(&format!("no cron named `{name}` (crons: {known})"), loc)
            };
            between_transactions(instance, loc, || run_cron(suite, instance, index, loc));
        })
    })
}

/// `Time.advance(ms)`: moves the test's virtual time on by `ms`, running
/// every cron due after the current time and at or before the new one,
/// in time order, each at its time.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Time_advance(ms: i64, loc: *const Str) {
    guard(|| {
        in_test("Time.advance", loc, |suite, instance| {
            if ms < 0 {
                fail(&format!("Time.advance({ms}): time cannot go back"), loc);
            }
            let from = time::now_ms();
            let Some(to) = from.checked_add(ms) else { fail("Time.advance: the time overflows", loc) };
            let due = scheduler::due_between(&suite.schedules, from, to);
            if !due.is_empty() {
                between_transactions(instance, loc, || {
                    for (at, index) in due {
                        time::set_virtual_now(Some(at));
                        run_cron(suite, instance, index, loc);
                    }
                });
            }
            time::set_virtual_now(Some(to));
        })
    })
}
