//! The server's log on stderr, written by one background thread so that a
//! slow or blocked stderr never stalls the threads that serve requests.
//!
//! Lines are queued (at most `QUEUE` waiting); when the queue is full a line
//! is dropped and the next line written says how many were. Every line is
//! redacted first: the secrets the process holds never reach the log.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::sync::{OnceLock, RwLock};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

const QUEUE: usize = 8192;

struct Logger {
    queue: SyncSender<Line>,
    dropped: AtomicU64,
}

enum Line {
    Text(String),
    Flush(SyncSender<()>),
}

fn logger() -> &'static Logger {
    static LOGGER: OnceLock<Logger> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let (queue, lines) = mpsc::sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("dl-log".into())
            .spawn(move || write_lines(lines))
            .expect("cannot start the log thread");
        Logger {
            queue,
            dropped: AtomicU64::new(0),
        }
    })
}

thread_local! {
    /// The lines logged on this thread, while `dlc test` keeps them for
    /// its report instead of stderr.
    static KEPT: std::cell::RefCell<Option<Vec<String>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `body` with the lines this thread logs kept aside: its result, and
/// the lines.
pub fn keep<R>(body: impl FnOnce() -> R) -> (R, Vec<String>) {
    let outer = KEPT.with(|k| k.borrow_mut().replace(Vec::new()));
    let result = body();
    let lines = KEPT.with(|k| std::mem::replace(&mut *k.borrow_mut(), outer)).unwrap_or_default();
    (result, lines)
}

/// In tests, lines go here instead of stderr (unless `DL_TEST_LOG` is set).
#[cfg(test)]
pub(crate) static CAPTURED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Under load, lines gather this long before the thread writes them, so
/// that one write (and one wake-up of the thread) carries many.
const GATHER: Duration = Duration::from_millis(2);

fn write_lines(lines: Receiver<Line>) {
    let mut batch = Vec::new();
    while let Ok(first) = lines.recv() {
        let mut flushed = Vec::new();
        let mut next = Some(first);
        while let Some(line) = next.take() {
            next = lines.try_recv().ok();
            match line {
                Line::Text(t) => {
                    #[cfg(test)]
                    if std::env::var_os("DL_TEST_LOG").is_none() {
                        CAPTURED.lock().unwrap_or_else(|e| e.into_inner()).push(t);
                        continue;
                    }
                    batch.extend_from_slice(t.as_bytes());
                }
                Line::Flush(done) => flushed.push(done),
            }
        }
        let _ = std::io::stderr().lock().write_all(&batch);
        batch.clear();
        for done in flushed {
            let _ = done.send(());
        }
        std::thread::sleep(GATHER);
    }
}

/// Each secret value a service of this process holds, in every form a
/// message may spell it, with the `[secret NAME]` that replaces it; longest
/// first, so that a form containing another is replaced whole.
static HIDDEN: RwLock<Vec<(String, String)>> = RwLock::new(Vec::new());

/// Keeps the secret `name`'s `value` out of every message `redact` sees:
/// as it is and as each quotation the runtime writes escapes it (literal
/// syntax, JSON, Rust's `{:?}`), since a secret with a quote or a control
/// character changes when quoted.
pub fn hide(name: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    let unquote = |quoted: Vec<u8>| String::from_utf8_lossy(&quoted[1..quoted.len() - 1]).into_owned();
    let mut literal = Vec::new();
    crate::format::write_string_literal(&mut literal, value);
    let mut json = Vec::new();
    crate::json::write_json_string(&mut json, value.as_bytes());
    let forms = [value.to_string(), unquote(literal), unquote(json), unquote(format!("{value:?}").into_bytes())];
    let mut hidden = HIDDEN.write().unwrap_or_else(|e| e.into_inner());
    for form in forms {
        if !hidden.iter().any(|(known, _)| *known == form) {
            hidden.push((form, format!("[secret {name}]")));
        }
    }
    hidden.sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()));
}

/// `message` with every hidden secret replaced by `[secret NAME]`: a
/// runtime error's message may quote program text built from a secret.
pub fn redact(message: &str) -> String {
    redacted(message.to_string())
}

fn redacted(mut message: String) -> String {
    let hidden = HIDDEN.read().unwrap_or_else(|e| e.into_inner());
    for (form, name) in hidden.iter() {
        if message.contains(form.as_str()) {
            message = message.replace(form.as_str(), name);
        }
    }
    message
}

/// Whether request lines colour their status (`dlc serve` on a terminal).
static COLOUR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_colour(on: bool) {
    COLOUR.store(on, Ordering::Relaxed);
}

pub fn colour() -> bool {
    COLOUR.load(Ordering::Relaxed)
}

/// Queues one line (a newline is added) for stderr; never blocks.
pub fn log(line: impl Into<String>) {
    let mut text = redacted(line.into());
    let Some(mut text) = KEPT.with(|k| match k.borrow_mut().as_mut() {
        Some(kept) => {
            kept.push(std::mem::take(&mut text));
            None
        }
        None => Some(text),
    }) else {
        return;
    };
    let logger = logger();
    let dropped = logger.dropped.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        text = format!("({dropped} log lines dropped: stderr too slow)\n{text}");
    }
    text.push('\n');
    if let Err(TrySendError::Full(_)) = logger.queue.try_send(Line::Text(text)) {
        logger.dropped.fetch_add(dropped + 1, Ordering::Relaxed);
    }
}

/// Waits (at most a second) until every line queued so far is written.
pub fn flush() {
    let (done, wait) = mpsc::sync_channel(1);
    if logger().queue.try_send(Line::Flush(done)).is_ok() {
        let _ = wait.recv_timeout(std::time::Duration::from_secs(1));
    }
}

/// A short, unpredictable id (8 lower-case hex digits) that ties a 500
/// response to its log line.
pub fn error_id() -> String {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = KEYS.get_or_init(RandomState::new).build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    hasher.write_u64(nanos);
    format!("{:08x}", hasher.finish() as u32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hidden_secret_is_redacted_as_it_is_and_in_every_quotation() {
        let value = "t0ken \"q\" \r\u{1}{\\";
        super::hide("LOG_TEST_TOKEN", value);
        let mut literal = Vec::new();
        crate::format::write_string_literal(&mut literal, value);
        let quoted = [value.to_string(), String::from_utf8(literal).unwrap(), format!("{value:?}"), format!("\"t0ken \\\"q\\\" \\r\\u0001{{\\\\\"")];
        for line in quoted {
            let redacted = super::redact(&format!("error: {line} here"));
            assert!(!redacted.contains("t0ken"), "{line} became {redacted}");
            assert!(redacted.contains("[secret LOG_TEST_TOKEN]"), "{redacted}");
        }
        assert_eq!(super::redact("nothing secret"), "nothing secret");
    }

    #[test]
    fn error_ids_are_8_hex_and_differ() {
        let ids: Vec<String> = (0..100).map(|_| super::error_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 8);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert!(unique.len() >= 99);
    }
}
