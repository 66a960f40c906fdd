//! The code blocks of `spec/*.md`: a block fenced with the info string `dl`
//! must check clean; `dl fail E0300` must fail, its first error being
//! E0300; `dl warn W0402` must check with that warning and no error;
//! `dl test` must check clean and pass `dlc test`.

use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use crate::dlc;

/// One fenced block whose info string starts with the word `dl`.
struct Block {
    /// `spec/types.md:42`, the line of the opening fence.
    name: String,
    info: String,
    code: String,
}

pub fn trials(root: &Path) -> Vec<Trial> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(root.join("spec")) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => vec![],
    };
    files.retain(|p| p.extension().is_some_and(|e| e == "md"));
    files.sort();
    let mut trials = Vec::new();
    for file in files {
        let shown = format!("spec/{}", file.file_name().unwrap_or_default().to_string_lossy());
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(err) => {
                trials.push(crate::failing(shown, format!("cannot read it: {err}")));
                continue;
            }
        };
        for block in blocks(&shown, &text) {
            let root = root.to_path_buf();
            trials.push(crate::trial(block.name.clone(), move || run(&root, &block)));
        }
    }
    trials
}

/// The fenced blocks (```` ``` ```` or `~~~`, indented at most three spaces)
/// whose info string's first word is `dl`.
fn blocks(shown: &str, text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, usize, String, Vec<&str>)> = None; // fence, line, info, lines
    for (index, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let trimmed = &line[indent..];
        let fence_char = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let fence_len = fence_char.map_or(0, |c| trimmed.len() - trimmed.trim_start_matches(c).len());
        let is_fence = indent <= 3 && fence_len >= 3;
        match &mut open {
            None if is_fence => {
                let fence = trimmed[..fence_len].to_string();
                open = Some((fence, index + 1, trimmed[fence_len..].trim().to_string(), vec![]));
            }
            None => {}
            Some((fence, line_no, info, lines)) => {
                let closes = is_fence
                    && trimmed.starts_with(fence.as_str())
                    && trimmed.trim_start_matches(fence.chars().next().unwrap_or('`')).trim().is_empty();
                if !closes {
                    lines.push(line);
                    continue;
                }
                if info.split_whitespace().next() == Some("dl") {
                    let mut code = lines.join("\n");
                    code.push('\n');
                    blocks.push(Block { name: format!("{shown}:{line_no}"), info: info.clone(), code });
                }
                open = None;
            }
        }
    }
    blocks
}

fn run(root: &Path, block: &Block) -> Result<(), String> {
    let words: Vec<&str> = block.info.split_whitespace().skip(1).collect();
    let expectation = match words.as_slice() {
        [] | ["test"] => None,
        ["fail", code] | ["warn", code] if dlc::is_code(code) => Some((words[0], *code)),
        _ => {
            return Err(format!(
                "unknown info string `{}`: write `dl`, `dl test`, `dl fail CODE` or `dl warn CODE` (or another word than `dl` for a block that is not a whole program)",
                block.info
            ));
        }
    };
    // A file per block, kept after the run so a failure can be reproduced.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lang-tests-spec");
    std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let file = dir.join(format!("{}.dl", block.name.replace(['/', ':', '.'], "-")));
    std::fs::write(&file, &block.code).map_err(|err| format!("cannot write {}: {err}", file.display()))?;
    // Relative to the root when it can be, for readable diagnostics.
    let checked = dlc::check(root, file.strip_prefix(root).unwrap_or(&file))?;
    let stderr = dlc::indent_output(&checked.stderr);
    match expectation {
        None => {
            checked.expect_status(0)?;
            if !checked.stderr.is_empty() {
                return Err(format!("expected no diagnostics\n{stderr}"));
            }
            if words == ["test"] {
                let mut command = std::process::Command::new(dlc::DLC);
                command.current_dir(root).args(["test", "--color", "never"]).arg(file.strip_prefix(root).unwrap_or(&file));
                let output = command.output().map_err(|err| format!("cannot run dlc test: {err}"))?;
                if !output.status.success() {
                    return Err(format!("`dlc test` failed\n{}", dlc::indent_output(&String::from_utf8_lossy(&output.stdout))));
                }
            }
        }
        Some(("fail", code)) => {
            checked.expect_status(1)?;
            let first = checked.diagnostics.iter().find(|d| d.is_error).map(|d| d.code.as_str());
            if first != Some(code) {
                return Err(format!("expected the first error to be {code}, got {}\n{stderr}", first.unwrap_or("none")));
            }
        }
        Some((_, code)) => {
            checked.expect_status(0)?;
            if !checked.diagnostics.iter().any(|d| d.code == code) {
                return Err(format!("expected a {code} warning\n{stderr}"));
            }
        }
    }
    Ok(())
}
