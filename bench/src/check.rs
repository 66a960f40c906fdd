//! `dl-bench check`: how fast `dlc check` reads, resolves and type-checks a
//! large, realistic program.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::runs::Runs;
use crate::{dlc, program};

#[derive(clap::Args)]
pub struct Args {
    /// About how many lines the generated program has.
    #[arg(long, default_value_t = 10_000)]
    lines: usize,
    /// Timed runs (after one untimed warm-up run).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// The `dlc` to measure; by default the one built beside `dl-bench`.
    #[arg(long)]
    dlc: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<(), String> {
    let dlc = dlc::locate(args.dlc.as_deref())?;
    let text = program::generate(args.lines);
    let lines = text.lines().count();
    let file = dlc::bench_dir()?.join("check.dl");
    std::fs::write(&file, &text).map_err(|err| format!("cannot write {}: {err}", file.display()))?;
    println!("dlc check {} ({lines} lines, {} KiB) with {}", file.display(), text.len() / 1024, dlc.display());

    let check = || -> Result<Duration, String> {
        let started = Instant::now();
        let output = Command::new(&dlc)
            .args(["check", "--color", "never"])
            .arg(&file)
            .output()
            .map_err(|err| format!("cannot run {}: {err}", dlc.display()))?;
        let elapsed = started.elapsed();
        if !output.status.success() || !output.stderr.is_empty() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let head: Vec<&str> = stderr.lines().take(40).collect();
            return Err(format!(
                "dlc reported problems with the generated program ({}):\n{}",
                output.status,
                head.join("\n")
            ));
        }
        Ok(elapsed)
    };
    check()?; // warm-up: page cache, and a clean program before timing it
    let times = (0..args.runs.max(1)).map(|_| check()).collect::<Result<Vec<_>, _>>()?;
    let runs = Runs::of(times);
    let rate = lines as f64 / runs.median.as_secs_f64();
    println!(
        "{} runs: min {:.1} ms, median {:.1} ms, {rate:.0} lines/s (median)",
        runs.count,
        runs.min.as_secs_f64() * 1e3,
        runs.median.as_secs_f64() * 1e3,
    );
    Ok(())
}
