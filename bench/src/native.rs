//! `dl-bench native`: the programs in `bench/programs/` written in Distlang
//! (built with `dlc build`), C (`cc -O2`) and JavaScript (under Node and
//! Deno), checked to print the same output and timed as whole processes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::runs::Runs;
use crate::{dlc, peers};

#[derive(clap::Args)]
pub struct Args {
    /// Timed runs of each program in each language (after one checked,
    /// untimed run).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The `dlc` to measure; by default the one built beside `dl-bench`.
    #[arg(long)]
    dlc: Option<PathBuf>,
}

/// The programs, each `bench/programs/NAME.{dl,c,js}`.
const PROGRAMS: [&str; 3] = ["fib", "alloc", "numeric"];

/// The size goal for a stripped hello-world executable.
const HELLO_GOAL: u64 = 1_000_000;

/// One language implementation: how `NAME.EXT` becomes a command to time.
struct Lang {
    name: &'static str,
    ext: &'static str,
    /// A compiler (`TOOL… SRC -o EXE`, the command is then `EXE`) or a
    /// runner (the command is `TOOL… SRC`).
    tool: Vec<OsString>,
    compiles: bool,
}

impl Lang {
    /// The command that runs `programs/NAME.EXT`, compiled into `out` first
    /// if this language is compiled.
    fn prepare(&self, programs: &Path, name: &str, out: &Path) -> Result<Vec<OsString>, String> {
        let src = programs.join(format!("{name}.{}", self.ext));
        if !self.compiles {
            return Ok(self.tool.iter().cloned().chain([src.into_os_string()]).collect());
        }
        let exe = out.join(format!("{name}-{}", self.name));
        let output = Command::new(&self.tool[0])
            .args(&self.tool[1..])
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .output()
            .map_err(|err| format!("cannot run {}: {err}", self.tool[0].to_string_lossy()))?;
        if !output.status.success() {
            return Err(format!(
                "building {} failed ({}):\n{}{}",
                src.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(vec![exe.into_os_string()])
    }
}

pub fn run(args: &Args) -> Result<(), String> {
    let dlc = dlc::locate(args.dlc.as_deref())?;
    let bench = dlc::bench_dir()?;
    let out = bench.join("native");
    std::fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    let programs = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");

    let dl_tool = vec![dlc.into_os_string(), "build".into(), "--color=never".into()];
    let mut langs = vec![Lang { name: "dl", ext: "dl", tool: dl_tool, compiles: true }];
    let mut versions = vec![];
    for (name, ext, tool, compiles) in [("c", "c", &["cc", "-O2"][..], true), ("node", "js", &["node"], false)] {
        match peers::version(tool[0].as_ref()) {
            Some(v) => {
                versions.push(v);
                langs.push(Lang { name, ext, tool: tool.iter().map(OsString::from).collect(), compiles });
            }
            None => println!("note: {name} is left out: `{} --version` does not run", tool[0]),
        }
    }
    match peers::deno(&bench) {
        Ok(deno) => {
            versions.extend(peers::version(deno.as_os_str()));
            let tool = vec![deno.into_os_string(), "run".into(), "--quiet".into(), "--no-config".into()];
            langs.push(Lang { name: "deno", ext: "js", tool, compiles: false });
        }
        Err(why) => println!("note: deno is left out: {why}"),
    }
    println!("peers: {}", versions.join("; "));

    let runs = args.runs.max(1);
    let names: Vec<&str> = langs.iter().map(|lang| lang.name).collect();
    println!("whole-process wall time in ms, min / median of {runs} runs; ratios of medians");
    print!("{:<8}", "program");
    for name in &names {
        print!("{name:>18}");
    }
    for name in &names[1..] {
        print!("{:>10}", format!("dl/{name}"));
    }
    println!();
    for name in PROGRAMS {
        let commands = langs.iter().map(|lang| lang.prepare(&programs, name, &out)).collect::<Result<Vec<_>, _>>()?;
        let times = measure(name, &names, &commands, runs)?;
        print!("{name:<8}");
        for runs in &times {
            print!("{:>18}", format!("{:.1} / {:.1}", ms(runs.min), ms(runs.median)));
        }
        for runs in &times[1..] {
            print!("{:>10}", format!("{:.2}x", times[0].median.as_secs_f64() / runs.median.as_secs_f64()));
        }
        println!();
    }
    let hello = hello_size(&langs[0], &programs, &out)?;
    let verdict = if hello < HELLO_GOAL { "under" } else { "OVER" };
    println!("stripped hello-world built by dlc: {hello} bytes ({verdict} the 1 MB goal)");
    Ok(())
}

/// Runs every command once untimed, then `runs` timed rounds (each command
/// once a round, so that a slow moment of the machine is shared), checking
/// every time that each prints exactly what the first printed first.
fn measure(program: &str, names: &[&str], commands: &[Vec<OsString>], runs: usize) -> Result<Vec<Runs>, String> {
    let mut expected = None;
    let mut times = vec![vec![]; commands.len()];
    for round in 0..=runs {
        for (i, command) in commands.iter().enumerate() {
            let (elapsed, stdout) = execute(command, None)?;
            let expected: &String = expected.get_or_insert_with(|| stdout.clone());
            if stdout != *expected {
                return Err(format!(
                    "`{program}` prints different output in {} and {}:\n--- {}:\n{}--- {}:\n{}",
                    names[0], names[i], names[0], expected, names[i], stdout
                ));
            }
            if round > 0 {
                times[i].push(elapsed);
            }
        }
    }
    Ok(times.into_iter().map(Runs::of).collect())
}

/// Runs a command to completion (in `dir`, or here): its wall time and
/// standard output; an error if it fails or writes to standard error (with
/// both, the end of standard output first). Node's start-up reads
/// `NODE_EXTRA_CA_CERTS` (set on some machines; about 60 ms for a system
/// bundle), which no program here needs, and Deno is told not to look
/// for updates nor to colour its output.
pub fn execute(command: &[OsString], dir: Option<&Path>) -> Result<(Duration, String), String> {
    let shown = || command.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ");
    let mut process = Command::new(&command[0]);
    if let Some(dir) = dir {
        process.current_dir(dir);
    }
    let started = Instant::now();
    let output = process
        .args(&command[1..])
        .env_remove("NODE_EXTRA_CA_CERTS")
        .env("DENO_NO_UPDATE_CHECK", "1")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run {}: {err}", shown()))?;
    let elapsed = started.elapsed();
    if !output.status.success() || !output.stderr.is_empty() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let tail: Vec<&str> = stdout.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        let tail = if tail.is_empty() { String::new() } else { format!("{}\n", tail.join("\n")) };
        return Err(format!(
            "`{}` failed ({}):\n{tail}{}",
            shown(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok((elapsed, String::from_utf8_lossy(&output.stdout).into_owned()))
}

/// The size of `programs/hello.dl` built by dlc and stripped (with `strip`
/// when there is one; dlc's own output otherwise), after checking it runs.
fn hello_size(dl: &Lang, programs: &Path, out: &Path) -> Result<u64, String> {
    let command = dl.prepare(programs, "hello", out)?;
    let printed = execute(&command, None)?.1;
    if printed != "hello\n" {
        return Err(format!("the hello-world built by dlc prints {printed:?}"));
    }
    let exe = PathBuf::from(&command[0]);
    let stripped = out.join("hello-dl-stripped");
    let status = Command::new("strip").arg("-o").arg(&stripped).arg(&exe).status();
    let file = if status.is_ok_and(|s| s.success()) { stripped } else { exe };
    let meta = std::fs::metadata(&file).map_err(|err| format!("cannot read {}: {err}", file.display()))?;
    Ok(meta.len())
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
