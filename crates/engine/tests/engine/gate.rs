//! The policy seam, exercised with a native gate: deny, rewrite, output filtering, decision sink.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cloudops_execution_engine::{
    Command, DecisionRecord, DecisionSink, ExecutionConfig, ExecutionEngine, ExecutionError,
    ExecutionEvent, ExecutionPlan, ExecutionRequest, ExecutionResult, ExecutionStrategy, Gate,
    GateContext, GateOutcome, OutputChunk, OutputFilter, Verdict,
};
use uuid::Uuid;

use crate::support::{Collector, sh};

/// Denies shell commands containing "forbidden", caps timeouts at 1 s, upper-cases output,
/// and remembers every request it saw.
#[derive(Default)]
struct TestGate {
    seen: Mutex<Vec<ExecutionRequest>>,
}

struct Upper;
impl OutputFilter for Upper {
    fn filter(&mut self, batch: Vec<OutputChunk>) -> Vec<OutputChunk> {
        if batch
            .iter()
            .any(|c| c.data.windows(13).any(|w| w == b"filter-panics"))
        {
            panic!("a broken filter");
        }
        batch
            .into_iter()
            .map(|c| OutputChunk {
                stream: c.stream,
                data: c.data.to_ascii_uppercase(),
            })
            .collect()
    }
}

#[async_trait]
impl Gate for TestGate {
    async fn check(
        &self,
        request: &ExecutionRequest,
        ctx: &GateContext<'_>,
    ) -> Result<GateOutcome, ExecutionError> {
        self.seen.lock().unwrap().push(request.clone());
        let mut record = DecisionRecord::allow_unchanged(request);
        if let Command::Shell { command, .. } = &request.command {
            if command.contains("gate-panics") {
                panic!("a broken gate");
            }
            if command.contains("forbidden") {
                record.allowed = false;
                record.verdict = Verdict::Deny;
                record.plugin = Some("test-gate".into());
                record.reason = Some("forbidden word".into());
            }
            if command.contains("please-ask") {
                let ok = ctx
                    .approver
                    .approve(request, "test-gate", "asks")
                    .await
                    .granted;
                record.allowed = ok;
                record.verdict = if ok { Verdict::Ask } else { Verdict::Deny };
                record.plugin = Some("test-gate".into());
                record.reason = Some("asks".into());
            }
        }
        if request.timeout_ms.is_none_or(|t| t > 1000) {
            record.request.timeout_ms = Some(1000);
            record.verdict = Verdict::Rewrite;
        }
        Ok(GateOutcome {
            record,
            output: Some(Box::new(Upper)),
        })
    }
}

#[derive(Default)]
struct MemorySink {
    decisions: Mutex<Vec<DecisionRecord>>,
    completions: Mutex<Vec<ExecutionResult>>,
    fail: bool,
}

impl DecisionSink for MemorySink {
    fn record_decision(&self, record: &DecisionRecord) -> std::io::Result<()> {
        if self.fail {
            return Err(std::io::Error::other("disk full"));
        }
        self.decisions.lock().unwrap().push(record.clone());
        Ok(())
    }
    fn record_completion(&self, result: &ExecutionResult) -> std::io::Result<()> {
        self.completions.lock().unwrap().push(result.clone());
        Ok(())
    }
}

fn engine_with(sink: Arc<MemorySink>) -> (ExecutionEngine, Arc<TestGate>) {
    let gate = Arc::new(TestGate::default());
    let engine = ExecutionEngine::new(
        ExecutionConfig::default()
            .with_gate(gate.clone())
            .with_decision_sink(sink),
    );
    (engine, gate)
}

#[tokio::test]
async fn a_denied_request_is_an_error_naming_the_plugin_and_nothing_runs() {
    let sink = Arc::new(MemorySink::default());
    let (engine, _) = engine_with(sink.clone());
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let req = sh(&format!("touch {}; echo forbidden", marker.display()));
    let id = req.id;
    let err = engine.execute(req).await.unwrap_err();
    assert_eq!(err.to_string(), "denied by test-gate: forbidden word");
    assert_eq!(err.exit_code(), 126);
    assert!(!marker.exists());
    assert!(matches!(
        engine.get_status(id).await,
        Err(ExecutionError::NotFound(_))
    ));
    let decisions = sink.decisions.lock().unwrap();
    assert_eq!(decisions.len(), 1);
    assert!(!decisions[0].allowed);
}

#[tokio::test]
async fn the_rewritten_request_is_what_runs_and_output_is_filtered_everywhere() {
    let sink = Arc::new(MemorySink::default());
    let (engine, _) = engine_with(sink.clone());
    let events = Arc::new(Collector::default());
    engine.add_event_handler(events.clone());
    let mut req = sh("echo secret; sleep 5");
    req.timeout_ms = Some(60_000);
    let id = engine.execute(req).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(
        r.status,
        cloudops_execution_engine::ExecutionStatus::Timeout,
        "timeout clamped to 1 s"
    );
    assert_eq!(r.decision.as_ref().unwrap().request.timeout_ms, Some(1000));
    assert_eq!(r.stdout, "SECRET\n");
    let evs = events.until_terminal(id).await;
    let lines: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            ExecutionEvent::Stdout { line, .. } => Some(line.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(lines, ["SECRET"]);
    assert_eq!(sink.completions.lock().unwrap()[0].stdout, "SECRET\n");
}

#[tokio::test]
async fn a_decision_log_that_cannot_be_written_stops_the_request() {
    let sink = Arc::new(MemorySink {
        fail: true,
        ..Default::default()
    });
    let (engine, _) = engine_with(sink);
    let err = engine.execute(sh("true")).await.unwrap_err();
    assert!(matches!(err, ExecutionError::DecisionLog(_)), "{err}");
}

#[tokio::test]
async fn ask_goes_to_the_approver_which_denies_by_default() {
    let (engine, _) = engine_with(Arc::new(MemorySink::default()));
    let err = engine.execute(sh("echo please-ask")).await.unwrap_err();
    assert!(matches!(err, ExecutionError::Denied { ref reason, .. } if reason == "asks"));

    struct Yes;
    #[async_trait]
    impl cloudops_execution_engine::Approver for Yes {
        async fn approve(
            &self,
            _: &ExecutionRequest,
            _: &str,
            _: &str,
        ) -> cloudops_execution_engine::gate::Approval {
            cloudops_execution_engine::gate::Approval::granted("test")
        }
    }
    let engine = ExecutionEngine::new(
        ExecutionConfig::default()
            .with_gate(Arc::new(TestGate::default()))
            .with_approver(Arc::new(Yes)),
    );
    let id = engine.execute(sh("echo please-ask")).await.unwrap();
    assert_eq!(engine.wait(id).await.unwrap().stdout, "PLEASE-ASK\n");
}

#[tokio::test]
async fn every_plan_step_is_gated_before_any_runs_with_the_plans_metadata() {
    let (engine, gate) = engine_with(Arc::new(MemorySink::default()));
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let mut plan = ExecutionPlan {
        id: Uuid::new_v4(),
        description: "d".into(),
        strategy: ExecutionStrategy::Serial {
            stop_on_error: true,
        },
        commands: vec![
            sh(&format!("touch {}", marker.display())),
            sh("echo forbidden"),
        ],
        metadata: Default::default(),
    };
    plan.metadata.source = Some("pipeline".into());
    plan.metadata.tags.insert("env".into(), "prod".into());
    plan.commands[0]
        .metadata
        .tags
        .insert("env".into(), "dev".into());
    let err = engine.execute_plan(plan).await.unwrap_err();
    assert!(matches!(err, ExecutionError::Denied { .. }));
    assert!(!marker.exists(), "nothing ran");
    let seen = gate.seen.lock().unwrap();
    assert_eq!(seen[0].metadata.source.as_deref(), Some("pipeline"));
    assert_eq!(
        seen[0].metadata.tags["env"], "dev",
        "the step's own tag wins"
    );
    assert_eq!(seen[1].metadata.tags["env"], "prod");
}

#[tokio::test]
async fn a_panicking_gate_or_filter_does_not_wedge_the_engine() {
    let (engine, _) = engine_with(Arc::new(MemorySink::default()));
    let engine = Arc::new(engine);
    let req = sh("echo gate-panics");
    let id = req.id;
    let e2 = engine.clone();
    let joined = tokio::spawn(async move { e2.execute(req).await }).await;
    assert!(joined.is_err(), "the gate's panic reaches the caller");
    assert!(
        matches!(
            engine.get_status(id).await,
            Err(ExecutionError::NotFound(_))
        ),
        "the id is free again"
    );

    let id = engine
        .execute(sh("echo filter-panics; echo after"))
        .await
        .unwrap();
    let r = engine.wait(id).await.unwrap();
    assert!(
        !r.stdout.contains("FILTER-PANICS") && !r.stdout.contains("filter-panics"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("output withheld"), "{}", r.stdout);
    let r = engine
        .wait(engine.execute(sh("echo still-serving")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.stdout, "STILL-SERVING\n");
}

#[tokio::test]
async fn decide_answers_as_execute_would_without_running_or_logging() {
    let sink = Arc::new(MemorySink::default());
    let gate = Arc::new(TestGate::default());
    let engine = ExecutionEngine::new(ExecutionConfig {
        default_timeout_ms: Some(7_000),
        ..ExecutionConfig::default()
            .with_gate(gate.clone())
            .with_decision_sink(sink.clone())
    });
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let deny = cloudops_execution_engine::DenyApprover;
    let required = cloudops_execution_engine::Preparation::Required;

    // Allowed: the record says so, and the gate saw the engine's default timeout.
    let request = ExecutionRequest {
        timeout_ms: None,
        ..sh(&format!("touch {}", marker.display()))
    };
    let record = engine
        .decide(request.clone(), &deny, required)
        .await
        .unwrap();
    assert!(record.allowed);
    assert_eq!(record.original.timeout_ms, Some(7_000));
    assert_eq!(gate.seen.lock().unwrap()[0].timeout_ms, Some(7_000));
    // Denied: a record, not an error.
    let record = engine
        .decide(sh("echo forbidden"), &deny, required)
        .await
        .unwrap();
    assert!(!record.allowed);
    assert_eq!(record.plugin.as_deref(), Some("test-gate"));
    // An `ask` goes to the approver given, and its answer is what the record shows.
    let record = engine
        .decide(sh("echo please-ask"), &deny, required)
        .await
        .unwrap();
    assert!(!record.allowed);
    // Nothing ran, nothing was logged.
    assert!(!marker.exists());
    assert!(sink.decisions.lock().unwrap().is_empty());

    // A program this machine lacks: an error when preparation is required, decided anyway
    // when it is not (policy tests).
    let missing = ExecutionRequest {
        command: Command::Exec {
            program: "no-such-program-xyz".into(),
            args: vec![],
        },
        ..sh("true")
    };
    let err = engine
        .decide(missing.clone(), &deny, required)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecutionError::ProgramNotFound { .. }),
        "{err}"
    );
    let record = engine
        .decide(
            missing,
            &deny,
            cloudops_execution_engine::Preparation::IfPossible,
        )
        .await
        .unwrap();
    assert!(record.allowed);
}
