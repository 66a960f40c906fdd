//! `dl-bench reload`: `dlc serve`'s reload against `deno run --watch` on the
//! same machine. For a small program and a generated 5,000-line one, the
//! time from a save (written aside, renamed over the file, as editors do)
//! to the first response of the new code; then, under load from client
//! threads, the requests that fail during 100 reloads, and `dlc serve`'s
//! RSS before and after them (old versions must not stay alive).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::{self, Server};
use crate::{dlc, peers};

#[derive(clap::Args)]
pub struct Args {
    /// Saves timed per program and server.
    #[arg(long, default_value_t = 20)]
    saves: usize,
    /// Reloads under load.
    #[arg(long, default_value_t = 100)]
    loaded: usize,
    /// Client threads sending requests during the reloads under load.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    #[arg(long)]
    dlc: Option<PathBuf>,
}

/// Goals (issue 13): under 100 ms from save to new answer for the small
/// program, and no request failed during the reloads.
const SMALL_GOAL_MS: f64 = 100.0;

/// One program, in both languages: `version` is what `GET /version`
/// answers, `functions` how many generated functions it carries (each
/// four lines, calling the previous one), reached from `GET /sum`.
fn distlang(version: usize, functions: usize) -> String {
    let mut out = format!("route GET /version {{\n  text(\"v{version}\")\n}}\n\nroute GET /sum {{\n  text(\"{{f{functions}(1)}}\")\n}}\n\nfn f0(x: Int) -> Int {{\n  x\n}}\n");
    for i in 1..=functions {
        out.push_str(&format!("\nfn f{i}(x: Int) -> Int {{\n  let y = f{}(x) % 1000003\n  if y > {i} {{ y - {i} }} else {{ y + {i} }}\n}}\n", i - 1));
    }
    out
}

fn javascript(version: usize, functions: usize) -> String {
    let mut out = String::from("const port = Number(Deno.args[Deno.args.indexOf(\"--port\") + 1]);\nfunction f0(x) {\n  return x;\n}\n");
    for i in 1..=functions {
        out.push_str(&format!("function f{i}(x) {{\n  const y = f{}(x) % 1000003;\n  return y > {i} ? y - {i} : y + {i};\n}}\n", i - 1));
    }
    out.push_str(&format!(
        "Deno.serve({{ port, hostname: \"127.0.0.1\", onListen: ({{ hostname, port }}) => console.error(`listening on http://${{hostname}}:${{port}}`) }}, (request) => {{\n  const path = new URL(request.url).pathname;\n  if (path === \"/version\") return new Response(\"v{version}\");\n  if (path === \"/sum\") return new Response(String(f{functions}(1)));\n  return new Response(\"not found\", {{ status: 404 }});\n}});\n"
    ));
    out
}

/// A program under edit by one server.
struct Subject {
    name: &'static str,
    file: PathBuf,
    source: fn(usize, usize) -> String,
    server: Server,
}

impl Subject {
    /// Saves version `version` and waits for its first answer: the time,
    /// and the requests that failed while waiting.
    fn save(&self, version: usize, functions: usize) -> Result<(Duration, usize), String> {
        let aside = self.file.with_extension("swp");
        std::fs::write(&aside, (self.source)(version, functions)).map_err(|e| e.to_string())?;
        let started = Instant::now();
        std::fs::rename(&aside, &self.file).map_err(|e| e.to_string())?;
        let wanted = format!("v{version}");
        let mut failed = 0;
        loop {
            match http::request(self.server.port, "GET", "/version", "") {
                Ok((200, body)) if body == wanted => return Ok((started.elapsed(), failed)),
                Ok((200, _)) => {}
                _ => failed += 1,
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("{}: v{version} never answered", self.name));
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn start(name: &'static str, dir: &Path, functions: usize, dlc: &Path, deno: Option<&Path>) -> Result<Subject, String> {
    let port = free_port()?.to_string();
    let (file, source, command): (PathBuf, fn(usize, usize) -> String, Command) = match deno {
        None => {
            let mut command = Command::new(dlc);
            command.current_dir(dir).args(["serve", "app.dl", "--color", "never", "--port", &port]);
            (dir.join("app.dl"), distlang, command)
        }
        Some(deno) => {
            let mut command = Command::new(deno);
            command.current_dir(dir).args(["run", "--watch", "--no-config", "--allow-net=127.0.0.1", "app.js", "--port", &port]);
            command.env("DENO_NO_UPDATE_CHECK", "1");
            (dir.join("app.js"), javascript, command)
        }
    };
    std::fs::write(&file, source(0, functions)).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(dir.join("app.db"));
    let server = Server::start(name, command, &dir.join(format!("{name}.stderr")))?;
    Ok(Subject { name, file, source, server })
}

pub fn run(args: &Args) -> Result<(), String> {
    let dlc = dlc::locate(args.dlc.as_deref())?;
    let bench = dlc::bench_dir()?;
    let deno = peers::deno(&bench).map_err(|why| format!("deno is needed: {why}"))?;
    println!("peers: {}", peers::version(deno.as_os_str()).unwrap_or_default());
    println!("load average (1 min) before: {}", http::load_average());
    println!("save to first new answer, {} saves each (median / max), and requests refused meanwhile:", args.saves);
    let mut small_ms = f64::MAX;
    for (program, functions) in [("small", 0), ("5,000 lines", 1250)] {
        for (name, deno) in [("dlc serve", None), ("deno --watch", Some(deno.as_path()))] {
            let dir = bench.join("reload").join(if deno.is_some() { "deno" } else { "dl" });
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let subject = start(name, &dir, functions, &dlc, deno)?;
            let mut times = Vec::new();
            let mut failed = 0;
            for version in 1..=args.saves {
                let (took, refused) = subject.save(version, functions)?;
                times.push(took.as_secs_f64() * 1000.0);
                failed += refused;
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            if deno.is_none() && functions == 0 {
                small_ms = median;
            }
            println!("  {program:<12} {name:<13} {median:>7.1} ms / {:>7.1} ms   {failed} refused", times[times.len() - 1]);
            subject.server.stop();
        }
    }
    let verdict = if small_ms < SMALL_GOAL_MS { "met" } else { "MISSED" };
    println!("dlc serve, small program: {small_ms:.1} ms (goal: under {SMALL_GOAL_MS:.0} ms): {verdict}");

    println!("{} reloads of the small program under load ({} clients sending GET /version):", args.loaded, args.clients);
    for (name, deno) in [("dlc serve", None), ("deno --watch", Some(deno.as_path()))] {
        let dir = bench.join("reload").join(if deno.is_some() { "deno" } else { "dl" });
        let subject = start(name, &dir, 0, &dlc, deno)?;
        let port = subject.server.port;
        let rss_before = subject.server.rss()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let clients: Vec<_> = (0..args.clients)
            .map(|_| {
                let (stop, sent, failed) = (Arc::clone(&stop), Arc::clone(&sent), Arc::clone(&failed));
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        sent.fetch_add(1, Ordering::Relaxed);
                        if !matches!(http::request(port, "GET", "/version", ""), Ok((200, _))) {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let started = Instant::now();
        for version in 1..=args.loaded {
            subject.save(version, 0)?;
        }
        let took = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            let _ = client.join();
        }
        let rss_after = subject.server.rss()?;
        let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
        println!(
            "  {name:<13} {failed} of {sent} requests failed in {:.1} s; RSS {:.1} MB before, {:.1} MB after",
            took.as_secs_f64(),
            rss_before as f64 / 1e6,
            rss_after as f64 / 1e6
        );
        subject.server.stop();
    }
    println!("load average (1 min) after: {}", http::load_average());
    Ok(())
}
