//! Measures redact-secrets on samples taken from trufflehog's detector tests (kept outside
//! the repository): the share of positive samples whose secrets no longer appear, and the share
//! of negative samples left unchanged.
//!
//! `cargo run --release --example trufflehog -- SAMPLES.jsonl [--misses] [--strict] [--config JSON]`
//! (the plugin's config, default `{}`; `--strict`: every printed part of a wanted value that
//! is not a host, URL or e-mail address must vanish, the account name and client id too), where each line of SAMPLES.jsonl is
//! `{"file": "...", "input": "...", "want": ["secret", ...]}` (`want` empty: a negative).
//! `docs/redaction.md` says how the samples are extracted.

use cloudops_plugin_sdk::testing::load;
use cloudops_plugin_sdk::{OutputBatch, OutputChunk, OutputStream, Plugin};
use redact_secrets::RedactSecrets;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: trufflehog SAMPLES.jsonl [--misses] [--strict] [--config JSON]");
    let (mut show, mut strict, mut config) = (false, false, "{}".to_string());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--misses" => show = true,
            "--strict" => strict = true,
            "--config" => config = args.next().expect("--config JSON"),
            _ => panic!("unknown argument {a:?}"),
        }
    }
    let text = std::fs::read_to_string(&path).expect("read the samples");
    let mut plugin = load::<RedactSecrets>(&config).expect("a valid config");
    let (mut pos, mut hit, mut skipped, mut neg, mut kept) = (0, 0, 0, 0, 0);
    let mut no_credential = 0;
    for (n, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON sample");
        let input = v["input"].as_str().unwrap_or_default().to_string();
        let want: Vec<String> = v["want"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let mut text = input.clone();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let out: String = plugin
            .on_output(OutputBatch {
                execution_id: format!("s{n}"),
                known_secrets: vec![],
                chunks: vec![OutputChunk {
                    stream: OutputStream::Stdout,
                    text: text.clone(),
                }],
            })
            .into_iter()
            .map(|c| c.text)
            .collect();
        if want.is_empty() {
            neg += 1;
            if out == text {
                kept += 1;
            } else if show {
                println!("CHANGED {}\n  in:  {text:?}\n  out: {out:?}", v["file"]);
            }
            continue;
        }
        // The secret as printed: for each wanted value (the string values of one that is a
        // JSON object), the value if the input holds it, else its parts that it holds.
        // What must vanish of it: the password of a URL with one, else its longest part
        // that is not a host, a URL without a password or an e-mail address (detectors
        // report an account name, client id or host beside the secret itself). A sample
        // reporting nothing else holds no credential: out of scope.
        let mut needed: Vec<String> = Vec::new();
        let mut printed_any = false;
        for w in &want {
            let values = match serde_json::from_str::<serde_json::Value>(w) {
                Ok(serde_json::Value::Object(o)) => o
                    .values()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                _ => vec![w.clone()],
            };
            let mut printed: Vec<String> = Vec::new();
            for w in values {
                if input.contains(w.as_str()) {
                    printed.push(w);
                } else {
                    printed.extend(
                        w.split(|c: char| {
                            c == ':' || c == ';' || c == '|' || c == ',' || c.is_whitespace()
                        })
                        .filter(|p| p.len() >= 6 && input.contains(*p))
                        .map(String::from),
                    );
                }
            }
            printed_any |= !printed.is_empty();
            let secrets = printed.iter().filter_map(|p| match url_password(p) {
                Some(pw) => Some(pw.to_string()),
                None => secret_like(p).then(|| p.clone()),
            });
            if strict {
                needed.extend(secrets);
            } else if let Some(secret) = secrets.max_by_key(String::len) {
                needed.push(secret);
            }
        }
        if !printed_any {
            skipped += 1;
            continue;
        }
        if needed.is_empty() {
            no_credential += 1;
            continue;
        }
        pos += 1;
        if needed.iter().all(|p| !out.contains(p.as_str())) {
            hit += 1;
        } else if show {
            println!("MISSED {}\n  in:  {text:?}\n  out: {out:?}", v["file"]);
        }
    }
    println!(
        "trufflehog samples: {hit}/{pos} secrets redacted ({:.1}%), {kept}/{neg} negatives unchanged ({:.1}%), {skipped} positives not measurable (secret not printed as such), {no_credential} out of scope (only a host, URL or e-mail address, no credential)",
        100.0 * hit as f64 / pos.max(1) as f64,
        100.0 * kept as f64 / neg.max(1) as f64
    );
}

/// Hosts, URLs and e-mail addresses are not secrets themselves.
fn secret_like(p: &str) -> bool {
    !(p.contains("://")
        || p.starts_with("http")
        || p.contains('@')
        || (p.contains('.')
            && p.rsplit('.').next().is_some_and(|tld| {
                (2..=6).contains(&tld.len()) && tld.bytes().all(|c| c.is_ascii_lowercase())
            })))
}

/// The password of `scheme://user:password@host…`.
fn url_password(p: &str) -> Option<&str> {
    let rest = &p[p.find("://")? + 3..];
    let userinfo = &rest[..rest.find('@')?];
    let pw = &userinfo[userinfo.find(':')? + 1..];
    (pw.len() >= 3).then_some(pw)
}
