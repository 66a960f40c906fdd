//! Running a child process with a time limit, capturing its output. Shared by
//! the `lang` harness and `compiler/cli/tests/robustness.rs`.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

pub enum RunError {
    /// The process could not be started.
    Spawn(String),
    /// The process ran past its time limit and was killed.
    Timeout(Duration),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(reason) => write!(f, "cannot start the process: {reason}"),
            RunError::Timeout(limit) => write!(f, "timed out: still running after {} s", limit.as_secs()),
        }
    }
}

/// Runs `command` with no stdin; kills it if it runs longer than `limit`.
pub fn run(mut command: Command, limit: Duration) -> Result<Output, RunError> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|err| RunError::Spawn(format!("{:?}: {err}", command.get_program())))?;
    // Read both pipes on their own threads, so a chatty child never blocks.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::Timeout(limit));
            }
            Ok(None) => thread::sleep(Duration::from_millis(2)),
            Err(err) => return Err(RunError::Spawn(format!("waiting for it failed: {err}"))),
        }
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}
