//! Streams the children's output lines (already through the output plugins) to our stdout/stderr as they come.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use cloudops_execution_engine::{EventHandler, ExecutionEvent};
use tokio::sync::Notify;
use uuid::Uuid;

/// Where a line goes.
pub trait LineSink: Send + Sync {
    /// One line of a child's stdout (`err` false) or stderr, without its newline.
    fn line(&self, id: Uuid, err: bool, line: &str);
    /// An execution ended: `completed`, `cancelled`, or the failure.
    fn ended(&self, id: Uuid, how: &str) {
        let _ = (id, how);
    }
}

/// Writes lines to our own stdout/stderr, optionally prefixed per execution.
#[derive(Debug, Default)]
pub struct Terminal {
    /// Prefix per execution id (plans: `[step] `).
    pub prefixes: HashMap<Uuid, String>,
    broken_pipe: AtomicBool,
}

impl Terminal {
    /// A sink with the given prefixes.
    pub fn with_prefixes(prefixes: HashMap<Uuid, String>) -> Self {
        Terminal {
            prefixes,
            broken_pipe: AtomicBool::new(false),
        }
    }
}

impl LineSink for Terminal {
    fn line(&self, id: Uuid, err: bool, line: &str) {
        let prefix = self.prefixes.get(&id).map_or("", String::as_str);
        if err {
            let _ = writeln!(std::io::stderr().lock(), "{prefix}{line}");
        } else if !self.broken_pipe.load(Ordering::Relaxed) {
            let mut out = std::io::stdout().lock();
            // A closed stdout (`cloudops ... | head`) stops our printing, not the child.
            if writeln!(out, "{prefix}{line}")
                .and_then(|_| out.flush())
                .is_err()
            {
                self.broken_pipe.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// An engine event handler that forwards lines to a [`LineSink`] and remembers which
/// executions it has seen end, so the CLI can exit only after the last line is out.
pub struct Streamer<S> {
    sink: S,
    done: Mutex<HashSet<Uuid>>,
    notify: Notify,
}

impl<S: LineSink> Streamer<S> {
    /// A streamer into `sink`.
    pub fn new(sink: S) -> Self {
        Streamer {
            sink,
            done: Mutex::new(HashSet::new()),
            notify: Notify::new(),
        }
    }

    /// Waits until the terminal event of `id` has been handled (at most `limit`).
    pub async fn drained(&self, id: Uuid, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.notify.notified();
            if self.done.lock().is_ok_and(|d| d.contains(&id)) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

#[async_trait]
impl<S: LineSink> EventHandler for Streamer<S> {
    async fn on_event(&self, event: ExecutionEvent) {
        let ended = match &event {
            ExecutionEvent::Stdout {
                execution_id, line, ..
            } => {
                self.sink.line(*execution_id, false, line);
                None
            }
            ExecutionEvent::Stderr {
                execution_id, line, ..
            } => {
                self.sink.line(*execution_id, true, line);
                None
            }
            ExecutionEvent::Completed { execution_id, .. } => {
                self.sink.ended(*execution_id, "completed");
                Some(*execution_id)
            }
            ExecutionEvent::Failed {
                execution_id,
                error,
                ..
            } => {
                self.sink.ended(*execution_id, error);
                Some(*execution_id)
            }
            ExecutionEvent::Cancelled { execution_id, .. } => {
                self.sink.ended(*execution_id, "cancelled");
                Some(*execution_id)
            }
            ExecutionEvent::Started { .. } | ExecutionEvent::Progress { .. } => None,
        };
        if let Some(id) = ended {
            if let Ok(mut d) = self.done.lock() {
                d.insert(id);
            }
            self.notify.notify_waiters();
        }
    }
}
