//! Quick start of the library: a command, a plan, events, a timeout. `cargo run -p cloudops-execution-engine --example quickstart`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use cloudops_execution_engine::{
    Command, EventHandler, ExecutionConfig, ExecutionEngine, ExecutionEvent, ExecutionPlan,
    ExecutionRequest, ExecutionStrategy,
};
use uuid::Uuid;

struct Print;

#[async_trait]
impl EventHandler for Print {
    async fn on_event(&self, event: ExecutionEvent) {
        match event {
            ExecutionEvent::Started { command, .. } => println!("started: {command}"),
            ExecutionEvent::Stdout { line, .. } => println!("  | {line}"),
            ExecutionEvent::Stderr { line, .. } => println!("  ! {line}"),
            ExecutionEvent::Completed { result, .. } => {
                println!("completed in {:?}", result.duration)
            }
            ExecutionEvent::Failed { error, .. } => println!("failed: {error}"),
            ExecutionEvent::Cancelled { .. } => println!("cancelled"),
            ExecutionEvent::Progress {
                completed, total, ..
            } => println!("plan progress {completed}/{total}"),
        }
    }
}

fn shell(command: &str, timeout_ms: Option<u64>) -> ExecutionRequest {
    ExecutionRequest {
        id: Uuid::new_v4(),
        command: Command::Shell {
            command: command.into(),
            shell: "bash".into(),
        },
        env: HashMap::new(),
        working_dir: None,
        timeout_ms,
        metadata: Default::default(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine =
        ExecutionEngine::new(ExecutionConfig::default()).with_event_handler(Arc::new(Print));

    let id = engine
        .execute(shell("echo hello from $0; uname -s", None))
        .await?;
    let result = engine.wait(id).await?;
    println!("status {} exit {}\n", result.status, result.exit_code);

    let id = engine.execute(shell("sleep 10", Some(300))).await?;
    let result = engine.wait(id).await?;
    println!(
        "status {} exit {}: {}\n",
        result.status,
        result.exit_code,
        result.error.unwrap_or_default()
    );

    let plan = ExecutionPlan {
        id: Uuid::new_v4(),
        description: "two at a time".into(),
        strategy: ExecutionStrategy::Parallel {
            max_concurrency: Some(2),
        },
        commands: (1..=4)
            .map(|i| shell(&format!("echo step {i}"), None))
            .collect(),
        metadata: Default::default(),
    };
    let plan_id = engine.execute_plan(plan).await?;
    engine.wait(plan_id).await?;
    let plan_result = engine.get_plan_result(plan_id).await?;
    println!("plan {}: {:?}", plan_result.status, plan_result.stats);
    // Let the handler print the last events.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    Ok(())
}
