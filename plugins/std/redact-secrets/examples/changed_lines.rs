//! Counts the lines of a file that redact-secrets changes, with the default config and with
//! another one (default: the entropy rule on): the false-positive rate on text known to hold
//! no secret, and how much an opt-in rule adds to it.
//!
//! `cargo run --release --example changed_lines -- FILE [CONFIG_JSON] [--show]`.

use cloudops_plugin_sdk::testing::load;
use cloudops_plugin_sdk::{OutputBatch, OutputChunk, OutputStream, Plugin};
use redact_secrets::RedactSecrets;

fn changed(config: &str, text: &str, show: bool) -> usize {
    let mut p = load::<RedactSecrets>(config).expect("a valid config");
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let input = format!("{line}\n");
        let out: String = p
            .on_output(OutputBatch {
                execution_id: format!("l{i}"),
                known_secrets: vec![],
                chunks: vec![OutputChunk {
                    stream: OutputStream::Stdout,
                    text: input.clone(),
                }],
            })
            .into_iter()
            .map(|c| c.text)
            .collect();
        if out != input {
            n += 1;
            if show {
                println!("  {config}: {line:?}\n    -> {out:?}");
            }
        }
    }
    n
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .expect("usage: changed_lines FILE [CONFIG_JSON] [--show]");
    let other = args
        .get(1)
        .filter(|a| *a != "--show")
        .cloned()
        .unwrap_or_else(|| r#"{"entropy": true}"#.to_string());
    let show = args.iter().any(|a| a == "--show");
    let text = String::from_utf8_lossy(&std::fs::read(path).expect("read the file")).into_owned();
    let lines = text.lines().count();
    let base = changed("{}", &text, show);
    let with = changed(&other, &text, show);
    let pct = |n: usize| 100.0 * n as f64 / lines.max(1) as f64;
    println!(
        "{lines} lines: {base} changed by default ({:.3}%), {with} with {other} ({:.3}%)",
        pct(base),
        pct(with)
    );
}
