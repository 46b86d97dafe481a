//! redact-secrets (the built-in plugin) through the engine vs `sed -E` with the same patterns, over the same 85 MB log: throughput and identical output.
//!
//! `cargo bench -p cloudops-e2e --bench redact` (issue target: the engine at least 1.5× sed's
//! throughput). The log is 85 MB of ordinary lines; 1% of the lines hold a secret of one
//! of the kinds both sides can express (AWS access key id and secret key, GitHub, GitLab
//! and Slack tokens, `Authorization: Bearer`, `password=`). Private key blocks span lines,
//! which sed cannot follow, so the log has none. sed gets one `-e` per built-in pattern
//! (case-insensitive ones with the `I` flag; a pattern that redacts only a group keeps
//! the rest with `\1`).
//!
//! The engine runs `cat LOG` under a gate with only redact-secrets selected; sed reads the
//! file itself and writes to /dev/null. Printed for the engine: with the default output
//! cap (every byte goes through the plugin, the result keeps the first 8 MiB — how a
//! user runs it) and capturing all 85 MB (whose output is compared with sed's).

#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::io::Write;
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::Instant;

use cloudops_execution_engine::{Command, ExecutionConfig, ExecutionEngine, ExecutionRequest};
use cloudops_plugin_host::{
    ChainGate, HostConfig, PluginHost, PluginSource, PluginSpec, StaticSelector,
};

/// sed's version of each built-in pattern of plugins/std/redact-secrets/src/patterns.rs.
const SED: &[&str] = &[
    r"s#\b(AKIA|ASIA)[0-9A-Z]{16}\b#[REDACTED:aws-access-key]#g",
    r#"s#((aws_secret_access_key|secretaccesskey|aws_secret_key)["']?[[:space:]]*[:=][[:space:]]*["']?)[A-Za-z0-9/+=]{40,}#\1[REDACTED:aws-secret-key]#gI"#,
    r"s#\b(ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36,}\b#[REDACTED:github-token]#g",
    r"s#\bgithub_pat_[A-Za-z0-9_]{22,}\b#[REDACTED:github-token]#g",
    r"s#\bglpat-[A-Za-z0-9_-]{20,}#[REDACTED:gitlab-token]#g",
    r"s#\bxox[abprs]-[A-Za-z0-9-]{10,}#[REDACTED:slack-token]#g",
    r#"s#(authorization["']?[[:space:]]*[:=][[:space:]]*["']?(bearer|token|basic)[[:space:]]+)[A-Za-z0-9._~+/-]+=*#\1[REDACTED:bearer]#gI"#,
    r"s#(\bbearer[[:space:]]+)[A-Za-z0-9._~+/-]{20,}=*#\1[REDACTED:bearer]#gI",
    r#"s#((pass(word|wd|phrase)|secret|api[_-]?key|access[_-]?token|auth[_-]?token)["']?[[:space:]]*[:=][[:space:]]*)("[^"]*"|'[^']*'|[^[:space:]"',;&]+)#\1[REDACTED:password]#gI"#,
];

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// 85 MB of log lines; 1% hold a secret (the kind rotates).
fn write_log(path: &std::path::Path) -> usize {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut written = 0;
    let mut i = 0u64;
    while written < 85_000_000 {
        let r = next();
        let mut word = |n: usize, upper_digits: bool| -> String {
            let mut s = String::with_capacity(n);
            let mut v = next();
            for k in 0..n {
                if k % 10 == 0 {
                    v = next();
                }
                let alphabet = if upper_digits { &ALNUM[..36] } else { ALNUM };
                s.push(alphabet[(v % alphabet.len() as u64) as usize] as char);
                v /= alphabet.len() as u64;
            }
            s
        };
        let stamp = format!("2026-11-26T03:{:02}:{:02}Z", i % 60, (i / 60) % 60);
        let line = if r % 100 == 0 {
            match (r / 100) % 7 {
                0 => format!(
                    "{stamp} INFO deploy step={i} access_key=AKIA{} region=eu-west-1\n",
                    word(16, true)
                ),
                1 => format!(
                    "{stamp} DEBUG env aws_secret_access_key={} loaded\n",
                    word(40, false)
                ),
                2 => format!("{stamp} INFO git clone with ghp_{} done\n", word(36, false)),
                3 => format!("{stamp} INFO gitlab glpat-{} mirror ok\n", word(20, false)),
                4 => format!(
                    "{stamp} WARN slack hook token xoxb-{} rate limited\n",
                    word(24, false)
                ),
                5 => format!(
                    "{stamp} DEBUG request headers Authorization: Bearer {}\n",
                    word(32, false)
                ),
                _ => format!(
                    "{stamp} DEBUG db connect user=app password={} host=db1\n",
                    word(12, false)
                ),
            }
        } else {
            format!(
                "{stamp} INFO request id={r:016x} path=/api/v1/items/{i} status=200 bytes={} ms={}\n",
                r % 65536,
                r % 997
            )
        };
        f.write_all(line.as_bytes()).unwrap();
        written += line.len();
        i += 1;
    }
    f.flush().unwrap();
    written
}

fn sed(log: &std::path::Path, to_null: bool) -> (f64, Vec<u8>) {
    let mut cmd = Process::new("sed");
    cmd.arg("-E");
    for e in SED {
        cmd.arg("-e").arg(e);
    }
    cmd.arg(log);
    let t = Instant::now();
    if to_null {
        let status = cmd.stdout(Stdio::null()).status().unwrap();
        assert!(status.success());
        (t.elapsed().as_secs_f64(), Vec::new())
    } else {
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (t.elapsed().as_secs_f64(), out.stdout)
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let size = write_log(&log);
    let mb = size as f64 / 1e6;
    println!(
        "== redact-secrets vs sed -E ({} patterns), {mb:.0} MB of log lines, 1% with a secret",
        SED.len()
    );

    let host = PluginHost::new(HostConfig {
        cache_dir: Some(dir.path().join("cache")),
        ..HostConfig::default()
    })
    .unwrap();
    let plugin = host
        .load(&PluginSpec::new(
            "redact-secrets",
            PluginSource::Bytes {
                label: "builtin:redact-secrets".into(),
                bytes: cloudops_builtin_plugins::get("redact-secrets")
                    .unwrap()
                    .into(),
            },
        ))
        .unwrap();
    let run = |max_output_bytes: usize| {
        let gate = ChainGate::new(host.clone(), Arc::new(StaticSelector(vec![plugin.clone()])));
        let engine = ExecutionEngine::new(
            ExecutionConfig {
                max_output_bytes,
                ..ExecutionConfig::default()
            }
            .with_gate(Arc::new(gate)),
        );
        let req = ExecutionRequest {
            id: uuid::Uuid::new_v4(),
            command: Command::Exec {
                program: "cat".into(),
                args: vec![log.to_str().unwrap().into()],
            },
            env: Default::default(),
            working_dir: None,
            timeout_ms: None,
            metadata: Default::default(),
        };
        rt.block_on(async {
            let t = Instant::now();
            let id = engine.execute(req).await.unwrap();
            let r = engine.wait(id).await.unwrap();
            (t.elapsed().as_secs_f64(), r)
        })
    };

    // Best of three for each, alternating, in the same run.
    let (mut sed_s, mut capped_s, mut full_s) = (f64::MAX, f64::MAX, f64::MAX);
    let mut full = None;
    for _ in 0..3 {
        sed_s = sed_s.min(sed(&log, true).0);
        let (s, r) = run(ExecutionConfig::default().max_output_bytes);
        assert_eq!(r.stdout_bytes as usize, size, "the plugin saw every byte");
        capped_s = capped_s.min(s);
        let (s, r) = run(256 << 20);
        assert!(!r.stdout_truncated);
        full_s = full_s.min(s);
        full = Some(r);
    }
    let full = full.unwrap();
    let (_, sed_out) = sed(&log, false);
    let identical = full.stdout.as_bytes() == sed_out.as_slice();
    let redactions = full.stdout.matches("[REDACTED:").count();

    println!(
        "  sed -E, to /dev/null                {:>7.1} MB/s  ({sed_s:.3} s)",
        mb / sed_s
    );
    println!(
        "  engine + redact-secrets, default cap {:>7.1} MB/s  ({capped_s:.3} s)  ratio {:.2}x  (target >= 1.5x)",
        mb / capped_s,
        sed_s / capped_s
    );
    println!(
        "  engine + redact-secrets, all 85 MB   {:>7.1} MB/s  ({full_s:.3} s)  ratio {:.2}x",
        mb / full_s,
        sed_s / full_s
    );
    println!(
        "  outputs identical: {identical}  ({redactions} redactions, {} bytes)",
        full.stdout.len()
    );
    if !identical {
        let ours = full.stdout.lines();
        let theirs = String::from_utf8_lossy(&sed_out).into_owned();
        for (a, b) in ours.zip(theirs.lines()).filter(|(a, b)| a != b).take(5) {
            println!("    engine: {a}\n    sed:    {b}");
        }
        std::process::exit(1);
    }
}
