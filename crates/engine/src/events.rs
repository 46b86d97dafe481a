//! Execution events, the `EventHandler` trait, and the bus that delivers events without stalling executions.
//!
//! Delivery policy: each handler has its own bounded queue and task, so a slow handler
//! delays only itself. When a handler's queue is full, *line* events (`Stdout`,
//! `Stderr`, `Progress`) for it are dropped and counted in
//! [`crate::ExecutionResult::events_dropped`]; lifecycle events (`Started`, `Completed`,
//! `Failed`, `Cancelled`) are never dropped: the execution waits for room. Per
//! execution, a handler sees events in order: `Started`, the lines, then exactly one
//! terminal event. Events are delivered asynchronously: `wait` may return before a
//! handler has processed the terminal event.
//!
//! [`crate::ExecutionEngine::subscribe`] gives a broadcast receiver instead; a receiver
//! that falls behind by more than the configured capacity gets `RecvError::Lagged`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, broadcast, mpsc};
use uuid::Uuid;

use crate::types::{Command, ExecutionResult};

/// Something that happened to an execution or a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ExecutionEvent {
    /// The process started; `command` is the resolved command that runs.
    Started {
        /// Execution id.
        execution_id: Uuid,
        /// What runs (after rewrites and resolution).
        command: Command,
        /// When.
        timestamp: DateTime<Utc>,
    },
    /// One line of standard output (after the output plugins), without its newline.
    Stdout {
        /// Execution id.
        execution_id: Uuid,
        /// The line.
        line: String,
        /// When it was read.
        timestamp: DateTime<Utc>,
    },
    /// One line of standard error (after the output plugins), without its newline.
    Stderr {
        /// Execution id.
        execution_id: Uuid,
        /// The line.
        line: String,
        /// When it was read.
        timestamp: DateTime<Utc>,
    },
    /// The process exited with status 0.
    Completed {
        /// Execution id.
        execution_id: Uuid,
        /// The stored result.
        result: Arc<ExecutionResult>,
        /// When.
        timestamp: DateTime<Utc>,
    },
    /// The process exited non-zero, died of a signal, timed out (the error says "timed
    /// out after N ms"), or could not start.
    Failed {
        /// Execution id.
        execution_id: Uuid,
        /// What went wrong.
        error: String,
        /// When.
        timestamp: DateTime<Utc>,
    },
    /// The execution was cancelled.
    Cancelled {
        /// Execution id.
        execution_id: Uuid,
        /// When.
        timestamp: DateTime<Utc>,
    },
    /// A plan step finished.
    Progress {
        /// Plan id.
        plan_id: Uuid,
        /// Steps finished so far.
        completed: usize,
        /// Steps in the plan.
        total: usize,
        /// The step that just finished, as a command line.
        current_command: Option<String>,
        /// When.
        timestamp: DateTime<Utc>,
    },
}

impl ExecutionEvent {
    fn is_droppable(&self) -> bool {
        matches!(
            self,
            ExecutionEvent::Stdout { .. }
                | ExecutionEvent::Stderr { .. }
                | ExecutionEvent::Progress { .. }
        )
    }
}

/// Receives every event of the engine it is registered with: an observer, whose line
/// events are dropped when it falls behind (see the module documentation). For every
/// byte of the output, with backpressure, use an [`crate::OutputSink`].
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Called once per event, in order per execution.
    async fn on_event(&self, event: ExecutionEvent);
    /// Whether this handler wants `Stdout`/`Stderr` line events. When no handler or
    /// subscriber wants them, the engine does not cut output into lines at all.
    /// Default: true.
    fn wants_lines(&self) -> bool {
        true
    }
}

struct Slot {
    handler: Arc<dyn EventHandler>,
    tx: mpsc::Sender<ExecutionEvent>,
    rx: Mutex<Option<mpsc::Receiver<ExecutionEvent>>>,
    started: OnceLock<()>,
}

impl Slot {
    /// Starts the slot's delivery task on first use (handlers may be registered outside a runtime).
    fn ensure_started(&self) {
        self.started.get_or_init(|| {
            let handler = self.handler.clone();
            let rx = self.rx.try_lock().ok().and_then(|mut g| g.take());
            if let Some(mut rx) = rx {
                tokio::spawn(async move {
                    while let Some(ev) = rx.recv().await {
                        handler.on_event(ev).await;
                    }
                });
            }
        });
    }
}

/// Fans events out to handlers and broadcast subscribers.
pub(crate) struct EventBus {
    slots: RwLock<Vec<Arc<Slot>>>,
    broadcast: broadcast::Sender<ExecutionEvent>,
    queue: usize,
}

impl EventBus {
    pub(crate) fn new(queue: usize, broadcast_capacity: usize) -> Self {
        EventBus {
            slots: RwLock::new(Vec::new()),
            broadcast: broadcast::channel(broadcast_capacity.max(1)).0,
            queue: queue.max(1),
        }
    }

    pub(crate) fn add(&self, handler: Arc<dyn EventHandler>) {
        let (tx, rx) = mpsc::channel(self.queue);
        let slot = Arc::new(Slot {
            handler,
            tx,
            rx: Mutex::new(Some(rx)),
            started: OnceLock::new(),
        });
        self.slots
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ExecutionEvent> {
        self.broadcast.subscribe()
    }

    /// True when someone listens; callers skip building events otherwise.
    pub(crate) fn has_listeners(&self) -> bool {
        self.broadcast.receiver_count() > 0
            || !self
                .slots
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
    }

    /// True when someone wants line events; callers skip building them otherwise.
    pub(crate) fn wants_lines(&self) -> bool {
        self.broadcast.receiver_count() > 0
            || self
                .slots
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|s| s.handler.wants_lines())
    }

    fn snapshot(&self) -> Vec<Arc<Slot>> {
        self.slots.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Delivers `event`; line events may be dropped for full handler queues (counted in `dropped`).
    pub(crate) async fn emit(&self, event: ExecutionEvent, dropped: &AtomicU64) {
        if self.broadcast.receiver_count() > 0 {
            let _ = self.broadcast.send(event.clone());
        }
        let slots = self.snapshot();
        let droppable = event.is_droppable();
        let line = matches!(
            event,
            ExecutionEvent::Stdout { .. } | ExecutionEvent::Stderr { .. }
        );
        for slot in slots {
            if line && !slot.handler.wants_lines() {
                continue;
            }
            slot.ensure_started();
            let ev = event.clone();
            if droppable {
                if slot.tx.try_send(ev).is_err() {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            } else {
                let _ = slot.tx.send(ev).await;
            }
        }
    }
}
