//! The Workers target: `dlc ship --target workers` writes a bundle that
//! `wrangler dev` and `wrangler deploy` take as it is — the program's Wasm
//! module, the host (`std-targets/workers/`), `program.js` (which cron
//! expression runs which cron) and `wrangler.toml` from the manifest.
//! What Workers cannot run as written is a diagnostic here, at ship time.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use dlc_core::diagnostic::{Code, Diagnostic};
use dlc_core::manifest::Manifest;
use dlc_core::Compilation;

/// The host's files, embedded: `(name, text)`.
const HOST: &[(&str, &str)] = &[
    ("worker.js", include_str!("../../../std-targets/workers/worker.js")),
    ("schema.js", include_str!("../../../std-targets/workers/schema.js")),
    ("indexes.js", include_str!("../../../std-targets/workers/indexes.js")),
    ("portable.js", include_str!("../../../std-targets/wasm/portable.js")),
    ("float.js", include_str!("../../../std-targets/wasm/float.js")),
    ("crypto.js", include_str!("../../../std-targets/wasm/crypto.js")),
];

/// The `compatibility_date` of every bundle: no later than the build date of
/// the workerd that the pinned wrangler (4.86.0, `std-targets/workers/
/// package.json`) runs, which refuses later dates.
pub const COMPATIBILITY_DATE: &str = "2026-04-20";

/// The Durable Object class (in `worker.js`) that runs the program, and
/// its binding.
const CLASS: &str = "Program";
const BINDING: &str = "PROGRAM";

/// What `dlc ship` makes of a checked program.
pub struct Bundle {
    pub module: Result<Vec<u8>, dlc_wasm::Error>,
    /// Per cron, in declaration order: its expression as Cloudflare reads it.
    pub crons: Vec<String>,
}

/// The backend of `dlc ship --target workers`: the module, or one diagnostic
/// per construct Workers cannot run.
pub fn bundle(compilation: &Compilation) -> Result<Bundle, Vec<Diagnostic>> {
    let crons = triggers(compilation)?;
    Ok(Bundle { module: crate::wasm::module(compilation)?, crons })
}

/// The capability check (the backend of `dlc plan --target workers`): per
/// cron, its trigger, or a diagnostic per schedule Workers cannot run as
/// native does.
pub fn triggers(compilation: &Compilation) -> Result<Vec<String>, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let mut crons = Vec::new();
    for cron in compilation.program.iter().flat_map(|p| &p.crons) {
        match cloudflare_cron(&cron.schedule) {
            Ok(expression) => crons.push(expression),
            Err(what) => diagnostics.push(
                Diagnostic::error(Code::Unsupported, format!("cron `{}`: {what} is not supported on the workers target", cron.name))
                    .label(cron.span, "Cloudflare's cron triggers cannot run this schedule as native does")
                    .hint("write the day of the week with names, numbers, ranges, lists and steps only"),
            ),
        }
    }
    if diagnostics.is_empty() { Ok(crons) } else { Err(diagnostics) }
}

/// A schedule as Cloudflare's cron triggers read it with native's meaning:
/// shorthands spelled out, and the day of the week as names (Cloudflare
/// numbers days from 1, Sunday; native's croner from 0).
fn cloudflare_cron(schedule: &str) -> Result<String, String> {
    let text = match schedule.trim() {
        "@hourly" => "0 * * * *",
        "@daily" => "0 0 * * *",
        "@weekly" => "0 0 * * 0",
        text => text,
    };
    let mut fields: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    if let Some(weekday) = fields.get_mut(4) {
        *weekday = weekday_names(weekday)?;
    }
    Ok(fields.join(" "))
}

const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// A day-of-week field (numbers 0-7, names, ranges, lists, steps) as the
/// list of the days it selects, by name; `*` stays `*`.
fn weekday_names(field: &str) -> Result<String, String> {
    if field == "*" {
        return Ok(field.to_string());
    }
    let day = |s: &str| -> Result<usize, String> {
        if let Some(i) = DAYS.iter().position(|d| d.eq_ignore_ascii_case(s)) {
            return Ok(i);
        }
        match s.parse::<usize>() {
            Ok(n) if n <= 7 => Ok(n),
            _ => Err(format!("the day of the week `{field}`")),
        }
    };
    let mut selected = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, step.parse::<usize>().ok().filter(|&s| s > 0).ok_or_else(|| format!("the day of the week `{field}`"))?),
            None => (part, 1),
        };
        let (from, to) = match range.split_once('-') {
            _ if range == "*" => (0, 6),
            Some((a, b)) if day(a)? <= day(b)? => (day(a)?, day(b)?),
            Some(_) => return Err(format!("the day of the week `{field}`")),
            None if step > 1 => (day(range)?, 6),
            None => (day(range)?, day(range)?),
        };
        for d in (from..=to).step_by(step) {
            selected[d % 7] = true;
        }
    }
    let names: Vec<&str> = (0..7).filter(|&d| selected[d]).map(|d| DAYS[d]).collect();
    Ok(if names.len() == 7 { "*".to_string() } else { names.join(",") })
}

/// Writes the bundle into `dir`; what it provisioned and its size, to print.
pub fn write(dir: &Path, name: &str, manifest: &Manifest, bundle: &Bundle, module: &[u8]) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write = |file: &str, bytes: &[u8]| std::fs::write(dir.join(file), bytes).map_err(|e| format!("cannot write {}: {e}", dir.join(file).display()));
    write("app.wasm", module)?;
    for (file, text) in HOST {
        write(file, text.as_bytes())?;
    }
    write("program.js", program_js(manifest, &bundle.crons).as_bytes())?;
    write("wrangler.toml", wrangler_toml(name, manifest, &bundle.crons).as_bytes())?;

    let mut report = format!("shipped {name} for Cloudflare Workers into {}\n", dir.display());
    for line in provisions(name, manifest, &bundle.crons) {
        let _ = writeln!(report, "  {line}");
    }
    let mut raw = module.len();
    let mut all = Vec::from(module);
    for (_, text) in HOST {
        raw += text.len();
        all.extend_from_slice(text.as_bytes());
    }
    let _ = writeln!(report, "  bundle: {} raw, {} gzipped (Cloudflare's limit: 64 MiB)", size(raw), size(gzipped(&all)));
    Ok(report)
}

/// What a bundle provisions, a line each.
pub fn provisions(name: &str, manifest: &Manifest, triggers: &[String]) -> Vec<String> {
    let mut lines = vec![format!("worker {name}: Durable Object {CLASS} (binding {BINDING}, SQLite storage) runs the program, one transaction per invocation")];
    for store in &manifest.stores {
        lines.push(format!("store {}: table store_{} in the object's SQLite", store.name, store.name));
        for index in &store.indexes {
            let kind = if index.unique { "unique index" } else { "index" };
            lines.push(format!("  {kind} {}: table index/{}/{}", index.field, store.name, index.field));
        }
    }
    for (cron, trigger) in manifest.crons.iter().zip(triggers) {
        lines.push(format!("cron {}: trigger \"{trigger}\"", cron.name));
    }
    for secret in &manifest.secrets {
        lines.push(format!("secret {secret}: `npx wrangler secret put {secret}` (locally: a line in .dev.vars)"));
    }
    lines
}

fn gzipped(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(bytes);
    encoder.finish().map_or(0, |out| out.len())
}

fn size(bytes: usize) -> String {
    if bytes < 1 << 20 { format!("{:.1} KiB", bytes as f64 / 1024.0) } else { format!("{:.2} MiB", bytes as f64 / f64::from(1 << 20)) }
}

/// `program.js`: per cron, in the program's order, its name and trigger.
fn program_js(manifest: &Manifest, crons: &[String]) -> String {
    let crons: Vec<serde_json::Value> =
        manifest.crons.iter().zip(crons).map(|(cron, trigger)| serde_json::json!({ "name": cron.name, "trigger": trigger })).collect();
    format!(
        "// Written by `dlc ship`: per cron of the program, in its order, the name and\n// the trigger of wrangler.toml that runs it.\nexport default {{ crons: {} }};\n",
        serde_json::Value::Array(crons)
    )
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn wrangler_toml(name: &str, manifest: &Manifest, crons: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Written by `dlc ship --target workers`; `npx wrangler dev` runs it, `npx wrangler deploy` deploys it.");
    let _ = writeln!(out, "name = {}", toml_string(name));
    let _ = writeln!(out, "main = \"worker.js\"");
    let _ = writeln!(out, "compatibility_date = \"{COMPATIBILITY_DATE}\"");
    // `node:crypto` (std-targets/wasm/crypto.js).
    let _ = writeln!(out, "compatibility_flags = [\"nodejs_compat\"]");
    let _ = writeln!(out, "\n[[rules]]\ntype = \"ESModule\"\nglobs = [\"*.js\"]");
    let _ = writeln!(out, "\n[[durable_objects.bindings]]\nname = \"{BINDING}\"\nclass_name = \"{CLASS}\"");
    let _ = writeln!(out, "\n[[migrations]]\ntag = \"v1\"\nnew_sqlite_classes = [\"{CLASS}\"]");
    if !crons.is_empty() {
        let mut distinct: Vec<&String> = Vec::new();
        for c in crons {
            if !distinct.contains(&c) {
                distinct.push(c);
            }
        }
        let list: Vec<String> = distinct.iter().map(|c| toml_string(c)).collect();
        let _ = writeln!(out, "\n[triggers]\ncrons = [{}]", list.join(", "));
    }
    if !manifest.secrets.is_empty() {
        let _ = writeln!(out, "\n# Secrets the program reads (`npx wrangler secret put NAME`; locally, NAME=value lines in .dev.vars):");
        for secret in &manifest.secrets {
            let _ = writeln!(out, "#   {secret}");
        }
        let names: Vec<String> = manifest.secrets.iter().map(|s| toml_string(s)).collect();
        let _ = writeln!(out, "[secrets]\nrequired = [{}]", names.join(", "));
    }
    out
}

/// The Worker's name: the program's file name, lower-case, with dashes.
pub fn worker_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
    let name: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let name = name.trim_matches('-');
    if name.is_empty() { "app".to_string() } else { name.chars().take(63).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_keep_native_meaning_on_cloudflare() {
        assert_eq!(cloudflare_cron("@daily").unwrap(), "0 0 * * *");
        assert_eq!(cloudflare_cron("@weekly").unwrap(), "0 0 * * SUN");
        assert_eq!(cloudflare_cron("*/5 * * * *").unwrap(), "*/5 * * * *");
        assert_eq!(cloudflare_cron("0 9 * * 1-5").unwrap(), "0 9 * * MON,TUE,WED,THU,FRI");
        assert_eq!(cloudflare_cron("0 9 * * 0,7").unwrap(), "0 9 * * SUN");
        assert_eq!(cloudflare_cron("0 9 * * */2").unwrap(), "0 9 * * SUN,TUE,THU,SAT");
        assert_eq!(cloudflare_cron("0 9 * * sat-sun").unwrap_err(), "the day of the week `sat-sun`");
        assert_eq!(cloudflare_cron("0 9 * * 0-7").unwrap(), "0 9 * * *");
        assert!(cloudflare_cron("0 9 * * 5L").is_err());
    }
}
