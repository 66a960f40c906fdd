//! Expected-output files beside a test (`NAME.stderr`, `NAME.stdout`,
//! `NAME.status`), blessing (`DL_BLESS=1` rewrites them) and diffs.

use std::path::Path;

/// Whether this run writes expected files instead of comparing them.
pub fn blessing() -> bool {
    std::env::var_os("DL_BLESS").is_some_and(|v| v == "1")
}

/// Whether a missing expected file is a failure or means "empty".
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The file must exist (the output of a failing test must be pinned).
    Fails,
    /// No file means the output must be empty.
    MeansEmpty,
}

/// Compares `actual` with the file `test` with its extension replaced by
/// `ext` (`x.dl` → `x.stderr`); blessing writes (or removes) it instead.
pub fn compare(root: &Path, test: &Path, ext: &str, actual: &str, missing: Missing) -> Result<(), String> {
    let relative = test.with_extension(ext);
    let path = root.join(&relative);
    let shown = relative.display();
    if blessing() {
        let result = if actual.is_empty() && missing == Missing::MeansEmpty {
            std::fs::remove_file(&path).or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
        } else {
            std::fs::write(&path, actual)
        };
        return result.map_err(|err| format!("cannot bless {shown}: {err}"));
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == actual => Ok(()),
        Ok(expected) => Err(format!(
            "{ext} differs from {shown} (- expected, + actual); if the new output is right, rerun with DL_BLESS=1\n{}",
            diff(&expected, actual)
        )),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => match missing {
            Missing::MeansEmpty if actual.is_empty() => Ok(()),
            Missing::MeansEmpty => Err(format!(
                "unexpected {ext} (no {shown}); if it is right, rerun with DL_BLESS=1 to write {shown}\n{}",
                quote(actual)
            )),
            Missing::Fails => Err(format!("{shown} is missing; rerun with DL_BLESS=1 to write it\n{}", quote(actual))),
        },
        Err(err) => Err(format!("cannot read {shown}: {err}")),
    }
}

fn quote(text: &str) -> String {
    text.lines().map(|l| format!("  | {l}\n")).collect()
}

/// A line diff (longest common subsequence): ` ` common, `-` only in
/// `expected`, `+` only in `actual`.
pub fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: the LCS length of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("   {}\n", a[i]);
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out += &format!(" + {}\n", b[j]);
            j += 1;
        } else {
            out += &format!(" - {}\n", a[i]);
            i += 1;
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out += " (the two differ in their final newline)\n";
    }
    out
}
