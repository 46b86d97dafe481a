//! Event order, several handlers, slow handlers, the broadcast stream, JSON.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudops_execution_engine::{
    ExecutionConfig, ExecutionEngine, ExecutionEvent, ExecutionResult, ExecutionStatus,
};

use crate::support::{Collector, is_terminal, sh};

#[tokio::test]
async fn every_handler_gets_every_event_in_order() {
    let a = Arc::new(Collector::default());
    let b = Arc::new(Collector::default());
    let engine = ExecutionEngine::new(ExecutionConfig::default())
        .with_event_handler(a.clone())
        .with_event_handler(b.clone());
    let id = engine
        .execute(sh("for i in 1 2 3; do echo out$i; echo err$i >&2; done"))
        .await
        .unwrap();
    engine.wait(id).await.unwrap();
    for c in [&a, &b] {
        let evs = c.until_terminal(id).await;
        assert!(
            matches!(evs.first(), Some(ExecutionEvent::Started { .. })),
            "{evs:?}"
        );
        assert!(
            matches!(evs.last(), Some(ExecutionEvent::Completed { result, .. }) if result.exit_code == 0)
        );
        let outs: Vec<_> = evs
            .iter()
            .filter_map(|e| match e {
                ExecutionEvent::Stdout { line, .. } => Some(line.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(outs, ["out1", "out2", "out3"]);
        let errs = evs
            .iter()
            .filter(|e| matches!(e, ExecutionEvent::Stderr { .. }))
            .count();
        assert_eq!(errs, 3);
        assert_eq!(evs.iter().filter(|e| is_terminal(e)).count(), 1);
    }
}

#[tokio::test]
async fn started_reports_the_resolved_command() {
    let c = Arc::new(Collector::default());
    let engine = ExecutionEngine::new(ExecutionConfig::default()).with_event_handler(c.clone());
    let id = engine
        .execute(crate::support::exec("true", &[]))
        .await
        .unwrap();
    let evs = c.until_terminal(id).await;
    match &evs[0] {
        ExecutionEvent::Started { command, .. } => {
            let shown = command.to_string();
            assert!(
                shown.starts_with('/') && shown.ends_with("/true"),
                "{shown}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn failures_and_timeouts_end_with_a_failed_event() {
    let c = Arc::new(Collector::default());
    let engine = ExecutionEngine::new(ExecutionConfig {
        kill_grace: Duration::from_millis(200),
        ..Default::default()
    })
    .with_event_handler(c.clone());
    let id = engine.execute(sh("exit 4")).await.unwrap();
    let evs = c.until_terminal(id).await;
    assert!(
        matches!(evs.last(), Some(ExecutionEvent::Failed { error, .. }) if error == "exited with code 4"),
        "{evs:?}"
    );

    let mut req = sh("sleep 10");
    req.timeout_ms = Some(100);
    let id = engine.execute(req).await.unwrap();
    let evs = c.until_terminal(id).await;
    assert!(
        matches!(evs.last(), Some(ExecutionEvent::Failed { error, .. }) if error.contains("timed out")),
        "{evs:?}"
    );
}

#[tokio::test]
async fn a_slow_handler_does_not_stall_the_child() {
    let slow = Collector::slow(Duration::from_millis(20));
    let engine = ExecutionEngine::new(ExecutionConfig {
        event_queue: 16,
        ..Default::default()
    })
    .with_event_handler(slow.clone());
    let t0 = Instant::now();
    // 5000 lines would take 100 s at 20 ms each if the handler held up the pipe.
    let id = engine.execute(sh("seq 1 5000")).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert_eq!(
        r.stdout.lines().count(),
        5000,
        "the result keeps every line"
    );
    assert!(r.events_dropped > 0);
    // The terminal event is never dropped.
    let evs = slow.until_terminal(id).await;
    assert!(matches!(evs.last(), Some(ExecutionEvent::Completed { .. })));
}

#[tokio::test]
async fn subscribers_see_the_stream() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let mut rx = engine.subscribe();
    let id = engine.execute(sh("echo hi")).await.unwrap();
    let mut seen = Vec::new();
    while let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
        let done = is_terminal(&ev);
        seen.push(ev);
        if done {
            break;
        }
    }
    assert!(
        matches!(&seen[1], ExecutionEvent::Stdout { line, execution_id, .. } if line == "hi" && *execution_id == id)
    );
}

#[tokio::test]
async fn events_and_results_serialise_to_json_and_back() {
    let c = Arc::new(Collector::default());
    let engine = ExecutionEngine::new(ExecutionConfig::default()).with_event_handler(c.clone());
    let id = engine.execute(sh("echo json")).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    let json = serde_json::to_string(&r).unwrap();
    let back: ExecutionResult = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    for ev in c.until_terminal(id).await {
        let json = serde_json::to_string(&ev).unwrap();
        let back: ExecutionEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ev);
    }
    assert_eq!(r.status, ExecutionStatus::Completed);
}
