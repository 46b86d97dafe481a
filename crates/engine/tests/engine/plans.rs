//! Plans: serial with and without stop_on_error, parallel limits, progress, cancel, results.

use std::sync::Arc;
use std::time::Duration;

use cloudops_execution_engine::{
    ExecutionConfig, ExecutionEngine, ExecutionEvent, ExecutionPlan, ExecutionRequest,
    ExecutionStatus, ExecutionStrategy,
};
use uuid::Uuid;

use crate::support::{Collector, event_id, sh};

fn plan(strategy: ExecutionStrategy, steps: Vec<ExecutionRequest>) -> ExecutionPlan {
    ExecutionPlan {
        id: Uuid::new_v4(),
        description: "test plan".into(),
        strategy,
        commands: steps,
        metadata: Default::default(),
    }
}

#[tokio::test]
async fn serial_stop_on_error_skips_the_rest_as_cancelled() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let p = plan(
        ExecutionStrategy::Serial {
            stop_on_error: true,
        },
        vec![
            sh("echo one"),
            sh("echo two; exit 2"),
            sh(&format!("touch {}", marker.display())),
        ],
    );
    let id = engine.execute_plan(p).await.unwrap();
    let agg = engine.wait(id).await.unwrap();
    assert_eq!(agg.status, ExecutionStatus::Failed);
    assert_eq!(agg.exit_code, 2, "the first failing step's code");
    assert_eq!(agg.stdout, "one\ntwo\n");
    let pr = engine.get_plan_result(id).await.unwrap();
    let statuses: Vec<_> = pr.results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            ExecutionStatus::Completed,
            ExecutionStatus::Failed,
            ExecutionStatus::Cancelled
        ]
    );
    assert_eq!(
        (
            pr.stats.total,
            pr.stats.completed,
            pr.stats.failed,
            pr.stats.cancelled
        ),
        (3, 1, 1, 1)
    );
    assert!(!marker.exists(), "step 3 did not run");
    assert_eq!(
        engine.get_status(id).await.unwrap(),
        ExecutionStatus::Failed
    );
}

#[tokio::test]
async fn serial_without_stop_runs_everything_in_order() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let p = plan(
        ExecutionStrategy::Serial {
            stop_on_error: false,
        },
        vec![sh("exit 1"), sh("echo b"), sh("echo c")],
    );
    let step_ids: Vec<_> = p.commands.iter().map(|c| c.id).collect();
    let id = engine.execute_plan(p).await.unwrap();
    engine.wait(id).await.unwrap();
    let pr = engine.get_plan_result(id).await.unwrap();
    assert_eq!(pr.status, ExecutionStatus::Failed);
    assert_eq!((pr.stats.completed, pr.stats.failed), (2, 1));
    let ids: Vec<_> = pr.results.iter().map(|r| r.execution_id).collect();
    assert_eq!(ids, step_ids, "results in plan order");
    // Steps are executions of their own.
    assert_eq!(engine.get_result(step_ids[2]).await.unwrap().stdout, "c\n");
}

#[tokio::test]
async fn parallel_never_exceeds_the_limit_and_reports_progress() {
    let c = Arc::new(Collector::default());
    let engine = ExecutionEngine::new(ExecutionConfig::default()).with_event_handler(c.clone());
    let steps: Vec<_> = (0..6).map(|_| sh("sleep 0.2")).collect();
    let step_ids: Vec<_> = steps.iter().map(|s| s.id).collect();
    let p = plan(
        ExecutionStrategy::Parallel {
            max_concurrency: Some(2),
        },
        steps,
    );
    let id = engine.execute_plan(p).await.unwrap();
    let agg = engine.wait(id).await.unwrap();
    assert_eq!(agg.status, ExecutionStatus::Completed);
    for s in &step_ids {
        c.until_terminal(*s).await;
    }
    // Replay Started / terminal events to find the peak concurrency.
    let (mut running, mut peak) = (0i32, 0i32);
    let mut progress = Vec::new();
    for ev in c.snapshot() {
        match &ev {
            ExecutionEvent::Started { .. } => {
                running += 1;
                peak = peak.max(running);
            }
            ExecutionEvent::Completed { .. } | ExecutionEvent::Failed { .. } => running -= 1,
            ExecutionEvent::Progress {
                completed,
                total,
                plan_id,
                ..
            } => {
                assert_eq!((*plan_id, *total), (id, 6));
                progress.push(*completed);
            }
            _ => {}
        }
        let _ = event_id(&ev);
    }
    assert_eq!(peak, 2, "ran two at a time, never more");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while progress.len() < 6 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
        progress = c
            .snapshot()
            .iter()
            .filter_map(|e| match e {
                ExecutionEvent::Progress { completed, .. } => Some(*completed),
                _ => None,
            })
            .collect();
    }
    assert_eq!(progress, [1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn cancelling_a_plan_stops_running_and_pending_steps() {
    let engine = ExecutionEngine::new(ExecutionConfig {
        kill_grace: Duration::from_millis(200),
        ..Default::default()
    });
    let p = plan(
        ExecutionStrategy::Serial {
            stop_on_error: false,
        },
        vec![sh("sleep 30"), sh("echo never")],
    );
    let id = engine.execute_plan(p).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        engine.get_status(id).await.unwrap(),
        ExecutionStatus::Running
    );
    engine.cancel(id).await.unwrap();
    let agg = engine.wait(id).await.unwrap();
    assert_eq!(agg.status, ExecutionStatus::Cancelled);
    let pr = engine.get_plan_result(id).await.unwrap();
    assert!(
        pr.results
            .iter()
            .all(|r| r.status == ExecutionStatus::Cancelled)
    );
    assert_eq!(pr.results[1].stdout, "");
    assert!(pr.total_duration < Duration::from_secs(5));
}

#[tokio::test]
async fn a_bad_step_refuses_the_whole_plan() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let mut p = plan(
        ExecutionStrategy::Parallel {
            max_concurrency: None,
        },
        vec![sh("true"), sh("true")],
    );
    p.commands[1].working_dir = Some("/no/such/dir".into());
    let err = engine.execute_plan(p.clone()).await.unwrap_err();
    assert!(err.to_string().contains("step 2"), "{err}");
    assert!(matches!(
        engine.get_status(p.id).await,
        Err(cloudops_execution_engine::ExecutionError::NotFound(_))
    ));

    p.commands[1].working_dir = None;
    let id = engine.execute_plan(p).await.unwrap();
    assert_eq!(
        engine.wait(id).await.unwrap().status,
        ExecutionStatus::Completed
    );
}
