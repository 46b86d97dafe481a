//! Plans: several requests under one id, serially (optionally stopping at the first failure) or in parallel with a concurrency cap.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::engine::{Admitted, Inner};
use crate::error::ExecutionError;
use crate::events::ExecutionEvent;
use crate::output::Capture;
use crate::store::Reservation;
use crate::types::{
    ExecutionPlan, ExecutionRequest, ExecutionResult, ExecutionStats, ExecutionStatus,
    ExecutionStrategy, PlanExecutionResult,
};

/// A step's request with the plan's metadata filled in (the step's own values win).
fn with_plan_metadata(plan: &ExecutionPlan, mut step: ExecutionRequest) -> ExecutionRequest {
    if step.metadata.source.is_none() {
        step.metadata.source = plan.metadata.source.clone();
    }
    if step.metadata.conversation_id.is_none() {
        step.metadata.conversation_id = plan.metadata.conversation_id.clone();
    }
    for (k, v) in &plan.metadata.tags {
        step.metadata
            .tags
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    step
}

fn step_error(index: usize, e: ExecutionError) -> ExecutionError {
    match e {
        ExecutionError::Validation(m) => {
            ExecutionError::Validation(format!("step {}: {m}", index + 1))
        }
        other => other,
    }
}

/// Validates and gates every step, then runs the plan on a background task.
pub(crate) async fn execute_plan(
    inner: &Arc<Inner>,
    plan: ExecutionPlan,
) -> Result<Uuid, ExecutionError> {
    if let ExecutionStrategy::Parallel {
        max_concurrency: Some(0),
    } = plan.strategy
    {
        return Err(ExecutionError::Validation(
            "max_concurrency must be at least 1".into(),
        ));
    }
    let mut seen = HashSet::from([plan.id]);
    for (i, step) in plan.commands.iter().enumerate() {
        if !seen.insert(step.id) {
            return Err(ExecutionError::Validation(format!(
                "step {}: id {} is used twice in the plan",
                i + 1,
                step.id
            )));
        }
    }
    let plan_token = CancellationToken::new();
    let plan_res = inner.store.reserve(plan.id, plan_token.clone())?;
    let mut reservations: Vec<Reservation> = Vec::with_capacity(plan.commands.len());
    let mut admitted = Vec::with_capacity(plan.commands.len());
    let release_all = |plan_res: Reservation, reservations: Vec<Reservation>| {
        for r in reservations {
            inner.store.release(r);
        }
        inner.store.release(plan_res);
    };
    for (i, step) in plan.commands.iter().enumerate() {
        let request = with_plan_metadata(&plan, step.clone());
        match inner.store.reserve(request.id, plan_token.child_token()) {
            Ok(r) => reservations.push(r),
            Err(e) => {
                release_all(plan_res, reservations);
                return Err(step_error(i, e));
            }
        }
        match inner.admit(request).await {
            Ok(a) => admitted.push(a),
            Err(e) => {
                release_all(plan_res, reservations);
                return Err(step_error(i, e));
            }
        }
    }
    inner.store.set_status(&plan_res, ExecutionStatus::Running);
    let inner = inner.clone();
    let plan_id = plan.id;
    tokio::spawn(async move {
        run_plan(inner, plan, plan_res, admitted, reservations).await;
    });
    Ok(plan_id)
}

/// The result of a step that never started.
fn not_run(request: &ExecutionRequest, why: &str) -> ExecutionResult {
    ExecutionResult::without_output(
        request.id,
        ExecutionStatus::Cancelled,
        crate::exit_code::INTERRUPTED,
        Some(request.command.clone()),
        format!("not run: {why}"),
    )
}

async fn progress(
    inner: &Inner,
    plan_id: Uuid,
    completed: usize,
    total: usize,
    step: &ExecutionResult,
) {
    if !inner.bus.has_listeners() {
        return;
    }
    let event = ExecutionEvent::Progress {
        plan_id,
        completed,
        total,
        current_command: step.command.as_ref().map(|c| c.to_string()),
        timestamp: Utc::now(),
    };
    inner.bus.emit(event, &Default::default()).await;
}

/// The steps' results as they come in, each counted in a progress event.
struct Tally<'a> {
    inner: &'a Inner,
    plan_id: Uuid,
    done: usize,
    /// Per step, in the plan's order; `None` until it has a result.
    results: Vec<Option<Arc<ExecutionResult>>>,
}

impl<'a> Tally<'a> {
    fn new(inner: &'a Inner, plan_id: Uuid, total: usize) -> Self {
        Tally {
            inner,
            plan_id,
            done: 0,
            results: vec![None; total],
        }
    }

    /// Step `i` has its result.
    async fn record(&mut self, i: usize, result: Arc<ExecutionResult>) {
        self.done += 1;
        let total = self.results.len();
        progress(self.inner, self.plan_id, self.done, total, &result).await;
        self.results[i] = Some(result);
    }
}

/// Runs an admitted plan's steps by its strategy, then stores the plan's result.
async fn run_plan(
    inner: Arc<Inner>,
    plan: ExecutionPlan,
    plan_res: Reservation,
    admitted: Vec<Admitted>,
    reservations: Vec<Reservation>,
) {
    let started_at = Utc::now();
    let t0 = std::time::Instant::now();
    let mut tally = Tally::new(&inner, plan.id, admitted.len());
    let steps = admitted.into_iter().zip(reservations).enumerate();
    let cancel = &plan_res.cancel;
    match plan.strategy {
        ExecutionStrategy::Serial { stop_on_error } => {
            run_serial(&inner, steps, stop_on_error, cancel, &mut tally).await;
        }
        ExecutionStrategy::Parallel { max_concurrency } => {
            run_parallel(&inner, steps, max_concurrency, cancel, &mut tally).await;
        }
    }
    let results = tally.results;
    complete(&inner, &plan, plan_res, results, started_at, t0);
}

/// Runs the steps one after the other; once the plan is cancelled, or with
/// `stop_on_error` once a step did not complete, the rest are not run.
async fn run_serial(
    inner: &Inner,
    steps: impl Iterator<Item = (usize, (Admitted, Reservation))>,
    stop_on_error: bool,
    cancel: &CancellationToken,
    tally: &mut Tally<'_>,
) {
    let mut failed = false;
    for (i, (a, r)) in steps {
        let result = if cancel.is_cancelled() {
            let res = not_run(&a.request, "the plan was cancelled");
            inner.finish(r, res).await
        } else if failed && stop_on_error {
            let res = not_run(&a.request, "an earlier step did not complete");
            inner.finish(r, res).await
        } else {
            inner.run_to_end(a, r).await
        };
        failed |= result.status != ExecutionStatus::Completed;
        tally.record(i, result).await;
    }
}

/// Runs the steps on tasks, at most `max_concurrency` at once (default: the available
/// parallelism); once the plan is cancelled, the steps not started are not run.
async fn run_parallel(
    inner: &Arc<Inner>,
    mut steps: impl Iterator<Item = (usize, (Admitted, Reservation))>,
    max_concurrency: Option<usize>,
    cancel: &CancellationToken,
    tally: &mut Tally<'_>,
) {
    let limit = max_concurrency
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut set = JoinSet::new();
    loop {
        while set.len() < limit {
            let Some((i, (a, r))) = steps.next() else {
                break;
            };
            if cancel.is_cancelled() {
                let res = not_run(&a.request, "the plan was cancelled");
                let result = inner.finish(r, res).await;
                tally.record(i, result).await;
                continue;
            }
            let inner = inner.clone();
            set.spawn(async move { (i, inner.run_to_end(a, r).await) });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        if let Ok((i, result)) = joined {
            tally.record(i, result).await;
        }
    }
}

/// Stores the plan's result: every step's (a step without one, its task having failed,
/// counts as not run), the plan's status and stats, and the aggregate.
fn complete(
    inner: &Inner,
    plan: &ExecutionPlan,
    plan_res: Reservation,
    results: Vec<Option<Arc<ExecutionResult>>>,
    started_at: chrono::DateTime<Utc>,
    t0: std::time::Instant,
) {
    let results: Vec<ExecutionResult> = results
        .into_iter()
        .zip(&plan.commands)
        .map(|(r, req)| match r {
            Some(r) => (*r).clone(),
            None => not_run(req, "the step's task failed"),
        })
        .collect();
    let stats = ExecutionStats::from_results(&results);
    let status = if stats.completed == stats.total {
        ExecutionStatus::Completed
    } else if plan_res.cancel.is_cancelled() {
        ExecutionStatus::Cancelled
    } else {
        ExecutionStatus::Failed
    };
    let total_duration = t0.elapsed();
    let aggregate = aggregate(inner, plan.id, status, &results, started_at, total_duration);
    let plan_result = PlanExecutionResult {
        plan_id: plan.id,
        status,
        results,
        total_duration,
        stats,
    };
    inner
        .store
        .complete_plan(plan_res, Arc::new(aggregate), Arc::new(plan_result));
}

/// What `get_result(plan_id)` returns: see `ExecutionEngine::get_result`.
fn aggregate(
    inner: &Inner,
    plan_id: Uuid,
    status: ExecutionStatus,
    results: &[ExecutionResult],
    started_at: chrono::DateTime<Utc>,
    duration: Duration,
) -> ExecutionResult {
    let cap = inner.config.max_output_bytes;
    // The steps' lines were cut at the line cap already.
    let (mut out, mut err) = (Capture::new(cap, usize::MAX), Capture::new(cap, usize::MAX));
    for r in results {
        out.push(r.stdout.as_bytes());
        err.push(r.stderr.as_bytes());
    }
    let first_bad = results
        .iter()
        .find(|r| r.status != ExecutionStatus::Completed);
    ExecutionResult {
        execution_id: plan_id,
        status,
        exit_code: first_bad.map_or(0, |r| r.exit_code),
        pid: None,
        signal: None,
        stdout_truncated: out.truncated || results.iter().any(|r| r.stdout_truncated),
        stderr_truncated: err.truncated || results.iter().any(|r| r.stderr_truncated),
        stdout: out.take_text(),
        stderr: err.take_text(),
        stdout_bytes: results.iter().map(|r| r.stdout_bytes).sum(),
        stderr_bytes: results.iter().map(|r| r.stderr_bytes).sum(),
        lines_truncated: results.iter().map(|r| r.lines_truncated).sum(),
        events_dropped: results.iter().map(|r| r.events_dropped).sum(),
        output_incomplete: results.iter().any(|r| r.output_incomplete),
        started_at,
        finished_at: Utc::now(),
        duration,
        command: None,
        error: first_bad.and_then(|r| r.error.clone()),
        decision: None,
    }
}
