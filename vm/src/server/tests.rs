//! End-to-end tests of `serve` over real sockets on 127.0.0.1, with raw
//! HTTP written and read through `std::net::TcpStream`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::*;

const ROUTES: &[(Method, &str)] = &[
    (Method::Get, "/echo/:a/*rest"),  // 0
    (Method::Post, "/echo/:a/*rest"), // 1
    (Method::Get, "/panic"),          // 2
    (Method::Get, "/slow/:ms"),       // 3
    (Method::Get, "/bad-header"),     // 4
    (Method::Get, "/custom"),         // 5
    (Method::Put, "/echo/me"),        // 6
];

struct TestServer {
    addr: SocketAddr,
    /// How many `/slow` handlers have started.
    slow_started: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer {
    fn start(config: ServerConfig) -> TestServer {
        let router = Router::new(
            ROUTES
                .iter()
                .map(|(m, p)| RouteSpec::parse(*m, p).unwrap())
                .collect(),
        )
        .unwrap();
        let slow_started = Arc::new(AtomicUsize::new(0));
        let started = slow_started.clone();
        let handler: Handler = Arc::new(move |route, params, req: Request| match route {
            0 | 1 | 6 => Reply::text(
                200,
                format!(
                    "route={route} method={} path={} params={params:?} query={:?} body={:?} x-test={:?}",
                    req.method,
                    req.path,
                    req.query,
                    req.body,
                    req.header("X-Test"),
                ),
            ),
            2 => panic!("boom"),
            3 => {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(params[0].parse().unwrap()));
                Reply::text(200, "slept")
            }
            4 => Reply {
                status: 200,
                headers: vec![("x-bad".into(), "a\nb".into())],
                body: vec![],
            },
            5 => Reply {
                status: 201,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("X-Custom".into(), "café".into()),
                    ("content-length".into(), "999".into()),
                ],
                body: b"{\"ok\":true}".to_vec(),
            },
            _ => unreachable!(),
        });
        let listener = bind(&ServerConfig {
            port: 0,
            ..config.clone()
        })
        .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread =
            std::thread::spawn(move || serve_listener(listener, config, router, handler, stopped));
        TestServer {
            addr,
            slow_started,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn new() -> TestServer {
        TestServer::start(ServerConfig {
            max_body: 1024,
            ..ServerConfig::default()
        })
    }

    /// Starts shutdown and waits for `serve` to return.
    fn shutdown(&mut self) -> Duration {
        let start = Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap().unwrap();
        }
        start.elapsed()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.shutdown();
        }
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// Parses one response from the start of `bytes`; the rest is returned.
fn parse_response(bytes: &[u8]) -> (Resp, &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let head_end = text
        .find("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {text:?}"));
    let mut lines = text[..head_end].split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.to_lowercase(), v.trim().to_string())
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let rest = &bytes[head_end + 4..];
    let len = len.min(rest.len());
    let body = String::from_utf8(rest[..len].to_vec()).unwrap();
    (
        Resp {
            status,
            headers,
            body,
        },
        &rest[len..],
    )
}

/// Sends `raw` on a new connection and reads until the server closes it.
fn send(addr: SocketAddr, raw: &[u8]) -> Resp {
    let mut stream = connect(addr);
    stream.write_all(raw).unwrap();
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes); // a reset after the response is fine
    parse_response(&bytes).0
}

fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Resp {
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nX-Test: yes\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    send(addr, raw.as_bytes())
}

fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, "")
}

fn logged() -> Vec<String> {
    super::log::flush();
    super::log::CAPTURED.lock().unwrap().clone()
}

#[test]
fn echo_params_query_headers_body() {
    let server = TestServer::new();
    let r = request(
        server.addr,
        "POST",
        "/echo/a%20b/x/y%2Fz/?q=caf%C3%A9+au+lait&n=1&n=2",
        "héllo",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        r.body,
        "route=1 method=POST path=/echo/a%20b/x/y%2Fz/ params=[\"a b\", \"x/y/z\"] \
         query=[(\"q\", \"café au lait\"), (\"n\", \"1\"), (\"n\", \"2\")] body=\"héllo\" \
         x-test=Some(\"yes\")"
    );
    let r = get(server.addr, "/echo/me");
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .starts_with("route=0 method=GET path=/echo/me params=[\"me\", \"\"]"),
        "{}",
        r.body
    );
    // Static beats the parameter for PUT only.
    assert!(
        request(server.addr, "PUT", "/echo/me/", "")
            .body
            .starts_with("route=6 ")
    );
    // A body of exactly max_body is fine.
    let r = request(server.addr, "POST", "/echo/a", &"x".repeat(1024));
    assert_eq!(r.status, 200);
    // One log line per request: METHOD PATH STATUS TIMEms.
    let lines = logged();
    let line = lines
        .iter()
        .find(|l| l.starts_with("POST /echo/a%20b/x/y%2Fz/ 200 "))
        .expect("request logged");
    let time = line.trim_end().rsplit(' ').next().unwrap();
    assert!(
        time.ends_with("ms") && time[..time.len() - 2].parse::<f64>().is_ok(),
        "{line}"
    );
    assert!(!line.contains("caf"), "query logged: {line}");
}

#[test]
fn reply_headers_and_head() {
    let server = TestServer::new();
    let r = get(server.addr, "/custom");
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-custom"), Some("café"));
    assert_eq!(r.header("content-length"), Some("11"));
    assert_eq!(r.body, "{\"ok\":true}");

    let mut stream = connect(server.addr);
    stream
        .write_all(b"HEAD /custom HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("HTTP/1.1 201 "), "{text}");
    assert!(
        text.ends_with("\r\n\r\n"),
        "HEAD response has a body: {text}"
    );
    assert!(text.contains("\r\ncontent-length: 11\r\n"), "{text}");
}

#[test]
fn not_found_and_method_not_allowed() {
    let server = TestServer::new();
    let r = get(server.addr, "/nope");
    assert_eq!((r.status, r.body.as_str()), (404, "not found"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let r = get(server.addr, "/echo");
    assert_eq!(r.status, 404); // `:a` needs a segment
    let r = request(server.addr, "DELETE", "/echo/a/b", "");
    assert_eq!((r.status, r.body.as_str()), (405, "method not allowed"));
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST"));
    let r = request(server.addr, "PUT", "/panic", "");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    let r = request(server.addr, "OPTIONS", "/echo/me", "");
    assert_eq!(
        (r.status, r.header("allow")),
        (405, Some("GET, HEAD, POST, PUT"))
    );
}

#[test]
fn too_large_bodies() {
    let server = TestServer::new(); // max_body 1024
    // Announced by Content-Length: rejected before the body is sent at all.
    let mut stream = connect(server.addr);
    stream
        .write_all(b"POST /echo/a HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n")
        .unwrap();
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let (r, _) = parse_response(&bytes);
    assert_eq!((r.status, r.body.as_str()), (413, "request body too large"));
    assert_eq!(r.header("connection"), Some("close"));

    // Chunked, no Content-Length: counted as it arrives.
    let mut raw =
        b"POST /echo/a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        raw.extend_from_slice(b"200\r\n");
        raw.extend_from_slice(&[b'x'; 0x200]);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(send(server.addr, &raw).status, 413);

    // Chunked within the limit is read whole.
    let raw = b"POST /echo/a HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let r = send(server.addr, raw);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("body=\"abcde\""), "{}", r.body);
    assert_eq!(get(server.addr, "/echo/still/here").status, 200);
}

#[test]
fn body_that_is_not_utf8_is_400() {
    let server = TestServer::new();
    let raw = b"POST /echo/a HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 3\r\n\r\na\xff\xfe";
    let r = send(server.addr, raw);
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, r#"{"error":"request body is not valid UTF-8"}"#);
}

fn error_id_of(r: &Resp) -> String {
    assert_eq!(r.status, 500);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let id = r
        .body
        .strip_prefix(r#"{"error":"internal error","id":""#)
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("unexpected 500 body {}", r.body))
        .to_string();
    assert_eq!(id.len(), 8);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    id
}

#[test]
fn handler_panic_is_500_with_id_and_server_survives() {
    let server = TestServer::new();
    for _ in 0..3 {
        let r = get(server.addr, "/panic");
        let id = error_id_of(&r);
        assert!(!r.body.contains("boom"));
        let lines = logged();
        assert!(
            lines
                .iter()
                .any(|l| l == &format!("error {id}: GET /panic: handler panicked: boom\n")),
            "{lines:?}"
        );
        assert_eq!(get(server.addr, "/echo/after").status, 200);
    }
    // An invalid reply (a header value with a newline) is a 500 too.
    let r = get(server.addr, "/bad-header");
    let id = error_id_of(&r);
    assert!(
        logged()
            .iter()
            .any(|l| l.starts_with(&format!("error {id}: GET /bad-header: invalid reply")))
    );
}

#[test]
fn malformed_http_gets_400_and_server_lives() {
    let server = TestServer::new();
    let bad: &[&[u8]] = &[
        b"GARBAGE\r\n\r\n",
        b"GET /echo/a HTTP/9.9\r\n\r\n",
        b"GET /echo/a HTTP/1.1\r\nno colon here\r\n\r\n",
        b"G\x00T / HTTP/1.1\r\n\r\n",
        b"GET /a b c HTTP/1.1\r\n\r\n",
        b"POST /echo/a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"POST /echo/a HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    ];
    for raw in bad {
        let mut stream = connect(server.addr);
        stream.write_all(raw).unwrap();
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.starts_with("HTTP/1.1 400 "),
            "{:?} -> {text:?}",
            String::from_utf8_lossy(raw)
        );
        assert_eq!(get(server.addr, "/echo/ok").status, 200);
    }
    // Binary noise, a half-sent chunked body and an abrupt close: no answer needed, no harm done.
    for raw in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
        b"POST /echo/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let mut stream = connect(server.addr);
        stream.write_all(raw).unwrap();
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
    }
    drop(TcpStream::connect(server.addr).unwrap());
    assert_eq!(get(server.addr, "/echo/ok").status, 200);
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::new();
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /echo/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\nGET /echo/3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let (a, rest) = parse_response(&bytes);
    let (b, rest) = parse_response(rest);
    let (c, rest) = parse_response(rest);
    assert_eq!((a.status, b.status, c.status), (200, 404, 200));
    assert!(a.body.contains("params=[\"1\", \"\"]") && c.body.contains("params=[\"3\", \"\"]"));
    assert!(rest.is_empty());
}

#[test]
fn slow_clients_do_not_delay_others() {
    let server = TestServer::start(ServerConfig {
        header_read_timeout: Duration::from_millis(600),
        ..ServerConfig::default()
    });
    // Several connections that send half a request head and stall, one
    // whose body stalls, and a slow handler.
    let mut stalled = Vec::new();
    for _ in 0..5 {
        let mut s = connect(server.addr);
        s.write_all(b"GET /echo/a HTTP/1.1\r\nHost: t\r\nX-Test: ")
            .unwrap();
        stalled.push(s);
    }
    let mut slow_handler = connect(server.addr);
    slow_handler
        .write_all(b"GET /slow/2000 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    while server.slow_started.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let start = Instant::now();
    for _ in 0..5 {
        assert_eq!(get(server.addr, "/echo/quick").status, 200);
    }
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    // The stalled heads are dropped after header_read_timeout.
    let mut buf = [0u8; 64];
    let n = stalled[0].read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "expected the stalled connection to be closed");
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests() {
    let mut server = TestServer::start(ServerConfig {
        shutdown_grace: Duration::from_secs(5),
        ..ServerConfig::default()
    });
    // Neither an idle keep-alive connection, nor one that has sent nothing,
    // nor one stalled halfway through its head holds shutdown up.
    let mut idle = connect(server.addr);
    idle.write_all(b"GET /echo/idle HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let _fresh = connect(server.addr);
    let mut half = connect(server.addr);
    half.write_all(b"GET /echo/half HTTP/1.1\r\nHos").unwrap();
    let mut slow = connect(server.addr);
    slow.write_all(b"GET /slow/600 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    while server.slow_started.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = server.shutdown();
    assert!(
        took >= Duration::from_millis(400),
        "returned before the handler finished: {took:?}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    let mut bytes = Vec::new();
    slow.read_to_end(&mut bytes).unwrap();
    let (r, _) = parse_response(&bytes);
    assert_eq!((r.status, r.body.as_str()), (200, "slept"));
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn shutdown_waits_for_handlers_whose_client_left() {
    let mut server = TestServer::start(ServerConfig {
        shutdown_grace: Duration::from_secs(5),
        ..ServerConfig::default()
    });
    // This client leaves; its handler runs on (and would commit).
    let mut gone = connect(server.addr);
    gone.write_all(b"GET /slow/700 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    while server.slow_started.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(gone);
    std::thread::sleep(Duration::from_millis(100));
    let took = server.shutdown();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[test]
fn shutdown_gives_up_after_the_grace_period() {
    let mut server = TestServer::start(ServerConfig {
        shutdown_grace: Duration::from_millis(500),
        ..ServerConfig::default()
    });
    let mut late = connect(server.addr);
    late.write_all(b"GET /slow/5000 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    while server.slow_started.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = server.shutdown();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(2000),
        "{took:?}"
    );
    assert!(logged().iter().any(|l| l.starts_with("shutdown: gave up after 500ms with 1 request(s) still running")));
}

#[test]
fn sigterm_shuts_down() {
    let listener = bind(&ServerConfig {
        port: 0,
        ..ServerConfig::default()
    })
    .unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new(vec![RouteSpec::parse(Method::Get, "/").unwrap()]).unwrap();
    let handler: Handler = Arc::new(|_, _, _| Reply::text(200, "hi"));
    let thread = std::thread::spawn(move || {
        serve_listener(
            listener,
            ServerConfig::default(),
            router,
            handler,
            signal_shutdown(),
        )
    });
    // Once a request is answered, the shutdown future has been polled (the
    // signal handlers are installed), so SIGTERM cannot kill the test run.
    assert_eq!(get(addr, "/").status, 200);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    while !thread.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "SIGTERM did not stop the server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    thread.join().unwrap().unwrap();
    assert!(
        logged()
            .iter()
            .any(|l| l.starts_with("SIGTERM: finishing in-flight requests"))
    );
}

#[test]
fn bind_reports_errors_with_the_address() {
    let taken = bind(&ServerConfig {
        port: 0,
        ..ServerConfig::default()
    })
    .unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = bind(&ServerConfig {
        port,
        ..ServerConfig::default()
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot listen on 127.0.0.1:{port}: ")),
        "{err}"
    );
    assert!(
        bind(&ServerConfig {
            host: "no such host.invalid".into(),
            port: 0,
            ..ServerConfig::default()
        })
        .is_err()
    );
}
