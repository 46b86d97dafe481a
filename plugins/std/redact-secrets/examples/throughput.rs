//! Native throughput of the redaction over ~85 MB of log-like output in 64 KiB
//! line-aligned chunks, and the same redactions as a `sed -E` script for comparison.
//!
//! `cargo run --release --example throughput -- /tmp/redact-input.txt` writes the input
//! file and `/tmp/redact-input.txt.sed` (run: `time sed -E -f FILE.sed FILE > /dev/null`).

use std::time::Instant;

use cloudops_plugin_sdk::testing::load;
use cloudops_plugin_sdk::{OutputBatch, OutputChunk, OutputStream, Plugin};
use redact_secrets::RedactSecrets;

const SED: &str = r#"s/(AKIA|ASIA)[0-9A-Z]{16}/[REDACTED:aws-access-key]/g
s/([Aa][Ww][Ss]_[Ss][Ee][Cc][Rr][Ee][Tt]_[Aa][Cc][Cc][Ee][Ss][Ss]_[Kk][Ee][Yy]|[Ss]ecret[Aa]ccess[Kk]ey)(["']?[[:space:]]*[:=][[:space:]]*["']?)[A-Za-z0-9/+=]{40,}/\1\2[REDACTED:aws-secret-key]/g
s/(ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36,255}/[REDACTED:github-token]/g
s/github_pat_[A-Za-z0-9_]{22,255}/[REDACTED:github-token]/g
s/glpat-[A-Za-z0-9_-]{20,}/[REDACTED:gitlab-token]/g
s/xox[abprs]-[A-Za-z0-9-]{10,}/[REDACTED:slack-token]/g
s/([Aa]uthorization["']?[[:space:]]*[:=][[:space:]]*["']?([Bb]earer|[Tt]oken|[Bb]asic)[[:space:]]+)[A-Za-z0-9._~+/-]+=*/\1[REDACTED:bearer]/g
s/([Pp][Aa][Ss][Ss]([Ww][Oo][Rr][Dd]|[Ww][Dd])|[Ss][Ee][Cc][Rr][Ee][Tt]|[Aa][Pp][Ii][_-]?[Kk][Ee][Yy])(["']?[[:space:]]*[:=][[:space:]]*)("[^"]*"|'[^']*'|[^[:space:]"',;&]+)/\1\3[REDACTED:password]/g
"#;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/redact-input.txt".to_string());
    let mut text = String::with_capacity(90 << 20);
    let mut i = 0u64;
    while text.len() < 85_000_000 {
        i += 1;
        match i % 500 {
            0 => text.push_str("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"),
            250 => text.push_str("db connect host=db1 password=hunter2 ok\n"),
            _ => text.push_str(&format!(
                "2026-11-26T04:30:{:02}Z INFO worker-{} processed request {} in {} ms status=200\n",
                i % 60,
                i % 16,
                i,
                i % 997
            )),
        }
    }
    std::fs::write(&path, &text).expect("write input");
    std::fs::write(format!("{path}.sed"), SED).expect("write sed script");
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + 64 * 1024).min(text.len());
        if end < text.len() {
            end = text[..end].rfind('\n').map_or(end, |n| n + 1);
        }
        chunks.push(text[start..end].to_string());
        start = end;
    }
    let t = Instant::now();
    let mut plugin = load::<RedactSecrets>("{}").expect("plugin");
    println!(
        "init: {:.2} ms (the keyword automaton is built on the first chunk)",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let mut bytes_out = 0;
    for c in chunks {
        let out = plugin.on_output(OutputBatch {
            execution_id: "bench".into(),
            known_secrets: vec![],
            chunks: vec![OutputChunk {
                stream: OutputStream::Stdout,
                text: c,
            }],
        });
        bytes_out += out.iter().map(|c| c.text.len()).sum::<usize>();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "redacted {} MB in {:.3} s: {:.0} MB/s native (output {} bytes)",
        text.len() / 1_000_000,
        secs,
        text.len() as f64 / 1e6 / secs,
        bytes_out
    );
}
