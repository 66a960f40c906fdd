//! The test files: `lang-tests/<kind>/**/*.dl` and `examples/*.dl`, their
//! directives and their trials. See `lang-tests/README.md` for the format.

use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use crate::dlc::{self, Checked};
use crate::expected::{self, Missing};
use crate::targets::{self, TARGETS};
use crate::{failing, trial};

/// What a test directory's files must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Checks clean (exit 0, no diagnostics unless pinned by `NAME.stderr`).
    CheckPass,
    /// Fails to check (exit 1); stderr pinned by `NAME.stderr`.
    CheckFail,
    /// Checks clean, then fails to build (exit 1): a construct the backend
    /// cannot compile; stderr pinned by `NAME.stderr`.
    BuildFail,
    /// Checks clean; its IR (`dlc build --emit ir`) is pinned by `NAME.ir`.
    Ir,
    /// Checks clean, then runs on each target: exit 0 (or `NAME.status`).
    RunPass,
    /// Checks clean, then runs on each target: exit 1 (or `NAME.status`),
    /// stderr pinned by `NAME.stderr`.
    RunFail,
    /// Checks clean, then `dlc test` runs its tests: stdout pinned by
    /// `NAME.stdout`, exit 0 (or `NAME.status`).
    Test,
}

/// The directories under `lang-tests/` and the kind of their tests.
const KIND_DIRS: &[(&str, Kind)] = &[
    ("check-pass", Kind::CheckPass),
    ("check-fail", Kind::CheckFail),
    ("build-fail", Kind::BuildFail),
    ("ir", Kind::Ir),
    ("run-pass", Kind::RunPass),
    ("run-fail", Kind::RunFail),
    ("test", Kind::Test),
];

/// Entries of `lang-tests/` that hold no tests.
const NOT_TESTS: &[&str] = &["harness", "README.md"];

/// The extensions of expected-output files.
const EXPECTED: &[&str] = &["stderr", "stdout", "status", "ir"];

/// One test file.
#[derive(Clone, Debug)]
pub struct Case {
    /// Relative to the repository root, which is the harness's working
    /// directory and the one `dlc` runs in.
    pub path: PathBuf,
    pub kind: Kind,
}

impl Case {
    pub fn name(&self) -> String {
        slashed(&self.path)
    }
}

/// `a/b/c.dl` on every platform: trial names and `//~` paths use `/`.
pub fn slashed(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// The directives of a test file: `//@ KEY: VALUE` lines in its header (the
/// comments and blank lines before its first line of code).
#[derive(Debug, Default)]
pub struct Directives {
    /// `//@ run: native, workers`: the targets a run test runs on; all of
    /// them when absent.
    pub run: Option<Vec<&'static str>>,
    /// `//@ filter: TEXT`: `dlc test --filter TEXT`.
    pub filter: Option<String>,
}

/// A directive the harness knows.
struct Directive {
    key: &'static str,
    /// The kinds of tests it applies to.
    kinds: &'static [Kind],
    /// Reads its value into [`Directives`].
    read: fn(&mut Directives, &str) -> Result<(), String>,
}

/// A new directive is one entry here and one field in [`Directives`].
const DIRECTIVES: &[Directive] = &[
    Directive { key: "run", kinds: &[Kind::RunPass, Kind::RunFail], read: read_run },
    Directive { key: "filter", kinds: &[Kind::Test], read: read_filter },
];

fn read_filter(directives: &mut Directives, value: &str) -> Result<(), String> {
    directives.filter = Some(value.to_string());
    Ok(())
}

fn read_run(directives: &mut Directives, value: &str) -> Result<(), String> {
    let mut names = Vec::new();
    for name in value.split(',').map(str::trim) {
        let target = TARGETS.iter().find(|t| t.name == name).ok_or_else(|| {
            let known: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
            format!("unknown target `{name}` (known: {})", known.join(", "))
        })?;
        names.push(target.name);
    }
    directives.run = Some(names);
    Ok(())
}

pub fn parse_directives(source: &str, kind: Kind) -> Result<Directives, String> {
    let mut directives = Directives::default();
    let mut in_header = true;
    for (index, line) in source.lines().enumerate() {
        let line_no = index + 1;
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("//@") {
            if !in_header {
                return Err(format!("line {line_no}: a `//@` directive must come before the first line of code"));
            }
            let (key, value) = rest
                .split_once(':')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| format!("line {line_no}: a directive is written `//@ KEY: VALUE`"))?;
            let directive = DIRECTIVES.iter().find(|d| d.key == key).ok_or_else(|| {
                let known: Vec<&str> = DIRECTIVES.iter().map(|d| d.key).collect();
                format!("line {line_no}: unknown directive `{key}` (known: {})", known.join(", "))
            })?;
            if !directive.kinds.contains(&kind) {
                return Err(format!("line {line_no}: the directive `{key}` does not apply to {kind:?} tests"));
            }
            (directive.read)(&mut directives, value).map_err(|err| format!("line {line_no}: {err}"))?;
        } else if !trimmed.is_empty() && !trimmed.starts_with("//") {
            in_header = false;
        }
    }
    Ok(directives)
}

/// The `//~ CODE…` annotations of a file: (line, code) pairs.
pub fn parse_annotations(source: &str) -> Result<Vec<(usize, String)>, String> {
    let mut annotations = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let Some((_, rest)) = line.split_once("//~") else { continue };
        let codes: Vec<&str> = rest.split_whitespace().collect();
        if codes.is_empty() || !codes.iter().all(|c| dlc::is_code(c)) {
            return Err(format!(
                "line {}: malformed annotation `//~{rest}`: write `//~ CODE`, e.g. `//~ E0200` or `//~ E0200 W0402`",
                index + 1
            ));
        }
        annotations.extend(codes.into_iter().map(|c| (index + 1, c.to_string())));
    }
    Ok(annotations)
}

/// Every test file, sorted; plus problems with the layout (unknown
/// directories, expected files without a test) as messages.
pub fn discover(root: &Path) -> (Vec<Case>, Vec<(String, String)>) {
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    let lang_tests = root.join("lang-tests");
    for entry in sorted_entries(&lang_tests) {
        let name = entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if NOT_TESTS.contains(&name.as_str()) {
            continue;
        }
        let shown = format!("lang-tests/{name}");
        match KIND_DIRS.iter().find(|(dir, _)| *dir == name) {
            Some((_, kind)) if entry.is_dir() => collect(root, &entry, *kind, true, &mut cases, &mut problems),
            _ => {
                let dirs: Vec<&str> = KIND_DIRS.iter().map(|(d, _)| *d).collect();
                problems.push((shown, format!("not a test directory; tests live in {}", dirs.join(", "))));
            }
        }
    }
    collect(root, &root.join("examples"), Kind::CheckPass, false, &mut cases, &mut problems);
    (cases, problems)
}

fn collect(root: &Path, dir: &Path, kind: Kind, recurse: bool, cases: &mut Vec<Case>, problems: &mut Vec<(String, String)>) {
    for path in sorted_entries(dir) {
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if path.is_dir() {
            if recurse {
                collect(root, &path, kind, recurse, cases, problems);
            }
        } else if ext == "dl" {
            cases.push(Case { path: relative, kind });
        } else if EXPECTED.contains(&ext) && !path.with_extension("dl").exists() {
            problems.push((slashed(&relative), "an expected-output file without its `.dl` test".into()));
        }
    }
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => vec![],
    };
    entries.sort();
    entries
}

/// The trials of one case: the check, and for run tests one per target.
pub fn trials(root: &Path, case: Case) -> Vec<Trial> {
    let source = match std::fs::read_to_string(root.join(&case.path)) {
        Ok(source) => source,
        Err(err) => return vec![failing(case.name(), format!("cannot read it: {err}"))],
    };
    let directives = match parse_directives(&source, case.kind) {
        Ok(directives) => directives,
        Err(err) => return vec![failing(case.name(), err)],
    };
    let runs_tests = case.kind == Kind::Test || (case.path.starts_with("examples") && source.contains("\ntest \""));
    let (check_root, check_case) = (root.to_path_buf(), case.clone());
    let mut trials = vec![trial(case.name(), move || check_trial(&check_root, &check_case, &source))];
    if case.kind == Kind::Ir {
        let (root, case) = (root.to_path_buf(), case.clone());
        let name = format!("{} [ir]", case.name());
        trials.push(trial(name, move || ir_trial(&root, &case)));
    }
    // A `test/` case, and an example with tests, also runs `dlc test`.
    if runs_tests {
        let (root, case, filter) = (root.to_path_buf(), case.clone(), directives.filter.clone());
        let name = format!("{} [dlc test]", case.name());
        trials.push(trial(name, move || targets::test_trial(&root, &case, filter.as_deref())));
    }
    if matches!(case.kind, Kind::RunPass | Kind::RunFail) {
        for target in TARGETS {
            let wanted = directives.run.as_ref().is_none_or(|names| names.contains(&target.name));
            if let (true, Some(run)) = (wanted, target.run) {
                let (root, case) = (root.to_path_buf(), case.clone());
                let name = format!("{} [{}]", case.name(), target.name);
                trials.push(trial(name, move || targets::run_trial(&root, &case, run)));
            }
        }
    }
    trials
}

/// `dlc check` on the file: status, pinned stderr, and `//~` annotations.
fn check_trial(root: &Path, case: &Case, source: &str) -> Result<(), String> {
    let annotations = parse_annotations(source)?;
    let checked = match case.kind {
        Kind::BuildFail => dlc::build(root, &case.path)?,
        _ => dlc::check(root, &case.path)?,
    };
    let (status, stderr) = match case.kind {
        Kind::CheckPass => (0, Some(Missing::MeansEmpty)),
        Kind::CheckFail | Kind::BuildFail => (1, Some(Missing::Fails)),
        // A run test's `.stderr` is its run's; its check must be silent.
        Kind::Ir | Kind::RunPass | Kind::RunFail | Kind::Test => (0, None),
    };
    checked.expect_status(status)?;
    let mut problems = Vec::new();
    match stderr {
        Some(missing) => {
            problems.extend(expected::compare(root, &case.path, "stderr", &checked.stderr, missing).err());
        }
        None if !checked.stderr.is_empty() => {
            problems.push(format!("expected no diagnostics\n{}", dlc::indent_output(&checked.stderr)));
        }
        None => {}
    }
    if let Err(problem) = compare_annotations(case, &annotations, &checked) {
        // Show the output once: the stderr comparison may have shown it.
        let shown = !problems.is_empty();
        problems.push(if shown { problem } else { format!("{problem}\n{}", dlc::indent_output(&checked.stderr)) });
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n\n")) }
}

/// `dlc build --emit ir` prints the IR pinned by `NAME.ir`.
fn ir_trial(root: &Path, case: &Case) -> Result<(), String> {
    let output = dlc::emit_ir(root, &case.path)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("`dlc build --emit ir` failed with {}\n{}", dlc::describe(output.status), dlc::indent_output(&stderr)));
    }
    expected::compare(root, &case.path, "ir", &String::from_utf8_lossy(&output.stdout), Missing::Fails)
}

/// Every `//~` annotation has its diagnostic and every diagnostic its
/// annotation, compared as sets of (line, code).
fn compare_annotations(case: &Case, annotations: &[(usize, String)], checked: &Checked) -> Result<(), String> {
    use std::collections::BTreeSet;
    let name = case.name();
    let expected: BTreeSet<(usize, &str)> = annotations.iter().map(|(l, c)| (*l, c.as_str())).collect();
    let mut actual = BTreeSet::new();
    let mut elsewhere = Vec::new();
    for d in &checked.diagnostics {
        if d.file == name {
            actual.insert((d.line, d.code.as_str()));
        } else {
            elsewhere.push(format!("  {} at {}:{}", d.code, d.file, d.line));
        }
    }
    let mut problems = Vec::new();
    for (line, code) in expected.difference(&actual) {
        problems.push(format!("  line {line}: annotated `//~ {code}`, but dlc reported no {code} there"));
    }
    for (line, code) in actual.difference(&expected) {
        problems.push(format!("  line {line}: dlc reported {code}, but the line has no `//~ {code}`"));
    }
    if !elsewhere.is_empty() {
        problems.push(format!("  diagnostics outside the test file:\n{}", elsewhere.join("\n")));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!("annotations and diagnostics disagree:\n{}", problems.join("\n")))
}
