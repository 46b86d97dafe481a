//! The soak run shared by `benches/soak.rs` (10 000 executions, `scripts/soak.sh`) and `tests/soak.rs` (a short run in CI).
//!
//! Executions go through `soak/policy.toml` (three built-in plugins: env-guard,
//! deny-commands, redact-secrets, loaded through cloudops-policy) into one engine with a
//! decision log, `concurrency` at a time, in batches. The mix, by execution number modulo 20:
//! successes (shell and exec, some printing a key the redaction plugin must hide), failures
//! (exit 1), timeouts, cancellations, and a denial. After each batch (nothing in flight)
//! it samples open fds (`/proc/self/fd`), threads and RSS (`/proc/self/status`), and
//! checks retention: exactly the last `retain_max` results are retrievable with
//! `get_result`, each the same as when it finished, and older ones are gone (`NotFound`).
//! It fails if fds or threads grow after warm-up or RSS grows by more than `rss_bound`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudops_execution_engine::{
    Command, ExecutionConfig, ExecutionEngine, ExecutionError, ExecutionMetadata, ExecutionRequest,
    ExecutionStatus,
};
use cloudops_plugin_host::{ChainGate, HostConfig, PluginHost};
use cloudops_policy::{CompileOptions, Fsync, JsonlSink, LoadedPolicy};
use uuid::Uuid;

/// How big a soak run is and what it tolerates.
#[derive(Debug, Clone)]
pub struct Options {
    /// Executions in total.
    pub executions: usize,
    /// Executions in flight at once.
    pub concurrency: usize,
    /// Executions between two samples.
    pub batch: usize,
    /// Executions before the baseline sample.
    pub warmup: usize,
    /// The engine's `retain_max` (smaller than `executions`, so retirement happens).
    pub retain_max: usize,
    /// Allowed RSS growth after warm-up, in bytes.
    pub rss_bound: u64,
    /// Allowed growth of open fds after warm-up (the second half of the run against the first).
    pub fd_slack: usize,
    /// Allowed growth of threads after warm-up, likewise. Tokio's blocking pool (the
    /// `/proc` scan of `hunt_escapees` runs there) adds a thread when every one is busy, up
    /// to one per execution in flight, so after a short warm-up it may still be filling:
    /// up to `concurrency` is growth that stops, not a leak.
    pub thread_slack: usize,
    /// Print a line per sample.
    pub verbose: bool,
}

/// One sample of the process's resources.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Executions finished so far.
    pub executions: usize,
    /// Open file descriptors.
    pub fds: usize,
    /// Threads.
    pub threads: usize,
    /// Resident set size, bytes.
    pub rss: u64,
}

/// What a soak run measured.
#[derive(Debug)]
pub struct Report {
    /// Every sample, warm-up included.
    pub samples: Vec<Sample>,
    /// The first sample after warm-up.
    pub baseline: Sample,
    /// Executions by outcome: completed, failed, timed out, cancelled, denied.
    pub counts: HashMap<&'static str, usize>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Lines in the decision log.
    pub log_lines: usize,
}

/// What an execution should come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Succeed,
    SucceedWithSecret,
    Fail,
    Timeout,
    Cancel,
    Denied,
}

fn kind(n: usize) -> Kind {
    match n % 20 {
        0..=4 | 19 => Kind::Succeed,
        5..=9 => Kind::SucceedWithSecret,
        10..=13 => Kind::Fail,
        14 | 15 => Kind::Timeout,
        16 | 17 => Kind::Cancel,
        _ => Kind::Denied,
    }
}

const KEY: &str = "AKIAABCDEFGHIJKLMNOP";

fn request(n: usize) -> ExecutionRequest {
    let shell = |s: String| Command::Shell {
        command: s,
        shell: "bash".into(),
    };
    let exec = |p: &str, args: &[String]| Command::Exec {
        program: p.into(),
        args: args.to_vec(),
    };
    let (command, timeout_ms) = match kind(n) {
        Kind::Succeed if n.is_multiple_of(2) => (exec("echo", &[format!("ok-{n}")]), 30_000),
        Kind::Succeed => (shell(format!("echo ok-{n}")), 30_000),
        Kind::SucceedWithSecret => (shell(format!("echo ok-{n}; echo key={KEY} >&2")), 30_000),
        Kind::Fail if n.is_multiple_of(2) => (exec("false", &[]), 30_000),
        Kind::Fail => (shell(format!("echo failing-{n} >&2; exit 1")), 30_000),
        Kind::Timeout => (exec("sleep", &["10".into()]), 50),
        Kind::Cancel => (exec("sleep", &["10".into()]), 30_000),
        Kind::Denied => (shell("rm -rf /".into()), 30_000),
    };
    ExecutionRequest {
        id: Uuid::new_v4(),
        command,
        env: HashMap::new(),
        working_dir: None,
        timeout_ms: Some(timeout_ms),
        metadata: ExecutionMetadata {
            source: Some("soak".into()),
            ..Default::default()
        },
    }
}

/// What a finished execution looked like when `wait` returned it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    id: Uuid,
    status: ExecutionStatus,
    exit_code: i32,
    stdout: String,
    stderr: String,
    /// `finished_at` in nanoseconds: the order results are stored, hence retired, in.
    finished_ns: i64,
}

/// Runs execution `n` to its end and checks its result; `None` for a denial.
async fn one(engine: &ExecutionEngine, n: usize) -> Result<Option<Seen>, String> {
    let k = kind(n);
    let req = request(n);
    let id = match engine.execute(req).await {
        Ok(id) => id,
        Err(ExecutionError::Denied { plugin, .. }) if k == Kind::Denied => {
            if plugin != "deny-commands" {
                return Err(format!("execution {n}: denied by {plugin}"));
            }
            return Ok(None);
        }
        Err(e) => return Err(format!("execution {n} ({k:?}): {e}")),
    };
    if k == Kind::Denied {
        return Err(format!("execution {n}: `rm -rf /` was allowed"));
    }
    if k == Kind::Cancel {
        tokio::time::sleep(Duration::from_millis(20)).await;
        engine
            .cancel(id)
            .await
            .map_err(|e| format!("cancel {n}: {e}"))?;
    }
    let r = engine
        .wait(id)
        .await
        .map_err(|e| format!("wait {n}: {e}"))?;
    let want = match k {
        Kind::Succeed | Kind::SucceedWithSecret => (ExecutionStatus::Completed, 0),
        Kind::Fail => (ExecutionStatus::Failed, 1),
        Kind::Timeout => (ExecutionStatus::Timeout, 124),
        Kind::Cancel => (ExecutionStatus::Cancelled, 130),
        Kind::Denied => unreachable!("returned above"),
    };
    if (r.status, r.exit_code) != want {
        return Err(format!(
            "execution {n} ({k:?}): {} exit {} ({:?}), expected {want:?}",
            r.status, r.exit_code, r.error
        ));
    }
    let ok = match k {
        Kind::Succeed => r.stdout == format!("ok-{n}\n"),
        Kind::SucceedWithSecret => {
            r.stdout == format!("ok-{n}\n")
                && r.stderr.contains("[REDACTED")
                && !r.stderr.contains(KEY)
        }
        _ => true,
    };
    if !ok {
        return Err(format!(
            "execution {n} ({k:?}): stdout {:?} stderr {:?}",
            r.stdout, r.stderr
        ));
    }
    Ok(Some(Seen {
        id,
        status: r.status,
        exit_code: r.exit_code,
        finished_ns: r.finished_at.timestamp_nanos_opt().unwrap_or_default(),
        stdout: r.stdout,
        stderr: r.stderr,
    }))
}

fn status_field(name: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The process's fds, threads and RSS now.
pub fn sample(executions: usize) -> Sample {
    Sample {
        executions,
        fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
        threads: status_field("Threads:") as usize,
        rss: status_field("VmRSS:") * 1024,
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An engine gated by the soak policy, logging decisions to `log`, with a plugin cache in `cache`.
fn engine(cache: &Path, log: &Path, retain_max: usize) -> Result<ExecutionEngine, String> {
    let opts = CompileOptions::with_builtins(cloudops_builtin_plugins::names());
    let path = repo().join("soak/policy.toml");
    let policy = cloudops_policy::load_file(&path, &opts).map_err(|e| e.to_string())?;
    let host = PluginHost::new(HostConfig {
        cache_dir: Some(cache.to_path_buf()),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let loaded = LoadedPolicy::load(
        Arc::new(policy),
        None,
        &host,
        cloudops_builtin_plugins::lookup,
    )
    .map_err(|e| e.to_string())?;
    let sink = JsonlSink::open(log, Fsync::Never).map_err(|e| e.to_string())?;
    Ok(ExecutionEngine::new(
        ExecutionConfig {
            retain_max,
            kill_grace: Duration::from_millis(500),
            hunt_escapees: true,
            ..ExecutionConfig::default()
        }
        .with_gate(Arc::new(ChainGate::new(host, Arc::new(loaded))))
        .with_decision_sink(Arc::new(sink)),
    ))
}

/// Retention at a quiet moment: exactly the last `retain_max` results are there, unchanged.
async fn check_retention(
    engine: &ExecutionEngine,
    done: &[Seen],
    retain_max: usize,
    margin: usize,
) -> Result<(), String> {
    let mut present = 0;
    for (i, seen) in done.iter().enumerate() {
        let age = done.len() - i; // 1 = the most recent
        match engine.get_result(seen.id).await {
            Ok(r) => {
                present += 1;
                let now = Seen {
                    id: r.execution_id,
                    status: r.status,
                    exit_code: r.exit_code,
                    finished_ns: r.finished_at.timestamp_nanos_opt().unwrap_or_default(),
                    stdout: r.stdout,
                    stderr: r.stderr,
                };
                if &now != seen {
                    return Err(format!("{}: result changed: {now:?} vs {seen:?}", seen.id));
                }
                if age > retain_max + margin {
                    return Err(format!(
                        "{} still retrievable {age} executions later (retain_max {retain_max})",
                        seen.id
                    ));
                }
            }
            Err(ExecutionError::NotFound(_)) => {
                if age + margin <= retain_max {
                    return Err(format!(
                        "{} retired after only {age} executions (retain_max {retain_max})",
                        seen.id
                    ));
                }
            }
            Err(e) => return Err(format!("{}: {e}", seen.id)),
        }
    }
    let want = done.len().min(retain_max);
    if present != want {
        return Err(format!(
            "{present} results retrievable after {} executions, expected {want}",
            done.len()
        ));
    }
    Ok(())
}

/// Runs the soak; `Err` says what went wrong (a wrong result, lost retention, growth).
pub async fn run(opts: &Options) -> Result<Report, String> {
    let t0 = Instant::now();
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let log = scratch.path().join("decisions.jsonl");
    let engine = Arc::new(engine(scratch.path(), &log, opts.retain_max)?);
    let limit = Arc::new(tokio::sync::Semaphore::new(opts.concurrency));
    let mut done: Vec<Seen> = Vec::with_capacity(opts.executions);
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    let mut samples = Vec::new();
    let mut baseline = None;
    let mut n = 0;
    if opts.verbose {
        println!(
            "{:>10} {:>6} {:>8} {:>10} {:>8}",
            "executions", "fds", "threads", "RSS KiB", "elapsed"
        );
    }
    while n < opts.executions {
        let end = (n + opts.batch).min(opts.executions);
        let mut tasks = tokio::task::JoinSet::new();
        for i in n..end {
            let (engine, limit) = (engine.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.map_err(|e| e.to_string())?;
                one(&engine, i).await.map(|s| (i, s))
            });
        }
        let mut batch = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            batch.push(joined.map_err(|e| format!("task: {e}"))??);
        }
        // Results are retired in the order they were stored, close to their finish time
        // (the check allows `concurrency` of slack for ties between tasks).
        batch.sort_by_key(|(_, s)| s.as_ref().map_or(0, |s| s.finished_ns));
        for (i, seen) in batch {
            let label = match (kind(i), &seen) {
                (_, None) => "denied",
                (Kind::Fail, _) => "failed",
                (Kind::Timeout, _) => "timed out",
                (Kind::Cancel, _) => "cancelled",
                _ => "completed",
            };
            *counts.entry(label).or_default() += 1;
            done.extend(seen);
        }
        n = end;
        check_retention(&engine, &done, opts.retain_max, opts.concurrency).await?;
        let s = sample(n);
        if opts.verbose {
            println!(
                "{:>10} {:>6} {:>8} {:>10} {:>7.1}s",
                s.executions,
                s.fds,
                s.threads,
                s.rss >> 10,
                t0.elapsed().as_secs_f64()
            );
        }
        samples.push(s);
        if baseline.is_none() && n >= opts.warmup {
            baseline = Some(s);
        }
    }
    let baseline = baseline.ok_or("the run ended before its warm-up")?;
    let log_lines = std::fs::read_to_string(&log)
        .map_err(|e| e.to_string())?
        .lines()
        .count();
    let report = Report {
        samples,
        baseline,
        counts,
        elapsed: t0.elapsed(),
        log_lines,
    };
    report.verdict(opts)?;
    Ok(report)
}

impl Report {
    /// The samples after warm-up (the baseline first).
    pub fn after_warmup(&self) -> &[Sample] {
        let i = self
            .samples
            .iter()
            .position(|s| s.executions == self.baseline.executions)
            .unwrap_or(0);
        &self.samples[i..]
    }

    /// Checks the figures against the bounds of `opts`.
    pub fn verdict(&self, opts: &Options) -> Result<(), String> {
        let after = self.after_warmup();
        let (first, second) = after.split_at(after.len().div_ceil(2));
        let max = |xs: &[Sample], f: fn(&Sample) -> usize| xs.iter().map(f).max().unwrap_or(0);
        for (what, f, slack) in [
            (
                "open fds",
                (|s: &Sample| s.fds) as fn(&Sample) -> usize,
                opts.fd_slack,
            ),
            ("threads", |s: &Sample| s.threads, opts.thread_slack),
        ] {
            let (a, b) = (max(first, f), max(second, f));
            if b > a + slack {
                return Err(format!(
                    "{what} grew after warm-up: at most {a} in the first half, {b} in the second"
                ));
            }
        }
        let last = after.last().map_or(0, |s| s.rss);
        let peak = after.iter().map(|s| s.rss).max().unwrap_or(0);
        if peak > self.baseline.rss + opts.rss_bound {
            return Err(format!(
                "RSS grew by {} KiB after warm-up (bound {} KiB; last {} KiB)",
                (peak - self.baseline.rss) >> 10,
                opts.rss_bound >> 10,
                last >> 10
            ));
        }
        let executed: usize = self.counts.values().sum();
        let denied = self.counts.get("denied").copied().unwrap_or(0);
        if self.log_lines != executed * 2 - denied {
            return Err(format!(
                "the decision log has {} lines for {executed} executions ({denied} denied)",
                self.log_lines
            ));
        }
        Ok(())
    }

    /// A summary: counts, the baseline and the end, the peak.
    pub fn summary(&self) -> String {
        let after = self.after_warmup();
        let last = after.last().copied().unwrap_or(self.baseline);
        let peak = |f: fn(&Sample) -> u64| after.iter().map(f).max().unwrap_or(0);
        let mut counts: Vec<_> = self.counts.iter().collect();
        counts.sort();
        let executed: usize = self.counts.values().sum();
        format!(
            "{executed} executions in {:.1}s ({:.0}/s): {}\n\
             after warm-up ({} executions): fds {} -> {} (max {}), threads {} -> {} (max {}), \
             RSS {} -> {} KiB (max {} KiB); decision log: {} lines",
            self.elapsed.as_secs_f64(),
            executed as f64 / self.elapsed.as_secs_f64(),
            counts
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.baseline.executions,
            self.baseline.fds,
            last.fds,
            peak(|s| s.fds as u64),
            self.baseline.threads,
            last.threads,
            peak(|s| s.threads as u64),
            self.baseline.rss >> 10,
            last.rss >> 10,
            peak(|s| s.rss) >> 10,
            self.log_lines,
        )
    }
}
