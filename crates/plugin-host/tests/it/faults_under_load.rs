//! Plugin faults under load: 100 requests at once through one engine while one chain's plugin loops, another's exhausts its memory and another's panics; every request is decided by its failure policy within its budget, and the healthy chain's requests run as if nothing happened.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudops_execution_engine::{
    DecisionRecord, ExecutionConfig, ExecutionEngine, ExecutionError, ExecutionRequest,
    ExecutionStatus,
};
use cloudops_normalize::Normalized;
use cloudops_plugin_host::{ChainGate, FailurePolicy, LoadedPlugin, PluginSelector, Selection};

use crate::common::{host, hostile, load, shell, spec};

/// The chain a request goes through, by its `chain` tag.
struct ByTag {
    looping: Vec<Arc<LoadedPlugin>>,
    memory: Vec<Arc<LoadedPlugin>>,
    panicking: Vec<Arc<LoadedPlugin>>,
    healthy: Vec<Arc<LoadedPlugin>>,
}

impl PluginSelector for ByTag {
    fn select(&self, request: &ExecutionRequest, _: &Normalized) -> Selection {
        let plugins = match request.metadata.tags.get("chain").map(String::as_str) {
            Some("loop") => &self.looping,
            Some("memory") => &self.memory,
            Some("panic") => &self.panicking,
            Some("healthy") => &self.healthy,
            _ => {
                return Selection {
                    deny: Some("no chain tag".into()),
                    ..Selection::default()
                };
            }
        };
        Selection {
            plugins: plugins.clone(),
            ..Selection::default()
        }
    }
}

const CHAINS: [&str; 4] = ["loop", "memory", "panic", "healthy"];
const REQUESTS: usize = 100;
/// The plugins' CPU budget per call (the default).
const BUDGET: Duration = Duration::from_millis(50);

/// What happened to one request.
struct Outcome {
    chain: &'static str,
    n: usize,
    /// From `execute` called to `execute` returned (decision, and the spawn if allowed).
    latency: Duration,
    result: Decided,
}

enum Decided {
    /// Allowed; ran to the end.
    Ran(DecisionRecord, String, ExecutionStatus),
    /// Denied: the plugin, its reason, the record.
    Denied(String, String, DecisionRecord),
}

impl Decided {
    fn record(&self) -> &DecisionRecord {
        match self {
            Decided::Ran(r, _, _) | Decided::Denied(_, _, r) => r,
        }
    }
}

fn max(xs: impl Iterator<Item = Duration>) -> Duration {
    xs.max().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_looping_a_memory_hungry_and_a_panicking_plugin_under_100_concurrent_requests() {
    let deny_rm = || {
        load(&spec(
            "deny-pattern",
            r#"{"substrings":["rm -rf"],"programs":["shutdown"]}"#,
        ))
    };
    let mut panic_allow = hostile("panic", "check");
    panic_allow.on_error = FailurePolicy::Allow;
    let selector = ByTag {
        looping: vec![load(&hostile("loop", "check")), deny_rm()],
        memory: vec![load(&hostile("memory", "check")), deny_rm()],
        panicking: vec![load(&panic_allow), deny_rm()],
        healthy: vec![load(&spec("allow-all", "{}")), deny_rm()],
    };
    let gate = ChainGate::new(host(), Arc::new(selector));
    let engine = Arc::new(ExecutionEngine::new(
        ExecutionConfig::default().with_gate(Arc::new(gate)),
    ));

    // The healthy chain's decision time with nothing else going on, for comparison.
    let mut quiet = Vec::new();
    for _ in 0..10 {
        let mut req = shell("true");
        req.metadata.tags.insert("chain".into(), "healthy".into());
        let t = Instant::now();
        let id = engine.execute(req).await.unwrap();
        quiet.push(t.elapsed());
        engine.wait(id).await.unwrap();
    }

    let start = Arc::new(tokio::sync::Barrier::new(REQUESTS));
    let mut tasks = Vec::new();
    for n in 0..REQUESTS {
        let chain = CHAINS[n % CHAINS.len()];
        let (engine, start) = (engine.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            let mut req = shell(&format!("echo request-{n}"));
            req.metadata.tags.insert("chain".into(), chain.into());
            start.wait().await;
            let t = Instant::now();
            let admitted = engine.execute(req).await;
            let latency = t.elapsed();
            let result = match admitted {
                Ok(id) => {
                    let r = engine.wait(id).await.unwrap();
                    Decided::Ran(r.decision.clone().unwrap(), r.stdout, r.status)
                }
                Err(ExecutionError::Denied {
                    plugin,
                    reason,
                    record,
                }) => Decided::Denied(plugin, reason, *record),
                Err(other) => panic!("request {n} ({chain}): {other}"),
            };
            Outcome {
                chain,
                n,
                latency,
                result,
            }
        }));
    }
    let t0 = Instant::now();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let wall = t0.elapsed();
    assert_eq!(outcomes.len(), REQUESTS);

    for o in &outcomes {
        let what = format!("request {} ({})", o.n, o.chain);
        match (o.chain, &o.result) {
            // Default failure policy: deny, naming the plugin and the failure.
            ("loop", Decided::Denied(plugin, reason, record)) => {
                assert_eq!(plugin, "hostile-loop", "{what}");
                assert!(reason.contains("cpu budget of 50 ms"), "{what}: {reason}");
                assert_eq!(record.steps.len(), 1, "{what}: the chain stopped");
            }
            ("memory", Decided::Denied(plugin, reason, record)) => {
                assert_eq!(plugin, "hostile-memory", "{what}");
                assert!(reason.contains("memory limit"), "{what}: {reason}");
                assert_eq!(record.steps.len(), 1, "{what}: the chain stopped");
            }
            // on_error = allow: the failure is recorded, the rest of the chain decides.
            ("panic", Decided::Ran(record, stdout, status)) => {
                let err = record.steps[0].error.as_deref().unwrap_or_default();
                assert!(err.contains("trapped"), "{what}: {err}");
                assert_eq!(record.steps.len(), 2, "{what}: the chain went on");
                assert_eq!(*status, ExecutionStatus::Completed, "{what}");
                assert_eq!(stdout, &format!("request-{}\n", o.n), "{what}");
            }
            // Unaffected: allowed by every plugin, ran, right output.
            ("healthy", Decided::Ran(record, stdout, status)) => {
                assert!(
                    record.steps.iter().all(|s| s.error.is_none()),
                    "{what}: {:?}",
                    record.steps
                );
                assert_eq!(*status, ExecutionStatus::Completed, "{what}");
                assert_eq!(stdout, &format!("request-{}\n", o.n), "{what}");
            }
            (_, Decided::Ran(..)) => panic!("{what} was allowed"),
            (_, Decided::Denied(plugin, reason, _)) => {
                panic!("{what} denied by {plugin}: {reason}")
            }
        }
    }

    // Time spent in the failing plugin itself: its budget, plus at most the host's wall
    // slack (1 s, `WALL_SLACK` in plugin.rs) and scheduling on a loaded 2-core machine.
    let failing_step = |chain: &str| {
        max(outcomes
            .iter()
            .filter(|o| o.chain == chain)
            .map(|o| Duration::from_micros(o.result.record().steps[0].elapsed_us)))
    };
    let latency = |chain: &str| {
        max(outcomes
            .iter()
            .filter(|o| o.chain == chain)
            .map(|o| o.latency))
    };
    println!(
        "{REQUESTS} concurrent requests in {wall:?}; healthy decision alone: max {:?}",
        max(quiet.iter().copied())
    );
    for chain in CHAINS {
        println!(
            "chain {chain:8}: first plugin's call max {:?}, execute() latency max {:?}",
            failing_step(chain),
            latency(chain)
        );
    }
    // The budget is CPU time; a call's hard bound is its wall-clock limit (budget + 1 s,
    // what a busy machine may add), plus scheduling slack.
    let bound = BUDGET + Duration::from_secs(1) + Duration::from_millis(350);
    for chain in ["loop", "memory", "panic"] {
        let step = failing_step(chain);
        assert!(
            step <= bound,
            "{chain}: a call took {step:?}, over {bound:?}"
        );
    }
    // End to end, a request waits at most for the faulty calls queued before it on the
    // worker threads: far below a second per request, never a hang.
    for chain in CHAINS {
        let l = latency(chain);
        assert!(l < Duration::from_secs(5), "{chain}: execute() took {l:?}");
    }
}
