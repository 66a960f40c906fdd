//! The keys `insert` makes: fresh, unique and time-ordered.
//!
//! A key is 26 characters of lower-case Crockford base32, as the first 26
//! of an `Id.new()` id (`time.rs`): 10 for the milliseconds since the
//! epoch, 6 for a counter within the millisecond, 10 random (keys are not
//! secrets; an id's 80 random bits are for tokens). The (milliseconds,
//! counter) pair grows strictly with every key of a database: it is the
//! larger of the clock and the last pair plus one, and the last pair is kept
//! in memory and recorded in the store file by every commit that inserted,
//! so keys sort in creation order and never collide, across restarts within
//! one millisecond and when the clock steps back.

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The counter has 6 base32 digits.
const COUNTER_LIMIT: u64 = 1 << 30;

/// The time-ordered part of the last key made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    pub ms: u64,
    pub counter: u64,
}

impl Stamp {
    /// 16 bytes: `ms` then `counter`, little-endian.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.ms.to_le_bytes());
        out[8..].copy_from_slice(&self.counter.to_le_bytes());
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Stamp> {
        let ms = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
        let counter = u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?);
        Some(Stamp { ms, counter })
    }

    /// The stamp after `self` at wall-clock time `now_ms`.
    pub fn next(self, now_ms: u64) -> Stamp {
        if now_ms > self.ms {
            Stamp { ms: now_ms, counter: 0 }
        } else if self.counter + 1 < COUNTER_LIMIT {
            Stamp { ms: self.ms, counter: self.counter + 1 }
        } else {
            Stamp { ms: self.ms + 1, counter: 0 }
        }
    }
}

/// Keys' state: the last stamp and a random generator for the tail.
pub struct KeyGen {
    pub last: Stamp,
    rng: u64,
}

impl KeyGen {
    pub fn new(last: Stamp) -> KeyGen {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(crate::time::now_ms() as u64);
        KeyGen { last, rng: h.finish() | 1 }
    }

    /// A new key, after every key made before.
    pub fn key(&mut self, now_ms: u64) -> [u8; 26] {
        self.last = self.last.next(now_ms);
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let random = z ^ (z >> 31);
        let mut out = [0u8; 26];
        push_base32(&mut out[..10], self.last.ms);
        push_base32(&mut out[10..16], self.last.counter);
        push_base32(&mut out[16..], random);
        out
    }
}

/// `value`'s low `5 * out.len()` bits as base32 digits, most significant first.
fn push_base32(out: &mut [u8], value: u64) {
    let n = out.len();
    for (i, c) in out.iter_mut().enumerate() {
        let shift = 5 * (n - 1 - i) as u32;
        *c = ALPHABET[(value.checked_shr(shift).unwrap_or(0) & 31) as usize];
    }
}
