//! Engine benchmarks against their baselines, printed as ratios: spawn overhead, parallel plans vs `xargs -P2`, memory under a flood of output, 1000 concurrent executions.
//!
//! Run: `cargo bench -p cloudops-execution-engine --bench engine` (add `-- quick` for
//! fewer iterations). Memory figures come from child processes of this binary, so each
//! peak RSS is measured on its own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cloudops_execution_engine::{
    Command, ExecutionConfig, ExecutionEngine, ExecutionPlan, ExecutionRequest, ExecutionStatus,
    ExecutionStrategy,
};
use uuid::Uuid;

fn request(command: Command) -> ExecutionRequest {
    ExecutionRequest {
        id: Uuid::new_v4(),
        command,
        env: HashMap::new(),
        working_dir: None,
        timeout_ms: None,
        metadata: Default::default(),
    }
}

fn exec(program: &str, args: &[&str]) -> ExecutionRequest {
    request(Command::Exec {
        program: program.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
    })
}

/// Peak resident set size of this process, in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn spawn_overhead(n: usize) {
    let rt = runtime();
    rt.block_on(async {
        let engine = ExecutionEngine::new(ExecutionConfig::default());
        // Warm up both paths.
        for _ in 0..20 {
            let id = engine.execute(exec("/bin/true", &[])).await.unwrap();
            engine.wait(id).await.unwrap();
            tokio::process::Command::new("/bin/true").status().await.unwrap();
        }
        let mut bare_inherit = Duration::ZERO;
        let mut bare_piped = Duration::ZERO;
        let mut ours = Duration::ZERO;
        // Interleave the three so that machine noise hits them alike.
        for _ in 0..n {
            let t = Instant::now();
            tokio::process::Command::new("/bin/true")
                .spawn()
                .unwrap()
                .wait()
                .await
                .unwrap();
            bare_inherit += t.elapsed();

            let t = Instant::now();
            tokio::process::Command::new("/bin/true")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
                .wait_with_output()
                .await
                .unwrap();
            bare_piped += t.elapsed();

            let t = Instant::now();
            let id = engine.execute(exec("/bin/true", &[])).await.unwrap();
            let r = engine.wait(id).await.unwrap();
            ours += t.elapsed();
            assert_eq!(r.status, ExecutionStatus::Completed);
        }
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!("spawn + wait of /bin/true, {n} each (mean per run):");
        println!("  bare tokio spawn+wait (inherited stdio): {:8.1} us", per(bare_inherit));
        println!("  bare tokio spawn+wait_with_output (piped): {:6.1} us", per(bare_piped));
        println!("  engine execute+wait:                      {:6.1} us", per(ours));
        println!(
            "  ratio engine / bare(piped) = {:.3}   ratio engine / bare(inherit) = {:.3}   (target <= 1.10)",
            ours.as_secs_f64() / bare_piped.as_secs_f64(),
            ours.as_secs_f64() / bare_inherit.as_secs_f64()
        );
    });
}

fn parallel_plan(n: usize) {
    let rt = runtime();
    let ours = rt.block_on(async {
        let engine = ExecutionEngine::new(ExecutionConfig::default());
        let steps: Vec<_> = (0..n).map(|_| exec("true", &[])).collect();
        let plan = ExecutionPlan {
            id: Uuid::new_v4(),
            description: "bench".into(),
            strategy: ExecutionStrategy::Parallel {
                max_concurrency: Some(2),
            },
            commands: steps,
            metadata: Default::default(),
        };
        let t = Instant::now();
        let id = engine.execute_plan(plan).await.unwrap();
        let r = engine.get_plan_result_after_wait(id).await;
        let elapsed = t.elapsed();
        assert_eq!(r, n);
        elapsed
    });
    let input: String = (0..n).map(|_| "x\n").collect();
    let t = Instant::now();
    let mut child = std::process::Command::new("xargs")
        .args(["-P2", "-n1", "true"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let xargs = t.elapsed();
    println!("Parallel {{ max_concurrency: Some(2) }} plan of {n} `true` vs `xargs -P2 -n1 true`:");
    println!(
        "  engine {:.3} s, xargs {:.3} s, ratio {:.3} (target <= 1.0)",
        ours.as_secs_f64(),
        xargs.as_secs_f64(),
        ours.as_secs_f64() / xargs.as_secs_f64()
    );
}

trait WaitPlan {
    async fn get_plan_result_after_wait(&self, id: Uuid) -> usize;
}

impl WaitPlan for ExecutionEngine {
    async fn get_plan_result_after_wait(&self, id: Uuid) -> usize {
        self.wait(id).await.unwrap();
        self.get_plan_result(id).await.unwrap().stats.completed
    }
}

/// Throughput of the output path (no plugins): `cat` of an 85 MB log through the engine.
fn throughput() {
    let dir = std::env::temp_dir().join(format!("cloudops-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("log.txt");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let mut n = 0usize;
        let mut i = 0u64;
        while n < 85_000_000 {
            let line = format!(
                "2026-11-26T03:55:00Z INFO request {i} served in {} ms by worker-{}\n",
                i % 997,
                i % 13
            );
            w.write_all(line.as_bytes()).unwrap();
            n += line.len();
            i += 1;
        }
    }
    let rt = runtime();
    let (bytes, secs) = rt.block_on(async {
        let engine = ExecutionEngine::new(ExecutionConfig::default());
        let t = Instant::now();
        let id = engine
            .execute(exec("cat", &[file.to_str().unwrap()]))
            .await
            .unwrap();
        let r = engine.wait(id).await.unwrap();
        (r.stdout_bytes, t.elapsed().as_secs_f64())
    });
    let t = Instant::now();
    std::process::Command::new("cat")
        .arg(&file)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let cat = t.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&dir).unwrap();
    println!("output path, 85 MB of log lines through `cat` (no plugins):");
    println!(
        "  engine {:.0} MB/s (cat > /dev/null alone: {:.0} MB/s)",
        bytes as f64 / 1e6 / secs,
        bytes as f64 / 1e6 / cat
    );
}

/// Child mode: one execution writing 1 GB to stdout with the default cap.
fn flood() {
    let rt = runtime();
    let r = rt.block_on(async {
        let engine = ExecutionEngine::new(ExecutionConfig::default());
        let req = request(Command::Shell {
            command: "head -c 1000000000 /dev/zero | tr '\\0' 'x' | fold -w 99".into(),
            shell: "bash".into(),
        });
        let t = Instant::now();
        let id = engine.execute(req).await.unwrap();
        let r = engine.wait(id).await.unwrap();
        (r, t.elapsed())
    });
    let (r, elapsed) = r;
    assert!(r.stdout_truncated);
    println!(
        "  1 GB to stdout: {} bytes seen, {} kept, {:.2} s ({:.0} MB/s), peak RSS {:.1} MiB (target <= 32)",
        r.stdout_bytes,
        r.stdout.len(),
        elapsed.as_secs_f64(),
        r.stdout_bytes as f64 / 1e6 / elapsed.as_secs_f64(),
        peak_rss_mib()
    );
}

/// Child mode: 1000 concurrent `sleep 1`.
fn thousand() {
    let rt = runtime();
    let (ok, elapsed) = rt.block_on(async {
        let engine = std::sync::Arc::new(ExecutionEngine::new(ExecutionConfig::default()));
        let t = Instant::now();
        let mut ids = Vec::new();
        for _ in 0..1000 {
            ids.push(engine.execute(exec("sleep", &["1"])).await.unwrap());
        }
        let mut ok = 0;
        for id in ids {
            if engine.wait(id).await.unwrap().status == ExecutionStatus::Completed {
                ok += 1;
            }
        }
        (ok, t.elapsed())
    });
    println!(
        "  1000 concurrent `sleep 1`: {ok}/1000 completed in {:.2} s, peak RSS {:.1} MiB (target <= 150)",
        elapsed.as_secs_f64(),
        peak_rss_mib()
    );
}

fn in_child(mode: &str) {
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new(exe).arg(mode).status().unwrap();
    assert!(status.success(), "{mode} failed");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "child-flood") {
        return flood();
    }
    if args.iter().any(|a| a == "child-thousand") {
        return thousand();
    }
    let quick = args.iter().any(|a| a == "quick");
    let n = if quick { 200 } else { 1000 };
    spawn_overhead(n);
    parallel_plan(n);
    throughput();
    println!("memory (each in its own process):");
    in_child("child-flood");
    in_child("child-thousand");
}
