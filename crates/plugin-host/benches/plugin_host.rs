//! Benchmarks of the plugin host (run with `cargo bench -p cloudops-plugin-host`): chain decision latency vs native rules and fresh instances, redaction throughput vs sed, cold compile vs cached load.

#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/it/common.rs"]
mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudops_execution_engine::{
    Command, DenyApprover, ExecutionConfig, ExecutionEngine, ExecutionRequest, GateContext,
};
use cloudops_plugin_host::{
    ChainGate, HostConfig, LoadedPlugin, PluginHost, PluginSource, PluginSpec, StaticSelector,
};

fn percentiles(mut v: Vec<u64>) -> (u64, u64) {
    v.sort_unstable();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn chain(host: &PluginHost) -> Vec<Arc<LoadedPlugin>> {
    let spec = |name: &str, cfg: &str| {
        PluginSpec::new(name, PluginSource::Path(common::plugin_path(name))).with_config(cfg)
    };
    vec![
        host.load(&spec("allow-all", "{}")).unwrap(),
        host.load(&spec(
            "deny-pattern",
            r#"{"substrings":["rm -rf","mkfs"],"programs":["shutdown","reboot"]}"#,
        ))
        .unwrap(),
        host.load(&spec(
            "rewrite",
            r#"{"max_timeout_ms":600000,"strip_env":["AWS_SECRET_ACCESS_KEY"]}"#,
        ))
        .unwrap(),
    ]
}

fn request() -> ExecutionRequest {
    let mut r = common::shell("git status && ls -la | grep foo");
    r.timeout_ms = Some(30_000);
    r
}

/// The same three rules written natively, normalisation included: the floor.
fn native(req: &ExecutionRequest) -> bool {
    let n = cloudops_normalize::normalize(req);
    let text = match &req.command {
        Command::Shell { command, .. } => command.as_str(),
        _ => "",
    };
    if ["rm -rf", "mkfs"].iter().any(|s| text.contains(s)) {
        return false;
    }
    for c in &n.commands {
        let a0 = c.argv.first().map(|a| a.rsplit('/').next().unwrap_or(a));
        if a0.is_some_and(|a| a == "shutdown" || a == "reboot") {
            return false;
        }
    }
    let clamp = req.timeout_ms.is_none_or(|t| t > 600_000);
    let strip = req.env.contains_key("AWS_SECRET_ACCESS_KEY");
    std::hint::black_box(clamp || strip);
    true
}

fn bench_decision(rt: &tokio::runtime::Runtime) {
    println!(
        "== 1. decision latency, 3-plugin chain (allow-all, deny-pattern, rewrite), normalisation included"
    );
    let req = request();
    for (label, reuse) in [
        ("live instances (chosen)", true),
        ("fresh instance per execution", false),
    ] {
        if !reuse && std::env::var_os("CLOUDOPS_BENCH_LIVE_ONLY").is_some() {
            continue;
        }
        let host = PluginHost::new(HostConfig {
            cache_dir: Some(common::shared_cache()),
            reuse_instances: reuse,
            ..HostConfig::default()
        })
        .unwrap();
        let gate = ChainGate::new(host.clone(), Arc::new(StaticSelector(chain(&host))));
        let ctx = GateContext::unprepared(&DenyApprover);
        let n = if reuse { 20_000 } else { 3_000 };
        let times = rt.block_on(async {
            for _ in 0..500 {
                let (r, _) = gate.decide(&req, &ctx).await;
                assert!(r.allowed);
            }
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                let (r, _) = gate.decide(&req, &ctx).await;
                times.push(t.elapsed().as_nanos() as u64);
                std::hint::black_box(r);
            }
            times
        });
        let (p50, p99) = percentiles(times);
        println!(
            "  wasm chain, {label:<30} p50 {:>7.1} us   p99 {:>7.1} us   (n={n})",
            p50 as f64 / 1e3,
            p99 as f64 / 1e3
        );
    }
    let mut times = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let t = Instant::now();
        std::hint::black_box(native(std::hint::black_box(&req)));
        times.push(t.elapsed().as_nanos() as u64);
    }
    let (p50, p99) = percentiles(times);
    println!(
        "  native rules (floor)                         p50 {:>7.1} us   p99 {:>7.1} us",
        p50 as f64 / 1e3,
        p99 as f64 / 1e3
    );
}

/// 85 MB of log lines, 1% holding an access key id.
fn write_log(path: &std::path::Path) -> usize {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut written = 0;
    let mut i = 0u64;
    while written < 85_000_000 {
        let r = next();
        let line = if r % 100 == 0 {
            let key: String = (0..16)
                .map(|k| ALNUM[((r >> (k * 3)) % 36) as usize] as char)
                .collect();
            format!(
                "2026-11-26T03:{:02}:{:02}Z INFO deploy step={i} credentials loaded access_key=AKIA{key} region=eu-west-1\n",
                i % 60,
                (i / 60) % 60
            )
        } else {
            format!(
                "2026-11-26T03:{:02}:{:02}Z INFO request id={r:016x} path=/api/v1/items/{i} status=200 bytes={} ms={}\n",
                i % 60,
                (i / 60) % 60,
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

fn bench_redaction(rt: &tokio::runtime::Runtime) {
    println!("== 2. redaction throughput: 85 MB of log lines, 1% with an AWS access key id");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let size = write_log(&log);
    let mb = size as f64 / 1e6;

    let t = Instant::now();
    let status = std::process::Command::new("sed")
        .args(["-E", "s/AKIA[0-9A-Z]{16}/[REDACTED]/g"])
        .arg(&log)
        .stdout(std::fs::File::create("/dev/null").unwrap())
        .status()
        .unwrap();
    let sed_s = t.elapsed().as_secs_f64();
    assert!(status.success());
    let sed_out = std::process::Command::new("sed")
        .args(["-E", "s/AKIA[0-9A-Z]{16}/[REDACTED]/g"])
        .arg(&log)
        .output()
        .unwrap()
        .stdout;

    let host = PluginHost::new(HostConfig {
        cache_dir: Some(common::shared_cache()),
        ..HostConfig::default()
    })
    .unwrap();
    let redact = host
        .load(&PluginSpec::new(
            "redact",
            PluginSource::Path(common::plugin_path("redact")),
        ))
        .unwrap();
    let run = |gate: Option<ChainGate>, max_output_bytes: usize| {
        let mut cfg = ExecutionConfig {
            max_output_bytes,
            ..ExecutionConfig::default()
        };
        if let Some(g) = gate {
            cfg = cfg.with_gate(Arc::new(g));
        }
        let engine = ExecutionEngine::new(cfg);
        let req = common::exec("cat", &[log.to_str().unwrap()]);
        rt.block_on(async {
            let t = Instant::now();
            let id = engine.execute(req).await.unwrap();
            let r = engine.wait(id).await.unwrap();
            (t.elapsed().as_secs_f64(), r)
        })
    };
    let gate = || ChainGate::new(host.clone(), Arc::new(StaticSelector(vec![redact.clone()])));
    let default_cap = ExecutionConfig::default().max_output_bytes;
    // Best of three, alternating with sed, in the same run. "default cap": every byte goes
    // through the plugin and the result keeps the first 8 MiB (how a user runs it); "all":
    // the result keeps all 85 MB (and `wait` hands back a copy of it).
    let (mut sed_best, mut capped, mut full_s, mut plain_s) = (sed_s, f64::MAX, f64::MAX, f64::MAX);
    let mut full = None;
    for _ in 0..3 {
        let t = Instant::now();
        let status = std::process::Command::new("sed")
            .args(["-E", "s/AKIA[0-9A-Z]{16}/[REDACTED]/g"])
            .arg(&log)
            .stdout(std::fs::File::create("/dev/null").unwrap())
            .status()
            .unwrap();
        assert!(status.success());
        sed_best = sed_best.min(t.elapsed().as_secs_f64());
        let (s, r) = run(Some(gate()), default_cap);
        assert_eq!(r.stdout_bytes as usize, size);
        capped = capped.min(s);
        let (s, r) = run(Some(gate()), 256 << 20);
        assert!(!r.stdout_truncated);
        full_s = full_s.min(s);
        full = Some(r);
        plain_s = plain_s.min(run(None, default_cap).0);
    }
    let sed_s = sed_best;
    let r = full.unwrap();
    let identical = r.stdout.as_bytes() == sed_out.as_slice();
    println!(
        "  sed -E (to /dev/null)                 {:>8.1} MB/s  ({sed_s:.3} s)",
        mb / sed_s
    );
    println!(
        "  engine + redact plugin, default cap   {:>8.1} MB/s  ({capped:.3} s)  ratio {:.2}x  (target >= 1.5x)",
        mb / capped,
        sed_s / capped
    );
    println!(
        "  engine + redact plugin, all 85 MB     {:>8.1} MB/s  ({full_s:.3} s)  ratio {:.2}x",
        mb / full_s,
        sed_s / full_s
    );
    println!(
        "  engine, no gate, default cap (ref.)   {:>8.1} MB/s  ({plain_s:.3} s)",
        mb / plain_s
    );
    println!(
        "  outputs identical to sed: {identical}  ({} bytes)",
        r.stdout.len()
    );
    assert!(identical, "redacted output differs from sed's");
}

fn bench_load() {
    println!("== 3. cold compile vs cached load (includes instantiate + init)");
    for name in ["redact", "hostile"] {
        let dir = tempfile::tempdir().unwrap();
        let host = PluginHost::new(HostConfig {
            cache_dir: Some(dir.path().to_path_buf()),
            ..HostConfig::default()
        })
        .unwrap();
        let spec = PluginSpec::new(name, PluginSource::Path(common::plugin_path(name)))
            .with_config(r#"{"attack":"none"}"#);
        let t = Instant::now();
        let (_, a) = host.load_reporting_cache(&spec).unwrap();
        let cold = t.elapsed();
        let mut warm = Duration::MAX;
        for _ in 0..20 {
            let t = Instant::now();
            let (_, b) = host.load_reporting_cache(&spec).unwrap();
            warm = warm.min(t.elapsed());
            assert_eq!(b, cloudops_plugin_host::CacheOutcome::Hit);
        }
        let size = std::fs::metadata(common::plugin_path(name)).unwrap().len();
        println!(
            "  {name:<8} ({:>4} KiB)  cold compile {:>8.2} ms ({a:?})   cached load {:>6.2} ms",
            size / 1024,
            cold.as_secs_f64() * 1e3,
            warm.as_secs_f64() * 1e3
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a test run (`cargo test --benches`) passes nothing we need.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // `cargo bench -p cloudops-plugin-host -- decision` runs only the sections named.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |s: &str| only.is_empty() || only.iter().any(|o| s.contains(o.as_str()));
    if wanted("decision") {
        bench_decision(&rt);
    }
    if wanted("redaction") {
        bench_redaction(&rt);
    }
    if wanted("load") {
        bench_load();
    }
}
