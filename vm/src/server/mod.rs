//! The HTTP server core: routing, requests and replies as plain Rust values,
//! and `serve` on hyper 1 + tokio; compiled route handlers plug in as a
//! `Handler` (README.md, "Server", states the behaviour).
//!
//! | module | owns |
//! |---|---|
//! | `router` | `Method`, `Segment`, `RouteSpec`, `Router`, `Match`, path and query decoding |
//! | `http` | `serve`, `bind`, `serve_listener`, `serve_async`, `signal_shutdown`: the hyper side |
//! | `flags` | the executable's command line (`Flags`, `help_text`) |
//! | `log` | the request log on stderr, error ids |
//! | `cors` | `Cors`: preflight answers and the headers `cors` adds |

pub mod cors;
pub mod flags;
pub mod http;
pub mod log;
pub mod router;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

pub use cors::Cors;
pub use flags::{Flags, help_text};
pub use http::{as_sent, async_threads, bind, check_reply, serve, serve_async, serve_listener, serve_sites, signal_shutdown, unmatched_reply};
pub use router::{Match, Method, RouteSpec, Router, Segment};

/// 1 MiB, the body limit unless `--max-body` says otherwise.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// A request as a route handler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// As sent: `GET`, `POST`, … (`HEAD` for a `HEAD` served by a `GET` route).
    pub method: String,
    /// The path as sent, still percent-encoded, without the query.
    pub path: String,
    /// The query's pairs in order, decoded (`+` is a space).
    pub query: Vec<(String, String)>,
    /// In order; names lower-case; a repeated header appears once per line
    /// it was sent on; values that are not UTF-8 have U+FFFD in place.
    pub headers: Vec<(String, String)>,
    /// The body (always valid UTF-8: other bodies get a 400 before the handler).
    pub body: String,
}

impl Request {
    /// The first query value named `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A handler's answer. `status` must be 200–599 and every header a valid
/// HTTP name and value, or the client gets a 500 (logged with an error id).
/// `content-length`, `transfer-encoding` and `connection` are the server's:
/// a handler's values for them are ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// `status` with a `text/plain; charset=utf-8` body.
    pub fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.into().into_bytes(),
        }
    }

    /// `status` with an `application/json` body (`body` must be JSON text).
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into().into_bytes(),
        }
    }
}

/// What runs a route: `(route index, parameter values in order, request)`.
/// Synchronous; it runs on a blocking thread, never on the async threads.
pub type Handler = Arc<dyn Fn(usize, Vec<String>, Request) -> Reply + Send + Sync>;

/// A route runner that answers through the [`Answer`], from any thread:
/// it may run a short request at once, on the async thread that calls it,
/// and hands the others to threads of its own (it must never block that
/// thread for long: the thread serves other connections).
pub type Dispatcher = Arc<dyn Fn(usize, Vec<String>, Request, Answer) + Send + Sync>;

pub use http::Answer;

/// How `serve` runs routes.
#[derive(Clone)]
pub enum Work {
    Blocking(Handler),
    Dispatch(Dispatcher),
}

impl From<Handler> for Work {
    fn from(handler: Handler) -> Work {
        Work::Blocking(handler)
    }
}

/// What a server serves: its routes, how they run and its CORS. A site is
/// replaced whole (`Sites::replace`), never changed.
pub struct Site {
    pub router: Router,
    pub work: Work,
    pub cors: Cors,
    /// Requests whose path starts with this are not logged (`dlc serve`'s
    /// dashboard, which polls).
    pub unlogged: Option<&'static str>,
}

/// The site a server serves now.
pub struct Sites(std::sync::RwLock<Arc<Site>>);

impl Sites {
    pub fn new(site: Site) -> Arc<Sites> {
        Arc::new(Sites(std::sync::RwLock::new(Arc::new(site))))
    }

    /// The site a request that begins now is served by, to the end.
    pub fn current(&self) -> Arc<Site> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Serves `site` from now on; requests already begun finish on the old
    /// one, which is returned.
    pub fn replace(&self, site: Site) -> Arc<Site> {
        std::mem::replace(&mut *self.0.write().unwrap_or_else(|p| p.into_inner()), Arc::new(site))
    }
}

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub host: String,
    /// 0 lets the system pick a free port (`bind` tells which).
    pub port: u16,
    /// Largest request body in bytes; more is a 413.
    pub max_body: usize,
    /// A connection must send a complete request head within this time of
    /// starting one (or, when idle between requests, of the last response),
    /// else it is closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// The whole body must arrive within this time of the head, else 408.
    /// Default 30 s.
    pub body_read_timeout: Duration,
    /// After shutdown starts, how long in-flight requests get to finish.
    /// Default 10 s.
    pub shutdown_grace: Duration,
    /// What the program's `cors` allows (none by default).
    pub cors: Cors,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            host: "127.0.0.1".to_string(),
            port: 8080,
            max_body: DEFAULT_MAX_BODY,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            cors: Cors::default(),
        }
    }
}
