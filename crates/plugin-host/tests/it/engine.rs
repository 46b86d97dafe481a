//! End to end through `ExecutionEngine` with the chain gate: denial spawns nothing, rewrites change what runs, audit runs, redaction reaches every output path.

use std::sync::{Arc, Mutex};

use cloudops_execution_engine::{
    DecisionRecord, DecisionSink, ExecutionConfig, ExecutionEngine, ExecutionError, ExecutionEvent,
    ExecutionResult, Verdict,
};
use cloudops_plugin_host::{ChainGate, LoadedPlugin, Mode, StaticSelector};

use crate::common::{host, hostile, load, shell, spec};

#[derive(Default)]
struct Sink {
    decisions: Mutex<Vec<DecisionRecord>>,
    completions: Mutex<Vec<ExecutionResult>>,
}

impl DecisionSink for Sink {
    fn record_decision(&self, record: &DecisionRecord) -> std::io::Result<()> {
        self.decisions.lock().unwrap().push(record.clone());
        Ok(())
    }
    fn record_completion(&self, result: &ExecutionResult) -> std::io::Result<()> {
        self.completions.lock().unwrap().push(result.clone());
        Ok(())
    }
}

fn engine(plugins: Vec<Arc<LoadedPlugin>>) -> (ExecutionEngine, Arc<Sink>) {
    let sink = Arc::new(Sink::default());
    let gate = ChainGate::new(host(), Arc::new(StaticSelector(plugins)));
    let cfg = ExecutionConfig::default()
        .with_gate(Arc::new(gate))
        .with_decision_sink(sink.clone());
    (ExecutionEngine::new(cfg), sink)
}

fn deny_touch() -> Arc<LoadedPlugin> {
    load(&spec("deny-pattern", r#"{"substrings":["touch "]}"#))
}

#[tokio::test]
async fn denied_execute_returns_denied_and_spawns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("created");
    let (e, sink) = engine(vec![deny_touch()]);
    let err = e
        .execute(shell(&format!("touch {}", marker.display())))
        .await
        .unwrap_err();
    match err {
        ExecutionError::Denied { plugin, reason, .. } => {
            assert_eq!(plugin, "deny-pattern");
            assert!(reason.contains("touch"), "{reason}");
        }
        other => panic!("expected Denied, got {other:?}"),
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!marker.exists(), "the command must not have run");
    assert_eq!(sink.decisions.lock().unwrap().len(), 1);
    // The engine keeps serving.
    let id = e.execute(shell("echo fine")).await.unwrap();
    assert_eq!(e.wait(id).await.unwrap().stdout, "fine\n");
}

#[tokio::test]
async fn a_hostile_plugin_denies_and_the_engine_keeps_serving() {
    let (bad, _) = engine(vec![load(&hostile("loop", "check"))]);
    let err = bad.execute(shell("echo hi")).await.unwrap_err();
    assert!(
        matches!(&err, ExecutionError::Denied { plugin, reason, .. }
            if plugin == "hostile-loop" && reason.contains("cpu budget")),
        "{err:?}"
    );
    let (good, _) = engine(vec![load(&spec("allow-all", "{}"))]);
    let id = good.execute(shell("echo ok")).await.unwrap();
    assert_eq!(good.wait(id).await.unwrap().stdout, "ok\n");
}

#[tokio::test]
async fn a_rewrite_changes_what_runs() {
    let (e, _) = engine(vec![load(&spec(
        "rewrite",
        r#"{"max_timeout_ms":300,"strip_env":["LEAK"]}"#,
    ))]);
    let mut req = shell("echo \"leak=${LEAK:-none}\"; sleep 5");
    req.timeout_ms = Some(60_000);
    req.env.insert("LEAK".into(), "yes".into());
    let id = e.execute(req).await.unwrap();
    let r = e.wait(id).await.unwrap();
    assert_eq!(r.stdout, "leak=none\n");
    assert_eq!(r.exit_code, 124, "timed out at the clamped 300 ms: {r:?}");
    let d = r.decision.unwrap();
    assert_eq!(d.verdict, Verdict::Rewrite);
    assert_eq!(d.request.timeout_ms, Some(300));
    assert!(d.steps[0].diff.contains(&"+timeout_ms: 300".to_string()));
}

#[tokio::test]
async fn audit_mode_lets_a_would_deny_run_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("created");
    let mut s = spec("deny-pattern", r#"{"substrings":["touch "]}"#);
    s.mode = Mode::Audit;
    let (e, sink) = engine(vec![load(&s)]);
    let id = e
        .execute(shell(&format!("touch {}", marker.display())))
        .await
        .unwrap();
    let r = e.wait(id).await.unwrap();
    assert_eq!(r.exit_code, 0);
    assert!(marker.exists());
    let d = r.decision.unwrap();
    assert!(d.allowed && !d.steps[0].enforced && d.steps[0].verdict == Verdict::Deny);
    assert_eq!(sink.decisions.lock().unwrap()[0], d);
}

const KEY: &str = "AKIAABCDEFGHIJKLMNOP";

#[tokio::test]
async fn redaction_reaches_result_events_and_sink_even_across_pipe_reads() {
    let (e, sink) = engine(vec![load(&spec("redact", "{}"))]);
    let mut events = e.subscribe();
    let id = e
        .execute(shell(
            "k=ABCDEFGHIJKLMNOP; echo key=AKIA$k; printf 'AKIA'; sleep 0.2; \
             printf 'ABCDEFGHIJKLMNOP\\n'; echo AKIA$k >&2",
        ))
        .await
        .unwrap();
    let r = e.wait(id).await.unwrap();
    assert_eq!(r.stdout, "key=[REDACTED]\n[REDACTED]\n");
    assert_eq!(r.stderr, "[REDACTED]\n");
    let mut lines = Vec::new();
    while let Ok(ev) = events.try_recv() {
        match ev {
            ExecutionEvent::Stdout { line, .. } | ExecutionEvent::Stderr { line, .. } => {
                lines.push(line)
            }
            _ => {}
        }
    }
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("AKIA")), "{lines:?}");
    let logged = format!(
        "{:?}{:?}",
        sink.decisions.lock().unwrap(),
        sink.completions.lock().unwrap()
    );
    assert!(!logged.contains(KEY), "the key reached the sink");
    assert!(logged.contains("[REDACTED]"));
}
