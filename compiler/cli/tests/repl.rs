//! `dlc repl` as users drive it: piped stdin (one result per complete
//! input, no prompt), and a real pseudo-terminal for what only a terminal
//! has (the prompt, multi-line editing, completion, history kept between
//! sessions).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DLC: &str = env!("CARGO_BIN_EXE_dlc");

fn workdir(test: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("repl").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write a test file");
    }
    dir
}

/// Runs `dlc repl ARGS` with `input` piped in; (stdout, stderr, status).
fn piped(dir: &Path, args: &[&str], input: &str) -> (String, String, Option<i32>) {
    let mut child = Command::new(DLC)
        .current_dir(dir)
        .arg("repl")
        .args(args)
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dlc repl");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write the input");
    let out = child.wait_with_output().expect("wait for dlc repl");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned(), out.status.code())
}

#[test]
fn expressions_print_their_value_and_type_and_definitions_persist() {
    let dir = workdir("basics", &[]);
    let input = "\
1 + 2
let x = 5
var n = 0
n = n + x
n
let xs = List.map([1, 2, 3], fn(v) { v * x })
fn double(a: Int) -> Int {
  a * 2
}
double(List.sum(xs))
type Point = { x: Int, y: Int }
let p = Point { x: 1,
  y: 2 }
{ ..p, y: n }
let x = \"shadowed\"
\"{x}!\"
:type xs
print(\"printed\")
let twice = fn(f: fn(Int) -> Int, v: Int) { f(f(v)) }
twice(double, 3)
2.5 * 2.0
";
    let (out, err, status) = piped(&dir, &[], input);
    let expected = "\
3 : Int
x : Int = 5
n : Int = 0
5 : Int
xs : List<Int> = [5, 10, 15]
double : fn(Int) -> Int
60 : Int
type Point
p : Point = Point { x: 1, y: 2 }
Point { x: 1, y: 5 } : Point
x : String = \"shadowed\"
\"shadowed!\" : String
List<Int>
printed
twice : fn(fn(Int) -> Int, Int) -> Int = <fn>
12 : Int
5.0 : Float
";
    assert_eq!((out.as_str(), err.as_str(), status), (expected, "", Some(0)));
}

#[test]
fn errors_name_the_input_line_and_the_session_goes_on() {
    let dir = workdir("errors", &[]);
    let input = "let a = 10\nlet zero = 0\n\nlet b =\n  a / zero\n1 + \"a\"\nlet c = a + 1\nc\nstore s: Int\n:nope\n";
    let (out, _, status) = piped(&dir, &["--color", "never"], input);
    assert_eq!(status, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..3], ["a : Int = 10", "zero : Int = 0", "error: division by zero at input:2:3"], "{out}");
    assert!(out.contains("[E0300] Error: `+` needs two operands of the same type"), "{out}");
    assert!(out.contains("╭─[ input:1:5 ]"), "the diagnostic points into the input: {out}");
    assert!(out.contains(" 1 │ 1 + \"a\""), "it shows the input's own line: {out}");
    assert!(out.contains("c : Int = 11\n11 : Int\n"), "the session survived both errors: {out}");
    assert!(out.contains("`store` declarations belong in a program file"), "{out}");
    assert!(out.contains("error: unknown command `:nope`"), "{out}");
}

#[test]
fn a_redefined_function_or_type_replaces_the_old_one() {
    let dir = workdir("redefine", &[]);
    let input = "fn f(x: Int) -> Int { x + 1 }\nf(1)\nfn f(x: Int) -> Int { x * 10 }\nf(1)\ntype T = { a: Int }\nlet t = T { a: 1 }\ntype T = { b: String }\nT { b: \"new\" }\n:reset\nf(1)\n";
    let (out, _, _) = piped(&dir, &["--color", "never"], input);
    let head: Vec<&str> = out.lines().take(8).collect();
    assert_eq!(
        head,
        [
            "f : fn(Int) -> Int",
            "2 : Int",
            "f : fn(Int) -> Int",
            "10 : Int",
            "type T",
            "t : T = T { a: 1 }",
            "type T (redefined: 1 binding(s) of the old type forgotten)",
            "T { b: \"new\" } : T",
        ]
    );
    assert!(out.contains("session reset\n"), "{out}");
    assert!(out.contains("unknown name `f`"), "after :reset, f is gone: {out}");
}

#[test]
fn with_a_program_its_definitions_and_store_are_in_scope_and_each_input_commits() {
    let program = "\
type Item = { name: String, n: Int }
store items: Item
secret TOKEN

fn bump(key: String) -> Int {
  let n = match items.get(key) { Some(i) => i.n + 1, None => 1 }
  items.set(key, Item { name: key, n })
  n
}
";
    let dir = workdir("program", &[("app.dl", program)]);
    let (out, err, _) = piped(&dir, &["app.dl"], "bump(\"a\")\nbump(\"a\")\nitems.count()\nTOKEN\nlet broken = { items.set(\"b\", Item { name: \"b\", n: 0 }); 1 / 0 }\n");
    assert_eq!(out, "1 : Int\n2 : Int\n1 : Int\n\"\" : String\nerror: division by zero at input:1:58\n", "{err}");
    // A new session sees what the first committed, and nothing of the failed input.
    let (out, _, _) = piped(&dir, &["app.dl"], "items.get(\"a\")\nitems.has(\"b\")\n:type bump\n");
    assert_eq!(out, "Some(Item { name: \"a\", n: 2 }) : Option<Item>\nfalse : Bool\nfn(String) -> Int\n");
    assert!(dir.join("app.db").exists(), "the store is the program's, beside it");
    let (out, _, _) = piped(&dir, &["app.dl", "--db", "other.db"], "items.count()\n");
    assert_eq!(out, "0 : Int\n");
    // `:load` switches to another program.
    let (out, _, _) = piped(&dir, &[], ":load app.dl\nbump(\"z\")\n");
    assert_eq!(out, "loaded app.dl\n1 : Int\n");
}

#[test]
fn a_program_with_errors_is_reported_and_refused() {
    let dir = workdir("broken-program", &[("bad.dl", "fn f() -> Int { \"no\" }\n")]);
    let (_, err, status) = piped(&dir, &["--color", "never", "bad.dl"], "1\n");
    assert_eq!(status, Some(1));
    assert!(err.contains("[E0300]") && err.contains("bad.dl:1:"), "{err}");
}

#[test]
fn no_input_crashes_it() {
    let dir = workdir("robust", &[]);
    let nested = format!("{}1{}", "[".repeat(300), "]".repeat(300));
    let inputs = [
        "}", "{", ")", "]", "fn", "type", "let", "let x =", "} fn f() {", "} }\nfn g() {\n1", "let x = }", "\"open",
        "1 +", ":type", ":type }", ":load /nonexistent.dl", "::", ":", "é = 1", "let é = 1", "fn () {}", "type t = Int",
        "store", "test \"x\" {}", "route GET / { 1 }", "let (a, b) = (1, 2, 3)", "var", "x = 1", "return 1", "break",
        "fn dl_repl_input() {}", "type DlReplSession = { a: Int }", "let session = 1", "let dl_repl_value = 2", &nested,
        "\u{0}", "List.range(0, 3) |>", "1; 2; 3", "let f = fn(x) { x }",
    ];
    // Each in a session of its own: an unclosed one swallows what follows.
    for nasty in inputs {
        let (out, err, status) = piped(&dir, &["--color", "never"], &format!("{nasty}\n1 + 1\n"));
        assert_eq!(status, Some(0), "{nasty:?}:\n{out}\n{err}");
        assert!(!err.contains("panicked") && !out.contains("internal error"), "{nasty:?}:\n{out}\n{err}");
    }
    let (out, _, _) = piped(&dir, &[], &format!("{}\n1 + 1\n", inputs.join("\n")));
    assert!(!out.contains("internal error"), "{out}");
}

// ---- a real terminal ----

/// `dlc repl` on a pseudo-terminal.
struct Terminal {
    master: std::fs::File,
    child: std::process::Child,
    seen: String,
}

impl Terminal {
    fn start(dir: &Path) -> Terminal {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty fills two descriptors, which we then own.
        let opened = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
        assert_eq!(opened, 0, "openpty");
        // SAFETY: fresh descriptors from openpty.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut command = Command::new(DLC);
        command
            .current_dir(dir)
            .arg("repl")
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().expect("dup")))
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::from(slave));
        // SAFETY: setsid and TIOCSCTTY in the child before exec: the pty
        // becomes its controlling terminal.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let child = command.spawn().expect("start dlc repl on a pty");
        // SAFETY: the master descriptor, nonblocking from here on.
        unsafe {
            let flags = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(master.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        Terminal { master: std::fs::File::from(master), child, seen: String::new() }
    }

    fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).expect("type into the terminal");
    }

    /// Reads until the screen so far contains `needle` (or fails after 20 s).
    fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 4096];
        while !self.seen.contains(needle) {
            assert!(Instant::now() < deadline, "waited for {needle:?}; the terminal shows:\n{}", self.seen);
            match self.master.read(&mut buf) {
                Ok(n) if n > 0 => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    fn finish(mut self) {
        self.send(":quit\r");
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "dlc repl did not quit:\n{}", self.seen);
            let mut buf = [0u8; 4096];
            let _ = self.master.read(&mut buf);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn on_a_terminal_input_continues_over_lines_completes_names_and_history_is_kept() {
    let dir = workdir("terminal", &[]);
    let mut term = Terminal::start(&dir);
    term.expect("> ");
    // An open bracket continues the input on the next line.
    term.send("let total = List.sum([1,\r");
    term.send("2, 3])\r");
    term.expect("total : Int = 6");
    // Tab completes a module's member and a name in scope.
    term.send("String.upp\t(\"ab\")\r");
    term.expect("\"AB\" : String");
    term.send("tot\t + 1\r");
    term.expect("7 : Int");
    term.finish();

    // The next session recalls the last input with the up arrow.
    let mut term = Terminal::start(&dir);
    term.expect("> ");
    term.send("let total = 40\r");
    term.expect("total : Int = 40");
    // Back past this session's input, the last one's `:quit` and `tot + 1`.
    for recalled in ["let total = 40", ":quit", "total + 1", "String.upper(\"ab\")"] {
        term.send("\x1b[A");
        term.expect(recalled);
    }
    term.send("\r");
    term.expect("\"AB\" : String");
    term.finish();
    let history = std::fs::read_to_string(dir.join("data/dlc/repl-history")).expect("the history file");
    assert!(history.contains("String.upper(\"ab\")"), "{history}");
}
