//! "No input, however malformed, makes `dlc` panic" (brief §7): `dlc check`
//! on truncated and mutated versions of every `.dl` file under `lang-tests/`
//! and `examples/`, on random bytes and random token soup, and on a few
//! pathological programs (deep nesting, long chains). Valid UTF-8 must end
//! with status 0 or 1, anything else with status 2 (`cannot read`); never
//! 101 (a caught panic), a signal, or a hang.
//!
//! And `dlc build` on every program that checks (the `check-pass` tests and
//! the examples): an executable, or only the "not supported yet" and
//! "nothing to run" diagnostics (E0600, E0601) — never a panic.
//!
//! Deterministic: a fixed seed drives every choice. A failing input is
//! copied to `target/robustness-failures/` and named in the failure message.

#[path = "../../../lang-tests/harness/process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const DLC: &str = env!("CARGO_BIN_EXE_dlc");
/// Files per `dlc check` invocation.
const BATCH: usize = 32;
/// Longer than this per batch is a hang.
const BATCH_LIMIT: Duration = Duration::from_secs(20);
/// About how many mutated inputs to derive from the corpus in total, so the
/// test's time stays flat as the corpus grows.
const MUTATION_BUDGET: usize = 1000;
const RANDOM_INPUTS: usize = 200;

/// A program to mutate when the corpus is still empty, and always a seed.
const BRIEF_TASTE: &str = include_str!("../../../lang-tests/check-pass/brief-taste.dl");

/// One generated input.
struct Input {
    /// Where it came from, for the failure message.
    origin: String,
    bytes: Vec<u8>,
    /// Its file, once written.
    path: PathBuf,
}

#[test]
fn dlc_check_survives_malformed_input() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut rng = Rng(0x5eed_d1c0_ffee_1234);
    let mut inputs = Vec::new();
    let seeds = seeds(&root);
    let per_seed = (MUTATION_BUDGET / seeds.len()).clamp(4, 24);
    for (name, bytes) in &seeds {
        inputs.extend(mutations(name, bytes, per_seed, &mut rng));
    }
    inputs.extend((0..RANDOM_INPUTS / 2).map(|i| random_bytes(i, &mut rng)));
    inputs.extend((0..RANDOM_INPUTS / 2).map(|i| random_tokens(i, &mut rng)));
    inputs.extend(pathological());

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("robustness");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the input directory");
    for (i, input) in inputs.iter_mut().enumerate() {
        input.path = dir.join(format!("{i:05}.dl"));
        std::fs::write(&input.path, &input.bytes).expect("write an input");
    }

    // Valid and invalid UTF-8 go in separate batches: their statuses differ.
    let (text, binary): (Vec<&Input>, Vec<&Input>) =
        inputs.iter().partition(|i| std::str::from_utf8(&i.bytes).is_ok());
    let batches: Vec<&[&Input]> = text.chunks(BATCH).chain(binary.chunks(BATCH)).collect();
    let failures = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(batch) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let found = find_failures(batch);
                    failures.lock().unwrap_or_else(|e| e.into_inner()).extend(found);
                }
            });
        }
    });

    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    if failures.is_empty() {
        return;
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap_or(Path::new("target"));
    let saved = target.join("robustness-failures");
    let _ = std::fs::create_dir_all(&saved);
    let mut report = format!("{} of {} inputs broke `dlc check`:\n", failures.len(), inputs.len());
    for (input, problem) in &failures {
        let copy = saved.join(input.path.file_name().unwrap_or_default());
        let _ = std::fs::copy(&input.path, &copy);
        report += &format!("\n- {}: {problem}\n  reproduce: dlc check {}\n", input.origin, copy.display());
    }
    panic!("{report}");
}

/// The inputs of `batch` that break `dlc`, each with what went wrong. One
/// run for the batch; when it goes wrong, halves until the culprits are
/// single files.
fn find_failures<'a>(batch: &[&'a Input]) -> Vec<(&'a Input, String)> {
    match run_batch(batch) {
        Ok(()) => vec![],
        Err(problem) if batch.len() == 1 => vec![(batch[0], problem)],
        Err(_) => {
            let (left, right) = batch.split_at(batch.len() / 2);
            let mut found = find_failures(left);
            found.extend(find_failures(right));
            found
        }
    }
}

fn run_batch(batch: &[&Input]) -> Result<(), String> {
    let mut command = Command::new(DLC);
    command.args(["check", "--color", "never"]).args(batch.iter().map(|i| &i.path));
    let output = process::run(command, BATCH_LIMIT).map_err(|err| err.to_string())?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let utf8 = std::str::from_utf8(&batch[0].bytes).is_ok();
    let code = output.status.code();
    let expected = if utf8 { matches!(code, Some(0 | 1)) } else { code == Some(2) };
    if !expected {
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
        let wanted = if utf8 { "0 or 1" } else { "2" };
        return Err(format!("dlc ended with {} (expected status {wanted}); stderr ends:\n    {}", output.status, tail.join("\n    ")));
    }
    if !output.stdout.is_empty() {
        return Err("`dlc check` wrote to stdout".into());
    }
    if !utf8 && stderr.matches("error: cannot read ").count() != batch.len() {
        return Err("a non-UTF-8 file was not reported as `cannot read`".into());
    }
    Ok(())
}

/// `(name, bytes)` of every `.dl` file under `lang-tests/` and `examples/`,
/// sorted, and the brief's sample program.
#[test]
fn dlc_build_compiles_every_program_that_checks_or_says_why_not() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("build-robustness");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the output directory");
    let mut failures = Vec::new();
    let programs: Vec<(String, Vec<u8>)> =
        seeds(&root).into_iter().filter(|(name, _)| name.starts_with("lang-tests/check-pass/") || name.starts_with("examples/")).collect();
    assert!(programs.len() > 50, "the corpus is missing: {} programs", programs.len());
    for (name, _) in &programs {
        let mut command = Command::new(DLC);
        command.current_dir(&root).args(["build", "--color", "never", name, "-o"]).arg(dir.join("app"));
        let output = match process::run(command, BATCH_LIMIT) {
            Ok(output) => output,
            Err(err) => {
                failures.push(format!("{name}: {err}"));
                continue;
            }
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        let codes: Vec<&str> = stderr.lines().filter_map(|l| l.strip_prefix('[')?.split(']').next()).collect();
        let explained = output.status.code() == Some(1) && !codes.is_empty() && codes.iter().all(|c| ["E0600", "E0601"].contains(c));
        if output.status.code() != Some(0) && !explained {
            failures.push(format!("{name}: exit {:?}\n{stderr}", output.status.code()));
        }
    }
    assert!(failures.is_empty(), "`dlc build` failed on programs that check:\n{}", failures.join("\n"));
}

fn seeds(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "dl") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root.join("lang-tests"), &mut paths);
    walk(&root.join("examples"), &mut paths);
    paths.sort();
    let mut seeds = vec![("the brief's sample".to_string(), BRIEF_TASTE.as_bytes().to_vec())];
    for path in paths {
        if let Ok(bytes) = std::fs::read(&path) {
            seeds.push((path.strip_prefix(root).unwrap_or(&path).display().to_string(), bytes));
        }
    }
    seeds
}

/// Characters whose insertion or deletion upsets a parser most.
const TRICKY: &[u8] = b"()[]{}\"\n<>|,:;.?\\=-`'@_";

/// `count` variants of `bytes`: truncations, then single mutations.
fn mutations(name: &str, bytes: &[u8], count: usize, rng: &mut Rng) -> Vec<Input> {
    let mut out = Vec::new();
    let len = bytes.len();
    let mut push = |origin: String, bytes: Vec<u8>| out.push(Input { origin, bytes, path: PathBuf::new() });
    for (num, den) in [(1, 4), (1, 2), (3, 4)] {
        let at = len * num / den;
        push(format!("{name} truncated at byte {at} of {len}"), bytes[..at].to_vec());
    }
    for i in 3..count {
        let mut mutated = bytes.to_vec();
        let at = rng.below(len + 1);
        let what = match i % 6 {
            0 => {
                mutated.truncate(at);
                format!("truncated at byte {at} of {len}")
            }
            1 if len > 0 => {
                let at = at.min(len - 1);
                let bit = rng.below(8);
                mutated[at] ^= 1 << bit;
                format!("bit {bit} of byte {at} flipped")
            }
            2 => {
                let c = TRICKY[rng.below(TRICKY.len())];
                mutated.insert(at, c);
                format!("{:?} inserted at byte {at}", c as char)
            }
            3 => {
                let spots: Vec<usize> = (0..len).filter(|&j| TRICKY.contains(&bytes[j])).collect();
                if spots.is_empty() {
                    continue;
                }
                let at = spots[rng.below(spots.len())];
                let c = mutated.remove(at);
                format!("{:?} deleted at byte {at}", c as char)
            }
            4 => {
                let start = rng.below(len + 1);
                let end = (start + 1 + rng.below(64)).min(len);
                let slice = bytes[start..end].to_vec();
                mutated.splice(at..at, slice);
                format!("bytes {start}..{end} copied to byte {at}")
            }
            _ => {
                // Swap two lines.
                let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
                let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                lines.swap(a, b);
                mutated = lines.join(&b'\n');
                format!("lines {} and {} swapped", a + 1, b + 1)
            }
        };
        push(format!("{name}, {what}"), mutated);
    }
    out
}

fn random_bytes(index: usize, rng: &mut Rng) -> Input {
    let len = rng.below(1500);
    let bytes = (0..len)
        .map(|_| match rng.below(20) {
            0 => rng.below(256) as u8,                 // anything, often invalid UTF-8
            1 => TRICKY[rng.below(TRICKY.len())],      // structure
            2 => b'\n',
            _ => b' ' + rng.below(95) as u8,           // printable ASCII
        })
        .collect();
    Input { origin: format!("random bytes #{index}"), bytes, path: PathBuf::new() }
}

const TOKENS: &[&str] = &[
    "type", "fn", "let", "var", "if", "else", "match", "for", "in", "while", "return", "break", "continue",
    "store", "route", "cron", "secret", "test", "assert", "true", "false", "extern", "@reads", "x", "xs", "f",
    "Todo", "Some", "None", "Ok", "Err", "Int", "String", "List", "Option", "String.upper", "List.map", "0", "1_000",
    "3.14", "1e9", "\"s\"", "\"a {x} b\"", "\"{", "}\"", "GET", "/todos/:id", "/a/*rest", "(", ")", "[", "]", "{", "}",
    ",", ":", ".", "..", "=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "++", "&&", "||", "!", "|>",
    "|", "->", "=>", "?", "_", ";", "\n", "\n", "// c\n", "é", "\"\\u\"",
];

fn random_tokens(index: usize, rng: &mut Rng) -> Input {
    let count = 1 + rng.below(400);
    let mut text = String::new();
    for _ in 0..count {
        text.push_str(TOKENS[rng.below(TOKENS.len())]);
        text.push(if rng.below(4) == 0 { '\n' } else { ' ' });
    }
    Input { origin: format!("random tokens #{index}"), bytes: text.into_bytes(), path: PathBuf::new() }
}

/// Inputs built to reach limits: nesting, long chains, long lines.
fn pathological() -> Vec<Input> {
    let n = 20_000;
    let programs = [
        ("nested parentheses", format!("fn f() -> Int {{ {}1{} }}\n", "(".repeat(n), ")".repeat(n))),
        ("nested brackets, unclosed", format!("fn f() {{ {}\n", "[".repeat(n))),
        ("nested braces", format!("fn f() {}{}\n", "{".repeat(n), "}".repeat(n))),
        ("a long sum", format!("fn f() -> Int {{ 1{} }}\n", " + 1".repeat(n))),
        ("a long pipe chain", format!("fn f(s: String) -> String {{ s{} }}\n", " |> String.lower".repeat(n))),
        ("a long method chain", format!("fn f(s: String) -> String {{ s{} }}\n", ".trim()".repeat(n))),
        ("many unary minuses", format!("fn f() -> Int {{ {}1 }}\n", "-".repeat(n))),
        ("many nots", format!("fn f() -> Bool {{ {}true }}\n", "!".repeat(n))),
        (
            "a long else-if chain",
            format!("fn f(x: Int) -> Int {{ if x == 0 {{ 0 }}{} else {{ 1 }} }}\n", " else if x == 1 { 1 }".repeat(n / 4)),
        ),
        ("nested lambdas", format!("fn f() {{ let g = {}1{} }}\n", "fn(x) { ".repeat(n / 4), " }".repeat(n / 4))),
        ("nested interpolations", format!("fn f() -> String {{ {}x{} }}\n", "\"{".repeat(n / 4), "}\"".repeat(n / 4))),
        ("nested list patterns", format!("fn f(x: Int) {{ match x {{ {}_{} => 1 }} }}\n", "[".repeat(n), "]".repeat(n))),
        ("a long list literal", format!("fn f() -> List<Int> {{ [{}] }}\n", "1, ".repeat(n))),
        ("many declarations", (0..n / 4).map(|i| format!("fn f{i}(x: Int) -> Int {{ f{}(x) }}\n", i + 1)).collect()),
        ("a long line of nothing", " ".repeat(n * 10)),
        ("a huge integer", format!("fn f() -> Int {{ {} }}\n", "9".repeat(n))),
        ("a huge float", format!("fn f() -> Float {{ 1e{} }}\n", "9".repeat(100))),
    ];
    programs
        .into_iter()
        .map(|(what, text)| Input { origin: format!("pathological: {what}"), bytes: text.into_bytes(), path: PathBuf::new() })
        .collect()
}

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n`; 0 when `n` is 0.
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}
