//! Progress of running commands: counts the output lines of each watched execution and sends MCP progress notifications (lines so far, elapsed time, last line).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cloudops_execution_engine::{EventHandler, ExecutionEvent};
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use uuid::Uuid;

/// Longest last line quoted in a progress message, in bytes.
const LAST_LINE_BYTES: usize = 200;

/// Output seen so far of one execution (after the output plugins).
#[derive(Debug, Default)]
pub struct RunOutput {
    lines: AtomicU64,
    last: Mutex<Option<String>>,
}

impl RunOutput {
    /// Lines of stdout and stderr so far.
    pub fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }

    /// The last line, shortened to a few hundred bytes.
    pub fn last_line(&self) -> Option<String> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn push(&self, line: &str) {
        self.lines.fetch_add(1, Ordering::Relaxed);
        let mut cut = line.len().min(LAST_LINE_BYTES);
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(line[..cut].to_string());
    }
}

/// An engine event handler that follows the output of the executions it is told to watch.
#[derive(Debug, Default)]
pub struct OutputWatch {
    runs: Mutex<HashMap<Uuid, Arc<RunOutput>>>,
}

impl OutputWatch {
    /// Starts following execution `id` (call before executing it).
    pub fn watch(&self, id: Uuid) -> Arc<RunOutput> {
        let run = Arc::new(RunOutput::default());
        self.lock().insert(id, run.clone());
        run
    }

    /// Stops following execution `id`.
    pub fn forget(&self, id: Uuid) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<RunOutput>>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EventHandler for OutputWatch {
    async fn on_event(&self, event: ExecutionEvent) {
        let (ExecutionEvent::Stdout {
            execution_id, line, ..
        }
        | ExecutionEvent::Stderr {
            execution_id, line, ..
        }) = &event
        else {
            return;
        };
        let run = self.lock().get(execution_id).cloned();
        if let Some(run) = run {
            run.push(line);
        }
    }
}

/// The progress message for `run` after `elapsed`.
pub fn message(run: &RunOutput, elapsed: Duration) -> String {
    let lines = run.lines();
    let mut m = format!(
        "running for {:.1} s, {lines} line{} of output so far",
        elapsed.as_secs_f64(),
        if lines == 1 { "" } else { "s" }
    );
    if let Some(last) = run.last_line() {
        m.push_str("; last line: ");
        m.push_str(&last);
    }
    m
}

/// Sends a progress notification every `interval` until dropped. `progress` is the elapsed
/// time in seconds, so it increases with every notification as the protocol requires.
pub async fn report(
    peer: Peer<RoleServer>,
    token: ProgressToken,
    run: Arc<RunOutput>,
    started: Instant,
    interval: Duration,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        tick.tick().await;
        let elapsed = started.elapsed();
        let param = ProgressNotificationParam::new(token.clone(), elapsed.as_secs_f64())
            .with_message(message(&run, elapsed));
        if let Err(e) = peer.notify_progress(param).await {
            tracing::debug!(error = %e, "progress notification not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_counts_lines_and_quotes_a_shortened_last_line() {
        let run = RunOutput::default();
        assert_eq!(
            message(&run, Duration::from_millis(1500)),
            "running for 1.5 s, 0 lines of output so far"
        );
        run.push("4242");
        assert_eq!(
            message(&run, Duration::from_secs(2)),
            "running for 2.0 s, 1 line of output so far; last line: 4242"
        );
        run.push(&"é".repeat(150));
        let last = run.last_line().unwrap();
        assert_eq!(last.len(), 200);
        assert_eq!(run.lines(), 2);
    }
}
