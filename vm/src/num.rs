//! Numbers: the `Int` and `Float` externs of `stdlib/int.dl` and
//! `stdlib/float.dl`.

use crate::error::fail;
use crate::format::{write_float, write_int};
use crate::value::{Str, new_str};

/// `base` to the power `exponent`, or the error message.
pub fn int_pow(base: i64, exponent: i64) -> Result<i64, &'static str> {
    if exponent < 0 {
        return Err("negative exponent in Int.pow");
    }
    match base {
        0 => return Ok(if exponent == 0 { 1 } else { 0 }),
        1 => return Ok(1),
        -1 => return Ok(if exponent % 2 == 0 { 1 } else { -1 }),
        _ => {}
    }
    // |base| ≥ 2: anything past 2^63 overflows.
    if exponent > 64 {
        return Err("integer overflow");
    }
    base.checked_pow(exponent as u32).ok_or("integer overflow")
}

/// `x` truncated toward zero, if it fits an Int.
pub fn float_to_int(x: f64) -> Option<i64> {
    let t = x.trunc();
    // -2^63 is an Int, 2^63 is not; NaN fails both comparisons.
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&t) { Some(t as i64) } else { None }
}

/// `Int.to_string(n) -> String`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Int_to_string(n: i64, _loc: *const Str) -> *mut Str {
    crate::error::guard(|| {
        let mut out = Vec::with_capacity(20);
        write_int(&mut out, n);
        new_str(&out)
    })
}

/// `Int.to_float(n) -> Float` (the nearest Float).
#[unsafe(no_mangle)]
pub extern "C" fn dl_Int_to_float(n: i64, _loc: *const Str) -> f64 {
    crate::error::guard(|| {
        n as f64
    })
}

/// `Int.pow(base, exponent) -> Int`: a runtime error when `exponent` is
/// negative or the result overflows.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Int_pow(base: i64, exponent: i64, loc: *const Str) -> i64 {
    crate::error::guard(|| {
        match int_pow(base, exponent) {
            Ok(n) => n,
            Err(what) => fail(what, loc),
        }
    })
}

/// `Float.to_string(x) -> String`: shortest round-trip form, always with a
/// `.` or an exponent (`7.0`, `1e21`, `NaN`, `inf`).
#[unsafe(no_mangle)]
pub extern "C" fn dl_Float_to_string(x: f64, _loc: *const Str) -> *mut Str {
    crate::error::guard(|| {
        let mut out = Vec::with_capacity(24);
        write_float(&mut out, x);
        new_str(&out)
    })
}

/// `Float.to_int(x) -> Int`: truncates toward zero; a runtime error when the
/// result does not fit an Int (or `x` is NaN).
#[unsafe(no_mangle)]
pub extern "C" fn dl_Float_to_int(x: f64, loc: *const Str) -> i64 {
    crate::error::guard(|| {
        match float_to_int(x) {
            Some(n) => n,
            None => fail("Float.to_int: value out of Int range", loc),
        }
    })
}

/// `Float.round(x) -> Float`: half away from zero.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Float_round(x: f64, _loc: *const Str) -> f64 {
    crate::error::guard(|| {
        x.round()
    })
}

/// `Float.floor(x) -> Float`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Float_floor(x: f64, _loc: *const Str) -> f64 {
    crate::error::guard(|| {
        x.floor()
    })
}

/// `Float.ceil(x) -> Float`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Float_ceil(x: f64, _loc: *const Str) -> f64 {
    crate::error::guard(|| {
        x.ceil()
    })
}

/// `Float.sqrt(x) -> Float` (NaN for negative `x`).
#[unsafe(no_mangle)]
pub extern "C" fn dl_Float_sqrt(x: f64, _loc: *const Str) -> f64 {
    crate::error::guard(|| {
        x.sqrt()
    })
}

/// `Float.pow(base, exponent) -> Float` (IEEE `pow`).
#[unsafe(no_mangle)]
pub extern "C" fn dl_Float_pow(base: f64, exponent: f64, _loc: *const Str) -> f64 {
    crate::error::guard(|| {
        base.powf(exponent)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::testing::text;

    #[test]
    fn int_pow_checks() {
        assert_eq!(int_pow(2, 10), Ok(1024));
        assert_eq!(int_pow(-2, 63), Ok(i64::MIN));
        assert_eq!(int_pow(2, 63), Err("integer overflow"));
        assert_eq!(int_pow(10, 1000), Err("integer overflow"));
        assert_eq!(int_pow(-1, 1_000_001), Ok(-1));
        assert_eq!(int_pow(0, 0), Ok(1));
        assert_eq!(int_pow(7, 0), Ok(1));
        assert!(int_pow(2, -1).is_err());
    }

    #[test]
    fn float_conversions() {
        assert_eq!(float_to_int(-2.9), Some(-2));
        assert_eq!(float_to_int(2.9), Some(2));
        assert_eq!(float_to_int(-(2f64.powi(63))), Some(i64::MIN));
        assert_eq!(float_to_int(2f64.powi(63)), None);
        assert_eq!(float_to_int(f64::NAN), None);
        assert_eq!(float_to_int(f64::NEG_INFINITY), None);
        assert_eq!(dl_Float_round(2.5, std::ptr::null()), 3.0);
        assert_eq!(dl_Float_round(-2.5, std::ptr::null()), -3.0);
        assert_eq!(dl_Float_round(0.49999999999999994, std::ptr::null()), 0.0);
        assert_eq!(text(dl_Int_to_string(i64::MIN, std::ptr::null())), "-9223372036854775808");
        assert_eq!(text(dl_Float_to_string(7.0, std::ptr::null())), "7.0");
    }
}
