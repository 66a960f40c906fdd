//! A stable merge sort over copyable items, shared by `List.sort`,
//! `List.sort_by` and the sorted views of `Dict`.
//!
//! Hand-written rather than `slice::sort_by` so that no comparator, however
//! it behaves, can reach a panic inside the standard library's sort.

/// Sorts `v` stably: `less(a, b)` says whether `a` must come before `b`.
pub fn merge_sort<T: Copy>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    const RUN: usize = 16;
    let n = v.len();
    if n < 2 {
        return;
    }
    // Insertion sort of short runs.
    let mut start = 0;
    while start < n {
        let end = (start + RUN).min(n);
        for i in start + 1..end {
            let x = v[i];
            let mut j = i;
            while j > start && less(&x, &v[j - 1]) {
                v[j] = v[j - 1];
                j -= 1;
            }
            v[j] = x;
        }
        start = end;
    }
    if n <= RUN {
        return;
    }
    // Bottom-up merges, alternating between `v` and `tmp`.
    let mut tmp: Vec<T> = v.to_vec();
    let mut width = RUN;
    let mut in_v = true;
    while width < n {
        {
            let (src, dst): (&[T], &mut [T]) = if in_v { (&*v, &mut tmp[..]) } else { (&tmp[..], &mut *v) };
            let mut lo = 0;
            while lo < n {
                let mid = (lo + width).min(n);
                let hi = (lo + 2 * width).min(n);
                let (mut i, mut j, mut k) = (lo, mid, lo);
                while i < mid && j < hi {
                    // Take from the right only when strictly less: stable.
                    if less(&src[j], &src[i]) {
                        dst[k] = src[j];
                        j += 1;
                    } else {
                        dst[k] = src[i];
                        i += 1;
                    }
                    k += 1;
                }
                dst[k..k + (mid - i)].copy_from_slice(&src[i..mid]);
                k += mid - i;
                dst[k..k + (hi - j)].copy_from_slice(&src[j..hi]);
                lo = hi;
            }
        }
        in_v = !in_v;
        width *= 2;
    }
    if !in_v {
        v.copy_from_slice(&tmp);
    }
}

/// The first 16 bytes of `bytes`, zero-padded, as a number whose order is
/// the bytes' order whenever two prefixes differ; equal prefixes need a
/// full comparison. Sorting by it keeps most comparisons of strings out of
/// memory that is scattered over the region.
pub fn prefix16(bytes: &[u8]) -> u128 {
    let mut p = [0u8; 16];
    let n = bytes.len().min(16);
    p[..n].copy_from_slice(&bytes[..n]);
    u128::from_be_bytes(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_stably_at_every_size() {
        let mut seed = 12345u64;
        for n in [0, 1, 2, 15, 16, 17, 31, 32, 33, 100, 1000, 4097] {
            let mut v: Vec<(u32, usize)> = (0..n)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 33) as u32 % 10, i)
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_by_key(|p| p.0);
            merge_sort(&mut v, |a, b| a.0 < b.0);
            assert_eq!(v, expected, "n = {n}");
        }
    }

    #[test]
    fn prefixes_order_like_the_bytes_when_they_differ() {
        let words: [&[u8]; 9] =
            [b"", b"\0", b"a", b"a\0", b"a\0b", b"ab", b"abcdefghijklmnopq", b"abcdefghijklmnopr", b"\xff"];
        for a in words {
            for b in words {
                if prefix16(a) != prefix16(b) {
                    assert_eq!(prefix16(a) < prefix16(b), a < b, "{a:?} {b:?}");
                }
            }
        }
    }
}
