//! The fixture corpus: every positive case comes out without its secrets, every negative line
//! unchanged. Prints a scoreboard: `cargo test -p redact-secrets --test corpus -- --nocapture`
//! (in `plugins/`).

use std::collections::BTreeMap;

use cloudops_plugin_sdk::testing::load;
use cloudops_plugin_sdk::{OutputBatch, OutputChunk, OutputStream, Plugin};
use redact_secrets::RedactSecrets;

const POSITIVE: &str = include_str!("corpus/positive.txt");
const NEGATIVE: &str = include_str!("corpus/negative.txt");

struct Case<'a> {
    name: &'a str,
    stderr: bool,
    secrets: Vec<&'a str>,
    lines: Vec<&'a str>,
}

fn cases() -> Vec<Case<'static>> {
    let mut out: Vec<Case<'static>> = Vec::new();
    for line in POSITIVE.lines().filter(|l| !l.starts_with('#')) {
        if let Some(head) = line.strip_prefix("==== ") {
            let mut parts = head.split(" | ");
            let name = parts.next().expect("a name");
            let stderr = parts.next() == Some("stderr");
            out.push(Case {
                name,
                stderr,
                secrets: parts.collect(),
                lines: Vec::new(),
            });
        } else {
            out.last_mut()
                .expect("a case header first")
                .lines
                .push(line);
        }
    }
    out
}

/// Feeds each line as a batch of its own, on the case's stream, and returns what came out.
fn run(p: &mut RedactSecrets, id: &str, stderr: bool, lines: &[&str]) -> String {
    let stream = if stderr {
        OutputStream::Stderr
    } else {
        OutputStream::Stdout
    };
    let mut out = String::new();
    for l in lines {
        for c in p.on_output(OutputBatch {
            execution_id: id.into(),
            known_secrets: vec![],
            chunks: vec![OutputChunk {
                stream,
                text: format!("{l}\n"),
            }],
        }) {
            out.push_str(&c.text);
        }
    }
    out
}

#[test]
fn positives_come_out_redacted_and_negatives_unchanged() {
    let mut p = load::<RedactSecrets>("{}").expect("default config");
    let mut board: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let cases = cases();
    let lines: usize = cases.iter().map(|c| c.lines.len()).sum();
    for (n, c) in cases.iter().enumerate() {
        let out = run(&mut p, &format!("p{n}"), c.stderr, &c.lines);
        let ok = c.secrets.iter().all(|s| !out.contains(s));
        let category = c.name.split(" (").next().unwrap_or(c.name);
        let e = board.entry(category).or_default();
        e.1 += 1;
        if ok {
            e.0 += 1;
        } else {
            failures.push(format!("{}: {:?} -> {out:?}", c.name, c.lines));
        }
    }
    let negatives: Vec<&str> = NEGATIVE.lines().filter(|l| !l.starts_with("# ")).collect();
    let mut kept = 0;
    for (n, l) in negatives.iter().enumerate() {
        let out = run(&mut p, &format!("n{n}"), n % 2 == 1, &[l]);
        if out == format!("{l}\n") {
            kept += 1;
        } else {
            failures.push(format!("negative changed: {l:?} -> {out:?}"));
        }
    }
    println!("redact-secrets corpus scoreboard");
    for (k, (ok, all)) in &board {
        println!("  {ok:>3}/{all:<3} {k}");
    }
    let (ok, all) = board.values().fold((0, 0), |(a, b), (x, y)| (a + x, b + y));
    println!("positives: {ok}/{all} cases ({lines} lines) redacted");
    println!("negatives: {kept}/{} lines unchanged", negatives.len());
    assert!(
        lines >= 300 && negatives.len() >= 300,
        "the corpus keeps 300+ lines of each"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
