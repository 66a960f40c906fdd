//! `dl-bench tests`: the same generated test suite run by `dlc test` and by
//! `deno test`: each test seeds the store, calls the program's one route
//! in-process, and checks the answer and the store.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::native::{execute, ms};
use crate::runs::Runs;
use crate::{dlc, peers};

#[derive(clap::Args)]
pub struct Args {
    /// How many tests the generated suites have.
    #[arg(long, default_value_t = 1000)]
    tests: usize,
    /// Timed runs of each suite (after one checked, untimed run).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The `dlc` to measure; by default the one built beside `dl-bench`.
    #[arg(long)]
    dlc: Option<PathBuf>,
}

/// The goal: Deno's median over Distlang's.
const GOAL: f64 = 5.0;

pub fn run(args: &Args) -> Result<(), String> {
    let dlc = dlc::locate(args.dlc.as_deref())?;
    let bench = dlc::bench_dir()?;
    let out = bench.join("tests");
    std::fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    let count = args.tests.max(1);
    let cases: Vec<Case> = (0..count).map(Case::new).collect();
    let dl_file = write(&out, "tests.dl", &distlang(&cases))?;
    let ts_file = write(&out, "tests.ts", &deno(&cases))?;

    let mut suites = vec![Suite {
        name: "dl",
        command: vec![dlc.into_os_string(), "test".into(), dl_file.into_os_string()],
        passed: format!("{count} passed, 0 failed"),
        last_line: true,
    }];
    let mut versions = vec![];
    match peers::deno(&bench) {
        Ok(deno) => {
            versions.extend(peers::version(deno.as_os_str()));
            let mut command = vec![deno.into_os_string()];
            command.extend(["test", "--quiet", "--no-config", "--unstable-kv"].map(OsString::from));
            command.push(ts_file.into_os_string());
            suites.push(Suite {
                name: "deno",
                command,
                passed: format!("ok | {count} passed | 0 failed"),
                last_line: false,
            });
        }
        Err(why) => println!("note: deno is left out: {why}"),
    }
    println!("peers: {}", if versions.is_empty() { "none".to_string() } else { versions.join("; ") });
    println!("{count} tests in {} and {}", out.join("tests.dl").display(), out.join("tests.ts").display());

    // Round 0 checks every suite untimed (and warms the page cache and
    // Deno's type-check cache); then each round runs every suite once, so
    // that a busy moment of the machine is shared.
    let runs = args.runs.max(1);
    let mut times = vec![vec![]; suites.len()];
    for round in 0..=runs {
        for (i, suite) in suites.iter().enumerate() {
            let elapsed = suite.run(&out)?;
            if round > 0 {
                times[i].push(elapsed);
            }
        }
    }
    let times: Vec<Runs> = times.into_iter().map(Runs::of).collect();

    println!("whole-command wall time in ms (compiling and running the suite), min / median of {runs} runs");
    println!("{:<8}{:>18}{:>14}", "runner", "min / median", "tests/s");
    for (suite, runs) in suites.iter().zip(&times) {
        let rate = count as f64 / runs.median.as_secs_f64();
        println!("{:<8}{:>18}{rate:>14.0}", suite.name, format!("{:.1} / {:.1}", ms(runs.min), ms(runs.median)));
    }
    if let Some(deno) = times.get(1) {
        let ratio = deno.median.as_secs_f64() / times[0].median.as_secs_f64();
        let verdict = if ratio >= GOAL { "met" } else { "NOT met" };
        println!("deno/dl {ratio:.2}x (medians; dl is {ratio:.2} times as fast), goal ≥ {GOAL}x: {verdict}");
    }
    Ok(())
}

/// One runner's suite: the command, and the line of its output that says
/// every test passed.
struct Suite {
    name: &'static str,
    command: Vec<OsString>,
    passed: String,
    /// Whether `passed` must be the last line (or any line).
    last_line: bool,
}

impl Suite {
    /// Runs the suite once in `dir`: its wall time, after checking that it
    /// succeeded and reported every test passed.
    fn run(&self, dir: &Path) -> Result<std::time::Duration, String> {
        let (elapsed, stdout) = execute(&self.command, Some(dir))?;
        let mut lines = stdout.lines().map(str::trim).filter(|line| !line.is_empty());
        let found = if self.last_line {
            lines.last() == Some(&self.passed)
        } else {
            lines.any(|l| l.starts_with(&self.passed))
        };
        if !found {
            let tail: Vec<&str> = stdout.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
            let place = if self.last_line { " as its last line" } else { "" };
            return Err(format!(
                "{} did not report `{}`{place}; the end of its output:\n{}",
                self.name,
                self.passed,
                tail.join("\n")
            ));
        }
        Ok(elapsed)
    }
}

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let file = dir.join(name);
    std::fs::write(&file, text).map_err(|err| format!("cannot write {}: {err}", file.display()))?;
    Ok(file)
}

/// One generated test: seed one item, POST one key, check the answer and
/// the store. Four shapes (a new key beside the seed, or the seeded key
/// incremented), all the same amount of work: one store write, one route
/// call (which reads and writes the store), four asserts, one count.
struct Case {
    name: String,
    seed: String,
    seed_n: i64,
    key: String,
    /// The item's `n` in the answer.
    n: i64,
    /// How many items the store holds after the call.
    count: i64,
}

impl Case {
    fn new(i: usize) -> Case {
        let (name, seed, seed_n, key) = match i % 4 {
            0 => ("posts a new key beside a seed", format!("seed{i}"), 0, format!("a{i}")),
            1 => ("increments a seeded key", format!("b{i}"), (i % 10) as i64, format!("b{i}")),
            2 => ("posts a new key beside a counted seed", format!("c{i}"), (i % 100) as i64, format!("d{i}")),
            _ => ("increments a key seeded at 40 and more", format!("e{i}"), 40 + (i % 3) as i64, format!("e{i}")),
        };
        let same = seed == key;
        Case {
            name: format!("t{i} {name}"),
            n: if same { seed_n + 1 } else { 1 },
            count: if same { 1 } else { 2 },
            seed,
            seed_n,
            key,
        }
    }
}

/// The Distlang suite: the program (one store, one route) and its tests.
fn distlang(cases: &[Case]) -> String {
    let mut text = String::from(
        "// Generated by `dl-bench tests` (bench/src/tests.rs); run with `dlc test`.\n\
         \n\
         type Item = { name: String, n: Int }\n\
         \n\
         store items: Item\n\
         \n\
         route POST /items/:name {\n\
         \x20 let n = match items.get(name) { Some(i) => i.n + 1, None => 1 }\n\
         \x20 items.set(name, Item { name, n })\n\
         \x20 json(Item { name, n })\n\
         }\n",
    );
    for case in cases {
        let Case { name, seed, seed_n, key, n, count } = case;
        text.push_str(&format!(
            "\ntest \"{name}\" {{\n\
             \x20 items.set(\"{seed}\", Item {{ name: \"{seed}\", n: {seed_n} }})\n\
             \x20 let r = App.post(\"/items/{key}\", \"\")\n\
             \x20 assert r.status == 200\n\
             \x20 let item: Item = r.json()?\n\
             \x20 assert item.name == \"{key}\"\n\
             \x20 assert item.n == {n}\n\
             \x20 assert items.count() == {count}\n\
             }}\n"
        ));
    }
    text
}

/// The Deno suite: the same route as a handler over a Deno KV store, called
/// in-process with a `Request`; each test opens a fresh in-memory store.
fn deno(cases: &[Case]) -> String {
    let mut text = String::from(
        r#"// Generated by `dl-bench tests` (bench/src/tests.rs); run with
// `deno test --quiet --no-config --unstable-kv tests.ts`.

type Item = { name: string; n: number };

// POST /items/:name, as the Distlang route.
async function handle(kv: Deno.Kv, request: Request): Promise<Response> {
  const parts = new URL(request.url).pathname.split("/");
  if (request.method !== "POST" || parts.length !== 3 || parts[1] !== "items") {
    return new Response("not found", { status: 404 });
  }
  const name = decodeURIComponent(parts[2]);
  const entry = await kv.get<Item>(["items", name]);
  const n = entry.value === null ? 1 : entry.value.n + 1;
  await kv.set(["items", name], { name, n });
  return Response.json({ name, n });
}

// items.count()
async function count(kv: Deno.Kv): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: ["items"] })) n++;
  return n;
}

function assert(ok: boolean, what: string): void {
  if (!ok) throw new Error(`assertion failed: ${what}`);
}
"#,
    );
    for case in cases {
        let Case { name, seed, seed_n, key, n, count } = case;
        text.push_str(&format!(
            "\nDeno.test(\"{name}\", async () => {{\n\
             \x20 const kv = await Deno.openKv(\":memory:\");\n\
             \x20 await kv.set([\"items\", \"{seed}\"], {{ name: \"{seed}\", n: {seed_n} }});\n\
             \x20 const r = await handle(kv, new Request(\"http://app/items/{key}\", {{ method: \"POST\", body: \"\" }}));\n\
             \x20 assert(r.status === 200, \"r.status == 200\");\n\
             \x20 const item: Item = await r.json();\n\
             \x20 assert(item.name === \"{key}\", \"item.name == {key}\");\n\
             \x20 assert(item.n === {n}, \"item.n == {n}\");\n\
             \x20 assert((await count(kv)) === {count}, \"items.count() == {count}\");\n\
             \x20 kv.close();\n\
             }});\n"
        ));
    }
    text
}
