//! What a sandbox costs, side by side in one run: its set-up in the parent, confined against unconfined `/bin/true` run serially through the engine (medians, and per part of the sandbox), and a parallel plan of 1000 confined `true` against unconfined.
//!
//! Run: `cargo bench -p cloudops-execution-engine --bench sandbox` (add `-- quick` for
//! fewer iterations, `-- parts` for the parallel cost of each part). The sandbox: read `/`, write a temp dir and /tmp, the default hidden
//! and protected paths, network none, a PID namespace, seccomp, 512 processes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cloudops_execution_engine::sandbox::{Network, Placeholders, Sandbox, prepare, probe};
use cloudops_execution_engine::{
    Command, ExecutionConfig, ExecutionEngine, ExecutionPlan, ExecutionRequest, ExecutionStatus,
    ExecutionStrategy,
};
use uuid::Uuid;

fn exec(program: &str) -> ExecutionRequest {
    ExecutionRequest {
        id: Uuid::new_v4(),
        command: Command::Exec {
            program: program.into(),
            args: Vec::new(),
        },
        env: HashMap::new(),
        working_dir: None,
        timeout_ms: None,
        metadata: Default::default(),
    }
}

/// The bench's sandbox, writing `dir` and /tmp.
fn sandbox(dir: &std::path::Path) -> Sandbox {
    let ph = Placeholders {
        cwd: dir.to_path_buf(),
        home: std::env::var_os("HOME").map_or_else(|| "/root".into(), PathBuf::from),
        tmp: "/tmp".into(),
    };
    let (hidden, protected) = Sandbox::default_paths(&ph);
    Sandbox {
        hidden,
        protected,
        max_processes: Some(512),
        ..Sandbox::new("bench", vec![dir.to_path_buf(), "/tmp".into()])
    }
}

fn engine(sandbox: Option<Sandbox>) -> ExecutionEngine {
    ExecutionEngine::new(ExecutionConfig {
        sandbox,
        die_with_engine: true,
        ..ExecutionConfig::default()
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The parent's set-up alone: `prepare` (Landlock ruleset, seccomp program, cgroup, paths)
/// and dropping it (the cgroup removed).
fn setup_cost(sb: &Sandbox, n: usize) {
    let t = Instant::now();
    let _ = cloudops_execution_engine::sandbox::probe_kernel();
    let first_probe = t.elapsed();
    let support = probe();
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let p = prepare(sb, support).unwrap();
        drop(p);
        times.push(t.elapsed());
    }
    println!("set-up in the parent (probe once, then prepare + drop per execution):");
    println!(
        "  probe of the kernel: {:8.1} us (once per process)",
        us(first_probe)
    );
    println!("  prepare+drop median of {n}: {:8.1} us", us(median(times)));
}

/// Serial `/bin/true` through engines with and without sandboxes, interleaved so that the
/// machine's noise hits them alike. Returns the medians, in the order of `variants`.
async fn serial(variants: &[(&str, Option<Sandbox>)], n: usize) -> Vec<Duration> {
    let engines: Vec<_> = variants.iter().map(|(_, s)| engine(s.clone())).collect();
    for e in &engines {
        for _ in 0..10 {
            let r = e.wait(e.execute(exec("/bin/true")).await.unwrap()).await;
            assert_eq!(r.unwrap().status, ExecutionStatus::Completed);
        }
    }
    let mut times = vec![Vec::with_capacity(n); engines.len()];
    for _ in 0..n {
        for (e, t) in engines.iter().zip(&mut times) {
            let t0 = Instant::now();
            let r = e
                .wait(e.execute(exec("/bin/true")).await.unwrap())
                .await
                .unwrap();
            t.push(t0.elapsed());
            assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
        }
    }
    times.into_iter().map(median).collect()
}

/// CPU time used so far by this process and its reaped children, user and system.
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    [UsageWho::RUSAGE_SELF, UsageWho::RUSAGE_CHILDREN]
        .into_iter()
        .filter_map(|who| getrusage(who).ok())
        .map(|u| {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        })
        .sum()
}

thread_local! {
    /// The CPU time of the last plan run on this thread.
    static CPU: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// Runs a plan of `n` `true`; its wall time (its CPU time goes to `CPU`).
async fn plan(sandbox: Option<Sandbox>, n: usize) -> Duration {
    let e = engine(sandbox);
    let plan = ExecutionPlan {
        id: Uuid::new_v4(),
        description: "bench".into(),
        strategy: ExecutionStrategy::Parallel {
            max_concurrency: Some(2),
        },
        commands: (0..n).map(|_| exec("true")).collect(),
        metadata: Default::default(),
    };
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let id = e.execute_plan(plan).await.unwrap();
    e.wait(id).await.unwrap();
    let elapsed = t.elapsed();
    CPU.with(|c| c.set(cpu_seconds() - cpu0));
    assert_eq!(e.get_plan_result(id).await.unwrap().stats.completed, n);
    elapsed
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let (n_setup, n_serial, n_plan) = if quick {
        (100, 50, 200)
    } else {
        (1000, 300, 1000)
    };
    let dir = tempfile::tempdir().unwrap();
    // A repository, so that the default protected paths exist and are mounted.
    std::fs::create_dir_all(dir.path().join(".git/hooks")).unwrap();
    std::fs::write(dir.path().join(".git/config"), "").unwrap();
    let sb = sandbox(dir.path());
    let missing = probe().missing_for(&sb);
    assert!(missing.is_empty(), "this kernel lacks: {missing:?}");

    setup_cost(&sb, n_setup);

    let rt = runtime();
    let variants = [
        ("unconfined", None),
        ("sandbox (all parts)", Some(sb.clone())),
        (
            "  without the network namespace",
            Some(Sandbox {
                network: Network::All,
                ..sb.clone()
            }),
        ),
        (
            "  without the PID namespace",
            Some(Sandbox {
                pid_namespace: false,
                ..sb.clone()
            }),
        ),
        (
            "  without the cgroup",
            Some(Sandbox {
                max_processes: None,
                ..sb.clone()
            }),
        ),
        (
            "  Landlock + seccomp + network ns",
            Some(Sandbox {
                pid_namespace: false,
                max_processes: None,
                hidden: Vec::new(),
                protected: Vec::new(),
                ..sb.clone()
            }),
        ),
        (
            "  Landlock + seccomp + mount ns",
            Some(Sandbox {
                network: Network::All,
                pid_namespace: false,
                max_processes: None,
                ..sb.clone()
            }),
        ),
        (
            "  Landlock + seccomp + cgroup",
            Some(Sandbox {
                network: Network::All,
                pid_namespace: false,
                hidden: Vec::new(),
                protected: Vec::new(),
                ..sb.clone()
            }),
        ),
        (
            "  Landlock + seccomp only",
            Some(Sandbox {
                network: Network::All,
                pid_namespace: false,
                max_processes: None,
                hidden: Vec::new(),
                protected: Vec::new(),
                ..sb.clone()
            }),
        ),
        (
            "  Landlock only",
            Some(Sandbox {
                network: Network::All,
                pid_namespace: false,
                max_processes: None,
                hidden: Vec::new(),
                protected: Vec::new(),
                seccomp: false,
                ..sb.clone()
            }),
        ),
    ];
    let medians = rt.block_on(serial(&variants, n_serial));
    println!("serial /bin/true through the engine, median of {n_serial} each (interleaved):");
    for ((name, _), m) in variants.iter().zip(&medians) {
        println!(
            "  {name:<34} {:8.1} us   (+{:7.1} us over unconfined)",
            us(*m),
            us(*m) - us(medians[0])
        );
    }
    println!(
        "  difference confined - unconfined: {:.2} ms (target <= 2 ms)",
        (us(medians[1]) - us(medians[0])) / 1000.0
    );

    if std::env::args().any(|a| a == "parts") {
        // Each part's share of the parallel cost: the plan per variant against unconfined.
        let n = n_plan / 2;
        println!("Parallel plan of {n} `true` by part (ratio over unconfined, 3 rounds, median):");
        for (name, sandbox) in &variants[1..] {
            let mut ratios: Vec<f64> = (0..3)
                .map(|_| {
                    let f = rt.block_on(plan(None, n)).as_secs_f64();
                    rt.block_on(plan(sandbox.clone(), n)).as_secs_f64() / f
                })
                .collect();
            ratios.sort_by(f64::total_cmp);
            println!("  {name:<34} {:.2}x", ratios[1]);
        }
    }

    // Rounds alternate the two, so that the machine's noise hits them alike.
    let rounds = if quick { 3 } else { 5 };
    let (mut free, mut confined) = (Vec::new(), Vec::new());
    let (mut free_cpu, mut confined_cpu) = (0.0, 0.0);
    for _ in 0..rounds {
        free.push(rt.block_on(plan(None, n_plan)));
        free_cpu += CPU.with(std::cell::Cell::get);
        confined.push(rt.block_on(plan(Some(sb.clone()), n_plan)));
        confined_cpu += CPU.with(std::cell::Cell::get);
    }
    let (free_rounds, confined_rounds) = (free.clone(), confined.clone());
    let mut ratios: Vec<f64> = free
        .iter()
        .zip(&confined)
        .map(|(f, c)| c.as_secs_f64() / f.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "Parallel {{ max_concurrency: Some(2) }} plan of {n_plan} `true`, {rounds} rounds alternated:"
    );
    println!(
        "  unconfined median {:.3} s, confined median {:.3} s, median ratio {:.3} (target <= 1.3; per round: {})",
        median(free).as_secs_f64(),
        median(confined).as_secs_f64(),
        ratios[ratios.len() / 2],
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let secs = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.3}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "  per round, s: unconfined {}; confined {}",
        secs(&free_rounds),
        secs(&confined_rounds)
    );
    println!(
        "  CPU time (engine and commands, user + system), all rounds: unconfined {free_cpu:.3} s, confined {confined_cpu:.3} s, ratio {:.3}",
        confined_cpu / free_cpu
    );
}
