//! Calling compiled entry points: the arguments a route gets, the
//! `Response` it gives back, and the 500 a failed one is answered with.

use super::descriptor::{RouteCode, UnitCode};
use crate::error::protect;
use crate::server::{self, Reply};
use crate::value::{List, Str, Word, list_items, new_list, new_object, new_str, str_bytes};

/// Calls `main`, a cron or a test.
pub fn call_unit(code: UnitCode) -> Result<(), String> {
    protect(&mut || {
        code();
    })
}

/// Calls a route: builds its arguments in the region, calls it, and copies
/// the `Response` out, checked as the server will send it (`Err`: why the
/// client gets a 500, to be redacted before it is logged).
pub fn call_route(code: RouteCode, params: &[String], request: &server::Request) -> Result<Reply, String> {
    let params: Vec<Word> = params.iter().map(|p| new_str(p.as_bytes()) as Word).collect();
    let params = new_list(&params);
    let request = request_value(request);
    let mut response: Word = 0;
    let outcome = protect(&mut || response = code(params, request));
    // SAFETY: a `Response` record built by the route, valid until the reset.
    outcome.and_then(|()| {
        // SAFETY: the route returned a `Response`.
        let reply = unsafe { reply_of(response) }.and_then(|reply| server::check_reply(&reply).map(|()| reply));
        reply.map_err(|e| format!("invalid reply: {e}"))
    })
}

/// The 500 for a route that failed with `message` (the log redacts it).
pub fn route_failed(request: &server::Request, message: &str) -> Reply {
    internal_error(&format!("{} {}: {}", request.method, request.path, message))
}

/// Logs `failure` with a new error id, and the 500 that names the id.
pub fn internal_error(failure: &str) -> Reply {
    let id = server::log::error_id();
    super::dashboard::failed(&id, failure);
    server::log::log(format!("error {id}: {failure}"));
    Reply::json(500, format!("{{\"error\":\"internal error\",\"id\":\"{id}\"}}"))
}

/// A list of `(String, String)` pairs.
fn pairs_value(pairs: &[(String, String)]) -> Word {
    let items: Vec<Word> =
        pairs.iter().map(|(k, v)| new_object(&[new_str(k.as_bytes()) as Word, new_str(v.as_bytes()) as Word]) as Word).collect();
    new_list(&items) as Word
}

/// The prelude's `Request { method, path, body, headers, queries }`.
fn request_value(request: &server::Request) -> Word {
    new_object(&[
        new_str(request.method.as_bytes()) as Word,
        new_str(request.path.as_bytes()) as Word,
        new_str(request.body.as_bytes()) as Word,
        pairs_value(&request.headers),
        pairs_value(&request.query),
    ]) as Word
}

/// A `Reply` as the prelude's `Response { status, headers, body }` (a
/// body that is not UTF-8 gets U+FFFD in place).
pub fn response_value(reply: &Reply) -> Word {
    new_object(&[
        i64::from(reply.status) as Word,
        pairs_value(&reply.headers),
        new_str(String::from_utf8_lossy(&reply.body).as_bytes()) as Word,
    ]) as Word
}

/// Text of a `Str`.
///
/// # Safety
/// A valid `Str`.
pub unsafe fn text(word: Word) -> String {
    // SAFETY: the caller's contract.
    String::from_utf8_lossy(unsafe { str_bytes(word as *const Str) }).into_owned()
}

/// The `(String, String)` pairs of a list.
///
/// # Safety
/// A valid `List<(String, String)>`.
pub unsafe fn pairs_of(list: Word) -> Vec<(String, String)> {
    // SAFETY: the caller's contract; the layouts of vm/README.md.
    unsafe {
        list_items(list as *const List)
            .iter()
            .map(|&pair| {
                let pair = pair as *const Word;
                (text(*pair), text(*pair.add(1)))
            })
            .collect()
    }
}

/// The prelude's `Response { status, headers, body }` as a `Reply`.
///
/// # Safety
/// `response` is a `Response` record.
pub unsafe fn reply_of(response: Word) -> Result<Reply, String> {
    // SAFETY: the caller's contract; the layouts of vm/README.md.
    unsafe {
        let fields = response as *const Word;
        let status = *fields as i64;
        let headers = pairs_of(*fields.add(1));
        let body = str_bytes(*fields.add(2) as *const Str).to_vec();
        let status = u16::try_from(status).map_err(|_| format!("status {status} is not in 200-599"))?;
        Ok(Reply { status, headers, body })
    }
}
