//! Benchmark of the decision under `policies/agent.toml` (the standard plugins) on live instances, as `cloudops server` decides: `ls`, a five-command pipeline and growth per simple command, beside the native floor (preparation and normalisation alone). Run with `cargo bench -p cloudops-session --bench decision`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::path::Path;
use std::time::Instant;

use cloudops_execution_engine::{
    Command, DenyApprover, ExecutionRequest, Gate, GateContext, Preparer,
};

fn request(command: Command) -> ExecutionRequest {
    let mut r = ExecutionRequest {
        id: uuid::Uuid::new_v4(),
        command,
        env: Default::default(),
        working_dir: Some("/tmp".into()),
        // The engine applies the policy's default timeout (2m) before its gate sees a
        // request; without one, `limits` would rewrite every request to set its own.
        timeout_ms: Some(120_000),
        metadata: Default::default(),
    };
    r.metadata.source = Some("agent".into());
    r
}

fn shell(script: &str) -> ExecutionRequest {
    request(Command::Shell {
        command: script.into(),
        shell: "bash".into(),
    })
}

/// A script of `n` simple commands: `grep … | sort | head` chains, joined by `;`.
fn script_of(n: usize) -> String {
    let words = ["grep -n needle /tmp/x.log", "sort -u", "head -n 5"];
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push_str(if i % 3 == 0 { "; " } else { " | " });
        }
        s.push_str(words[i % 3]);
    }
    s
}

/// Median and 99th percentile of `f` over `n` runs (after a warm-up), in µs.
fn measure(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..n / 10 + 10 {
        f();
    }
    let mut v: Vec<u64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos() as u64
        })
        .collect();
    v.sort_unstable();
    (
        v[v.len() / 2] as f64 / 1e3,
        v[v.len() * 99 / 100] as f64 / 1e3,
    )
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runs: usize = std::env::var("CLOUDOPS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let policy = cloudops_session::compile(&root.join("policies/agent.toml")).unwrap();
    let gate = cloudops_session::build_gate(policy, None).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let preparer = Preparer::default_for_process();
    let mut cases: Vec<(String, ExecutionRequest)> = vec![
        (
            "ls".into(),
            request(Command::Exec {
                program: "ls".into(),
                args: vec![],
            }),
        ),
        (
            "five-command pipeline".into(),
            shell("cat /etc/passwd | grep -v nologin | cut -d: -f1 | sort | head -n 5"),
        ),
    ];
    for n in [1, 10, 30, 90] {
        cases.push((format!("script of {n} commands"), shell(&script_of(n))));
    }
    println!("== decision under policies/agent.toml, live instances (p50 / p99 µs; n={runs} each)");
    println!(
        "  {:<24} {:>18} {:>18} {:>16}",
        "request", "gate (server)", "elapsed_us p50", "native floor"
    );
    let mut growth = Vec::new();
    for (name, req) in &cases {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        let prepared = preparer.prepare(req).unwrap();
        let ctx = GateContext {
            approver: &DenyApprover,
            prepared: Some(&prepared),
            preparer,
        };
        let mut elapsed = Vec::with_capacity(runs);
        let mut steps: Vec<(String, Vec<u64>)> = Vec::new();
        let mut denied = 0usize;
        // What the decision server does per request: prepare, then the gate.
        let (p50, p99) = measure(runs, || {
            rt.block_on(async {
                let prepared = preparer.prepare(req).unwrap();
                let ctx = GateContext {
                    approver: &DenyApprover,
                    prepared: Some(&prepared),
                    preparer,
                };
                let out = gate.check(req, &ctx).await.unwrap();
                // A plugin over its budget (a busy machine) fails closed: counted, not fatal.
                if !out.record.allowed {
                    denied += 1;
                    if denied == 1 {
                        eprintln!("  ({name}: denied: {:?})", out.record.reason);
                    }
                }
                elapsed.push(out.record.elapsed_us);
                for s in &out.record.steps {
                    if s.verdict != cloudops_execution_engine::Verdict::Allow && elapsed.len() == 1
                    {
                        eprintln!(
                            "  ({name}: {} answers {:?}: {:?})",
                            s.plugin, s.verdict, s.reason
                        );
                    }
                    match steps.iter_mut().find(|(p, _)| *p == s.plugin) {
                        Some((_, v)) => v.push(s.elapsed_us),
                        None => steps.push((s.plugin.clone(), vec![s.elapsed_us])),
                    }
                }
            })
        });
        elapsed.sort_unstable();
        let e50 = elapsed[elapsed.len() / 2];
        // The floor: what the host does natively before any plugin runs (preparation,
        // normalisation, path resolution).
        let (f50, _) = measure(runs, || {
            let prepared = preparer.prepare(req).unwrap();
            let n = cloudops_normalize::normalize_prepared(req, Some(&prepared));
            let r = cloudops_normalize::resolve_paths(req, &n);
            std::hint::black_box((n, r));
        });
        let _ = ctx;
        println!("  {name:<24} {p50:>8.1} / {p99:>7.1} {e50:>18} {f50:>16.1}");
        let per_plugin: Vec<String> = steps
            .iter_mut()
            .map(|(p, v)| {
                v.sort_unstable();
                format!("{p} {}", v[v.len() / 2])
            })
            .collect();
        println!(
            "    per plugin (step elapsed_us p50): {}",
            per_plugin.join(", ")
        );
        if let Some(n) = name
            .strip_prefix("script of ")
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse::<f64>().ok())
        {
            growth.push((n, p50, f50));
        }
    }
    if let (Some(a), Some(b)) = (growth.first(), growth.last())
        && b.0 > a.0
    {
        println!(
            "  growth per simple command: gate {:.1} µs, native floor {:.1} µs (target <= 5 µs)",
            (b.1 - a.1) / (b.0 - a.0),
            (b.2 - a.2) / (b.0 - a.0)
        );
    }
    println!("  targets: ls <= 40 µs, five-command pipeline <= 80 µs");
}
