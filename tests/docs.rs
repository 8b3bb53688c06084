//! The documentation stays true:
//!
//! - `models/README.md` (one card per shipped model) and the results table of `README.md` are
//!   what `models/NAME.json` and `models/NAME.results.json` say (generated here: run
//!   `FIRSTSPIKE_BLESS=1 cargo test --release --test docs` to write them again after a
//!   model or its measured results change);
//! - every `firstspike ...` command shown in `README.md`, `docs/` and `models/README.md`
//!   parses (the binary's own parser, with `FIRSTSPIKE_PARSE_ONLY` set: nothing runs);
//! - every relative link resolves, to a file inside the repository and, for `#anchor`, to a
//!   heading of that file; no page cites a path outside the repository;
//! - `firstspike demo` works from an empty folder (its model and digits are in the binary).

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn bless() -> bool {
    std::env::var_os("FIRSTSPIKE_BLESS").is_some()
}

/// 1234567 -> "1,234,567".
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn num(v: &Value) -> u64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("not a number: {v}"))
        .round() as u64
}

/// A shipped model: its card (`NAME.json`) and measured results (`NAME.results.json`).
struct Shipped {
    name: String,
    card: Value,
    res: Value,
}

impl Shipped {
    fn is_rate(&self) -> bool {
        self.card["format"] == "firstspike-rate-model"
    }

    /// "99.06 % (9,906 / 10,000)".
    fn test_accuracy(&self) -> String {
        let meta = &self.card["meta"];
        let acc = if self.is_rate() {
            &meta["relu_test_accuracy"]
        } else {
            &meta["test_accuracy"]
        };
        let acc = acc.as_f64().expect("a test accuracy");
        let n = num(&meta["test_samples"]);
        let correct = (acc * n as f64).round() as u64;
        format!(
            "{:.2} % ({} / {})",
            100.0 * acc,
            thousands(correct),
            thousands(n)
        )
    }

    fn arch(&self) -> String {
        match self.card.get("layers").and_then(Value::as_str) {
            Some(s) => s.to_string(),
            None => self.card["arch"]
                .as_array()
                .expect("arch")
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join("-"),
        }
    }

    /// Weights, from the layer string and the layer sizes.
    fn weights(&self) -> u64 {
        let sizes: Vec<u64> = self.card["arch"]
            .as_array()
            .expect("arch")
            .iter()
            .map(num)
            .collect();
        let arch = self.arch();
        let mut parts = arch.split('-');
        let first = parts.next().unwrap();
        // Channels of the current map (1 for an HxW input), or None once dense.
        let mut channels: Option<u64> = first
            .contains('x')
            .then(|| first.split('x').nth(2).map_or(1, |c| c.parse().unwrap()));
        let mut total = 0;
        for (l, p) in parts.enumerate() {
            if let Some((c, rest)) = p.split_once('c') {
                let c: u64 = c.parse().unwrap();
                let k: u64 = rest.split(['s', 'p']).next().unwrap().parse().unwrap();
                total += k * k * channels.expect("a conv after a map") * c;
                channels = Some(c);
            } else {
                total += sizes[l] * sizes[l + 1];
                channels = None;
            }
        }
        total
    }

    fn to_decision(&self) -> (String, String) {
        let d = &self.res["to_decision"];
        (
            thousands(num(&d["spikes"])),
            thousands(num(&d["synaptic_events"])),
        )
    }

    fn verify_short(&self) -> String {
        match &self.res["verify"] {
            Value::Null => "–".into(),
            v => format!(
                "{} on {} images ({} spikes)",
                if num(&v["mismatches"]) == 0 {
                    "yes, bit for bit"
                } else {
                    "NO"
                },
                thousands(num(&v["samples"])),
                thousands(num(&v["spikes_compared"]))
            ),
        }
    }

    fn nest_short(&self) -> String {
        match &self.res["nest"] {
            Value::Null => "–".into(),
            n => format!(
                "{} on {} digits (max \\|dt\\| {:.1e})",
                if n["pass"] == true { "yes" } else { "NO" },
                thousands(num(&n["digits"])),
                n["max_abs_time_diff"].as_f64().unwrap()
            ),
        }
    }
}

fn shipped() -> Vec<Shipped> {
    let dir = repo().join("models");
    let mut v: Vec<Shipped> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let f = p.file_name()?.to_str()?.to_string();
            let name = f.strip_suffix(".results.json")?.to_string();
            let card: Value = serde_json::from_str(&read(&dir.join(format!("{name}.json"))))
                .unwrap_or_else(|e| panic!("models/{name}.json: {e}"));
            let res: Value = serde_json::from_str(&read(&p)).unwrap();
            assert_eq!(res["model"], name.as_str(), "{f} names another model");
            Some(Shipped { name, card, res })
        })
        .collect();
    // First-spike models before the rate baseline, MNIST before Fashion-MNIST.
    // Dense before conv, narrower names first (784-800-10 before 784-400-400-10).
    v.sort_by_key(|m| {
        (
            m.is_rate(),
            m.res["data"] != "MNIST",
            m.name.contains("conv"),
            m.name.len(),
            m.name.clone(),
        )
    });
    v
}

/// Every `.bin` in `models/` has its results.
#[test]
fn every_shipped_model_has_results() {
    let names: BTreeSet<String> = shipped().into_iter().map(|m| m.name).collect();
    for e in fs::read_dir(repo().join("models")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "bin") {
            let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
            assert!(
                names.contains(&stem),
                "models/{stem}.results.json is missing"
            );
        }
    }
}

fn results_table(models: &[Shipped]) -> String {
    let mut s = String::from(
        "| model | data | test accuracy | spikes to the decision | synaptic events to the decision | engines agree (`verify`) | NEST agrees |\n|---|---|---|---|---|---|---|\n",
    );
    for m in models {
        let (spikes, events) = m.to_decision();
        let (acc, spikes) = if m.is_rate() {
            let snn = &m.res["snn_test_accuracy"];
            (
                format!(
                    "{} as ReLU net; {:.2} % as rate-coded SNN ({} steps)",
                    m.test_accuracy(),
                    100.0 * snn["accuracy"].as_f64().unwrap(),
                    num(&snn["steps"])
                ),
                format!(
                    "{spikes} (rate-coded, at {} steps)",
                    num(&m.res["to_decision"]["steps"])
                ),
            )
        } else {
            (m.test_accuracy(), spikes)
        };
        s += &format!(
            "| [`{}`](models/README.md#{}) | {} | {} | {} | {} | {} | {} |\n",
            m.name,
            m.name,
            m.res["data"].as_str().unwrap(),
            acc,
            spikes,
            events,
            m.verify_short(),
            m.nest_short()
        );
    }
    s
}

fn model_cards(models: &[Shipped]) -> String {
    let mut s = String::from(
        "# Shipped models\n\n\
         One card per model in this folder, generated from `NAME.json` (written by `train`) and\n\
         `NAME.results.json` (what was measured on the model afterwards) by `tests/docs.rs`:\n\
         `FIRSTSPIKE_BLESS=1 cargo test --release --test docs` writes this file again, and\n\
         `cargo test` fails when it is not current. How the recipes were chosen:\n\
         [the training guide](../docs/training.md) and\n\
         [the conv recipe search](../docs/experiments/conv-recipe-search.md). Spikes include the\n\
         input spikes; synaptic events are one per spike and target; means per test image.\n",
    );
    for m in models {
        let meta = &m.card["meta"];
        let train = &meta["train"];
        let (spikes, events) = m.to_decision();
        let d = &m.res["to_decision"];
        let mut decision = format!("{spikes} spikes, {events} synaptic events");
        if let Some(note) = d.get("note").and_then(Value::as_str) {
            decision += &format!(" ({note})");
        }
        if let Some(h) = d.get("spikes_per_hidden_neuron").and_then(Value::as_f64) {
            decision += &format!(" ({h:.3} spikes per hidden neuron)");
        }
        if d.get("full_run_spikes").is_some_and(|v| !v.is_null()) {
            decision += &format!(
                "; a full run (every neuron allowed to fire): {} spikes, {} synaptic events",
                thousands(num(&d["full_run_spikes"])),
                thousands(num(&d["full_run_synaptic_events"]))
            );
        }
        let commands = m.res["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("`{}`", c.as_str().unwrap()))
            .collect::<Vec<_>>()
            .join("<br>");
        let validation = match m.res["validation_accuracy"].as_f64() {
            Some(a) => format!("{:.2} %", 100.0 * a),
            None => "– (no images held out)".into(),
        };
        let verify = match &m.res["verify"] {
            Value::Null => "– (a rate-coded network: one simulator)".into(),
            v => format!(
                "{} images, {} spikes compared, {} mismatches, max \\|dt\\| = {} ({})",
                thousands(num(&v["samples"])),
                thousands(num(&v["spikes_compared"])),
                num(&v["mismatches"]),
                v["max_abs_time_diff"],
                v["date"].as_str().unwrap()
            ),
        };
        let nest = match &m.res["nest"] {
            Value::Null => "– (not a first-spike network)".into(),
            n => format!(
                "{}: {} test digits (`tools/nest-check {}`), {} spikes compared, {} fired in one simulator only, {} decisions differing, max \\|dt\\| = {:.1e} tau_syn ({})",
                if n["pass"] == true { "PASS" } else { "FAIL" },
                thousands(num(&n["digits"])),
                n["selection"].as_str().unwrap(),
                thousands(num(&n["spikes_compared"])),
                num(&n["fired_in_one_only"]),
                num(&n["decisions_differing"]),
                n["max_abs_time_diff"].as_f64().unwrap(),
                n["date"].as_str().unwrap()
            ),
        };
        let files = ["bin", "json", "results.json", "log.jsonl", "curve.svg"]
            .iter()
            .filter(|x| repo().join(format!("models/{}.{x}", m.name)).is_file())
            .map(|x| format!("[`.{x}`]({}.{x})", m.name))
            .collect::<Vec<_>>()
            .join(", ");
        s += &format!(
            "\n## {name}\n\n| | |\n|---|---|\n\
             | architecture | `{arch}` ({weights} weights) |\n\
             | data | {data} |\n\
             | command | {commands} |\n\
             | seed | {seed} |\n\
             | epochs | {epochs} |\n\
             | validation accuracy | {validation} |\n\
             | test accuracy | {acc} |\n\
             | to the decision | {decision} |\n\
             | engines agree | {verify} |\n\
             | NEST agrees | {nest} |\n\
             | weights sha256 | `{sha}` |\n\
             | files | {files} |\n",
            name = m.name,
            arch = m.arch(),
            weights = thousands(m.weights()),
            data = m.res["data"].as_str().unwrap(),
            seed = train["seed"],
            epochs = m.res["epochs"].as_str().unwrap(),
            acc = m.test_accuracy(),
            sha = m.card["weights_sha256"].as_str().unwrap(),
        );
    }
    s
}

#[test]
fn model_cards_are_current() {
    let want = model_cards(&shipped());
    let path = repo().join("models/README.md");
    if bless() {
        fs::write(&path, &want).unwrap();
    }
    assert!(
        read(&path) == want,
        "models/README.md is not current: FIRSTSPIKE_BLESS=1 cargo test --release --test docs"
    );
}

const TABLE_START: &str = "<!-- results table: generated by tests/docs.rs from models/*.json -->\n";
const TABLE_END: &str = "<!-- end of results table -->";

#[test]
fn readme_results_table_matches_the_models() {
    let path = repo().join("README.md");
    let text = read(&path);
    let a = text
        .find(TABLE_START)
        .expect("README.md has the results table marker")
        + TABLE_START.len();
    let b = text[a..]
        .find(TABLE_END)
        .expect("README.md has the end marker")
        + a;
    let want = results_table(&shipped());
    if bless() {
        fs::write(&path, format!("{}{}{}", &text[..a], want, &text[b..])).unwrap();
        return;
    }
    assert!(
        text[a..b] == want,
        "README.md's results table differs from models/*.json:\n{}\nwant:\n{want}\nFIRSTSPIKE_BLESS=1 cargo test --release --test docs writes it",
        &text[a..b]
    );
}

/// README.md, CHANGELOG.md, models/README.md and every page under docs/.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    let mut v = vec![
        repo().join("README.md"),
        repo().join("CHANGELOG.md"),
        repo().join("models/README.md"),
    ];
    walk(&repo().join("docs"), &mut v);
    v.sort();
    v
}

/// The `firstspike` command lines of a page, with the line they start on: in code blocks
/// (fenced or indented; `\` continues a line, `# ...` ends it) the lines whose command is
/// `firstspike`, `target/release/firstspike` or `cargo run --release --`; in running text the
/// code spans that start with `firstspike `, give a flag and hold no placeholder syntax (`[`,
/// `|`, `...`). Commands in code blocks must parse whole (the bool); the flags of one in
/// running text must be accepted, but it may leave out required flags and the last value.
fn commands(text: &str) -> Vec<(usize, Vec<String>, bool)> {
    let mut out = Vec::new();
    let mut fenced = false;
    let mut pending: Option<(usize, String)> = None;
    let mut carry: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("```") {
            fenced = !fenced;
            carry = None;
            continue;
        }
        if t.is_empty() {
            carry = None;
        }
        let code = fenced || line.starts_with("    ") && !t.starts_with('-') && !t.starts_with('|');
        if code || pending.is_some() {
            let (start, mut acc) = pending.take().unwrap_or((i + 1, String::new()));
            let mut l = t.to_string();
            if let Some(h) = l.find(" #") {
                l.truncate(h);
            }
            let cont = l.trim_end().ends_with('\\');
            acc += l.trim_end().trim_end_matches('\\');
            acc.push(' ');
            if cont {
                pending = Some((start, acc));
                continue;
            }
            let words: Vec<&str> = acc.split_whitespace().collect();
            let rest = match words.as_slice() {
                ["firstspike", rest @ ..] => Some(rest),
                ["cargo", "run", "--release", "--", rest @ ..] => Some(rest),
                [w, rest @ ..] if w.ends_with("/release/firstspike") => Some(rest),
                [_, "target/release/firstspike", rest @ ..] => Some(rest), // srun, nice, ...
                _ => None,
            };
            if let Some(rest) = rest {
                out.push((start, rest.iter().map(|w| placeholder(w)).collect(), true));
            }
            continue;
        }
        // A code span may continue on the next line: carry the line until its backticks pair.
        let (start, joined) = match carry.take() {
            Some((start, prev)) => (start, format!("{prev} {line}")),
            None => (i + 1, line.to_string()),
        };
        if joined.matches('`').count() % 2 == 1 {
            carry = Some((start, joined));
            continue;
        }
        for (k, span) in joined.split('`').enumerate() {
            if k % 2 == 1
                && span.starts_with("firstspike ")
                && span.contains(" --")
                && !span.contains('[')
                && !span.contains('|')
                && !span.contains("...")
            {
                let words = span.split_whitespace().skip(1).map(placeholder).collect();
                out.push((start, words, false));
            }
        }
    }
    out
}

/// Shell-ish words as the parser sees them: quotes dropped, `$VAR` and all-capital
/// placeholders (N, K, SD, BETA) read as 1.
fn placeholder(w: &str) -> String {
    let w = w.trim_matches(|c| c == '\'' || c == '"');
    let caps = !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase() || c == '_');
    if w.starts_with('$') || caps && w.len() <= 4 {
        "1".into()
    } else {
        w.to_string()
    }
}

#[test]
fn every_command_shown_parses() {
    let bin = env!("CARGO_BIN_EXE_firstspike");
    let mut failures = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let rel = page.strip_prefix(repo()).unwrap().display().to_string();
        for (line, args, whole) in commands(&read(&page)) {
            if args.is_empty() {
                continue;
            }
            let out = Command::new(bin)
                .args(&args)
                .env("FIRSTSPIKE_PARSE_ONLY", "1")
                .output()
                .unwrap();
            checked += 1;
            let err = String::from_utf8_lossy(&out.stderr);
            // A command in running text may name only some flags: those must be accepted.
            let partial = err.contains("required arguments were not provided")
                || err.contains("a value is required for");
            if !out.status.success() && (whole || !partial) {
                failures.push(format!(
                    "{rel}:{line}: firstspike {}\n{}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(checked > 40, "only {checked} commands found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// GitHub's anchor of a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut set = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            set.insert(slug(line.trim_start_matches('#')));
        }
    }
    set
}

#[test]
fn every_relative_link_resolves() {
    let root = repo().canonicalize().unwrap();
    let mut bad = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = read(&page);
        let rel = page.strip_prefix(repo()).unwrap().display().to_string();
        for (i, line) in text.lines().enumerate() {
            for part in line.split("](").skip(1) {
                let Some(end) = part.find(')') else { continue };
                let target = &part[..end];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
                let dest = if file.is_empty() {
                    page.clone()
                } else {
                    page.parent().unwrap().join(file)
                };
                let Ok(dest) = dest.canonicalize() else {
                    bad.push(format!("{rel}:{}: {target}: no such file", i + 1));
                    continue;
                };
                if !dest.starts_with(&root) {
                    bad.push(format!("{rel}:{}: {target}: outside the repository", i + 1));
                } else if !anchor.is_empty()
                    && dest.extension().is_some_and(|x| x == "md")
                    && !anchors(&read(&dest)).contains(anchor)
                {
                    bad.push(format!("{rel}:{}: {target}: no such heading", i + 1));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} links found");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The pages cite nothing outside the repository.
#[test]
fn pages_cite_no_outside_path() {
    for page in pages() {
        let text = read(&page);
        // A parent folder's data or notes, a machine's absolute path, a tracker command
        // (written in pieces, so that this file does not cite them itself).
        let parent = format!("../{}", "shared");
        for bad in [parent.as_str(), "/work/", "issues show"] {
            assert!(
                !text.contains(bad),
                "{} cites {bad}",
                page.strip_prefix(repo()).unwrap().display()
            );
        }
    }
}

/// The README is a front page: at most 150 lines.
#[test]
fn readme_is_short() {
    let n = read(&repo().join("README.md")).lines().count();
    assert!(n <= 150, "README.md has {n} lines");
}

/// `firstspike demo` from an empty folder: the model and the digits are in the binary.
#[test]
fn demo_runs_from_an_empty_folder() {
    let dir = std::env::temp_dir().join(format!("firstspike-demo-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_firstspike"))
        .args(["demo", "--json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["agree"], true);
    assert_eq!(v["samples"], 1000);
    assert!(dir.join("traces/demo/digit0.svg").is_file());
    fs::remove_dir_all(&dir).unwrap();
}
