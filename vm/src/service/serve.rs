//! Serving an instance's routes: where each invocation runs (inline, the
//! pool or the writer's batches, `pool.rs`) and how it is answered.

use std::sync::{Arc, mpsc};

use super::descriptor::{Access, RouteCode, UnitCode};
use super::dashboard;
use super::instance::Instance;
use super::invoke::{call_route, call_unit, internal_error, route_failed};
use super::transaction::{self, Opened, in_transaction, run_invocation};
use crate::pool::{Inline, MAX_WAITING, Pool, Writer};
use crate::server::{self, Flags, Reply, RouteSpec, Router, Site};
use crate::stack;

/// Where the invocations of an instance run (`pool.rs`).
pub struct Runners {
    pub instance: Arc<Instance>,
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
    pub fn new(instance: Arc<Instance>) -> std::io::Result<Runners> {
        let batch_instance = Arc::clone(&instance);
        let writer = Writer::start(move |jobs| batch_instance.enter(|| write_batch(&batch_instance, jobs)))?;
        Ok(Runners { instance, pool: Pool::start(), writer })
    }

    /// Runs `main` or a cron, and waits for it (and, if it writes, for its
    /// writes to be durable).
    pub fn run_unit(&self, code: UnitCode, access: Access) -> Result<(), String> {
        self.run(access, move || call_unit(code))
    }

    /// Runs `body` as an invocation with `access` (on the pool, or in the
    /// writer's next batch), and waits for it and, if it writes, for its
    /// writes to be durable.
    pub fn run<T: Send + 'static>(&self, access: Access, body: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
        if access != Access::Writes {
            let instance = Arc::clone(&self.instance);
            return self.pool.run(move || instance.enter(|| in_transaction(instance.begin(access), body)));
        }
        let (done, outcome) = mpsc::channel();
        self.writer.submit(Box::new(move |opened| {
            let ran = opened.and_then(|()| run_invocation(body));
            Box::new(move |committed| {
                let _ = done.send(ran.and_then(|value| committed.map(|()| value)));
            })
        }));
        outcome.recv().unwrap_or(Err("internal error: the writer stopped".to_string()))
    }
}

/// The writer's batch: every job in one write transaction, each undone
/// alone if it fails (`run_invocation`), then one durable commit; only
/// then are the answers given.
fn write_batch(instance: &Instance, jobs: Vec<WriteJob>) {
    // A batch that panicked (a bug in the runtime) left its transaction
    // open: dropping it rolls it back and lets the next one begin.
    drop(transaction::take());
    let opened = instance.begin(Access::Writes).map(transaction::open);
    let settles: Vec<Settle> = jobs.into_iter().map(|job| job(opened.clone())).collect();
    let committed = opened.and_then(|()| transaction::commit(transaction::take()));
    for settle in settles {
        settle(committed.clone());
    }
}

/// Runs a route in its transaction (`opened`) and answers: its `Response`,
/// or a 500 whose error id ties it to the logged failure.
fn answer_route(code: RouteCode, opened: Opened, params: Vec<String>, request: server::Request) -> Reply {
    in_transaction(opened, || call_route(code, &params, &request)).unwrap_or_else(|message| route_failed(&request, &message))
}

/// Serves the instance's routes until SIGTERM or SIGINT.
pub fn serve(flags: &Flags, runners: Arc<Runners>) -> i32 {
    let site = match site(runners) {
        Ok(site) => site,
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    let config = flags.server_config();
    let served = server::bind(&config)
        .and_then(|listener| server::serve_sites(listener, config, server::Sites::new(site), server::signal_shutdown()));
    match served {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: {err}");
            1
        }
    }
}

/// The site of the instance's routes, run by `runners`.
pub fn site(runners: Arc<Runners>) -> Result<Site, String> {
    site_with(runners, Extra::default())
}

/// What `dlc serve` adds to a site: routes of its own, after the program's
/// (`dispatch` gets their index among `routes`), and a tracer, which sees
/// each request to the program and makes what sees its reply.
#[derive(Default)]
pub struct Extra {
    pub routes: Vec<RouteSpec>,
    pub dispatch: Option<server::Dispatcher>,
    pub tracer: Option<Tracer>,
    /// Paths not logged (`Site::unlogged`).
    pub unlogged: Option<&'static str>,
}

/// Given the route's index and the request, what sees the reply.
pub type Tracer = Arc<dyn Fn(usize, &server::Request) -> Box<dyn FnOnce(&Reply) + Send> + Send + Sync>;

/// `site`, with `extra`.
pub fn site_with(runners: Arc<Runners>, extra: Extra) -> Result<Site, String> {
    let Extra { routes: extra_routes, dispatch: extra_dispatch, tracer, unlogged } = extra;
    let program = Arc::clone(&runners.instance.program);
    let mut specs = Vec::new();
    for route in &program.routes {
        let spec = RouteSpec::parse(route.method, &route.path)
            .map_err(|message| format!("route {} {}: {message}", route.method.as_str(), route.path))?;
        specs.push(spec);
    }
    specs.extend(extra_routes);
    let router = Router::new(specs)?;
    let codes: Vec<(RouteCode, Access)> = program.routes.iter().map(|r| (r.code, r.access)).collect();
    let inline = Inline::new(codes.len());
    // Each request runs at once on the async thread that read it if it may
    // (`Inline`: it only reads, and is short), else it goes straight from
    // there to the writer or the pool, which answers it.
    let dispatch: server::Dispatcher = Arc::new(move |route, params, request, answer| {
        let Some(&(code, access)) = codes.get(route) else {
            match &extra_dispatch {
                Some(extra) => extra(route - codes.len(), params, request, answer),
                None => answer.send(internal_error("no such route")),
            }
            return;
        };
        let answer = match &tracer {
            Some(trace) => answer.observed(trace(route, &request)),
            None => answer,
        };
        let instance = &runners.instance;
        if access != Access::Writes
            && let Some(run) = inline.enter(route)
        {
            let reply = stack::on_invocation_stack(|| instance.enter(|| answer_route(code, instance.begin(access), params, request)));
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
                let ran = opened.and_then(|()| run_invocation(|| call_route(code, &params, &request)));
                let ops = dashboard::take_ops();
                Box::new(move |committed| {
                    dashboard::put_ops(ops);
                    let reply = ran.and_then(|reply| committed.map(|()| reply));
                    answer.send(reply.unwrap_or_else(|message| route_failed(&request, &message)));
                })
            }));
        } else {
            let instance = Arc::clone(instance);
            runners.pool.submit(Box::new(move || {
                if !answer.is_closed() {
                    answer.send(instance.enter(|| answer_route(code, instance.begin(access), params, request)));
                }
            }));
        }
    });
    Ok(Site { router, work: server::Work::Dispatch(dispatch), cors: program.cors.clone(), unlogged })
}
