//! Wall-clock time and identifiers: `Time.now` and `Id.new`.
//!
//! An id is 32 characters of lower-case Crockford base32 (digits, then
//! letters without i, l, o, u, so that byte order is numeric order): 10 for
//! the milliseconds since the epoch, 6 for a counter within the millisecond,
//! 16 (80 bits) from the operating system's CSPRNG, so that an id is
//! unguessable from any other (ids serve as session tokens). Ids made by
//! one process sort in creation order (the clock is never allowed to go
//! backwards, and the counter breaks ties); ids from different processes
//! sort by time.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::value::{Str, new_str};

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

thread_local! {
    /// The virtual time of the test running on this thread (`dlc test`).
    static VIRTUAL_NOW: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// The program's clock: the virtual time of a test, else the real one.
pub fn now_ms() -> i64 {
    VIRTUAL_NOW.with(|v| v.get()).unwrap_or_else(real_now_ms)
}

/// Sets (or, with `None`, ends) this thread's virtual time.
pub fn set_virtual_now(now: Option<i64>) {
    VIRTUAL_NOW.with(|v| v.set(now));
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn real_now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis().min(i64::MAX as u128) as i64,
        Err(_) => 0,
    }
}

/// An id's length in bytes.
pub const ID_LEN: usize = 32;

struct IdState {
    last_ms: u64,
    counter: u64,
}

static ID_STATE: Mutex<IdState> = Mutex::new(IdState { last_ms: 0, counter: 0 });

fn push_base32(out: &mut Vec<u8>, value: u64, chars: u32) {
    for i in (0..chars).rev() {
        out.push(ALPHABET[((value >> (5 * i)) & 31) as usize]);
    }
}

/// A new id (see the module documentation).
pub fn new_id() -> [u8; ID_LEN] {
    let mut random = [0u8; 10];
    // The OS's generator does not fail on a supported system; if it ever
    // did, an id must not be made guessable, so this is a runtime error.
    if getrandom::fill(&mut random).is_err() {
        crate::error::fail_no_loc("the operating system's random number generator failed");
    }
    let (ms, counter) = {
        let mut state = ID_STATE.lock().unwrap_or_else(|p| p.into_inner());
        let now = real_now_ms().max(0) as u64;
        if now > state.last_ms {
            state.last_ms = now;
            state.counter = 0;
        } else {
            state.counter += 1;
            if state.counter >= 1 << 30 {
                state.last_ms += 1;
                state.counter = 0;
            }
        }
        (state.last_ms, state.counter)
    };
    let mut out = Vec::with_capacity(ID_LEN);
    push_base32(&mut out, ms, 10);
    push_base32(&mut out, counter, 6);
    let mut high = [0u8; 8];
    let mut low = [0u8; 8];
    high[3..].copy_from_slice(&random[..5]);
    low[3..].copy_from_slice(&random[5..]);
    push_base32(&mut out, u64::from_be_bytes(high), 8);
    push_base32(&mut out, u64::from_be_bytes(low), 8);
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&out);
    id
}

/// `Time.now() -> Int`: milliseconds since the Unix epoch, UTC.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Time_now(_loc: *const Str) -> i64 {
    crate::error::guard(|| {
        now_ms()
    })
}

/// `Id.new() -> String`: unique and time-ordered.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Id_new(_loc: *const Str) -> *mut Str {
    crate::error::guard(|| {
        new_str(&new_id())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_ordered() {
        let ids: Vec<[u8; ID_LEN]> = (0..10_000).map(|_| new_id()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{:?} !< {:?}", pair[0], pair[1]);
        }
        let time = std::str::from_utf8(&ids[0][..10]).unwrap();
        let mut ms = 0u64;
        for c in time.bytes() {
            ms = ms * 32 + ALPHABET.iter().position(|&a| a == c).unwrap() as u64;
        }
        assert!((ms as i64 - real_now_ms()).abs() < 60_000);
        assert!(ALPHABET.windows(2).all(|w| w[0] < w[1]));
        // The random tails differ from one id to the next.
        let mut tails: Vec<&[u8]> = ids.iter().map(|id| &id[16..]).collect();
        tails.sort();
        tails.dedup();
        assert_eq!(tails.len(), ids.len());
    }
}
