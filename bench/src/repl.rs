//! `dl-bench repl`: how long `dlc repl` takes to answer one input, from
//! writing the line to reading its answer, over a generated session of
//! bindings, arithmetic, list operations and string interpolation.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::dlc;
use crate::native::ms;
use crate::runs::Runs;

#[derive(clap::Args)]
pub struct Args {
    /// Timed inputs, sent one at a time after one untimed warm-up input.
    #[arg(long, default_value_t = 200)]
    inputs: usize,
    /// A program to load (`dlc repl FILE`); by default none.
    #[arg(long)]
    program: Option<PathBuf>,
    /// Seconds to wait for each answer before giving up.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// The `dlc` to measure; by default the one built beside `dl-bench`.
    #[arg(long)]
    dlc: Option<PathBuf>,
}

/// The goal for the median answer.
const GOAL: Duration = Duration::from_millis(20);

/// The warm-up input (the first compile) and its answer.
const WARM_UP: (&str, &str) = ("1 + 2", "3 : Int");

pub fn run(args: &Args) -> Result<(), String> {
    let dlc = dlc::locate(args.dlc.as_deref())?;
    let dir = dlc::bench_dir()?.join("repl");
    std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let program = match &args.program {
        Some(file) => {
            Some(file.canonicalize().map_err(|err| format!("cannot find the program {}: {err}", file.display()))?)
        }
        None => None,
    };
    let inputs = session(args.inputs.max(1));
    let shown = program.as_ref().map_or_else(|| "no program".to_string(), |p| p.display().to_string());
    println!(
        "dlc repl ({shown}) with {}: {} inputs, one at a time, after `{}`",
        dlc.display(),
        inputs.len(),
        WARM_UP.0
    );

    let mut command = Command::new(&dlc);
    command.arg("repl").args(&program).current_dir(&dir).env("NO_COLOR", "1");
    // The first input is written as soon as the process starts: its time
    // is the start-up and the first compile.
    let started = Instant::now();
    let mut repl = Repl::start(command, Duration::from_secs(args.timeout.max(1)))?;
    repl.ask(&Input { kind: Kind::Warm, text: WARM_UP.0.into(), answer: WARM_UP.1.into() })?;
    println!("from start-up to the answer to `{}` (warm-up, untimed): {:.1} ms", WARM_UP.0, ms(started.elapsed()));
    let mut times = vec![];
    for input in &inputs {
        times.push((input.kind, repl.ask(input)?));
    }
    repl.finish()?;

    let all = Runs::of(times.iter().map(|&(_, t)| t).collect());
    println!(
        "{} inputs: min {:.2} ms, median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        all.count,
        ms(all.min),
        ms(all.median),
        ms(all.p90),
        ms(all.max)
    );
    let kinds: Vec<String> = Kind::TIMED
        .iter()
        .filter_map(|&kind| {
            let of_kind: Vec<Duration> = times.iter().filter(|&&(k, _)| k == kind).map(|&(_, t)| t).collect();
            (!of_kind.is_empty()).then(|| format!("{} {:.2}", kind.name(), ms(Runs::of(of_kind).median)))
        })
        .collect();
    println!("median by kind of input, ms: {}", kinds.join(", "));
    let verdict = if all.median < GOAL { "met" } else { "NOT met" };
    println!("goal: median under {} ms: {verdict}", GOAL.as_millis());
    Ok(())
}

/// A `dlc repl` process with piped standard streams: a thread reads its
/// answers (lines) into a channel, another collects its standard error.
struct Repl {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    timeout: Duration,
}

impl Repl {
    fn start(mut command: Command, timeout: Duration) -> Result<Repl, String> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| format!("cannot run dlc repl: {err}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (send, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let collected = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&collected);
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Ok(Repl { child, stdin, answers, stderr: collected, timeout })
    }

    /// Sends one input line and waits for its answer: the time from
    /// writing the line to reading the answer, after checking it.
    fn ask(&mut self, input: &Input) -> Result<Duration, String> {
        let stdin = self.stdin.as_mut().expect("stdin open until finish");
        let started = Instant::now();
        let sent = stdin.write_all(format!("{}\n", input.text).as_bytes()).and_then(|()| stdin.flush());
        if let Err(err) = sent {
            return Err(self.fail(&format!("cannot send `{}` to dlc repl: {err}", input.text)));
        }
        let answer = match self.answers.recv_timeout(self.timeout) {
            Ok(answer) => answer,
            Err(RecvTimeoutError::Timeout) => {
                let why = format!("dlc repl did not answer `{}` within {} s", input.text, self.timeout.as_secs());
                return Err(self.fail(&why));
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(self.fail(&format!("dlc repl ended before answering `{}`", input.text)));
            }
        };
        let elapsed = started.elapsed();
        if answer != input.answer {
            let why = format!("dlc repl answered `{}` with\n  {answer}\ninstead of\n  {}", input.text, input.answer);
            return Err(self.fail(&why));
        }
        Ok(elapsed)
    }

    /// Closes its input and waits for it to exit, cleanly and without
    /// another answer.
    fn finish(&mut self) -> Result<(), String> {
        self.stdin = None;
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Ok(None) => return Err(self.fail("dlc repl did not exit after the end of its input")),
                Err(err) => return Err(format!("cannot wait for dlc repl: {err}")),
            }
        };
        let extra: Vec<String> =
            std::iter::from_fn(|| self.answers.recv_timeout(Duration::from_millis(100)).ok()).collect();
        if !status.success() || !extra.is_empty() {
            let why = format!(
                "dlc repl exited ({status}) at the end of its input{}",
                if extra.is_empty() { String::new() } else { format!(", after more lines:\n{}", extra.join("\n")) }
            );
            return Err(self.fail(&why));
        }
        let stderr = self.stderr.lock().unwrap();
        if !stderr.trim().is_empty() {
            println!("note: dlc repl wrote to standard error:\n{}", stderr.trim_end());
        }
        Ok(())
    }

    /// The error for `why`, with the process's exit status (it is stopped
    /// first if it still runs) and what it wrote to standard error.
    fn fail(&mut self, why: &str) -> String {
        self.stdin = None;
        let status = match self.child.try_wait() {
            Ok(Some(status)) => status.to_string(),
            _ => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                "stopped by dl-bench".to_string()
            }
        };
        std::thread::sleep(Duration::from_millis(100)); // the rest of its stderr
        let stderr = self.stderr.lock().unwrap();
        let stderr = if stderr.trim().is_empty() { "(nothing)".to_string() } else { stderr.trim_end().to_string() };
        format!("{why} ({status}); its standard error:\n{stderr}")
    }
}

impl Drop for Repl {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What an input exercises (for the medians by kind).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Warm,
    Let,
    Arithmetic,
    Map,
    Interpolation,
    LetList,
    Fold,
}

impl Kind {
    const TIMED: [Kind; 6] = [Kind::Let, Kind::Arithmetic, Kind::Map, Kind::Interpolation, Kind::LetList, Kind::Fold];

    fn name(self) -> &'static str {
        match self {
            Kind::Warm => "warm-up",
            Kind::Let => "let",
            Kind::Arithmetic => "arithmetic",
            Kind::Map => "map",
            Kind::Interpolation => "interpolation",
            Kind::LetList => "let list",
            Kind::Fold => "filter+fold",
        }
    }
}

/// One line of input and the line `dlc repl` answers it with.
struct Input {
    kind: Kind,
    text: String,
    answer: String,
}

/// A deterministic session of `count` inputs, cycling through the kinds;
/// later inputs use earlier bindings (`vK` Ints, `xsK` Lists), whose values
/// are tracked here to know every answer.
fn session(count: usize) -> Vec<Input> {
    let mut ints: Vec<(String, i64)> = vec![];
    let mut lists: Vec<(String, Vec<i64>)> = vec![];
    let mut inputs = vec![];
    let show = |xs: &[i64]| format!("[{}]", xs.iter().map(i64::to_string).collect::<Vec<_>>().join(", "));
    for k in 0..count {
        let k64 = k as i64;
        // Every kind but the first finds a binding: `let v0 = 5` comes first.
        let (last, last_value) = ints.last().cloned().unwrap_or_default();
        let (early, early_value) = ints.get(ints.len() / 2).cloned().unwrap_or_default();
        let (kind, text, answer) = match k % 6 {
            0 => {
                let name = format!("v{k}");
                let (text, value) = if ints.is_empty() {
                    (format!("let {name} = 5"), 5)
                } else {
                    (format!("let {name} = {last} % 1000 + {k}"), last_value % 1000 + k64)
                };
                ints.push((name.clone(), value));
                (Kind::Let, text, format!("{name} : Int = {value}"))
            }
            1 => {
                let value = last_value * 3 + early_value % 7 - k64;
                (Kind::Arithmetic, format!("{last} * 3 + {early} % 7 - {k}"), format!("{value} : Int"))
            }
            2 => {
                let xs = [k64, k64 + 1, k64 + 2];
                let doubled: Vec<i64> = xs.iter().map(|x| x * 2).collect();
                let text = format!("List.map({}, fn(x) {{ x * 2 }})", show(&xs));
                (Kind::Map, text, format!("{} : List<Int>", show(&doubled)))
            }
            3 => {
                let text = format!("\"{last} is {{{last}}}, twice {{{last} * 2}}\"");
                let answer = format!("\"{last} is {last_value}, twice {}\" : String", last_value * 2);
                (Kind::Interpolation, text, answer)
            }
            4 => {
                let name = format!("xs{k}");
                let xs: Vec<i64> = (0..5).map(|x| x + last_value).collect();
                let text = format!("let {name} = List.range(0, 5) |> List.map(fn(x) {{ x + {last} }})");
                let answer = format!("{name} : List<Int> = {}", show(&xs));
                lists.push((name, xs));
                (Kind::LetList, text, answer)
            }
            _ => {
                let (name, xs) = lists.last().expect("a list is bound before the first fold");
                let even: i64 = xs.iter().filter(|x| *x % 2 == 0).sum();
                let text =
                    format!("List.fold(List.filter({name}, fn(x) {{ x % 2 == 0 }}), {k}, fn(acc, x) {{ acc + x }})");
                (Kind::Fold, text, format!("{} : Int", k64 + even))
            }
        };
        inputs.push(Input { kind, text, answer });
    }
    inputs
}
