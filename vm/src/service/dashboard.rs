//! `dlc serve`'s dev dashboard at `/_dl/` (spec/dashboard.md): the page,
//! and the JSON API under `/_dl/api/` that it reads — the program (its
//! manifest, crons with their next run, secrets set), the last 1,000
//! requests as traces, the stores (listed, edited, deleted), crons run now,
//! and the file's compile error while it has one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};

use super::descriptor::Access;
use super::serve::{Extra, Runners, Tracer};
use super::transaction;
use crate::server::{self, Method, Reply, RouteSpec};
use crate::store::Scan;
use crate::types;
use crate::value::{List, Word, field, list_items, str_bytes};

/// Traces kept.
const TRACES: usize = 1000;
/// Entries a store listing gives at most.
const LISTED: usize = 1000;

const PAGE: &str = include_str!("dashboard.html");

/// What `dlc` tells the dashboard of the version it serves.
#[derive(Clone, Default)]
pub struct Info {
    /// `dlc plan --json`'s manifest.
    pub manifest: Value,
    pub file: String,
    pub source: String,
}

pub struct Dashboard {
    traces: Mutex<Traces>,
    info: Mutex<Info>,
    /// The diagnostics of the file as it is now, when it does not compile.
    error: Mutex<Option<String>>,
}

#[derive(Default)]
struct Traces {
    next: u64,
    recent: VecDeque<Value>,
}

/// Failures of requests (`invoke::internal_error`) by error id, while a
/// dashboard runs: a trace of a 500 names its runtime error.
static REMEMBER: AtomicBool = AtomicBool::new(false);
static FAILURES: Mutex<VecDeque<(String, String)>> = Mutex::new(VecDeque::new());

/// Notes the failure behind error `id`, for the dashboard's traces.
pub fn failed(id: &str, failure: &str) {
    if REMEMBER.load(Ordering::Relaxed) {
        let mut failures = FAILURES.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() == 100 {
            failures.pop_front();
        }
        failures.push_back((id.to_string(), server::log::redact(failure)));
    }
}

thread_local! {
    /// The store operations of the invocation on this thread, while a
    /// dashboard runs (`note`), for its trace.
    static OPS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Notes a store operation of the invocation on this thread: `set notes "k1"`.
pub fn note(op: &str, store: i64, key: Option<&str>) {
    if !REMEMBER.load(Ordering::Relaxed) {
        return;
    }
    let name = super::instance::with_current(|i| i.and_then(|i| i.program.stores.get(store as usize)).map(|s| s.name.clone()));
    let key = key.map_or(String::new(), |k| format!(" {}", json!(k)));
    OPS.with(|ops| ops.borrow_mut().push(format!("{op} {}{key}", name.unwrap_or_default())));
}

/// An invocation begins on this thread: it has no operations yet.
pub fn begin_ops() {
    if REMEMBER.load(Ordering::Relaxed) {
        OPS.with(|ops| ops.borrow_mut().clear());
    }
}

/// The operations of the invocation that ran last on this thread.
pub fn take_ops() -> Vec<String> {
    OPS.with(|ops| std::mem::take(&mut *ops.borrow_mut()))
}

/// Gives this thread the operations of an invocation that ran elsewhere
/// or earlier (the writer answers after its batch commits).
pub fn put_ops(ops: Vec<String>) {
    OPS.with(|o| *o.borrow_mut() = ops);
}

fn failure_of(body: &str) -> Option<String> {
    let id = body.split("\"id\":\"").nth(1)?.split('"').next()?;
    let failures = FAILURES.lock().unwrap_or_else(|p| p.into_inner());
    failures.iter().rev().find(|(i, _)| i == id).map(|(_, f)| f.clone())
}

/// What each of the dashboard's routes does.
#[derive(Clone, Copy)]
enum Api {
    Page,
    State,
    Requests,
    RunCron,
    List,
    Set,
    Delete,
}

/// The dashboard's routes, in the order the site numbers them.
const ROUTES: &[(Method, &str, Api)] = &[
    (Method::Get, "/_dl", Api::Page),
    (Method::Get, "/_dl/api/state", Api::State),
    (Method::Get, "/_dl/api/requests", Api::Requests),
    (Method::Post, "/_dl/api/crons/:name/run", Api::RunCron),
    (Method::Get, "/_dl/api/stores/:name", Api::List),
    (Method::Put, "/_dl/api/stores/:name/:key", Api::Set),
    (Method::Delete, "/_dl/api/stores/:name/:key", Api::Delete),
];

impl Dashboard {
    pub fn new(info: Info) -> Arc<Dashboard> {
        REMEMBER.store(true, Ordering::Relaxed);
        Arc::new(Dashboard { traces: Mutex::default(), info: Mutex::new(info), error: Mutex::new(None) })
    }

    /// A new version is served.
    pub fn served(&self, info: Info) {
        *self.info.lock().unwrap_or_else(|p| p.into_inner()) = info;
        self.set_error(None);
    }

    pub fn set_error(&self, error: Option<String>) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    /// What a version's site adds: the dashboard's routes, and a trace of
    /// every request to the program.
    pub fn extra(self: &Arc<Dashboard>, runners: &Arc<Runners>) -> Extra {
        let routes = ROUTES.iter().filter_map(|(method, path, _)| RouteSpec::parse(*method, path).ok()).collect();
        let (dashboard, runners) = (Arc::clone(self), Arc::clone(runners));
        let dispatch: server::Dispatcher = Arc::new(move |route, params, request, answer| {
            let (dashboard, runners) = (Arc::clone(&dashboard), Arc::clone(&runners));
            // Store and cron calls wait for invocations: not on the server's threads.
            let spawned = std::thread::Builder::new()
                .name("dl-dashboard".into())
                .spawn(move || answer.send(dashboard.handle(&runners, route, &params, &request)));
            if spawned.is_err() {
                server::log::log("dashboard: cannot start a thread");
            }
        });
        let traces = Arc::clone(self);
        let tracer: Tracer = Arc::new(move |route, request| {
            let (traces, started) = (Arc::clone(&traces), Instant::now());
            let (method, path, body) = (request.method.clone(), request.path.clone(), request.body.clone());
            Box::new(move |reply: &Reply| {
                let response = String::from_utf8_lossy(&reply.body).into_owned();
                let error = if reply.status == 500 { failure_of(&response) } else { None };
                if let Some(line) = error.as_deref().and_then(|e| traces.source_line(e)) {
                    server::log::log(line);
                }
                traces.trace(json!({
                    "route": route,
                    "at": crate::time::now_ms(),
                    "method": method,
                    "path": path,
                    "status": reply.status,
                    "ms": started.elapsed().as_secs_f64() * 1000.0,
                    "request": body,
                    "response": response,
                    "error": error,
                    "stores": take_ops(),
                }));
            })
        });
        // The page polls: its requests are left out of the terminal.
        Extra { routes, dispatch: Some(dispatch), tracer: Some(tracer), unlogged: Some("/_dl") }
    }

    /// The program's line where `error` (`… at FILE:LINE:COL`) happened, as
    /// the terminal shows it under the error: `   17 |   text(…)`.
    fn source_line(&self, error: &str) -> Option<String> {
        let info = self.info.lock().unwrap_or_else(|p| p.into_inner());
        let at = error.rsplit_once(" at ")?.1.strip_prefix(info.file.as_str())?.strip_prefix(':')?;
        let line: usize = at.split(':').next()?.parse().ok()?;
        let text = info.source.lines().nth(line.checked_sub(1)?)?;
        Some(format!("{line:>5} | {text}"))
    }

    fn trace(&self, mut trace: Value) {
        let mut traces = self.traces.lock().unwrap_or_else(|p| p.into_inner());
        traces.next += 1;
        trace["id"] = json!(traces.next);
        if traces.recent.len() == TRACES {
            traces.recent.pop_front();
        }
        traces.recent.push_back(trace);
    }

    fn handle(&self, runners: &Runners, route: usize, params: &[String], request: &server::Request) -> Reply {
        let program = &runners.instance.program;
        let param = |i: usize| params.get(i).map_or("", String::as_str);
        let store = || program.stores.iter().position(|s| s.name == param(0)).ok_or_else(|| format!("no store {}", param(0)));
        let Some(&(_, _, api)) = ROUTES.get(route) else { return Reply::text(404, "not found") };
        let outcome: Result<Value, (u16, String)> = match api {
            Api::Page => {
                let mut reply = Reply::text(200, PAGE);
                reply.headers = vec![("content-type".into(), "text/html; charset=utf-8".into())];
                return reply;
            }
            Api::State => Ok(self.state(runners)),
            Api::Requests => {
                let after: u64 = request.query("after").and_then(|v| v.parse().ok()).unwrap_or(0);
                let traces = self.traces.lock().unwrap_or_else(|p| p.into_inner());
                let newer: Vec<&Value> = traces.recent.iter().filter(|t| t["id"].as_u64().is_some_and(|id| id > after)).collect();
                Ok(json!({ "requests": newer }))
            }
            Api::RunCron => match program.crons.iter().find(|c| c.name == param(0)) {
                Some(cron) => {
                    let ran = runners.run_unit(cron.code, cron.access);
                    crate::output::flush();
                    let outcome = ran.as_ref().map_or_else(|e| format!("failed (rolled back): {e}"), |()| "ok".into());
                    server::log::log(format!("cron {} {outcome} (run from the dashboard)", cron.name));
                    ran.map(|()| json!({ "ran": cron.name })).map_err(|e| (500, e))
                }
                None => Err((404, format!("no cron {}", param(0)))),
            },
            Api::List => store().map_err(|e| (404, e)).and_then(|s| {
                let after = request.query("after").map(str::to_string);
                list(runners, s, after).map_err(|e| (500, e))
            }),
            Api::Set => store().map_err(|e| (404, e)).and_then(|s| set(runners, s, param(1).to_string(), request.body.clone())),
            Api::Delete => store().map_err(|e| (404, e)).and_then(|s| {
                let key = param(1).to_string();
                let deleted = runners.run(Access::Writes, move || protected(|| transaction::write(std::ptr::null(), |t| t.delete(s, &key))));
                deleted.map(|d| json!({ "deleted": d })).map_err(|e| (500, e))
            }),
        };
        match outcome {
            Ok(value) => Reply::json(200, value.to_string()),
            Err((status, message)) => Reply::json(status, json!({ "error": message }).to_string()),
        }
    }

    /// `GET /_dl/api/state`.
    fn state(&self, runners: &Runners) -> Value {
        let program = &runners.instance.program;
        let info = self.info.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let now = super::scheduler::utc_now();
        let crons: Vec<Value> = program
            .crons
            .iter()
            .map(|c| {
                let next = super::scheduler::schedule(c).ok().and_then(|s| s.find_next_occurrence(&now, false).ok());
                json!({ "name": c.name, "schedule": c.schedule, "next": next.map(|n| n.timestamp_millis()) })
            })
            .collect();
        // A version serves only with every secret set.
        let secrets: Vec<Value> = program.secrets.iter().map(|s| json!({ "name": s, "set": true })).collect();
        json!({
            "file": info.file,
            "source": info.source,
            "manifest": info.manifest,
            "crons": crons,
            "secrets": secrets,
            "error": *self.error.lock().unwrap_or_else(|p| p.into_inner()),
        })
    }
}

/// Runs `body` (which may fail as compiled code does) in an invocation boundary.
fn protected<T>(body: impl FnOnce() -> T) -> Result<T, String> {
    let mut body = Some(body);
    let mut out = None;
    crate::error::protect(&mut || out = body.take().map(|b| b()))?;
    out.ok_or_else(|| "internal error: no result".to_string())
}

/// `GET /_dl/api/stores/NAME[?after=KEY]`: up to `LISTED` entries in key
/// order, as `[key, value]` (values as `Json.encode` writes them), and the
/// key to continue after.
fn list(runners: &Runners, store: usize, after: Option<String>) -> Result<Value, String> {
    let ty = runners.instance.program.stores[store].value;
    runners.run(Access::Reads, move || {
        protected(|| {
            let scan = Scan { prefix: "", after: after.as_deref(), limit: LISTED, reverse: false };
            let page = transaction::read(std::ptr::null(), |t| t.page(store, &scan));
            // SAFETY: a `Page<T>` of `(String, T)` pairs, just made.
            unsafe {
                let entries: Vec<Value> = list_items(field(page as Word, 0) as *const List)
                    .iter()
                    .map(|pair| {
                        let key = String::from_utf8_lossy(str_bytes(field(*pair, 0) as *const crate::value::Str)).into_owned();
                        let mut text = Vec::new();
                        crate::json::encode_into(types::installed(), &mut text, field(*pair, 1), ty, std::ptr::null());
                        json!([key, serde_json::from_slice::<Value>(&text).unwrap_or(Value::Null)])
                    })
                    .collect();
                let next = field(page as Word, 1) as *const Word;
                let next = (*next == crate::value::SOME).then(|| String::from_utf8_lossy(str_bytes(*next.add(1) as *const crate::value::Str)).into_owned());
                json!({ "entries": entries, "next": next })
            }
        })
    })
}

/// `PUT /_dl/api/stores/NAME/KEY`: the body, decoded as the store's type
/// (a 400 saying where it is not one), set under the key.
fn set(runners: &Runners, store: usize, key: String, body: String) -> Result<Value, (u16, String)> {
    let ty = runners.instance.program.stores[store].value;
    let outcome = runners.run(Access::Writes, move || {
        protected(|| match crate::json::decode(types::installed(), body.as_bytes(), ty, std::ptr::null()) {
            // SAFETY: a value of the store's type, just decoded.
            Ok(value) => Ok(transaction::write(std::ptr::null(), |t| unsafe { t.set(store, &key, value) })),
            Err(message) => Err(message),
        })
    });
    match outcome {
        Ok(Ok(())) => Ok(json!({ "set": true })),
        Ok(Err(message)) => Err((400, message)),
        Err(message) => Err((500, message)),
    }
}
