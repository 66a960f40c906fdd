//! `serve`: the hyper 1 + tokio side — accepting connections, reading and
//! limiting bodies, handing requests to the `Work` (a handler on a blocking
//! thread, or a dispatcher), turning `Reply`s into responses, logging,
//! graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::TcpListener as StdListener;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body as _, Bytes, Incoming};
use hyper::header::{ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinSet;

use super::log::{error_id, log};
use super::router::{Match, parse_query};
use super::{Reply, Request, Router, ServerConfig, Site, Sites, Work};

type Body = Full<Bytes>;

/// How long, after shutdown starts, a connection that has not begun a
/// request gets to begin one before it is closed.
const FIRST_REQUEST_AT_SHUTDOWN: std::time::Duration = std::time::Duration::from_millis(100);

/// Binds `config.host:config.port` (port 0: a free port; read it with
/// `local_addr()`), ready for `serve_listener`.
pub fn bind(config: &ServerConfig) -> io::Result<StdListener> {
    let host = config.host.trim_start_matches('[').trim_end_matches(']');
    let listener = StdListener::bind((host, config.port)).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot listen on {}:{}: {e}", config.host, config.port),
        )
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Binds, then serves until `shutdown` completes (see `serve_listener`).
pub fn serve<F: Future>(
    config: ServerConfig,
    router: Router,
    handler: impl Into<Work>,
    shutdown: F,
) -> io::Result<()> {
    let listener = bind(&config)?;
    serve_listener(listener, config, router, handler, shutdown)
}

/// Serves on `listener` with a multi-thread tokio runtime of its own (so
/// not from inside a runtime) until `shutdown` completes; then stops
/// accepting, lets in-flight requests finish for up to
/// `config.shutdown_grace`, and returns. Handlers still running after that
/// are abandoned to the process's exit.
pub fn serve_listener<F: Future>(
    listener: StdListener,
    config: ServerConfig,
    router: Router,
    handler: impl Into<Work>,
    shutdown: F,
) -> io::Result<()> {
    let site = Site { router, work: handler.into(), cors: config.cors.clone(), unlogged: None };
    serve_sites(listener, config, Sites::new(site), shutdown)
}

/// `serve_listener` of whichever site `sites` holds when each request
/// begins (`dlc serve` replaces it on a reload; a request keeps the site it
/// began with). `config.cors` is unused: each site has its own.
pub fn serve_sites<F: Future>(
    listener: StdListener,
    config: ServerConfig,
    sites: Arc<Sites>,
    shutdown: F,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(async_threads())
        .enable_all()
        .thread_name("dl-http")
        .build()?;
    let result = runtime.block_on(serve_sites_async(listener, config, sites, shutdown));
    runtime.shutdown_background();
    result
}

/// How many async threads `serve_listener` runs: one per core, and at
/// least two, so that one can go on serving while another runs a route
/// (`Work::Dispatch` may run short routes on them).
pub fn async_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).max(2)
}

/// `serve_listener` inside a tokio runtime the caller owns (timers and IO
/// enabled).
pub async fn serve_async<F: Future>(
    listener: StdListener,
    config: ServerConfig,
    router: Router,
    handler: impl Into<Work>,
    shutdown: F,
) -> io::Result<()> {
    let site = Site { router, work: handler.into(), cors: config.cors.clone(), unlogged: None };
    serve_sites_async(listener, config, Sites::new(site), shutdown).await
}

/// `serve_sites` inside a tokio runtime the caller owns.
pub async fn serve_sites_async<F: Future>(
    listener: StdListener,
    config: ServerConfig,
    sites: Arc<Sites>,
    shutdown: F,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    log(format!("listening on http://{}", listener.local_addr()?));

    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(true);
    let grace = config.shutdown_grace;
    let state = Arc::new(State {
        sites,
        config,
        in_flight: InFlight::default(),
    });
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();

    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.as_mut() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    let builder = builder.clone();
                    let stopping = stopping.clone();
                    connections.spawn(connection(stream, peer, builder, state, stopping));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off a little.
                    log(format!("accept failed: {e}"));
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            },
        }
    }

    drop(listener);
    log(format!(
        "shutting down: {} connection(s) open, {} request(s) in flight",
        connections.len(),
        state.in_flight.count.load(Ordering::SeqCst)
    ));
    let _ = stop.send(true);
    let drain = async {
        while connections.join_next().await.is_some() {}
        state.in_flight.wait_idle().await;
    };
    if tokio::time::timeout(grace, drain).await.is_err() {
        log(format!(
            "shutdown: gave up after {grace:?} with {} request(s) still running",
            state.in_flight.count.load(Ordering::SeqCst)
        ));
        connections.abort_all();
    }
    log("stopped");
    super::log::flush();
    Ok(())
}

/// Resolves when the process gets SIGTERM or SIGINT (Ctrl-C). A second
/// signal after that exits the process at once (status 130), without
/// waiting for in-flight requests. Poll it inside the server's runtime
/// (pass it to `serve`).
pub async fn signal_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                log(format!(
                    "{name}: finishing in-flight requests (signal again to exit now)"
                ));
                tokio::spawn(async move {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                    log("second signal: exiting now");
                    super::log::flush();
                    std::process::exit(130);
                });
            }
            (Err(e), _) | (_, Err(e)) => {
                log(format!("cannot watch SIGTERM/SIGINT: {e}"));
                std::future::pending::<()>().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

struct State {
    sites: Arc<Sites>,
    config: ServerConfig,
    in_flight: InFlight,
}

/// Counts handlers running on blocking threads, which go on even when
/// their client has gone: shutdown waits for them too.
#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

struct InFlightGuard(Arc<State>);

/// Where a [`Dispatcher`](super::Dispatcher) sends its reply. The request
/// counts as in flight (shutdown waits for it) until the answer is sent or
/// dropped; dropped unsent, the client gets a 500.
pub struct Answer {
    sender: oneshot::Sender<Reply>,
    _in_flight: InFlightGuard,
    /// Shown the reply before it is sent (`dlc serve`'s request traces).
    observer: Option<Box<dyn FnOnce(&Reply) + Send>>,
}

impl Answer {
    pub fn send(mut self, reply: Reply) {
        if let Some(observe) = self.observer.take() {
            observe(&reply);
        }
        let _ = self.sender.send(reply);
    }

    /// This answer, showing its reply to `observe` before sending it.
    pub fn observed(self, observe: Box<dyn FnOnce(&Reply) + Send>) -> Answer {
        Answer { observer: Some(observe), ..self }
    }

    /// Whether the client has gone (nobody will read the reply).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

impl InFlight {
    fn enter(state: &Arc<State>) -> InFlightGuard {
        state.in_flight.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(state.clone())
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let in_flight = &self.0.in_flight;
        if in_flight.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            in_flight.idle.notify_waiters();
        }
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    builder: http1::Builder,
    state: Arc<State>,
    mut stopping: watch::Receiver<bool>,
) {
    let used = Arc::new(AtomicBool::new(false));
    let service = {
        let used = used.clone();
        service_fn(move |req| {
            used.store(true, Ordering::SeqCst);
            let state = state.clone();
            async move { Ok::<_, Infallible>(handle(state, req).await) }
        })
    };
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = async { drop(stopping.wait_for(|stop| *stop).await) } => {
            // hyper finishes a request in progress, then closes; it closes an
            // idle keep-alive connection at once. A connection that has not
            // begun a request yet (fresh, or half a head) would hold shutdown
            // up until `header_read_timeout`: it gets a moment, then is closed.
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                result = conn.as_mut() => result,
                _ = tokio::time::sleep(FIRST_REQUEST_AT_SHUTDOWN) => {
                    if !used.load(Ordering::SeqCst) {
                        return;
                    }
                    conn.await
                }
            }
        }
    };
    if let Err(e) = result {
        // A client that hangs up mid-request is not worth a line; malformed
        // requests (answered 400 by hyper) and timeouts are.
        if !e.is_incomplete_message() {
            log(format!("connection from {peer}: {e}"));
        }
    }
}

/// Logs `METHOD PATH STATUS TIMEms` when dropped; a request whose client
/// went away before its response was ready is logged with status 499.
struct LogLine {
    method: String,
    path: String,
    start: Instant,
    status: u16,
    /// Not logged (the site's `unlogged` paths).
    quiet: bool,
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if self.quiet {
            return;
        }
        let ms = self.start.elapsed().as_secs_f64() * 1000.0;
        let status = match (super::log::colour(), self.status / 100) {
            (false, _) => self.status.to_string(),
            (true, 2) => format!("\x1b[32m{}\x1b[0m", self.status),
            (true, 3) => format!("\x1b[36m{}\x1b[0m", self.status),
            (true, 4) => format!("\x1b[33m{}\x1b[0m", self.status),
            (true, _) => format!("\x1b[1;31m{}\x1b[0m", self.status),
        };
        log(format!("{} {} {status} {ms:.1}ms", self.method, self.path));
    }
}

async fn handle(state: Arc<State>, req: hyper::Request<Incoming>) -> Response<Body> {
    let site = state.sites.current();
    let path = req.uri().path();
    let mut line = LogLine {
        method: req.method().as_str().to_string(),
        path: path.to_string(),
        start: Instant::now(),
        status: 499,
        quiet: site.unlogged.is_some_and(|prefix| path.starts_with(prefix)),
    };
    let cors = &site.cors;
    // Only what CORS reads of the request, and only if declared.
    let asked: Vec<(String, String)> = if cors.is_declared() {
        ["origin", "access-control-request-headers"]
            .into_iter()
            .filter_map(|name| Some((name.to_string(), req.headers().get(name)?.to_str().ok()?.to_string())))
            .collect()
    } else {
        Vec::new()
    };
    let preflight = if line.method == "OPTIONS" && cors.is_declared() { cors.preflight(&site.router.find(&line.method, &line.path), &asked) } else { None };
    let mut response = match preflight.map(to_response) {
        Some(Ok(response)) => response,
        _ => respond(&state, &site, req, &line.method, &line.path).await,
    };
    for (name, value) in cors.headers(&asked) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            response.headers_mut().append(name, value);
        }
    }
    line.status = response.status().as_u16();
    response
}

async fn respond(
    state: &Arc<State>,
    site: &Site,
    req: hyper::Request<Incoming>,
    method: &str,
    path: &str,
) -> Response<Body> {
    let (route, params) = match site.router.find(method, path) {
        Match::Found { route, params } => (route, params),
        unmatched => match unmatched_reply(&unmatched).map(to_response) {
            Some(Ok(response)) => return response,
            _ => unreachable!("the server's own replies are valid"),
        },
    };

    let max_body = state.config.max_body;
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|len| len > max_body as u64) {
        return closing(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        ));
    }

    let (parts, body) = req.into_parts();
    // Most requests have no body: no timer, no collecting.
    let bytes = if body.is_end_stream() {
        Bytes::new()
    } else {
        match read_body(body, state).await {
            Ok(bytes) => bytes,
            Err(response) => return response,
        }
    };
    let body = match String::from_utf8(Vec::from(bytes)) {
        Ok(body) => body,
        Err(_) => {
            return json(
                StatusCode::BAD_REQUEST,
                r#"{"error":"request body is not valid UTF-8"}"#,
            );
        }
    };
    let request = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: parse_query(parts.uri.query().unwrap_or("")),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };

    let guard = InFlight::enter(state);
    let ran: Result<Reply, String> = match site.work.clone() {
        Work::Blocking(handler) => {
            let ran = tokio::task::spawn_blocking(move || {
                let _guard = guard;
                catch_unwind(AssertUnwindSafe(move || handler(route, params, request)))
            })
            .await;
            match ran {
                Ok(Ok(reply)) => Ok(reply),
                Ok(Err(panic)) => Err(format!("handler panicked: {}", panic_message(&*panic))),
                Err(e) => Err(format!("handler did not finish: {e}")),
            }
        }
        Work::Dispatch(dispatch) => {
            let (sender, answered) = oneshot::channel();
            let answer = Answer { sender, _in_flight: guard, observer: None };
            match catch_unwind(AssertUnwindSafe(move || dispatch(route, params, request, answer))) {
                Ok(()) => answered.await.map_err(|_| "handler did not answer".to_string()),
                Err(panic) => Err(format!("handler panicked: {}", panic_message(&*panic))),
            }
        }
    };
    let failure = match ran {
        Ok(reply) => match to_response(reply) {
            Ok(response) => return response,
            Err(e) => format!("invalid reply: {e}"),
        },
        Err(failure) => failure,
    };
    let id = error_id();
    log(format!("error {id}: {method} {path}: {failure}"));
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(r#"{{"error":"internal error","id":"{id}"}}"#),
    )
}

/// The whole body, within the size limit and the body timeout, or the
/// response that says why not.
async fn read_body(body: Incoming, state: &State) -> Result<Bytes, Response<Body>> {
    let collect = Limited::new(body, state.config.max_body).collect();
    match tokio::time::timeout(state.config.body_read_timeout, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(closing(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        ))),
        Ok(Err(_)) => Err(closing(plain(StatusCode::BAD_REQUEST, "malformed request body"))),
        Err(_) => Err(closing(plain(StatusCode::REQUEST_TIMEOUT, "request body too slow"))),
    }
}

/// The 404 or 405 (with `Allow`) for a request no route takes.
pub fn unmatched_reply(unmatched: &Match) -> Option<Reply> {
    match unmatched {
        Match::Found { .. } => None,
        Match::NotFound => Some(Reply::text(404, "not found")),
        Match::MethodNotAllowed { allow } => {
            let mut reply = Reply::text(405, "method not allowed");
            reply.headers.push((ALLOW.as_str().to_string(), allow.join(", ")));
            Some(reply)
        }
    }
}

/// A handler's reply as a client receives it: checked as the server checks
/// it (`Err`: why the client would get a 500), without the headers the
/// server sets itself.
pub fn as_sent(reply: Reply) -> Result<Reply, String> {
    let body = if is_bodiless(reply.status) { Vec::new() } else { reply.body.clone() };
    let response = to_response(reply)?;
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    Ok(Reply { status: response.status().as_u16(), headers, body })
}

/// Why a client would get a 500 instead of `reply`, if it would: a status
/// outside 200-599, or a header name or value HTTP does not allow.
pub fn check_reply(reply: &Reply) -> Result<(), String> {
    reply_parts(reply).map(drop)
}

/// The status and headers of `reply`, checked.
fn reply_parts(reply: &Reply) -> Result<(StatusCode, Vec<(HeaderName, HeaderValue)>), String> {
    let status = Some(reply.status)
        .filter(|s| (200..=599).contains(s))
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| format!("status {} is not in 200-599", reply.status))?;
    let mut headers = Vec::with_capacity(reply.headers.len());
    for (name, value) in &reply.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|_| format!("invalid value for header '{name}': {value:?}"))?;
        headers.push((name, value));
    }
    Ok((status, headers))
}

/// A 204 or 304 has no body, so nothing to give a type either.
fn is_bodiless(status: u16) -> bool {
    status == 204 || status == 304
}

fn to_response(reply: Reply) -> Result<Response<Body>, String> {
    let (status, headers) = reply_parts(&reply)?;
    let bodiless = is_bodiless(reply.status);
    let body = if bodiless { Bytes::new() } else { Bytes::from(reply.body) };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let sent = response.headers_mut();
    for (name, value) in headers {
        let server_owned = name == CONTENT_LENGTH || name == hyper::header::TRANSFER_ENCODING || name == CONNECTION;
        if server_owned || (bodiless && name == CONTENT_TYPE) {
            continue;
        }
        sent.append(name, value);
    }
    Ok(response)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    with_type(
        status,
        Bytes::from_static(text.as_bytes()),
        "text/plain; charset=utf-8",
    )
}

fn json(status: StatusCode, text: impl Into<Bytes>) -> Response<Body> {
    with_type(status, text.into(), "application/json")
}

fn with_type(status: StatusCode, body: Bytes, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Marks the connection to be closed after this response (its request body
/// was not read to the end).
fn closing(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}
