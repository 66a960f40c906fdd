//! The trial `codes-documented`: the compiler's diagnostic codes, the
//! headings of `spec/errors.md` and the `//~` annotations of the check tests
//! name the same codes.

use std::collections::BTreeSet;
use std::path::Path;

use dlc_core::diagnostic::Code;
use libtest_mimic::Trial;

use crate::cases::{self, Case, Kind};

pub fn trial(root: &Path, cases: &[Case]) -> Trial {
    let root = root.to_path_buf();
    let cases = cases.to_vec();
    crate::trial("codes-documented".into(), move || run(&root, &cases))
}

fn run(root: &Path, cases: &[Case]) -> Result<(), String> {
    let codes: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let documented = documented(root)?;
    let annotated = annotated(root, cases);
    let undocumented: Vec<&str> = codes.iter().copied().filter(|c| !documented.contains(*c)).collect();
    let unannotated: Vec<&str> = codes.iter().copied().filter(|c| !annotated.contains(*c)).collect();
    let unknown: Vec<&str> = documented.iter().map(String::as_str).filter(|c| !codes.contains(c)).collect();
    let mut problems = Vec::new();
    if !undocumented.is_empty() {
        problems.push(format!("no `## CODE` heading in spec/errors.md: {}", undocumented.join(" ")));
    }
    if !unannotated.is_empty() {
        problems.push(format!("no `//~ CODE` annotation in any lang-tests/check-* test: {}", unannotated.join(" ")));
    }
    if !unknown.is_empty() {
        problems.push(format!("spec/errors.md documents codes the compiler does not have: {}", unknown.join(" ")));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

/// The codes of the `## CODE …` headings of `spec/errors.md`.
fn documented(root: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(root.join("spec/errors.md"))
        .map_err(|err| format!("cannot read spec/errors.md: {err}"))?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .map(|rest| rest.trim_start().chars().take_while(char::is_ascii_alphanumeric).collect::<String>())
        .filter(|word| crate::dlc::is_code(word))
        .collect())
}

/// The codes annotated in the check tests (a warning can be pinned by a
/// check-pass test, since it does not fail the check).
fn annotated(root: &Path, cases: &[Case]) -> BTreeSet<String> {
    cases
        .iter()
        .filter(|c| matches!(c.kind, Kind::CheckFail | Kind::CheckPass | Kind::BuildFail) && c.path.starts_with("lang-tests"))
        .filter_map(|c| std::fs::read_to_string(root.join(&c.path)).ok())
        .filter_map(|source| cases::parse_annotations(&source).ok())
        .flatten()
        .map(|(_, code)| code)
        .collect()
}
