//! `Crypto`, `Base64` and `Password`: RustCrypto's SHA-256, HMAC and
//! scrypt, `subtle`'s constant-time comparison and the `base64` crate,
//! never hand-rolled. The Wasm hosts give the same results through
//! `std-targets/wasm/crypto.js` (Node's `crypto`, workerd's `node:crypto`).

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{fail, guard};
use crate::value::{Str, Word, err, new_str, ok, str_bytes, str_text};

/// Standard alphabet: padded when encoding; padding optional when decoding.
const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_encode_padding(true).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// URL-safe alphabet: unpadded when encoding; padding optional when decoding.
const URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// PHC's base64: standard alphabet, no padding.
const PHC: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// The scrypt parameters of new hashes: OWASP's 16 MiB setting.
const LOG_N: u8 = 14;
const R: u32 = 8;
const P: u32 = 5;
const SALT_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// The most `Crypto.token` gives.
const MAX_TOKEN: i64 = 1024;

fn hex(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes.iter().flat_map(|b| [DIGITS[(b >> 4) as usize], DIGITS[(b & 15) as usize]]).collect()
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// `Crypto.sha256(text) -> String`.
///
/// # Safety
/// Valid `Str`s, as compiled code passes them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Crypto_sha256(text: *const Str, _loc: *const Str) -> *mut Str {
    // SAFETY: the caller's contract.
    guard(|| new_str(&hex(&Sha256::digest(unsafe { str_bytes(text) }))))
}

/// `Crypto.hmac_sha256(key, message) -> String`.
///
/// # Safety
/// See `dl_Crypto_sha256`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Crypto_hmac_sha256(key: *const Str, message: *const Str, _loc: *const Str) -> *mut Str {
    // SAFETY: the caller's contract.
    guard(|| new_str(&hex(&hmac(unsafe { str_bytes(key) }, unsafe { str_bytes(message) }))))
}

/// `Crypto.hmac_sha256_url(key, message) -> String` (private): base64url.
///
/// # Safety
/// See `dl_Crypto_sha256`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Crypto_hmac_sha256_url(key: *const Str, message: *const Str, _loc: *const Str) -> *mut Str {
    // SAFETY: the caller's contract.
    guard(|| new_str(URL.encode(hmac(unsafe { str_bytes(key) }, unsafe { str_bytes(message) })).as_bytes()))
}

/// `Crypto.equal(a, b) -> Bool`, in constant time for equal lengths.
///
/// # Safety
/// See `dl_Crypto_sha256`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Crypto_equal(a: *const Str, b: *const Str, _loc: *const Str) -> i64 {
    // SAFETY: the caller's contract.
    guard(|| i64::from(bool::from(unsafe { str_bytes(a) }.ct_eq(unsafe { str_bytes(b) }))))
}

/// `Crypto.token(n) -> String`: `n` bytes from the OS, base64url.
///
/// # Safety
/// `loc` as compiled code passes it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Crypto_token(n: i64, loc: *const Str) -> *mut Str {
    guard(|| {
        if !(0..=MAX_TOKEN).contains(&n) {
            fail(&format!("Crypto.token({n}): the number of bytes must be 0 to {MAX_TOKEN}"), loc);
        }
        new_str(URL.encode(random_bytes(n as usize)).as_bytes())
    })
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| crate::error::fail_no_loc(&format!("the system's random source failed: {e}")));
    bytes
}

/// `Base64.encode(text) -> String`.
///
/// # Safety
/// See `dl_Crypto_sha256`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Base64_encode(text: *const Str, _loc: *const Str) -> *mut Str {
    // SAFETY: the caller's contract.
    guard(|| new_str(STANDARD.encode(unsafe { str_bytes(text) }).as_bytes()))
}

/// `Base64.url_encode(text) -> String`.
///
/// # Safety
/// See `dl_Crypto_sha256`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Base64_url_encode(text: *const Str, _loc: *const Str) -> *mut Str {
    // SAFETY: the caller's contract.
    guard(|| new_str(URL.encode(unsafe { str_bytes(text) }).as_bytes()))
}

/// `Base64.decode(encoded) -> Result<String, String>`.
///
/// # Safety
/// See `dl_Crypto_sha256`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Base64_decode(encoded: *const Str, _loc: *const Str) -> *mut Word {
    // SAFETY: the caller's contract.
    guard(|| decoded(&STANDARD, unsafe { str_bytes(encoded) }))
}

/// `Base64.url_decode(encoded) -> Result<String, String>`.
///
/// # Safety
/// See `dl_Crypto_sha256`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Base64_url_decode(encoded: *const Str, _loc: *const Str) -> *mut Word {
    // SAFETY: the caller's contract.
    guard(|| decoded(&URL, unsafe { str_bytes(encoded) }))
}

/// The messages are the Wasm hosts' too (crypto.js).
fn decoded(engine: &GeneralPurpose, encoded: &[u8]) -> *mut Word {
    let message = match engine.decode(encoded) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => return ok(new_str(text.as_bytes()) as Word),
            Err(_) => "the decoded bytes are not UTF-8 text",
        },
        Err(_) => "not base64",
    };
    err(new_str(message.as_bytes()) as Word)
}

/// `Password.hash(password) -> String`: a PHC string.
///
/// # Safety
/// See `dl_Crypto_sha256`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Password_hash(password: *const Str, _loc: *const Str) -> *mut Str {
    guard(|| {
        let salt = random_bytes(SALT_LEN);
        // SAFETY: the caller's contract.
        let key = derive(unsafe { str_bytes(password) }, &salt, LOG_N, R, P, KEY_LEN).expect("the parameters are valid");
        let phc = format!("$scrypt$ln={LOG_N},r={R},p={P}${}${}", PHC.encode(&salt), PHC.encode(key));
        new_str(phc.as_bytes())
    })
}

/// `Password.verify(password, hash) -> Bool`.
///
/// # Safety
/// See `dl_Crypto_sha256`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Password_verify(password: *const Str, hash: *const Str, _loc: *const Str) -> i64 {
    // SAFETY: the caller's contract.
    guard(|| i64::from(verify(unsafe { str_bytes(password) }, unsafe { str_text(hash) })))
}

fn verify(password: &[u8], phc: &str) -> bool {
    let Some((log_n, r, p, salt, key)) = parse_phc(phc) else { return false };
    derive(password, &salt, log_n, r, p, key.len()).is_some_and(|derived| bool::from(derived.as_slice().ct_eq(&key)))
}

/// `$scrypt$ln=N,r=R,p=P$SALT$KEY` with parameters a server can afford
/// (crypto.js accepts exactly the same).
fn parse_phc(phc: &str) -> Option<(u8, u32, u32, Vec<u8>, Vec<u8>)> {
    let ["", "scrypt", params, salt, key] = phc.split('$').collect::<Vec<_>>()[..] else { return None };
    let [ln, r, p] = params.split(',').collect::<Vec<_>>()[..] else { return None };
    let number = |field: &str, name: &str| field.strip_prefix(name)?.parse::<u32>().ok();
    let (log_n, r, p) = (number(ln, "ln=")?, number(r, "r=")?, number(p, "p=")?);
    let affordable = (1..=20).contains(&log_n) && (1..=32).contains(&r) && (1..=16).contains(&p) && (128u64 * u64::from(r)) << log_n <= 256 << 20;
    let (salt, key) = (PHC.decode(salt).ok()?, PHC.decode(key).ok()?);
    (affordable && !salt.is_empty() && (16..=64).contains(&key.len())).then_some((log_n as u8, r, p, salt, key))
}

fn derive(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32, length: usize) -> Option<Vec<u8>> {
    let params = scrypt::Params::new(log_n, r, p, length).ok()?;
    let mut key = vec![0; length];
    scrypt::scrypt(password, salt, &params, &mut key).ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_and_hmac_match_the_rfc_vectors() {
        assert_eq!(hex(&Sha256::digest(b"abc")), b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        // RFC 4231, test case 2.
        assert_eq!(
            hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
            b"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_phc_string_round_trips_and_bad_ones_are_refused() {
        let salt = [7u8; SALT_LEN];
        let key = derive(b"pw", &salt, 4, 8, 1, KEY_LEN).unwrap();
        let phc = format!("$scrypt$ln=4,r=8,p=1${}${}", PHC.encode(salt), PHC.encode(&key));
        assert!(verify(b"pw", &phc));
        assert!(!verify(b"pW", &phc));
        for bad in ["", "$scrypt$ln=4,r=8,p=1$", "$scrypt$ln=40,r=8,p=1$AAAA$AAAA", "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA"] {
            assert!(!verify(b"pw", bad), "{bad}");
        }
    }
}
