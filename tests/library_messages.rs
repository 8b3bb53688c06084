//! The library speaks of its own names: no string literal outside `src/cli/` (and the binary's
//! `src/main.rs`) names a command-line flag (` --name`, `"--name`) or a `firstspike` command.
//! Flags and commands belong to the command line, which adds them as hints.

use std::path::{Path, PathBuf};

/// The `.rs` files under `dir`, recursively, skipping `src/cli`.
fn library_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if !p.ends_with("src/cli") {
                library_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("src/main.rs") {
            out.push(p);
        }
    }
}

/// The string literals of one line of Rust, roughly: the text between unescaped double
/// quotes. Comments (`//`, including doc comments) are skipped; a literal spread over lines
/// is seen line by line, which is all this check needs.
fn literals(line: &str) -> Vec<String> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        match (&mut cur, c) {
            (Some(s), '\\') => {
                s.push(c);
                if let Some(n) = chars.next() {
                    s.push(n);
                }
            }
            (Some(_), '"') => out.push(cur.take().unwrap()),
            (Some(s), _) => s.push(c),
            (None, '"') => cur = Some(String::new()),
            // A character literal such as '"' opens no string.
            (None, '\'') => {
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with("\"'") || rest.starts_with("\\\"'") {
                    chars.nth(rest.find('\'').unwrap());
                }
            }
            (None, '/') if chars.peek() == Some(&'/') => break,
            (None, _) => {}
        }
    }
    // A literal continued on the next line.
    out.extend(cur);
    out
}

/// Whether `s` names a flag (`--x` at the start or after a space or a quote) or a command
/// (`firstspike train`, ...).
fn names_cli(s: &str) -> bool {
    let b = s.as_bytes();
    let flag = (0..b.len().saturating_sub(2)).any(|i| {
        (i == 0 || matches!(b[i - 1], b' ' | b'\'' | b'(' | b'`'))
            && b[i] == b'-'
            && b[i + 1] == b'-'
            && b[i + 2].is_ascii_lowercase()
    });
    flag || s.contains("firstspike ") && !s.contains("firstspike model") && {
        let commands = [
            "train", "eval", "simulate", "verify", "replay", "raster", "curve", "demo", "baseline",
            "compare", "export",
        ];
        commands
            .iter()
            .any(|c| s.contains(&format!("firstspike {c}")))
    }
}

#[test]
fn the_checker_sees_flags_and_commands() {
    assert_eq!(
        literals(r#"bad("--limit must be at least 1".into())"#),
        ["--limit must be at least 1"]
    );
    assert_eq!(
        literals(r#"// "--limit" in a comment"#),
        Vec::<String>::new()
    );
    assert_eq!(literals(r#"f('"', "a \"b\" --c")"#), [r#"a \"b\" --c"#]);
    assert!(names_cli("--limit must be at least 1"));
    assert!(names_cli("use fewer --steps"));
    assert!(names_cli("give the NAME.bin written by 'firstspike train'"));
    assert!(!names_cli("limit must be at least 1"));
    assert!(!names_cli("x--y and a -- separator"));
    assert!(!names_cli("not a firstspike model file (bad magic)"));
}

#[test]
fn no_library_message_names_a_flag_or_a_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    library_files(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 20,
        "only {} files found under {}",
        files.len(),
        root.display()
    );
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            for lit in literals(line) {
                if names_cli(&lit) {
                    found.push(format!("{}:{}: \"{lit}\"", f.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "library string literals that name a command-line flag or command (the CLI adds those, in src/cli/hint.rs):\n{}",
        found.join("\n")
    );
}
