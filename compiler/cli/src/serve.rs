//! `dlc serve FILE`: local development. The program is compiled into this
//! process and served (`dlvm::service::dev`); each save of the file is
//! compiled again and swapped in while the socket and the store stay open.
//! A version that does not compile, or whose stores the file cannot take,
//! is refused with its reasons, and the last good one goes on serving.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dlc_core::manifest::Manifest;
use dlvm::server::Flags;
use dlvm::service::dashboard::Info;
use dlvm::service::dev::DevServer;
use notify::Watcher;

use crate::driver::{self, Outcome};
use crate::jit;

/// Editors save in bursts (write, then rename; several writes): a change
/// is compiled once the file has been quiet this long.
const QUIET: Duration = Duration::from_millis(30);

pub struct Options {
    pub file: PathBuf,
    pub port: u16,
    pub host: String,
    pub db: Option<PathBuf>,
    pub color: bool,
}

/// A version's compiled code, given back to the system when the runtime
/// drops the last use of its version.
struct Code(Option<jit::Loaded>);

// SAFETY: never touched again once built, only dropped.
unsafe impl Sync for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(loaded) = self.0.take() {
            // SAFETY: the runtime drops this with the version's instance,
            // after its last request and cron run.
            unsafe { loaded.code.free() };
        }
    }
}

/// A compiled version, ready to serve.
struct Version {
    loaded: jit::Loaded,
    manifest: Manifest,
    secrets: Vec<String>,
    info: Info,
}

pub fn run(options: Options) -> Outcome {
    let name = options.file.file_stem().map_or_else(|| "app".into(), |s| s.to_string_lossy().into_owned());
    let db = options.db.clone().unwrap_or_else(|| PathBuf::from(format!("{name}.db")));
    let text = match std::fs::read_to_string(&options.file) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("error: cannot read {}: {err}", options.file.display());
            return Outcome::Usage;
        }
    };
    let first = match compile(&options, &text) {
        Ok(version) => version,
        Err(failure) => return failure.outcome,
    };
    let program = Arc::clone(&first.loaded.program);
    if !program.is_service() {
        eprintln!("error: {} has no routes, crons or stores to serve", options.file.display());
        eprintln!("hint: a script runs with `dlc run`");
        return Outcome::Usage;
    }
    dlvm::server::log::set_colour(options.color);
    // Each version's site has its own CORS.
    let config = Flags { host: options.host.clone(), port: options.port, ..Flags::default() }.server_config();
    let listener = match dlvm::server::bind(&config) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: {err}");
            return Outcome::Program(1);
        }
    };
    let Version { loaded, manifest, secrets, info } = first;
    let dev = match DevServer::start(program, secrets, db.clone(), Box::new(Code(Some(loaded))), info) {
        Ok(dev) => Arc::new(dev),
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Program(1);
        }
    };
    let watching = watch(Arc::clone(&dev), options, text, manifest);
    if let Err(message) = watching {
        eprintln!("error: {message}");
        return Outcome::Program(1);
    }
    Outcome::Program(dev.serve(listener, config) as u8)
}

/// Why a version was not swapped in: already printed, and as the
/// dashboard shows it.
struct Refused {
    outcome: Outcome,
    why: String,
}

/// Compiles `text` (printing its diagnostics) with the secrets it needs.
fn compile(options: &Options, text: &str) -> Result<Version, Refused> {
    let refuse = |outcome, why: String| {
        eprintln!("{why}");
        Refused { outcome, why: without_colour(&why) }
    };
    let compiled = driver::compile_text(&options.file, text.to_string(), options.color, jit::program)
        .map_err(|outcome| Refused { outcome, why: "the compiler failed".into() })?;
    let file = options.file.display();
    let loaded = match compiled.output {
        Some(Ok(loaded)) => loaded,
        Some(Err(reason)) => {
            let why = format!("error: internal compiler error in code generation for {file}: {reason}");
            return Err(refuse(Outcome::InternalError, why));
        }
        None => return Err(refuse(Outcome::CompileErrors, compiled.rendered.trim_end().to_string())),
    };
    eprint!("{}", compiled.rendered);
    let manifest = compiled.manifest.unwrap_or_default();
    if let Some(route) = manifest.routes.iter().find(|r| r.path == "/_dl" || r.path.starts_with("/_dl/")) {
        let why = format!("error: route {} {}: paths under /_dl/ are the dashboard's under `dlc serve`", route.method, route.path);
        return Err(refuse(Outcome::CompileErrors, why));
    }
    let secrets = secrets(&options.file, &loaded.program.secrets).map_err(|message| refuse(Outcome::Program(1), format!("error: {message}")))?;
    let info = Info { manifest: manifest.to_json(), file: file.to_string(), source: text.to_string() };
    Ok(Version { loaded, manifest, secrets, info })
}

/// `text` without its ANSI colour sequences (`ESC [ … m`).
fn without_colour(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// Each secret's value: from the environment, else from a `.env` file
/// beside the program (`NAME=value` lines; `#` starts a comment).
fn secrets(file: &Path, names: &[String]) -> Result<Vec<String>, String> {
    let env_file = file.parent().unwrap_or(Path::new(".")).join(".env");
    let mut from_file = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(&env_file) {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            if let Some((name, value)) = line.split_once('=') {
                let value = value.trim();
                let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
                from_file.insert(name.trim().to_string(), unquoted.to_string());
            }
        }
    }
    names
        .iter()
        .map(|name| {
            std::env::var(name).ok().or_else(|| from_file.get(name).cloned()).ok_or_else(|| {
                format!("missing secret {name}: set the environment variable {name}, or add a line {name}=… to {}", env_file.display())
            })
        })
        .collect()
}

/// Watches the program's file (its directory, since editors replace files)
/// on a thread of its own, reloading on each change.
fn watch(dev: Arc<DevServer>, options: Options, text: String, manifest: Manifest) -> Result<(), String> {
    let (changed, changes) = mpsc::channel();
    let wanted = options.file.file_name().map(|n| n.to_os_string());
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only changes of the file count: not reading it, nor the store
        // file's writes beside it.
        if let Ok(event) = event
            && matches!(event.kind, notify::EventKind::Create(_) | notify::EventKind::Modify(_) | notify::EventKind::Remove(_))
            && event.paths.iter().any(|p| p.file_name().map(|n| n.to_os_string()) == wanted)
        {
            let _ = changed.send(());
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", options.file.display()))?;
    let dir = options.file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    watcher.watch(&dir, notify::RecursiveMode::NonRecursive).map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    std::thread::Builder::new()
        .name("dl-watch".into())
        .spawn(move || {
            let _watcher = watcher;
            // The text last compiled, and the manifest of the version served.
            let (mut seen, mut served) = (text, manifest);
            while let Ok(()) = changes.recv() {
                // The rest of the burst.
                while let Ok(_more) = changes.recv_timeout(QUIET) {}
                let Ok(text) = std::fs::read_to_string(&options.file) else { continue };
                if text == seen {
                    continue;
                }
                if let Some(manifest) = reload(&dev, &options, &text, &served) {
                    served = manifest;
                }
                seen = text;
            }
        })
        .map_err(|e| format!("cannot start the file watcher: {e}"))?;
    Ok(())
}

/// Compiles `text`, the file as it is now, and swaps it in: the manifest
/// of the new version, or `None` if it was refused.
fn reload(dev: &DevServer, options: &Options, text: &str, served: &Manifest) -> Option<Manifest> {
    let started = Instant::now();
    let file = options.file.display();
    let version = match compile(options, text) {
        Ok(version) => version,
        Err(refused) => {
            dev.dashboard.set_error(Some(refused.why));
            dlvm::server::log::log(format!("reload of {file} refused: still serving the last version that compiled"));
            return None;
        }
    };
    let changes = changes(served, &version.manifest);
    let Version { loaded, manifest, secrets, info } = version;
    let program = Arc::clone(&loaded.program);
    match dev.reload(program, secrets, Box::new(Code(Some(loaded))), info) {
        Ok(()) => {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            dlvm::server::log::log(format!("reloaded {file} in {ms:.0}ms: {changes}"));
            Some(manifest)
        }
        Err(message) => {
            dev.dashboard.set_error(Some(format!("error: {message}")));
            dlvm::server::log::log(format!("reload of {file} refused: {message}; still serving the last version"));
            None
        }
    }
}

/// What a reload changes, in a line: `+GET /new, -cron nightly`.
fn changes(old: &Manifest, new: &Manifest) -> String {
    let routes = |m: &Manifest| m.routes.iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>();
    let stores = |m: &Manifest| m.stores.iter().map(|s| format!("store {}: {}", s.name, s.schema.describe())).collect::<Vec<_>>();
    let crons = |m: &Manifest| m.crons.iter().map(|c| format!("cron {} \"{}\"", c.name, c.schedule)).collect::<Vec<_>>();
    let mut out = Vec::new();
    for list in [routes, stores, crons] {
        let (before, after) = (list(old), list(new));
        out.extend(after.iter().filter(|x| !before.contains(x)).map(|x| format!("+{x}")));
        out.extend(before.iter().filter(|x| !after.contains(x)).map(|x| format!("-{x}")));
    }
    if out.is_empty() { "the same routes, stores and crons".to_string() } else { out.join(", ") }
}
