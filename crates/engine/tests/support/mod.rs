//! Helpers shared by the engine's integration tests: request builders, an event collector, process probes.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cloudops_execution_engine::{
    Command, EventHandler, ExecutionEvent, ExecutionMetadata, ExecutionRequest,
};
use uuid::Uuid;

pub fn request(command: Command) -> ExecutionRequest {
    ExecutionRequest {
        id: Uuid::new_v4(),
        command,
        env: HashMap::new(),
        working_dir: None,
        timeout_ms: Some(30_000),
        metadata: ExecutionMetadata::default(),
    }
}

pub fn sh(script: &str) -> ExecutionRequest {
    request(Command::Shell {
        command: script.to_string(),
        shell: "bash".to_string(),
    })
}

pub fn exec(program: &str, args: &[&str]) -> ExecutionRequest {
    request(Command::Exec {
        program: program.to_string(),
        args: args.iter().map(|s| s.to_string()).collect(),
    })
}

/// Records every event it gets.
#[derive(Default)]
pub struct Collector {
    pub events: Mutex<Vec<ExecutionEvent>>,
    pub delay: Option<Duration>,
}

#[async_trait]
impl EventHandler for Collector {
    async fn on_event(&self, event: ExecutionEvent) {
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        self.events.lock().unwrap().push(event);
    }
}

impl Collector {
    pub fn slow(delay: Duration) -> Arc<Self> {
        Arc::new(Collector {
            events: Mutex::new(Vec::new()),
            delay: Some(delay),
        })
    }

    pub fn snapshot(&self) -> Vec<ExecutionEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Events of one execution, waiting (bounded) until its terminal event arrived.
    pub async fn until_terminal(&self, id: Uuid) -> Vec<ExecutionEvent> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let evs: Vec<_> = self
                .snapshot()
                .into_iter()
                .filter(|e| event_id(e) == Some(id))
                .collect();
            if evs.iter().any(is_terminal) || Instant::now() > deadline {
                return evs;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub fn event_id(e: &ExecutionEvent) -> Option<Uuid> {
    match e {
        ExecutionEvent::Started { execution_id, .. }
        | ExecutionEvent::Stdout { execution_id, .. }
        | ExecutionEvent::Stderr { execution_id, .. }
        | ExecutionEvent::Completed { execution_id, .. }
        | ExecutionEvent::Failed { execution_id, .. }
        | ExecutionEvent::Cancelled { execution_id, .. } => Some(*execution_id),
        ExecutionEvent::Progress { .. } => None,
    }
}

pub fn is_terminal(e: &ExecutionEvent) -> bool {
    matches!(
        e,
        ExecutionEvent::Completed { .. }
            | ExecutionEvent::Failed { .. }
            | ExecutionEvent::Cancelled { .. }
    )
}

/// True if `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name.
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        // fields[0] = state, fields[2] = pgrp
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            out.push(pid);
        }
    }
    out
}

/// Waits until `pred` holds or `limit` passes; returns whether it held.
pub async fn eventually(limit: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if pred() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pred()
}
