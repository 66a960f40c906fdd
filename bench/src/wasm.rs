//! `dl-bench wasm`: the programs of `bench/programs/` built by `dlc build
//! --target wasm` and run under Node, against the same programs in
//! JavaScript under Node and built natively by `dlc build`, checked to
//! print the same output. Wasm and JavaScript are timed inside Node (the
//! program alone, without Node's start-up: `main took … ms` on stderr);
//! native as a whole process (its start-up is under a millisecond).
//! Then the size of each module: hello world, and the examples.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::runs::Runs;
use crate::{dlc, native::ms, peers};

#[derive(clap::Args)]
pub struct Args {
    /// Timed runs of each program on each side (after one checked, untimed run).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The `dlc` to measure; by default the one built beside `dl-bench`.
    #[arg(long)]
    dlc: Option<std::path::PathBuf>,
}

const PROGRAMS: [&str; 3] = ["fib", "alloc", "numeric"];

/// Goals from the issue: Wasm's time over JavaScript's at most this.
const GOALS: [(&str, f64); 3] = [("fib", 0.6), ("alloc", 1.0), ("numeric", 0.6)];
const HELLO_GOAL: u64 = 50_000;

pub fn run(args: &Args) -> Result<(), String> {
    let dlc = dlc::locate(args.dlc.as_deref())?;
    let out = dlc::bench_dir()?.join("wasm");
    std::fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    let programs = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
    // The host beside the module, with the float text and crypto it imports, as
    // `dlc run --target wasm` lays them out.
    let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../std-targets/wasm");
    for (from, to) in [("node/host.mjs", "host.mjs"), ("portable.js", "portable.js"), ("float.js", "float.js"), ("crypto.js", "crypto.js")] {
        std::fs::copy(targets.join(from), out.join(to)).map_err(|err| format!("cannot copy the Node host's {from}: {err}"))?;
    }
    let host = out.join("host.mjs");
    let node = peers::version("node".as_ref()).ok_or("`node --version` does not run: Node is needed")?;
    println!("peers: node {node}");
    let runs = args.runs.max(1);
    println!("ms, min / median of {runs} runs (wasm and js inside Node, native whole-process); ratios of medians");
    println!("{:<8}{:>18}{:>18}{:>18}{:>12}{:>14}", "program", "wasm", "js", "native", "wasm/js", "wasm/native");
    for name in PROGRAMS {
        let module = out.join(format!("{name}.wasm"));
        let exe = out.join(format!("{name}-native"));
        build(&dlc, &["build", "--target", "wasm"], &programs.join(format!("{name}.dl")), &module)?;
        build(&dlc, &["build"], &programs.join(format!("{name}.dl")), &exe)?;
        let commands: [Vec<OsString>; 3] = [
            vec!["node".into(), host.clone().into(), module.into()],
            vec!["node".into(), programs.join("timed.mjs").into(), programs.join(format!("{name}.js")).into()],
            vec![exe.into()],
        ];
        let times = measure(name, &commands, runs)?;
        let ratio = |a: &Runs, b: &Runs| a.median.as_secs_f64() / b.median.as_secs_f64();
        let (wasm_js, wasm_native) = (ratio(&times[0], &times[1]), ratio(&times[0], &times[2]));
        let goal = GOALS.iter().find(|g| g.0 == name).map_or(1.0, |g| g.1);
        print!("{name:<8}");
        for t in &times {
            print!("{:>18}", format!("{:.1} / {:.1}", ms(t.min), ms(t.median)));
        }
        let verdict = if wasm_js <= goal { "" } else { " OVER" };
        println!("{:>12}{:>14}   (goal <= {goal}x js{verdict})", format!("{wasm_js:.2}x"), format!("{wasm_native:.2}x"));
    }
    let hello = out.join("hello.wasm");
    build(&dlc, &["build", "--target", "wasm"], &programs.join("hello.dl"), &hello)?;
    let size = std::fs::metadata(&hello).map_err(|e| e.to_string())?.len();
    let verdict = if size < HELLO_GOAL { "under" } else { "OVER" };
    println!("module sizes: hello world {size} bytes ({verdict} the 50 KB goal)");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files: Vec<_> = std::fs::read_dir(&examples).map_err(|e| e.to_string())?.flatten().map(|e| e.path()).collect();
    files.sort();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "dl")) {
        let module = out.join(file.with_extension("wasm").file_name().unwrap_or_default());
        match build(&dlc, &["build", "--target", "wasm"], file, &module) {
            Ok(()) => println!("  {}: {} bytes", file.display(), std::fs::metadata(&module).map_err(|e| e.to_string())?.len()),
            Err(why) => println!("  {}: not built: {}", file.display(), why.lines().last().unwrap_or("")),
        }
    }
    Ok(())
}

fn build(dlc: &Path, how: &[&str], source: &Path, output: &Path) -> Result<(), String> {
    let built = Command::new(dlc).args(how).arg("--color=never").arg(source).arg("-o").arg(output).output();
    let built = built.map_err(|err| format!("cannot run {}: {err}", dlc.display()))?;
    if !built.status.success() {
        return Err(format!("`dlc {}` of {} failed:\n{}", how.join(" "), source.display(), String::from_utf8_lossy(&built.stderr)));
    }
    Ok(())
}

/// One untimed round, then `runs` rounds of every command; all must print
/// what the first printed.
fn measure(program: &str, commands: &[Vec<OsString>], runs: usize) -> Result<Vec<Runs>, String> {
    let mut expected: Option<String> = None;
    let mut times = vec![vec![]; commands.len()];
    for round in 0..=runs {
        for (i, command) in commands.iter().enumerate() {
            let started = Instant::now();
            let output = Command::new(&command[0])
                .args(&command[1..])
                .env("DL_TIME_MAIN", "1")
                .env_remove("NODE_EXTRA_CA_CERTS")
                .stdin(Stdio::null())
                .output()
                .map_err(|err| format!("cannot run {:?}: {err}", command[0]))?;
            let wall = started.elapsed();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !output.status.success() {
                return Err(format!("`{program}` failed ({}): {stderr}", output.status));
            }
            let expected = expected.get_or_insert_with(|| stdout.clone());
            if stdout != *expected {
                return Err(format!("`{program}` prints different output:\n{expected}---\n{stdout}"));
            }
            // Inside Node the program reports its own time; native is the wall time.
            let inside = stderr.lines().find_map(|l| l.strip_prefix("main took ")?.strip_suffix(" ms")?.parse::<f64>().ok());
            if round > 0 {
                times[i].push(inside.map_or(wall, |ms| Duration::from_secs_f64(ms / 1e3)));
            }
        }
    }
    Ok(times.into_iter().map(Runs::of).collect())
}
