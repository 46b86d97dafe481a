//! `ExecutionEngine`: accepts requests and plans, runs them through the gate and the runtime, and answers queries by id.

use std::sync::Arc;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::ExecutionConfig;
use crate::error::ExecutionError;
use crate::events::{EventBus, EventHandler, ExecutionEvent};
use crate::gate::{Approver, DecisionRecord, GateContext, OutputFilter, Preparation};
use crate::io::Stdin;
use crate::resolve::{PreparedCommand, Preparer};
use crate::runtime::{self, Run};
use crate::store::{ReleaseOnDrop, Reservation, Store};
use crate::types::{
    ExecutionPlan, ExecutionRequest, ExecutionResult, ExecutionStatus, OutputStream,
    PlanExecutionResult,
};

pub(crate) struct Inner {
    pub(crate) config: ExecutionConfig,
    /// Prepares requests with the children's base environment, computed once from the
    /// engine's own at creation.
    preparer: Preparer,
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
    /// The sandbox it runs in (the decision's effective one).
    pub(crate) sandbox: Option<cloudops_sandbox::Sandbox>,
    pub(crate) stdin: Stdin,
}

/// What the decision path does with a sandbox the kernel cannot apply whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settle {
    /// Refuse a required one with `SandboxUnavailable` (the request is about to run).
    Refuse,
    /// Deny a required one in the record (a decision only: `--check`, hooks).
    Report,
    /// Do not ask the kernel (policy tests).
    Skip,
}

/// A decision: the record, the gate's output filter, and the request as prepared.
type Decided = (
    DecisionRecord,
    Option<Box<dyn OutputFilter>>,
    Option<PreparedCommand>,
);

/// What comes with one request besides the request itself.
#[derive(Default)]
pub struct RequestOptions {
    /// The command's standard input (default: `/dev/null`).
    pub stdin: Stdin,
    /// Who answers this request's `ask` verdicts (default: the engine's
    /// [`ExecutionConfig::approver`]): a server gives each client's requests their own.
    pub approver: Option<Arc<dyn Approver>>,
}

impl std::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestOptions")
            .field("stdin", &self.stdin)
            .field("approver", &self.approver.is_some())
            .finish()
    }
}

impl ExecutionEngine {
    /// A new engine with `config`. The children's base environment is taken from this
    /// process's environment now (see [`crate::EnvPolicy`]); later changes to it do not apply.
    pub fn new(config: ExecutionConfig) -> Self {
        let bus = EventBus::new(config.event_queue, config.broadcast_capacity);
        let store = Store::new(config.retain_max, config.retain_for);
        ExecutionEngine {
            inner: Arc::new(Inner {
                preparer: Preparer::new(&config.env, &config.extra_env),
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
        let options = RequestOptions {
            stdin,
            ..RequestOptions::default()
        };
        self.execute_with(request, options).await
    }

    /// [`Self::execute`], with the request's own stdin and approver.
    pub async fn execute_with(
        &self,
        request: ExecutionRequest,
        options: RequestOptions,
    ) -> Result<Uuid, ExecutionError> {
        let id = request.id;
        let reservation = self.inner.store.reserve(id, CancellationToken::new())?;
        let guard = ReleaseOnDrop::new(&self.inner.store, reservation);
        let approver = options.approver.as_deref();
        let mut admitted = self.inner.admit_with(request, approver).await?;
        admitted.stdin = options.stdin;
        self.inner.clone().start(admitted, guard.disarm());
        Ok(id)
    }

    /// Decides on `request` exactly as [`Self::execute`] would, without running it: the
    /// same validation, defaults (the engine's default timeout), preparation and gate. Returns
    /// the decision record, allowed or not (a denial is `Ok`); no decision log is written
    /// and nothing is spawned. `approver` answers `ask` verdicts (give one that refuses to
    /// report `ask` without asking anyone).
    ///
    /// The sandbox is checked against this kernel as `execute` checks it, but a required
    /// sandbox the kernel cannot apply is a denial in the record (plugin `sandbox`, the
    /// missing parts in `unconfined`), not an error; with [`Preparation::IfPossible`] the
    /// kernel is not asked (policy tests give the same answers on every machine).
    ///
    /// Errors: `Validation` and `ProgramNotFound` (with [`Preparation::Required`]), `Gate`.
    pub async fn decide(
        &self,
        request: ExecutionRequest,
        approver: &dyn Approver,
        preparation: Preparation,
    ) -> Result<DecisionRecord, ExecutionError> {
        self.inner
            .decide(request, Some(approver), preparation, Settle::Report)
            .await
            .map(|(record, _, _)| record)
    }

    /// The preparer this engine uses: what a gate receives to prepare rewritten requests.
    pub fn preparer(&self) -> &Preparer {
        &self.inner.preparer
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
    /// Validation, gate, decision log: everything before the spawn, with the engine's approver.
    pub(crate) async fn admit(
        &self,
        request: ExecutionRequest,
    ) -> Result<Admitted, ExecutionError> {
        self.admit_with(request, None).await
    }

    /// [`Self::admit`] with `approver` (default: the engine's) answering `ask` verdicts.
    async fn admit_with(
        &self,
        request: ExecutionRequest,
        approver: Option<&dyn Approver>,
    ) -> Result<Admitted, ExecutionError> {
        let id = request.id;
        let (record, output, prepared) = self
            .decide(request, approver, Preparation::Required, Settle::Refuse)
            .await?;
        if self.config.gate.is_none() {
            let prepared = prepared
                .ok_or_else(|| ExecutionError::Gate("the request was not prepared".into()))?;
            return Ok(Admitted {
                sandbox: record.sandbox,
                request: record.request,
                prepared,
                filter: None,
                decision: None,
                stdin: Stdin::Null,
            });
        }
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
        if record.request.id != id {
            return Err(ExecutionError::Gate(format!(
                "the gate changed the request id from {id} to {}",
                record.request.id
            )));
        }
        let request = record.request.clone();
        let prepared = match prepared {
            Some(p) if record.request == record.original => p,
            _ => self.preparer.prepare(&request)?,
        };
        Ok(Admitted {
            request,
            prepared,
            filter: output,
            sandbox: record.sandbox.clone(),
            decision: Some(record),
            stdin: Stdin::Null,
        })
    }

    /// The one decision path: defaults, validation and preparation, then the gate (if
    /// any). Returns the record, the gate's output filter and the request prepared (before
    /// any rewrite; `None` only when [`Preparation::IfPossible`] let it through unprepared).
    async fn decide(
        &self,
        mut request: ExecutionRequest,
        approver: Option<&dyn Approver>,
        preparation: Preparation,
        settle: Settle,
    ) -> Result<Decided, ExecutionError> {
        let settle = match preparation {
            Preparation::IfPossible => Settle::Skip,
            Preparation::Required => settle,
        };
        if request.timeout_ms.is_none() {
            request.timeout_ms = self.config.default_timeout_ms;
        }
        let prepared = match self.preparer.prepare(&request) {
            Ok(p) => Some(p),
            Err(_) if preparation == Preparation::IfPossible => None,
            Err(e) => return Err(e),
        };
        let Some(gate) = &self.config.gate else {
            let mut record = DecisionRecord::allow_unchanged(&request);
            self.settle_sandbox(&mut record, settle)?;
            return Ok((record, None, prepared));
        };
        let ctx = GateContext {
            approver: approver.unwrap_or(self.config.approver.as_ref()),
            prepared: prepared.as_ref(),
            preparer: &self.preparer,
        };
        let mut outcome = gate.check(&request, &ctx).await?;
        self.settle_sandbox(&mut outcome.record, settle)?;
        Ok((outcome.record, outcome.output, prepared))
    }

    /// Sets the record's sandbox to the effective one (the gate's, else the engine's) and
    /// checks it against the kernel: a required sandbox the kernel cannot apply whole is
    /// refused; one that is not required is noted in `record.unconfined` and runs without
    /// the missing parts. A denied request is left as it is.
    fn settle_sandbox(
        &self,
        record: &mut DecisionRecord,
        settle: Settle,
    ) -> Result<(), ExecutionError> {
        if record.sandbox.is_none() {
            record.sandbox.clone_from(&self.config.sandbox);
        }
        let Some(sandbox) = &record.sandbox else {
            return Ok(());
        };
        if !record.allowed || settle == Settle::Skip {
            return Ok(());
        }
        let missing = cloudops_sandbox::probe().missing_for(sandbox);
        if missing.is_empty() {
            return Ok(());
        }
        if sandbox.required {
            let e = ExecutionError::SandboxUnavailable {
                sandbox: sandbox.name.clone(),
                missing: missing.clone(),
            };
            if settle == Settle::Refuse {
                return Err(e);
            }
            record.allowed = false;
            record.verdict = crate::gate::Verdict::Deny;
            record.plugin = Some("sandbox".into());
            record.reason = Some(e.to_string());
            record.unconfined = Some(missing.join(", "));
            return Ok(());
        }
        let missing = missing.join(", ");
        tracing::warn!(
            execution_id = %record.execution_id,
            sandbox = %sandbox.name,
            missing = %missing,
            "the kernel cannot apply the whole sandbox; running without the missing parts"
        );
        record.unconfined = Some(missing);
        Ok(())
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
        let sandbox = match &admitted.sandbox {
            Some(sb) => Some(
                cloudops_sandbox::prepare(sb, cloudops_sandbox::probe())
                    .map_err(std::io::Error::other)?,
            ),
            None => None,
        };
        let child = crate::spawn::spawn(
            id,
            &admitted.prepared,
            self.config.die_with_engine,
            sandbox.as_ref(),
            fd,
            direct,
        )?;
        // What must outlive the command (its cgroup); the rest of the sandbox is spent.
        let cgroup = sandbox.and_then(cloudops_sandbox::Prepared::after_spawn);
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
            cgroup,
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
                cgroup,
            }) => {
                let _feeder = feeder.map(AbortOnDrop);
                // Dropped after the supervision: the cgroup goes once the command has.
                let _cgroup = cgroup;
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
    /// The execution's pids cgroup, emptied (and kept for reuse) when dropped.
    cgroup: Option<cloudops_sandbox::Cgroup>,
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
