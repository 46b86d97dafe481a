//! `cloudops plan FILE`: run a plan with a progress bar (TTY) or plain lines, Ctrl-C cancels, a summary table at the end.

use std::collections::HashMap;
use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cloudops_execution_engine::{
    EventHandler, ExecutionEngine, ExecutionError, ExecutionEvent, ExecutionStatus,
    PlanExecutionResult,
};
use cloudops_policy::{PlanError, PlanFile, load_plan};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::approver::Refused;
use crate::exec;
use crate::gate;
use crate::output::PrefixSink;
use crate::render::{EXIT_DENIED, EXIT_FAILED, EXIT_INTERRUPTED, UserError};
use crate::settings::Common;

/// Shows progress as steps end (a bar on a terminal, else one line per step), from the
/// engine's lifecycle events; the steps' output goes through a [`PrefixSink`].
struct StepProgress {
    bar: Option<ProgressBar>,
    names: HashMap<Uuid, String>,
    done: Mutex<HashSet<Uuid>>,
    notify: Notify,
    total: usize,
    quiet: bool,
}

impl StepProgress {
    /// Progress for the steps of `file`, drawn on `bar`, else printed unless `quiet`.
    fn new(file: &PlanFile, bar: Option<ProgressBar>, quiet: bool) -> Self {
        let names = file
            .plan
            .commands
            .iter()
            .zip(&file.names)
            .map(|(req, name)| (req.id, name.clone()))
            .collect();
        StepProgress {
            bar,
            names,
            done: Mutex::new(HashSet::new()),
            notify: Notify::new(),
            total: file.plan.commands.len(),
            quiet,
        }
    }

    fn ended(&self, id: Uuid, how: &str) {
        let Some(name) = self.names.get(&id) else {
            return;
        };
        let n = {
            let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
            done.insert(id);
            done.len()
        };
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(format!("{name}: {how}"));
            }
            None if !self.quiet => eprintln!("[{n}/{}] {name}: {how}", self.total),
            None => {}
        }
        self.notify.notify_waiters();
    }

    /// Waits until the end of each of `ids` has been shown (at most `limit`).
    async fn shown(&self, ids: &[Uuid], limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.notify.notified();
            let all = {
                let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
                ids.iter().all(|id| done.contains(id))
            };
            if all || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

#[async_trait]
impl EventHandler for StepProgress {
    async fn on_event(&self, event: ExecutionEvent) {
        match &event {
            ExecutionEvent::Completed { execution_id, .. } => {
                self.ended(*execution_id, "completed")
            }
            ExecutionEvent::Failed {
                execution_id,
                error,
                ..
            } => self.ended(*execution_id, error),
            ExecutionEvent::Cancelled { execution_id, .. } => {
                self.ended(*execution_id, "cancelled");
            }
            _ => {}
        }
    }

    fn wants_lines(&self) -> bool {
        false
    }
}

/// The hint under a mistake in a plan file.
const PLAN_HINT: &str = "see `cloudops plan --help` and the plan file format in the README";

/// Runs the plan file; exit 0 when every step completed, 1 when some did not, 130 on Ctrl-C.
pub async fn run(common: &Common, path: &Path) -> anyhow::Result<i32> {
    let file = load(common, path)?;
    let session = gate::open(common).await?;
    let approver = exec::approver(common, &session.defaults());
    let mut config = exec::engine_config(common, &session, approver)?;
    let tty = std::io::stderr().is_terminal() && !common.json && common.verbosity >= 0;
    let bar = tty.then(|| hidden_bar(file.plan.commands.len()));
    let quiet = common.verbosity < 0 || common.json;
    let progress = Arc::new(StepProgress::new(&file, bar.clone(), quiet));
    let sink = Arc::new(PrefixSink::new(prefixes(&file), bar.clone()));
    if !common.json {
        config.output_sink = Some(sink.clone());
        // Only --json shows the steps' output again: otherwise keep no copy of it.
        config.max_output_bytes = 0;
    }
    let engine = ExecutionEngine::new(config);
    engine.add_event_handler(progress.clone());
    let step_ids: Vec<Uuid> = file.plan.commands.iter().map(|r| r.id).collect();
    // Every step is decided before any runs: a no at the prompt, or a denial, refuses the
    // whole plan; the error names the step.
    let plan_id = crate::approver::settle(engine.execute_plan(file.plan).await)
        .map_err(|refused| refusal(refused, &step_ids, &file.names))?;
    if let Some(bar) = &bar {
        bar.reset_elapsed();
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(120));
    }
    let waited = wait(&engine, plan_id, &progress, &step_ids).await;
    // Cleared whether the wait succeeded or not: an error is not printed after a bar.
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (interrupted, result) = waited?;
    if let Some(failure) = sink.failure() {
        eprintln!("error: {failure}; the steps' output pipes were closed");
    }
    if common.json {
        println!("{}", summary_json(&result, &file.names));
    } else if common.verbosity >= 0 {
        eprint!("{}", summary_table(&result, &file.names));
    }
    Ok(exit_code(interrupted, &result))
}

/// Reads the plan file; its steps inherit `--source`, `--tag`, `--env`, `--timeout` and
/// `--cwd` (else the current directory).
fn load(common: &Common, path: &Path) -> anyhow::Result<PlanFile> {
    load_plan(path, &common.template()).map_err(|e| match e {
        PlanError::Read { .. } => anyhow::Error::new(e),
        located => UserError::new(located.render()).hint(PLAN_HINT).into(),
    })
}

/// The progress bar, not drawn yet: it is shown once every step is admitted, so the y/N
/// prompts of `ask` verdicts come first and a refused plan leaves no bar behind.
fn hidden_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The prefix of each step's output lines: `[NAME] `.
fn prefixes(file: &PlanFile) -> HashMap<Uuid, String> {
    file.plan
        .commands
        .iter()
        .zip(&file.names)
        .map(|(req, name)| (req.id, format!("[{name}] ")))
        .collect()
}

/// The error for a plan refused before it ran: the step that was declined or denied.
fn refusal(refused: Refused, step_ids: &[Uuid], names: &[String]) -> anyhow::Error {
    let refused_step = |id: Uuid, what: String, hint: &str| {
        let i = step_ids.iter().position(|s| *s == id).unwrap_or_default();
        anyhow::Error::from(
            UserError::new(format!("step {} ({}): {what}", i + 1, names[i]))
                .hint(format!(
                    "every step is decided before any runs: nothing in the plan ran{hint}"
                ))
                .code(EXIT_DENIED),
        )
    };
    match refused {
        Refused::Declined { id, reason } => {
            refused_step(id, format!("declined at the prompt: {reason}"), "")
        }
        Refused::Other(ExecutionError::Denied {
            plugin,
            reason,
            record,
        }) => refused_step(
            record.execution_id,
            format!("denied by {plugin}: {reason}"),
            "; run this step alone with --check to see the decision trace",
        ),
        other => other.into(),
    }
}

/// Waits for the plan to end (Ctrl-C cancels it) and for its steps' ends to be shown;
/// whether it was interrupted, and its result.
async fn wait(
    engine: &ExecutionEngine,
    plan_id: Uuid,
    progress: &StepProgress,
    step_ids: &[Uuid],
) -> anyhow::Result<(bool, PlanExecutionResult)> {
    let interrupted = tokio::select! {
        r = engine.wait(plan_id) => { r?; false }
        _ = tokio::signal::ctrl_c() => {
            engine.cancel(plan_id).await?;
            engine.wait(plan_id).await?;
            true
        }
    };
    let result = engine.get_plan_result(plan_id).await?;
    progress.shown(step_ids, Duration::from_millis(500)).await;
    Ok((interrupted, result))
}

/// 130 when interrupted (or cancelled with no step failed), 0 when every step completed,
/// else 1.
fn exit_code(interrupted: bool, result: &PlanExecutionResult) -> i32 {
    if interrupted
        || result.status == ExecutionStatus::Cancelled
            && result.stats.failed == 0
            && result.stats.timeout == 0
    {
        EXIT_INTERRUPTED
    } else if result.status == ExecutionStatus::Completed {
        0
    } else {
        EXIT_FAILED
    }
}

fn summary_json(r: &PlanExecutionResult, names: &[String]) -> serde_json::Value {
    let steps: Vec<_> = r
        .results
        .iter()
        .zip(names)
        .map(|(s, n)| json!({"name": n, "status": s.status, "exit_code": s.exit_code, "duration_ms": s.duration.as_millis(), "stdout": s.stdout, "stderr": s.stderr}))
        .collect();
    json!({"plan_id": r.plan_id, "status": r.status, "duration_ms": r.total_duration.as_millis(), "stats": r.stats, "steps": steps})
}

/// The summary: one row per step, then the totals.
pub fn summary_table(r: &PlanExecutionResult, names: &[String]) -> String {
    let w = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 48);
    let mut s = format!(
        "{:<3} {:<w$}  {:<9}  {:>4}  {:>9}\n",
        "#", "step", "status", "exit", "time"
    );
    for (i, (res, name)) in r.results.iter().zip(names).enumerate() {
        let name: String = name.chars().take(w).collect();
        s.push_str(&format!(
            "{:<3} {:<w$}  {:<9}  {:>4}  {:>9}\n",
            i + 1,
            name,
            res.status.to_string(),
            res.exit_code,
            format!("{:.2?}", res.duration)
        ));
    }
    let st = r.stats;
    s.push_str(&format!(
        "plan {}: {} completed, {} failed, {} timed out, {} cancelled, of {} in {:.2?}\n",
        r.status, st.completed, st.failed, st.timeout, st.cancelled, st.total, r.total_duration
    ));
    s
}
