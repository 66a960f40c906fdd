//! Native and Wasm agree: deterministic random programs (Ints, Floats,
//! Strings, lists, dicts, records, enums, closures, matches, and the
//! runtime errors they run into) are run with `dlc run` and `dlc run
//! --target wasm`, which must print the same stdout and stderr and exit
//! with the same status.
//!
//! Short mode (the default, for CI): 12 programs. `DL_LONG_TESTS=1`: 300.
//! `DL_DIFF_SEED=N` runs the one program of seed N (to debug a failure).

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

const DLC: &str = env!("CARGO_BIN_EXE_dlc");

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Ty {
    Int,
    Float,
    Str,
    Bool,
    Ints,
    Shape,
    Point,
    Dict,
}

const TYPES: [Ty; 8] = [Ty::Int, Ty::Float, Ty::Str, Ty::Bool, Ty::Ints, Ty::Shape, Ty::Point, Ty::Dict];

/// Builds a program: bindings of random types, each printed.
struct Gen {
    rng: Rng,
    vars: Vec<(String, Ty)>,
}

impl Gen {
    fn var(&mut self, ty: Ty) -> Option<String> {
        let names: Vec<&String> = self.vars.iter().filter(|v| v.1 == ty).map(|v| &v.0).collect();
        (!names.is_empty()).then(|| names[self.rng.below(names.len() as u64) as usize].clone())
    }

    fn expr(&mut self, ty: Ty, depth: u32) -> String {
        if depth == 0 || self.rng.below(4) == 0 {
            if let Some(v) = self.var(ty).filter(|_| self.rng.below(2) == 0) {
                return v;
            }
            return self.leaf(ty);
        }
        let d = depth - 1;
        match ty {
            Ty::Int => match self.rng.below(12) {
                0 => format!("({} + {})", self.expr(Ty::Int, d), self.expr(Ty::Int, d)),
                1 => format!("({} - {})", self.expr(Ty::Int, d), self.expr(Ty::Int, d)),
                2 => format!("({} * {})", self.expr(Ty::Int, d), self.expr(Ty::Int, d)),
                3 => format!("({} / ({} % 5 + 6))", self.expr(Ty::Int, d), self.expr(Ty::Int, d)),
                4 => format!("List.length({})", self.expr(Ty::Ints, d)),
                5 => format!("String.length({})", self.expr(Ty::Str, d)),
                6 => format!(
                    "match {} {{ Circle(r) => r, Rect(w, h) => w - h, Dot => {} }}",
                    self.expr(Ty::Shape, d),
                    self.expr(Ty::Int, d)
                ),
                7 => format!("(if {} {{ {} }} else {{ {} }})", self.expr(Ty::Bool, d), self.expr(Ty::Int, d), self.expr(Ty::Int, d)),
                8 => format!("List.fold({}, {}, fn(acc, x) {{ acc + x }})", self.expr(Ty::Ints, d), self.expr(Ty::Int, d)),
                9 => format!("{}.x", self.expr(Ty::Point, d)),
                10 => format!("Int.pow({} % 5, 3)", self.expr(Ty::Int, d)),
                _ => format!(
                    "match Dict.get({}, {}) {{ Some(n) => n, None => {} }}",
                    self.expr(Ty::Dict, d),
                    self.key(),
                    self.expr(Ty::Int, d)
                ),
            },
            Ty::Float => match self.rng.below(4) {
                0 => format!("({} + {})", self.expr(Ty::Float, d), self.expr(Ty::Float, d)),
                1 => format!("({} * {})", self.expr(Ty::Float, d), self.expr(Ty::Float, d)),
                2 => format!("(Int.to_float({}) / 3.0)", self.expr(Ty::Int, d)),
                _ => format!("({} - {})", self.expr(Ty::Float, d), self.expr(Ty::Float, d)),
            },
            Ty::Str => match self.rng.below(6) {
                0 => format!("({} ++ {})", self.expr(Ty::Str, d), self.expr(Ty::Str, d)),
                1 => format!("\"<{{{}}}>\"", self.expr(Ty::Int, d)),
                2 => format!("\"{{{}}}|{{{}}}\"", self.expr(Ty::Ints, d), self.expr(Ty::Shape, d)),
                3 => format!("Int.to_string({})", self.expr(Ty::Int, d)),
                4 => format!("{}.name", self.expr(Ty::Point, d)),
                _ => format!("\"{{{}}}\"", self.expr(Ty::Float, d)),
            },
            Ty::Bool => match self.rng.below(6) {
                0 => format!("({} < {})", self.expr(Ty::Int, d), self.expr(Ty::Int, d)),
                1 => format!("({} == {})", self.expr(Ty::Str, d), self.expr(Ty::Str, d)),
                2 => format!("({} == {})", self.expr(Ty::Ints, d), self.expr(Ty::Ints, d)),
                3 => format!("!{}", self.expr(Ty::Bool, d)),
                4 => format!("({} && {})", self.expr(Ty::Bool, d), self.expr(Ty::Bool, d)),
                _ => format!("({} < {})", self.expr(Ty::Shape, d), self.expr(Ty::Shape, d)),
            },
            Ty::Ints => match self.rng.below(6) {
                0 => format!("[{}, {}]", self.expr(Ty::Int, d), self.expr(Ty::Int, d)),
                1 => {
                    let body = self.with_var("x", Ty::Int, |g| g.expr(Ty::Int, d));
                    format!("List.map({}, fn(x) {{ {body} }})", self.expr(Ty::Ints, d))
                }
                2 => format!("List.filter({}, fn(x) {{ x % 2 == 0 }})", self.expr(Ty::Ints, d)),
                3 => format!("List.sort({})", self.expr(Ty::Ints, d)),
                4 => format!("({} ++ {})", self.expr(Ty::Ints, d), self.expr(Ty::Ints, d)),
                _ => format!("List.range(0, {} % 6)", self.expr(Ty::Int, d)),
            },
            Ty::Shape => match self.rng.below(3) {
                0 => format!("Circle({})", self.expr(Ty::Int, d)),
                1 => format!("Rect({}, {})", self.expr(Ty::Int, d), self.expr(Ty::Int, d)),
                _ => "Dot".to_string(),
            },
            Ty::Point => format!("Point {{ x: {}, name: {} }}", self.expr(Ty::Int, d), self.expr(Ty::Str, d)),
            Ty::Dict => format!("Dict.insert({}, {}, {})", self.expr(Ty::Dict, d), self.key(), self.expr(Ty::Int, d)),
        }
    }

    fn with_var(&mut self, name: &str, ty: Ty, body: impl FnOnce(&mut Gen) -> String) -> String {
        self.vars.push((name.to_string(), ty));
        let text = body(self);
        self.vars.pop();
        text
    }

    fn key(&mut self) -> String {
        format!("\"{}\"", self.rng.pick(&["a", "b", "é", "a b", ""]))
    }

    fn leaf(&mut self, ty: Ty) -> String {
        match ty {
            Ty::Int => {
                // Rarely one big enough to overflow: errors must agree too.
                let n: i64 = if self.rng.below(25) == 0 {
                    9_223_372_036_854_775_807
                } else {
                    [0, 1, -1, 7, 42, -300, 4_000_000][self.rng.below(7) as usize]
                };
                if n < 0 { format!("({n})") } else { n.to_string() }
            }
            Ty::Float => self.rng.pick(&["0.5", "1.0", "2.25", "1e20", "0.1", "(-3.5)", "1e-7"]).to_string(),
            Ty::Str => format!("\"{}\"", self.rng.pick(&["", "a", "hello", "é\\n\\t", "\\\"q\\\"", "\\{x}", "ünï"])),
            Ty::Bool => self.rng.pick(&["true", "false"]).to_string(),
            Ty::Ints => self.rng.pick(&["[]", "[1, 2, 3]", "[5, -2, 5]"]).to_string(),
            Ty::Shape => self.rng.pick(&["Dot", "Circle(2)", "Rect(1, 3)"]).to_string(),
            Ty::Point => "Point { x: 1, name: \"p\" }".to_string(),
            Ty::Dict => "Dict.empty()".to_string(),
        }
    }

    fn program(seed: u64) -> String {
        let mut g = Gen { rng: Rng(seed), vars: Vec::new() };
        let mut text = String::from(
            "type Shape = Circle(Int) | Rect(Int, Int) | Dot\ntype Point = { x: Int, name: String }\n\nfn main() {\n",
        );
        for i in 0..20 {
            let ty = TYPES[g.rng.below(TYPES.len() as u64) as usize];
            let expr = g.expr(ty, 3);
            let name = format!("v{i}");
            let _ = writeln!(text, "  let {name} = {expr}");
            match g.rng.below(2) {
                0 => {
                    let _ = writeln!(text, "  debug({name})");
                }
                _ => {
                    let _ = writeln!(text, "  print(\"{name} = {{{name}}}\")");
                }
            }
            g.vars.push((name, ty));
        }
        text.push_str("}\n");
        text
    }
}

fn run(args: &[&str], program: &Path) -> (String, String, Option<i32>) {
    let output = Command::new(DLC).args(args).arg("--color=never").arg(program).output().expect("dlc runs");
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned(), output.status.code())
}

#[test]
fn native_and_wasm_print_the_same() {
    let long = std::env::var("DL_LONG_TESTS").is_ok_and(|v| v == "1");
    let seeds: Vec<u64> = match std::env::var("DL_DIFF_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => (0..if long { 300 } else { 12 }).collect(),
    };
    let dir = std::env::temp_dir().join(format!("dl-differential-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut errors = 0;
    for seed in &seeds {
        let path = dir.join(format!("seed{seed}.dl"));
        std::fs::write(&path, Gen::program(*seed)).unwrap();
        let native = run(&["run"], &path);
        let wasm = run(&["run", "--target", "wasm"], &path);
        if native.2 != Some(0) {
            assert!(native.1.starts_with("error: "), "seed {seed} does not run natively:\n{}", native.1);
            errors += 1;
        }
        if native != wasm {
            failures.push(format!(
                "seed {seed} ({}):\n--- native (status {:?}):\n{}{}--- wasm (status {:?}):\n{}{}",
                path.display(),
                native.2,
                native.0,
                native.1,
                wasm.2,
                wasm.0,
                wasm.1
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Most programs run to the end; some end in a runtime error (overflow).
    assert!(errors < seeds.len().max(2), "every program failed at run time");
    let _ = std::fs::remove_dir_all(&dir);
}
