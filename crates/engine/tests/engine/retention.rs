//! Finished executions are kept for a bounded count and age, then forgotten.

use std::time::Duration;

use cloudops_execution_engine::{ExecutionConfig, ExecutionEngine, ExecutionError};
use uuid::Uuid;

use crate::support::sh;

#[tokio::test]
async fn finished_runs_are_retired_beyond_the_count() {
    let engine = ExecutionEngine::new(ExecutionConfig {
        retain_max: 2,
        ..Default::default()
    });
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = engine.execute(sh("true")).await.unwrap();
        engine.wait(id).await.unwrap();
        ids.push(id);
    }
    assert!(matches!(
        engine.get_result(ids[0]).await,
        Err(ExecutionError::NotFound(_))
    ));
    assert!(engine.get_result(ids[1]).await.is_ok());
    assert!(engine.get_result(ids[2]).await.is_ok());
}

#[tokio::test]
async fn finished_runs_are_retired_after_their_age() {
    let engine = ExecutionEngine::new(ExecutionConfig {
        retain_for: Duration::from_millis(100),
        ..Default::default()
    });
    let old = engine.execute(sh("true")).await.unwrap();
    engine.wait(old).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let new = engine.execute(sh("true")).await.unwrap();
    engine.wait(new).await.unwrap();
    assert!(matches!(
        engine.get_status(old).await,
        Err(ExecutionError::NotFound(_))
    ));
    assert!(engine.get_result(new).await.is_ok());
}

#[tokio::test]
async fn unknown_ids_and_unfinished_results_are_errors() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let unknown = Uuid::new_v4();
    assert!(
        matches!(engine.get_status(unknown).await, Err(ExecutionError::NotFound(id)) if id == unknown)
    );
    assert!(matches!(
        engine.wait(unknown).await,
        Err(ExecutionError::NotFound(_))
    ));
    assert!(matches!(
        engine.cancel(unknown).await,
        Err(ExecutionError::NotFound(_))
    ));
    let id = engine.execute(sh("sleep 0.5")).await.unwrap();
    assert!(matches!(
        engine.get_result(id).await,
        Err(ExecutionError::NotFinished { .. })
    ));
    engine.wait(id).await.unwrap();
}
