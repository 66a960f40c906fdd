//! The built executable's command line: `--port`, `--host`, `--db`,
//! `--max-body`, `--run-cron`, `--help` (hand-written: no clap in every binary).
//!
//! Each flag takes its value as the next argument or after `=`
//! (`--port 3000`, `--port=3000`); a flag given twice keeps the last value.
//! `--port` beats the `PORT` environment variable, which beats 8080.

use std::path::PathBuf;

use super::ServerConfig;

/// What the command line asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flags {
    pub port: u16,
    pub host: String,
    pub db: Option<PathBuf>,
    pub max_body: usize,
    pub run_cron: Option<String>,
    /// `--help` / `-h` was given: print `help_text` and exit 0.
    pub help: bool,
}

impl Default for Flags {
    fn default() -> Flags {
        Flags {
            port: 8080,
            host: "127.0.0.1".to_string(),
            db: None,
            max_body: super::DEFAULT_MAX_BODY,
            run_cron: None,
            help: false,
        }
    }
}

impl Flags {
    /// Parses `args` (without the program name); `env_port` is the value
    /// of `PORT`, if set. Errors are one line, naming the flag.
    pub fn parse<I, S>(args: I, env_port: Option<&str>) -> Result<Flags, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut flags = Flags::default();
        if let Some(p) = env_port.filter(|p| !p.is_empty()) {
            flags.port = parse_port(p).map_err(|e| format!("PORT: {e}"))?;
        }
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                flags.help = true;
                return Ok(flags);
            }
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            if !matches!(
                name.as_str(),
                "--port" | "--host" | "--db" | "--max-body" | "--run-cron"
            ) {
                return Err(if arg.starts_with('-') {
                    format!("unknown flag '{name}' (see --help)")
                } else {
                    format!("unexpected argument '{arg}' (see --help)")
                });
            }
            let value = match inline.or_else(|| args.next()) {
                Some(v) => v,
                None => return Err(format!("{name} needs a value (see --help)")),
            };
            match name.as_str() {
                "--port" => flags.port = parse_port(&value).map_err(|e| format!("--port: {e}"))?,
                "--host" => {
                    if value.is_empty() {
                        return Err("--host: expected a host name or address".into());
                    }
                    flags.host = value;
                }
                "--db" => {
                    if value.is_empty() {
                        return Err("--db: expected a file path".into());
                    }
                    flags.db = Some(PathBuf::from(value));
                }
                "--max-body" => flags.max_body = parse_size(&value)?,
                "--run-cron" => {
                    if value.is_empty() {
                        return Err("--run-cron: expected a cron name".into());
                    }
                    flags.run_cron = Some(value);
                }
                _ => unreachable!(),
            }
        }
        Ok(flags)
    }

    /// The server settings these flags give (other settings at their defaults).
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            host: self.host.clone(),
            port: self.port,
            max_body: self.max_body,
            ..ServerConfig::default()
        }
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    s.parse::<u16>()
        .map_err(|_| format!("expected a port number 0-65535, found '{s}'"))
}

/// `1048576`, `512KiB`, `1MiB`, `1GiB`, `10B` (binary units only; case-sensitive).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let err = || format!("--max-body: expected a size like 1048576, 512KiB or 1MiB, found '{s}'");
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    let scale: usize = match unit.trim_start() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(err()),
    };
    let n: usize = number.parse().map_err(|_| err())?;
    n.checked_mul(scale)
        .ok_or_else(|| format!("--max-body: '{s}' is too large"))
}

/// The `--help` text; `program` is how the executable was invoked.
pub fn help_text(program: &str) -> String {
    format!(
        "usage: {program} [options]

Serves the program's routes and runs its crons (a program with `main` runs it first).

options:
  --port N          port to listen on (default: $PORT, else 8080; 0 picks a free one)
  --host H          address to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --db PATH         the store file (default <program>.db in the working directory)
  --max-body BYTES  largest request body accepted, e.g. 1048576, 512KiB, 1MiB
                    (default 1MiB; larger bodies get 413)
  --run-cron NAME   run the cron NAME once and exit
  -h, --help        show this help
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Flags, String> {
        Flags::parse(args.iter().copied(), None)
    }

    #[test]
    fn defaults() {
        let f = parse(&[]).unwrap();
        assert_eq!(f, Flags::default());
        assert_eq!(f.port, 8080);
        assert_eq!(f.host, "127.0.0.1");
        assert_eq!(f.max_body, 1 << 20);
        assert_eq!(f.db, None);
        assert!(!f.help);
    }

    #[test]
    fn all_flags_both_spellings() {
        let f = parse(&[
            "--port",
            "3000",
            "--host=0.0.0.0",
            "--db",
            "/tmp/x.db",
            "--max-body=512KiB",
            "--run-cron",
            "sweep",
        ])
        .unwrap();
        assert_eq!(f.port, 3000);
        assert_eq!(f.host, "0.0.0.0");
        assert_eq!(f.db, Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(f.max_body, 512 * 1024);
        assert_eq!(f.run_cron.as_deref(), Some("sweep"));
        let c = f.server_config();
        assert_eq!(
            (c.host.as_str(), c.port, c.max_body),
            ("0.0.0.0", 3000, 512 * 1024)
        );
        // A value may contain '='.
        assert_eq!(
            parse(&["--db=a=b.db"]).unwrap().db,
            Some(PathBuf::from("a=b.db"))
        );
    }

    #[test]
    fn port_from_env_and_precedence() {
        assert_eq!(
            Flags::parse(Vec::<String>::new(), Some("9000"))
                .unwrap()
                .port,
            9000
        );
        assert_eq!(Flags::parse(["--port", "1"], Some("9000")).unwrap().port, 1);
        assert_eq!(
            Flags::parse(Vec::<String>::new(), Some("")).unwrap().port,
            8080
        );
        assert_eq!(
            Flags::parse(Vec::<String>::new(), Some("http")).unwrap_err(),
            "PORT: expected a port number 0-65535, found 'http'"
        );
        assert_eq!(parse(&["--port", "0"]).unwrap().port, 0);
        assert_eq!(parse(&["--port", "1", "--port", "2"]).unwrap().port, 2);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1048576));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("10B"), Ok(10));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1 MiB"), Ok(1 << 20));
        for bad in ["", "MiB", "1.5MiB", "1MB", "1mib", "-1", "1KiBs", "0x10"] {
            assert!(
                parse_size(bad)
                    .unwrap_err()
                    .starts_with("--max-body: expected"),
                "{bad}"
            );
        }
        assert!(parse_size("99999999999999999999GiB").is_err());
        assert!(
            parse_size("18446744073709551615GiB")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn errors_are_one_clear_line() {
        let cases = [
            (&["--port"][..], "--port needs a value (see --help)"),
            (
                &["--port", "70000"],
                "--port: expected a port number 0-65535, found '70000'",
            ),
            (
                &["--port", "-1"],
                "--port: expected a port number 0-65535, found '-1'",
            ),
            (&["--verbose"], "unknown flag '--verbose' (see --help)"),
            (&["--verbose=1"], "unknown flag '--verbose' (see --help)"),
            (&["-p", "1"], "unknown flag '-p' (see --help)"),
            (&["serve"], "unexpected argument 'serve' (see --help)"),
            (
                &["--max-body", "lots"],
                "--max-body: expected a size like 1048576, 512KiB or 1MiB, found 'lots'",
            ),
            (&["--run-cron="], "--run-cron: expected a cron name"),
            (&["--db", ""], "--db: expected a file path"),
            (&["--host="], "--host: expected a host name or address"),
        ];
        for (args, want) in cases {
            let err = parse(args).unwrap_err();
            assert_eq!(err, want);
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn help() {
        assert!(parse(&["--help"]).unwrap().help);
        assert!(parse(&["--port", "1", "-h", "--bogus"]).unwrap().help);
        let text = help_text("./app");
        for flag in [
            "--port",
            "PORT",
            "--host",
            "--db",
            "--max-body",
            "--run-cron",
            "--help",
        ] {
            assert!(text.contains(flag), "{flag}");
        }
        assert!(text.starts_with("usage: ./app [options]"));
    }
}
