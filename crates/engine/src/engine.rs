//! `ExecutionEngine`: accepts requests and plans, runs them through the gate and the runtime, and answers queries by id.

use std::sync::Arc;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::ExecutionConfig;
use crate::error::ExecutionError;
use crate::events::{EventBus, EventHandler, ExecutionEvent};
use crate::gate::{DecisionRecord, GateContext, OutputFilter};
use crate::io::Stdin;
use crate::resolve::{PreparedCommand, prepare_in};
use crate::runtime::{self, Run};
use crate::store::{ReleaseOnDrop, Reservation, Store};
use crate::types::{
    ExecutionPlan, ExecutionRequest, ExecutionResult, ExecutionStatus, OutputStream,
    PlanExecutionResult,
};

pub(crate) struct Inner {
    pub(crate) config: ExecutionConfig,
    /// The children's base environment, computed once from the engine's own at creation.
    base_env: Vec<(String, String)>,
    pub(crate) bus: EventBus,
    pub(crate) store: Store,
}

/// Runs requests and plans; every method takes `&self`, so share it behind an `Arc`.
///
/// Ids: `execute` returns the request's id, `execute_plan` the plan's; `get_status`,
/// `get_result`, `wait` and `cancel` accept both. Executing an id whose run has finished
/// starts a new run under that id (the old result is replaced); an id that is still
/// running is refused with `Validation`. Finished runs are kept for
/// [`ExecutionConfig::retain_max`] / [`ExecutionConfig::retain_for`], then forgotten.
pub struct ExecutionEngine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for ExecutionEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionEngine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// A request that passed validation and the gate, ready to spawn.
pub(crate) struct Admitted {
    pub(crate) request: ExecutionRequest,
    pub(crate) prepared: PreparedCommand,
    pub(crate) filter: Option<Box<dyn OutputFilter>>,
    pub(crate) decision: Option<DecisionRecord>,
    pub(crate) stdin: Stdin,
}

impl ExecutionEngine {
    /// A new engine with `config`. The children's base environment is taken from this
    /// process's environment now (see [`crate::EnvPolicy`]); later changes to it do not apply.
    pub fn new(config: ExecutionConfig) -> Self {
        let bus = EventBus::new(config.event_queue, config.broadcast_capacity);
        let store = Store::new(config.retain_max, config.retain_for);
        ExecutionEngine {
            inner: Arc::new(Inner {
                base_env: config.env.base_env(std::env::vars()),
                config,
                bus,
                store,
            }),
        }
    }

    /// Adds an event handler (builder style); several handlers may be added.
    pub fn with_event_handler(self, handler: Arc<dyn EventHandler>) -> Self {
        self.inner.bus.add(handler);
        self
    }

    /// Adds an event handler to a running engine.
    pub fn add_event_handler(&self, handler: Arc<dyn EventHandler>) {
        self.inner.bus.add(handler);
    }

    /// A broadcast receiver of every event from now on (see [`crate::events`] for the lag policy).
    pub fn subscribe(&self) -> broadcast::Receiver<ExecutionEvent> {
        self.inner.bus.subscribe()
    }

    /// The engine's configuration.
    pub fn config(&self) -> &ExecutionConfig {
        &self.inner.config
    }

    /// Validates `request`, asks the policy gate, and starts it. Returns the request's id
    /// once the process is spawned (a spawn failure is a `Failed` result, exit 127/126).
    ///
    /// Errors: `Validation` (bad request, or the id is still running), `ProgramNotFound`,
    /// `Denied` (nothing spawned), `Gate`, `DecisionLog`.
    pub async fn execute(&self, request: ExecutionRequest) -> Result<Uuid, ExecutionError> {
        self.execute_with_stdin(request, Stdin::Null).await
    }

    /// [`Self::execute`], with `stdin` as the command's standard input (`execute` gives
    /// it `/dev/null`). Nothing is read from `stdin` unless the request is admitted.
    pub async fn execute_with_stdin(
        &self,
        request: ExecutionRequest,
        stdin: Stdin,
    ) -> Result<Uuid, ExecutionError> {
        let id = request.id;
        let reservation = self.inner.store.reserve(id, CancellationToken::new())?;
        let guard = ReleaseOnDrop::new(&self.inner.store, reservation);
        let mut admitted = self.inner.admit(request).await?;
        admitted.stdin = stdin;
        self.inner.clone().start(admitted, guard.disarm());
        Ok(id)
    }

    /// Validates every step, asks the gate about every step (a single denial refuses the
    /// whole plan, nothing runs), then runs the plan in the background. Returns the plan id.
    pub async fn execute_plan(&self, plan: ExecutionPlan) -> Result<Uuid, ExecutionError> {
        crate::plan::execute_plan(&self.inner, plan).await
    }

    /// Current status of an execution or a plan.
    pub async fn get_status(&self, id: Uuid) -> Result<ExecutionStatus, ExecutionError> {
        self.inner.store.status(id)
    }

    /// The result of a finished execution. For a plan id: an aggregate result whose status
    /// is the plan's, whose `exit_code` is that of the first step that did not complete
    /// (0 if all did), whose `stdout`/`stderr` are the steps' outputs concatenated in plan
    /// order (each within the per-stream cap), and whose `duration` is the plan's wall
    /// time. Use [`Self::get_plan_result`] for the per-step results.
    ///
    /// Errors: `NotFound` for an unknown or retired id, `Validation` while it still runs.
    pub async fn get_result(&self, id: Uuid) -> Result<ExecutionResult, ExecutionError> {
        self.inner.store.result(id).map(|r| (*r).clone())
    }

    /// The per-step result of a finished plan.
    pub async fn get_plan_result(
        &self,
        plan_id: Uuid,
    ) -> Result<PlanExecutionResult, ExecutionError> {
        self.inner.store.plan_result(plan_id).map(|r| (*r).clone())
    }

    /// Waits until the execution or plan has finished and returns its result (whatever its status).
    pub async fn wait(&self, id: Uuid) -> Result<ExecutionResult, ExecutionError> {
        let mut rx = self.inner.store.watch(id)?;
        let _ = rx.wait_for(|s| s.is_terminal()).await;
        self.get_result(id).await
    }

    /// Asks a running execution or plan to stop: SIGTERM to the process group, SIGKILL after
    /// the grace period; a plan's pending steps do not start. Returns at once; `wait` for the end.
    /// Cancelling a finished id does nothing.
    pub async fn cancel(&self, id: Uuid) -> Result<(), ExecutionError> {
        self.inner.store.cancel(id)
    }
}

impl Inner {
    /// Validation, gate, decision log: everything before the spawn.
    pub(crate) async fn admit(
        &self,
        request: ExecutionRequest,
    ) -> Result<Admitted, ExecutionError> {
        let prepared = prepare_in(&request, &self.base_env, &self.config.extra_env)?;
        let Some(gate) = &self.config.gate else {
            return Ok(Admitted {
                request,
                prepared,
                filter: None,
                decision: None,
                stdin: Stdin::Null,
            });
        };
        let ctx = GateContext {
            approver: self.config.approver.as_ref(),
        };
        let outcome = gate.check(&request, &ctx).await?;
        let record = outcome.record;
        if let Some(sink) = &self.config.decision_sink
            && let Err(e) = sink.record_decision(&record)
        {
            if self.config.require_decision_log {
                return Err(ExecutionError::DecisionLog(e));
            }
            tracing::warn!(error = %e, "decision log could not be written; running anyway");
        }
        if !record.allowed {
            return Err(ExecutionError::Denied {
                plugin: record.plugin.clone().unwrap_or_else(|| "policy".into()),
                reason: record.reason.clone().unwrap_or_else(|| "denied".into()),
                record: Box::new(record),
            });
        }
        let final_request = record.request.clone();
        if final_request.id != request.id {
            return Err(ExecutionError::Gate(format!(
                "the gate changed the request id from {} to {}",
                request.id, final_request.id
            )));
        }
        let prepared = if final_request == request {
            prepared
        } else {
            prepare_in(&final_request, &self.base_env, &self.config.extra_env)?
        };
        Ok(Admitted {
            request: final_request,
            prepared,
            filter: outcome.output,
            decision: Some(record),
            stdin: Stdin::Null,
        })
    }

    /// Spawns the admitted request and supervises it on a task.
    pub(crate) fn start(self: Arc<Self>, mut admitted: Admitted, reservation: Reservation) {
        let child = self.spawn(&mut admitted);
        self.store
            .set_status(&reservation, ExecutionStatus::Running);
        tokio::spawn(async move {
            self.supervise(admitted, reservation, child).await;
        });
    }

    /// Spawns the admitted request and supervises it to the end.
    pub(crate) async fn run_to_end(
        &self,
        mut admitted: Admitted,
        reservation: Reservation,
    ) -> Arc<ExecutionResult> {
        let child = self.spawn(&mut admitted);
        self.store
            .set_status(&reservation, ExecutionStatus::Running);
        self.supervise(admitted, reservation, child).await
    }

    /// Starts the command with its stdin; bytes to feed it are written by a task that
    /// ends with the command's supervision.
    fn spawn(&self, admitted: &mut Admitted) -> std::io::Result<Spawned> {
        let (fd, feed) = match std::mem::take(&mut admitted.stdin) {
            Stdin::Null => (None, None),
            Stdin::Fd(fd) => (Some(fd), None),
            Stdin::Bytes(bytes) => {
                let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
                (Some(r), Some((w, bytes)))
            }
        };
        let id = admitted.request.id;
        // Streams no filter or observer needs go to the sink's own descriptors, if it has.
        let direct = match &self.config.output_sink {
            Some(sink) if admitted.filter.is_none() && !self.bus.wants_lines() => {
                [OutputStream::Stdout, OutputStream::Stderr].map(|s| sink.direct(id, s))
            }
            _ => [None, None],
        };
        let counted = direct
            .each_ref()
            .map(|fd| fd.as_ref().and_then(crate::runtime::Moved::start));
        let child = crate::spawn::spawn(
            id,
            &admitted.prepared,
            self.config.die_with_engine,
            fd,
            direct,
        )?;
        // The command runs from here on: a feeder that cannot start leaves it an empty
        // stdin rather than an error that would leave it behind.
        let feeder = feed.and_then(|(w, bytes)| {
            match tokio::net::unix::pipe::Sender::from_owned_fd(w) {
                Ok(mut pipe) => Some(tokio::spawn(async move {
                    use tokio::io::AsyncWriteExt;
                    // EPIPE when the command exits without reading it all: nothing to do.
                    let _ = pipe.write_all(&bytes).await;
                })),
                Err(e) => {
                    tracing::warn!(error = %e, "could not feed the command's stdin");
                    None
                }
            }
        });
        Ok(Spawned {
            child,
            feeder,
            counted,
        })
    }

    async fn supervise(
        &self,
        admitted: Admitted,
        reservation: Reservation,
        spawned: std::io::Result<Spawned>,
    ) -> Arc<ExecutionResult> {
        let id = admitted.request.id;
        let pgid = spawned.as_ref().ok().and_then(|s| s.child.id());
        let backstop = AbandonGuard {
            inner: self,
            reservation: Some(reservation.clone()),
            pgid,
        };
        let result = match spawned {
            Ok(Spawned {
                child,
                feeder,
                counted,
            }) => {
                let _feeder = feeder.map(AbortOnDrop);
                let run = Run {
                    id,
                    prepared: admitted.prepared,
                    timeout_ms: admitted
                        .request
                        .timeout_ms
                        .or(self.config.default_timeout_ms),
                    cancel: reservation.cancel.clone(),
                    filter: admitted.filter,
                    decision: admitted.decision,
                    direct: counted,
                    config: &self.config,
                    bus: &self.bus,
                };
                runtime::supervise(run, child).await
            }
            Err(e) => runtime::spawn_failure(id, &admitted.prepared, &e, admitted.decision),
        };
        backstop.disarm();
        self.finish(reservation, result).await
    }

    /// Stores a finished result, tells the decision sink, and emits the terminal event.
    pub(crate) async fn finish(
        &self,
        reservation: Reservation,
        result: ExecutionResult,
    ) -> Arc<ExecutionResult> {
        if let Some(sink) = &self.config.decision_sink
            && let Err(e) = sink.record_completion(&result)
        {
            tracing::warn!(error = %e, execution_id = %result.execution_id, "completion record could not be written");
        }
        let result = Arc::new(result);
        self.store.complete(reservation, result.clone());
        let execution_id = result.execution_id;
        let timestamp = result.finished_at;
        let event = match result.status {
            ExecutionStatus::Completed => ExecutionEvent::Completed {
                execution_id,
                result: result.clone(),
                timestamp,
            },
            ExecutionStatus::Cancelled => ExecutionEvent::Cancelled {
                execution_id,
                timestamp,
            },
            _ => ExecutionEvent::Failed {
                execution_id,
                error: result
                    .error
                    .clone()
                    .unwrap_or_else(|| result.status.to_string()),
                timestamp,
            },
        };
        self.bus.emit(event, &Default::default()).await;
        result
    }
}

/// A started command, the task writing its stdin bytes, if any, and how to count what it
/// wrote to the sink's descriptors directly.
struct Spawned {
    child: crate::spawn::Child,
    feeder: Option<tokio::task::JoinHandle<()>>,
    counted: [Option<crate::runtime::Moved>; 2],
}

/// Aborts a task when dropped: the stdin feeder of a command whose supervision has ended.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// If supervision ends without a result (a panic in an output filter, the runtime shutting
/// down), kills the process group and records the run as failed so that waiters wake.
struct AbandonGuard<'a> {
    inner: &'a Inner,
    reservation: Option<Reservation>,
    pgid: Option<u32>,
}

impl AbandonGuard<'_> {
    fn disarm(mut self) {
        self.reservation = None;
    }
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        let Some(r) = self.reservation.take() else {
            return;
        };
        runtime::kill_group(self.pgid);
        let mut result = ExecutionResult::without_output(
            r.id,
            ExecutionStatus::Failed,
            crate::exit_code::INTERNAL,
            None,
            "the execution's supervisor stopped unexpectedly; its process group was killed".into(),
        );
        result.pid = self.pgid;
        result.output_incomplete = true;
        self.inner.store.complete(r, Arc::new(result));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_can_be_shared_across_tasks() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<ExecutionEngine>();
        assert_send_sync::<Arc<ExecutionEngine>>();
        assert_send_sync::<ExecutionError>();
    }
}
