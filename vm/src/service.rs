//! A service: a compiled program with routes, crons, stores or secrets.
//! `dl_run_program` reads its descriptor, checks its secrets, runs `main`
//! once, then serves its routes (and `--run-cron NAME` runs one cron).
//!
//! Every invocation (a request, a cron run, `main`) runs on one of a pool
//! of invocation threads (`stack.rs`), inside the invocation boundary
//! (`error.rs`), and leaves nothing in the region when it ends.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use chrono::{DateTime, Utc};

use crate::error::{fail, protect};
use crate::server::{self, Flags, Method, Reply, RouteSpec, Router};
use crate::store::{ReadTxn, Reads, StoreError, StoreSpec, Stores, WriteTxn};
use crate::pool::{Inline, MAX_WAITING, Pool, Writer};
use crate::value::{List, Str, Word, list_items, new_list, new_object, new_str, str_bytes};
use crate::{output, region, stack, types};

/// What compiled code calls: a route, `(params, request) -> Response`.
type RouteCode = extern "C" fn(*mut List, Word) -> Word;
/// A cron or `main`, `() -> Unit`.
type UnitCode = extern "C" fn() -> Word;

struct Route {
    method: Method,
    path: String,
    code: RouteCode,
    access: Access,
}

struct Cron {
    name: String,
    schedule: String,
    code: UnitCode,
    access: Access,
}

/// The service as the compiler described it (layout: vm/README.md).
struct Service {
    main: Option<UnitCode>,
    routes: Vec<Route>,
    crons: Vec<Cron>,
    stores: Vec<StoreSpec>,
    secrets: Vec<String>,
}

/// What an entry point does to the stores (`ir::Access` in the compiler:
/// the descriptor's word 0, 1 or 2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Writes,
    Reads,
    None,
}

impl Access {
    /// Anything unknown is treated as writing: the safe side.
    fn from_word(word: u64) -> Access {
        match word {
            1 => Access::Reads,
            2 => Access::None,
            _ => Access::Writes,
        }
    }
}

/// Secret values, by `SecretId`, read once at start-up.
static SECRETS: OnceLock<Vec<String>> = OnceLock::new();
static SECRET_NAMES: OnceLock<Vec<String>> = OnceLock::new();

/// The program's stores, opened at start-up (`StoreId` = the store's
/// index), and closed (dropped) before the process exits so that redb
/// leaves the file clean.
static STORES: Mutex<Option<Stores>> = Mutex::new(None);

#[allow(clippy::large_enum_variant, reason = "one per thread, never moved about")]
enum Transaction {
    Read(ReadTxn),
    Write(WriteTxn),
    /// A write transaction that failed part-way; nothing of it commits.
    Broken(String),
}

thread_local! {
    /// The transaction of the invocation running on this thread.
    static TRANSACTION: RefCell<Option<Transaction>> = const { RefCell::new(None) };
}

/// `dl_run_program(types, service, argc, argv) -> i32`: the C `main` of a
/// service.
///
/// # Safety
/// `types` is the program's type table and `service` its descriptor.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_run_program(types: *const u32, service: *const u64, _argc: i32, _argv: *const *const u8) -> i32 {
    // SAFETY: the caller's contract.
    let service = unsafe {
        types::install(types);
        read_service(service)
    };
    let status = run(service);
    // Closing the store file cleanly spares the next start a recovery.
    if let Ok(mut stores) = STORES.lock() {
        stores.take();
    }
    output::flush();
    server::log::flush();
    status
}

/// # Safety
/// `words` is a descriptor as the compiler emits it.
unsafe fn read_service(words: *const u64) -> Service {
    // SAFETY: the caller's contract: counts, `main`, then the entries.
    unsafe {
        let mut at = words;
        let mut next = || {
            let word = *at;
            at = at.add(1);
            word
        };
        let text = |word: u64| String::from_utf8_lossy(str_bytes(word as *const Str)).into_owned();
        let (n_routes, n_crons, n_stores, n_secrets) = (next(), next(), next(), next());
        let main = match next() {
            0 => None,
            code => Some(std::mem::transmute::<usize, UnitCode>(code as usize)),
        };
        let mut routes = Vec::new();
        for _ in 0..n_routes {
            let (method, path, code, access) = (text(next()), text(next()), next(), Access::from_word(next()));
            let method = Method::parse(&method).unwrap_or(Method::Get);
            routes.push(Route { method, path, code: std::mem::transmute::<usize, RouteCode>(code as usize), access });
        }
        let mut crons = Vec::new();
        for _ in 0..n_crons {
            let (name, schedule, code, access) = (text(next()), text(next()), next(), Access::from_word(next()));
            crons.push(Cron { name, schedule, code: std::mem::transmute::<usize, UnitCode>(code as usize), access });
        }
        let mut stores = Vec::new();
        for _ in 0..n_stores {
            let (name, value) = (text(next()), next() as types::TypeIdx);
            stores.push(StoreSpec { name, value });
        }
        let secrets = (0..n_secrets).map(|_| text(next())).collect();
        Service { main, routes, crons, stores, secrets }
    }
}

/// Start-up, `main`, then serving or the one cron asked for: the exit status.
fn run(service: Service) -> i32 {
    let flags = match Flags::from_env() {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    if flags.help {
        let program = std::env::args().next().unwrap_or_else(|| "app".into());
        print!("{}", server::help_text(&program));
        return 0;
    }
    let mut secrets = Vec::new();
    for name in &service.secrets {
        match std::env::var(name) {
            Ok(value) => secrets.push(value),
            Err(_) => {
                eprintln!("error: missing secret {name}: set the environment variable {name}");
                return 1;
            }
        }
    }
    let _ = SECRETS.set(secrets);
    let _ = SECRET_NAMES.set(service.secrets.clone());
    if !service.stores.is_empty() {
        let path = flags.db.clone().unwrap_or_else(default_db);
        match Stores::open(&path, &service.stores, types::installed()) {
            Ok(stores) => {
                if let Ok(mut slot) = STORES.lock() {
                    *slot = Some(stores);
                }
            }
            Err(err) => {
                eprintln!("error: {}: {}", path.display(), err.message);
                return 1;
            }
        }
    }
    let cron = match &flags.run_cron {
        Some(name) => match service.crons.iter().find(|c| &c.name == name) {
            Some(cron) => Some(cron),
            None => {
                let known: Vec<&str> = service.crons.iter().map(|c| c.name.as_str()).collect();
                eprintln!("error: no cron named `{name}` (crons: {})", if known.is_empty() { "none".into() } else { known.join(", ") });
                return 2;
            }
        },
        None => None,
    };
    let runners = match Runners::new() {
        Ok(runners) => Arc::new(runners),
        Err(err) => {
            eprintln!("error: cannot start the invocation threads: {err}");
            return 1;
        }
    };

    if let Some(main) = service.main
        && let Err(message) = runners.run_unit(main, Access::Writes)
    {
        output::flush();
        eprintln!("error: {}", redact(&message));
        return 1;
    }
    if let Some(cron) = cron {
        return match runners.run_unit(cron.code, cron.access) {
            Ok(()) => 0,
            Err(message) => {
                output::flush();
                eprintln!("error: cron {} failed: {}", cron.name, redact(&message));
                1
            }
        };
    }
    if service.routes.is_empty() && service.crons.is_empty() {
        return 0;
    }
    if let Err(message) = start_crons(&service.crons, &runners) {
        eprintln!("error: {message}");
        return 1;
    }
    if service.routes.is_empty() {
        return wait_for_shutdown();
    }
    serve(service, &flags, runners)
}

/// Starts the scheduler of the crons: each runs at the times of its
/// schedule (UTC), unless its previous run is still going (then that time
/// is skipped); every run is logged.
fn start_crons(crons: &[Cron], runners: &Arc<Runners>) -> Result<(), String> {
    let mut jobs = Vec::new();
    for cron in crons {
        let schedule: croner::Cron = cron.schedule.parse().map_err(|e| format!("cron {}: {e}", cron.name))?;
        jobs.push(Arc::new(CronJob { name: cron.name.clone(), schedule, code: cron.code, access: cron.access, running: AtomicBool::new(false) }));
    }
    if jobs.is_empty() {
        return Ok(());
    }
    let runners = Arc::clone(runners);
    std::thread::Builder::new()
        .name("dl-cron".into())
        .spawn(move || scheduler(jobs, runners))
        .map(|_| ())
        .map_err(|e| format!("cannot start the cron scheduler: {e}"))
}

struct CronJob {
    name: String,
    schedule: croner::Cron,
    code: UnitCode,
    access: Access,
    running: AtomicBool,
}

fn scheduler(jobs: Vec<Arc<CronJob>>, runners: Arc<Runners>) {
    loop {
        let now = utc_now();
        let next: Vec<Option<DateTime<Utc>>> = jobs.iter().map(|j| j.schedule.find_next_occurrence(&now, false).ok()).collect();
        let Some(when) = next.iter().flatten().min().copied() else { return };
        if let Ok(wait) = (when - now).to_std() {
            std::thread::sleep(wait);
        }
        for (job, due) in jobs.iter().zip(&next) {
            if *due != Some(when) {
                continue;
            }
            if job.running.swap(true, Ordering::AcqRel) {
                server::log::log(format!("cron {} skipped: its previous run is still going", job.name));
                continue;
            }
            let (job, runners) = (Arc::clone(job), Arc::clone(&runners));
            let started = std::time::Instant::now();
            let run = move || {
                let outcome = runners.run_unit(job.code, job.access);
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                match outcome {
                    Ok(()) => server::log::log(format!("cron {} ok {ms:.1}ms", job.name)),
                    Err(message) => server::log::log(format!("cron {} failed (rolled back): {}", job.name, redact(&message))),
                }
                job.running.store(false, Ordering::Release);
            };
            if std::thread::Builder::new().name("dl-cron-run".into()).spawn(run).is_err() {
                server::log::log("cron run skipped: cannot start a thread");
            }
        }
    }
}

fn utc_now() -> DateTime<Utc> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    DateTime::from_timestamp(now.as_secs() as i64, now.subsec_nanos()).unwrap_or_default()
}

/// A service with crons and no routes runs until SIGTERM or SIGINT.
fn wait_for_shutdown() -> i32 {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => {
            runtime.block_on(server::signal_shutdown());
            0
        }
        Err(err) => {
            eprintln!("error: {err}");
            1
        }
    }
}

fn serve(service: Service, flags: &Flags, runners: Arc<Runners>) -> i32 {
    let mut specs = Vec::new();
    for route in &service.routes {
        match RouteSpec::parse(route.method, &route.path) {
            Ok(spec) => specs.push(spec),
            Err(message) => {
                eprintln!("error: route {} {}: {message}", route.method.as_str(), route.path);
                return 1;
            }
        }
    }
    let router = match Router::new(specs) {
        Ok(router) => router,
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    let codes: Vec<(RouteCode, Access)> = service.routes.iter().map(|r| (r.code, r.access)).collect();
    let inline = Inline::new(codes.len());
    // Each request runs at once on the async thread that read it if it may
    // (`Inline`: it only reads, and is short), else it goes straight from
    // there to the writer or the pool, which answers it.
    let dispatch: server::Dispatcher = Arc::new(move |route, params, request, answer| {
        let (code, access) = codes[route];
        if access != Access::Writes
            && let Some(run) = inline.enter(route)
        {
            let reply = stack::on_invocation_stack(|| answer_route(code, begin(access), params, request));
            drop(run);
            answer.send(reply.unwrap_or_else(|e| internal_error(&format!("cannot map an invocation stack: {e}"))));
            return;
        }
        let waiting = if access == Access::Writes { runners.writer.waiting() } else { runners.pool.waiting() };
        if waiting > MAX_WAITING {
            // Overloaded (or flooded with slow requests): refuse at once
            // rather than queue without bound.
            let mut reply = Reply::text(503, "busy: try again shortly");
            reply.headers.push(("retry-after".into(), "1".into()));
            answer.send(reply);
            return;
        }
        // A client gone before its request started: nothing was done,
        // nothing needs doing.
        if access == Access::Writes {
            runners.writer.submit(Box::new(move |opened| {
                if answer.is_closed() {
                    return Box::new(|_| {});
                }
                let ran = opened.and_then(|()| run_invocation(|| call_route(code, params, &request)));
                Box::new(move |committed| {
                    let reply = ran.and_then(|reply| committed.map(|()| reply));
                    answer.send(reply.unwrap_or_else(|message| route_failed(&request, &message)));
                })
            }));
        } else {
            runners.pool.submit(Box::new(move || {
                if !answer.is_closed() {
                    answer.send(answer_route(code, begin(access), params, request));
                }
            }));
        }
    });
    match server::serve(flags.server_config(), router, server::Work::Dispatch(dispatch), server::signal_shutdown()) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: {err}");
            1
        }
    }
}

/// Where the invocations of a service run (`pool.rs`).
struct Runners {
    /// Invocations that only read, or use no store.
    pool: Pool,
    /// Invocations that write, in batches.
    writer: Writer<WriteJob>,
}

/// A write invocation, for the writer's batch: given whether the batch's
/// transaction is open (`Err`: why not), it runs, and returns its answer,
/// to be given once the batch's commit is known (`Err`: why it failed).
type WriteJob = Box<dyn FnOnce(Result<(), String>) -> Settle + Send>;
type Settle = Box<dyn FnOnce(Result<(), String>)>;

impl Runners {
    fn new() -> std::io::Result<Runners> {
        Ok(Runners { pool: Pool::start(), writer: Writer::start(write_batch)? })
    }

    /// Runs `main` or a cron, and waits for it (and, if it writes, for its
    /// writes to be durable).
    fn run_unit(&self, code: UnitCode, access: Access) -> Result<(), String> {
        if access != Access::Writes {
            return self.pool.run(move || in_transaction(begin(access), || call_unit(code)));
        }
        let (done, outcome) = mpsc::channel();
        self.writer.submit(Box::new(move |opened| {
            let ran = opened.and_then(|()| run_invocation(|| call_unit(code)));
            Box::new(move |committed| {
                let _ = done.send(ran.and(committed));
            })
        }));
        outcome.recv().unwrap_or(Err("internal error: the writer stopped".to_string()))
    }
}

/// The writer's batch: every job in one write transaction, each undone
/// alone if it fails (`run_invocation`), then one durable commit; only
/// then are the answers given.
fn write_batch(jobs: Vec<WriteJob>) {
    // A batch that panicked (a bug in the runtime) left its transaction
    // open: dropping it rolls it back and lets the next one begin.
    TRANSACTION.with(|t| t.borrow_mut().take());
    let opened = begin(Access::Writes).map(|transaction| TRANSACTION.with(|t| *t.borrow_mut() = transaction));
    let settles: Vec<Settle> = jobs.into_iter().map(|job| job(opened.clone())).collect();
    let committed = match TRANSACTION.with(|t| t.borrow_mut().take()) {
        Some(Transaction::Write(write)) => write.commit().map_err(|e| e.message),
        Some(Transaction::Broken(message)) => Err(message),
        Some(Transaction::Read(_)) | None => opened,
    };
    for settle in settles {
        settle(committed.clone());
    }
}

/// Runs a route in its transaction (`opened`) and answers: its `Response`,
/// or a 500 whose error id ties it to the logged failure.
fn answer_route(code: RouteCode, opened: Opened, params: Vec<String>, request: server::Request) -> Reply {
    in_transaction(opened, || call_route(code, params, &request)).unwrap_or_else(|message| route_failed(&request, &message))
}

/// The 500 for a route that failed with `message`.
fn route_failed(request: &server::Request, message: &str) -> Reply {
    internal_error(&format!("{} {}: {}", request.method, request.path, redact(message)))
}

/// Logs `failure` with a new error id, and the 500 that names the id.
fn internal_error(failure: &str) -> Reply {
    let id = server::log::error_id();
    server::log::log(format!("error {id}: {failure}"));
    Reply::json(500, format!("{{\"error\":\"internal error\",\"id\":\"{id}\"}}"))
}

/// Calls `main` or a cron.
fn call_unit(code: UnitCode) -> Result<(), String> {
    protect(&mut || {
        code();
    })
}

/// Calls a route: builds its arguments in the region, calls it, and copies
/// the `Response` out.
fn call_route(code: RouteCode, params: Vec<String>, request: &server::Request) -> Result<Reply, String> {
    let params: Vec<Word> = params.iter().map(|p| new_str(p.as_bytes()) as Word).collect();
    let params = new_list(&params);
    let request = request_value(request);
    let mut response: Word = 0;
    let outcome = protect(&mut || response = code(params, request));
    // SAFETY: a `Response` record built by the route, valid until the reset.
    outcome.map(|()| unsafe { reply_of(response) })
}

/// An invocation's transaction as `begin` opened it: none when the
/// manifest shows no store use (or the program has no stores).
type Opened = Result<Option<Transaction>, String>;

/// An invocation that only reads, or uses no store, in the transaction
/// `opened`, which ends with it.
fn in_transaction<T>(opened: Opened, body: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let transaction = opened?;
    TRANSACTION.with(|t| *t.borrow_mut() = transaction);
    let outcome = run_invocation(body);
    TRANSACTION.with(|t| t.borrow_mut().take());
    outcome
}

/// One invocation in the transaction open on this thread: when `body`
/// fails, its writes are undone (the writes before it in the transaction
/// stay); then the region is released.
fn run_invocation<T>(body: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
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
    output::flush();
    region::reset();
    outcome
}

/// The transaction of an invocation with `access`: a read transaction
/// when the manifest shows only reads, none when it shows no store use.
fn begin(access: Access) -> Opened {
    if access == Access::None {
        return Ok(None);
    }
    let Some(stores) = STORES.lock().ok().and_then(|s| s.clone()) else { return Ok(None) };
    let transaction = match access {
        Access::Reads => stores.read().map(Transaction::Read),
        _ => stores.write().map(Transaction::Write),
    };
    transaction.map(Some).map_err(|e| e.message)
}

/// `<program>.db` in the working directory.
fn default_db() -> PathBuf {
    let program = std::env::args().next().unwrap_or_default();
    let stem = Path::new(&program).file_stem().map_or_else(|| "app".into(), |s| s.to_os_string());
    PathBuf::from(stem).with_extension("db")
}

/// The prelude's `Request { method, path, body, headers, queries }`.
fn request_value(request: &server::Request) -> Word {
    let pairs = |pairs: &[(String, String)]| -> Word {
        let items: Vec<Word> =
            pairs.iter().map(|(k, v)| new_object(&[new_str(k.as_bytes()) as Word, new_str(v.as_bytes()) as Word]) as Word).collect();
        new_list(&items) as Word
    };
    new_object(&[
        new_str(request.method.as_bytes()) as Word,
        new_str(request.path.as_bytes()) as Word,
        new_str(request.body.as_bytes()) as Word,
        pairs(&request.headers),
        pairs(&request.query),
    ]) as Word
}

/// The prelude's `Response { status, headers, body }` as a `Reply`.
///
/// # Safety
/// `response` is a `Response` record.
unsafe fn reply_of(response: Word) -> Reply {
    // SAFETY: the caller's contract; the layouts of vm/README.md.
    unsafe {
        let fields = response as *const Word;
        let status = *fields as i64;
        let text = |word: Word| String::from_utf8_lossy(str_bytes(word as *const Str)).into_owned();
        let headers = list_items(*fields.add(1) as *const List)
            .iter()
            .map(|&pair| {
                let pair = pair as *const Word;
                (text(*pair), text(*pair.add(1)))
            })
            .collect();
        let body = str_bytes(*fields.add(2) as *const Str).to_vec();
        // An impossible status becomes 0, which the server answers with a 500.
        Reply { status: u16::try_from(status).unwrap_or(0), headers, body }
    }
}

/// `message` with every secret's value replaced by `[secret NAME]`: a
/// runtime error's message may quote program text built from a secret, and
/// secrets never appear in logs.
fn redact(message: &str) -> String {
    let mut message = message.to_string();
    if let (Some(values), Some(names)) = (SECRETS.get(), SECRET_NAMES.get()) {
        for (value, name) in values.iter().zip(names) {
            if !value.is_empty() {
                message = message.replace(value.as_str(), &format!("[secret {name}]"));
            }
        }
    }
    message
}

/// `dl_secret(index) -> Str*`: a secret's value, read at start-up.
#[unsafe(no_mangle)]
pub extern "C" fn dl_secret(index: i64) -> *mut Str {
    crate::error::guard(|| {
        let value = SECRETS.get().and_then(|s| s.get(index as usize)).map_or("", String::as_str);
        new_str(value.as_bytes())
    })
}

/// `dl_fail_message(message, loc) -> !`: a cron's `?` met `Err(message)`.
///
/// # Safety
/// Valid `Str`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_fail_message(message: *const Str, loc: *const Str) {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let text = String::from_utf8_lossy(unsafe { str_bytes(message) }).into_owned();
        fail(&text, loc)
    })
}

// ---- the store operations of stdlib/store.dl ----

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
fn read<R>(loc: *const Str, op: impl FnOnce(&dyn Reads) -> Result<R, StoreError>) -> R {
    with_transaction(loc, |t| match t {
        Transaction::Read(read) => op(read),
        Transaction::Write(write) => op(write),
        Transaction::Broken(message) => Err(StoreError { message: message.clone() }),
    })
}

fn write<R>(loc: *const Str, op: impl FnOnce(&mut WriteTxn) -> Result<R, StoreError>) -> R {
    with_transaction(loc, |t| match t {
        Transaction::Write(write) => op(write),
        Transaction::Broken(message) => Err(StoreError { message: message.clone() }),
        Transaction::Read(_) => Err(StoreError { message: "internal error: a write in a read-only invocation".into() }),
    })
}


/// # Safety
/// A valid `Str`.
unsafe fn key_text<'a>(key: *const Str) -> &'a str {
    // SAFETY: the caller's contract; Distlang strings are UTF-8.
    unsafe { crate::value::str_text(key) }
}

/// `Store.get(s, key) -> Option<T>`.
///
/// # Safety
/// Valid `Str`s (here and below); `s` a store index of the program.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_get(s: i64, key: *const Str, _t: i64, loc: *const Str) -> *mut Word {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_text(key) };
        crate::value::option(read(loc, |t| t.get(s as usize, key)))
    })
}

/// `Store.has(s, key) -> Bool`.
///
/// # Safety
/// As `dl_Store_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_has(s: i64, key: *const Str, _t: i64, loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_text(key) };
        i64::from(read(loc, |t| t.has(s as usize, key)))
    })
}

/// `Store.count(s) -> Int`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Store_count(s: i64, _t: i64, loc: *const Str) -> i64 {
    crate::error::guard(|| read(loc, |t| t.count(s as usize)))
}

/// `Store.keys(s) -> List<String>`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Store_keys(s: i64, _t: i64, loc: *const Str) -> *mut List {
    crate::error::guard(|| read(loc, |t| t.keys(s as usize)))
}

/// `Store.values(s) -> List<T>`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Store_values(s: i64, _t: i64, loc: *const Str) -> *mut List {
    crate::error::guard(|| read(loc, |t| t.values(s as usize)))
}

/// `Store.entries(s) -> List<(String, T)>`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Store_entries(s: i64, _t: i64, loc: *const Str) -> *mut List {
    crate::error::guard(|| read(loc, |t| t.entries(s as usize)))
}

/// `Store.prefix(s, prefix) -> List<(String, T)>`.
///
/// # Safety
/// As `dl_Store_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_prefix(s: i64, prefix: *const Str, _t: i64, loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let prefix = unsafe { key_text(prefix) };
        read(loc, |t| t.prefix(s as usize, prefix))
    })
}

/// `Store.set(s, key, value)`.
///
/// # Safety
/// As `dl_Store_get`; `value` a value of the store's type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_set(s: i64, key: *const Str, value: Word, _t: i64, loc: *const Str) {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_text(key) };
        // SAFETY: as above.
        write(loc, |t| unsafe { t.set(s as usize, key, value) })
    })
}

/// `Store.insert(s, value) -> String`: the new, time-ordered key.
///
/// # Safety
/// As `dl_Store_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_insert(s: i64, value: Word, _t: i64, loc: *const Str) -> *mut Str {
    // SAFETY: the caller's contract.
    crate::error::guard(|| write(loc, |t| unsafe { t.insert(s as usize, value) }))
}

/// `Store.delete(s, key) -> Bool`: whether the key existed.
///
/// # Safety
/// As `dl_Store_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_delete(s: i64, key: *const Str, _t: i64, loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_text(key) };
        i64::from(write(loc, |t| t.delete(s as usize, key)))
    })
}
