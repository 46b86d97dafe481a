//! The process runtime: supervise a spawned child to its end, its output delivered without loss, its timeout and cancel enforced on the whole process group.
//!
//! Modelled on nextest's runner: the child leads a new process group; timeout and cancel
//! send SIGTERM to the group, wait the grace period, then SIGKILL the group. When the
//! child exits, whatever is left of its group is killed (no orphans); if the pipes stay
//! open after that (a process that left the group holds them), the wait is bounded and
//! the result is flagged `output_incomplete`. Output is read only as fast as it is
//! delivered (see [`crate::stream`]); output a sink has not taken within the grace
//! periods after a timeout or cancel is given up (also flagged).
//!
//! The supervisor is a loop over three parts: the deadlines ([`deadline::Clock`]), the
//! output ([`pump::Pump`]) and, once the child is gone, a pure [`classify`] of its end.

mod deadline;
mod pump;

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::ExecutionConfig;
use crate::escapees::kill_escapees;
use crate::events::{EventBus, ExecutionEvent};
use crate::exit_code;
use crate::gate::{DecisionRecord, OutputFilter};
use crate::resolve::PreparedCommand;
use crate::spawn::Child;
use crate::types::{ExecutionResult, ExecutionStatus};
use deadline::{Clock, Ending};
use pump::{Drained, Pump};

/// Sends `sig` to a whole process group (best effort).
fn signal_group(pgid: Option<u32>, sig: Signal) {
    if let Some(pgid) = pgid.and_then(|p| i32::try_from(p).ok()) {
        // ESRCH (the group is already gone) is the normal case after a clean exit.
        let _ = killpg(Pid::from_raw(pgid), sig);
    }
}

/// SIGKILL to a whole process group (best effort).
pub(crate) fn kill_group(pgid: Option<u32>) {
    signal_group(pgid, Signal::SIGKILL);
}

/// Status, exit code and error message of a finished run, from why the runtime ended it
/// (if it did) and its exit status alone.
fn classify(
    ending: Option<Ending>,
    status: ExitStatus,
    timeout_ms: Option<u64>,
) -> (ExecutionStatus, i32, Option<String>) {
    match ending {
        Some(Ending::Timeout) => (
            ExecutionStatus::Timeout,
            exit_code::TIMEOUT,
            Some(format!(
                "timed out after {} ms",
                timeout_ms.unwrap_or_default()
            )),
        ),
        Some(Ending::Cancel) => (
            ExecutionStatus::Cancelled,
            exit_code::INTERRUPTED,
            Some("cancelled".into()),
        ),
        None => match (status.code(), status.signal()) {
            (Some(0), _) => (ExecutionStatus::Completed, 0, None),
            (Some(code), _) => (
                ExecutionStatus::Failed,
                code,
                Some(format!("exited with code {code}")),
            ),
            (None, Some(sig)) => (
                ExecutionStatus::Failed,
                exit_code::SIGNAL_BASE + sig,
                Some(format!("killed by signal {sig}")),
            ),
            (None, None) => (ExecutionStatus::Failed, 1, Some("ended abnormally".into())),
        },
    }
}

/// How far a descriptor the command writes directly has moved: what it wrote there, for
/// a regular file (a pipe has no offset).
pub(crate) struct Moved {
    fd: std::os::fd::OwnedFd,
    start: u64,
}

impl Moved {
    /// Notes where `fd` stands now; `None` when it has no offset.
    pub(crate) fn start(fd: &std::os::fd::OwnedFd) -> Option<Self> {
        let start = nix::unistd::lseek(fd, 0, nix::unistd::Whence::SeekCur).ok()?;
        Some(Moved {
            fd: fd.try_clone().ok()?,
            start: u64::try_from(start).ok()?,
        })
    }

    fn bytes(m: Option<&Self>) -> u64 {
        m.and_then(|m| {
            let now = nix::unistd::lseek(&m.fd, 0, nix::unistd::Whence::SeekCur).ok()?;
            u64::try_from(now).ok()?.checked_sub(m.start)
        })
        .unwrap_or(0)
    }
}

/// Everything the supervisor needs about one run.
pub(crate) struct Run<'a> {
    pub id: Uuid,
    pub prepared: PreparedCommand,
    pub timeout_ms: Option<u64>,
    pub cancel: CancellationToken,
    pub filter: Option<Box<dyn OutputFilter>>,
    pub decision: Option<DecisionRecord>,
    /// Streams the command writes to the sink's descriptors, to count.
    pub direct: [Option<Moved>; 2],
    pub config: &'a ExecutionConfig,
    pub bus: &'a EventBus,
}

/// Result of a spawn failure: status Failed, exit 127 (not found) or 126 (cannot execute).
pub(crate) fn spawn_failure(
    id: Uuid,
    prepared: &PreparedCommand,
    err: &std::io::Error,
    decision: Option<DecisionRecord>,
) -> ExecutionResult {
    let exit_code = if err.kind() == std::io::ErrorKind::NotFound {
        exit_code::NOT_FOUND
    } else {
        exit_code::CANNOT_EXECUTE
    };
    let mut result = ExecutionResult::without_output(
        id,
        ExecutionStatus::Failed,
        exit_code,
        Some(prepared.resolved.clone()),
        format!("could not start '{}': {err}", prepared.program.display()),
    );
    result.decision = decision;
    result
}

/// Supervises a spawned child to the end and builds its result. Emits `Started` and the
/// line events; the caller emits the terminal event after storing the result.
pub(crate) async fn supervise(run: Run<'_>, mut child: Child) -> ExecutionResult {
    let started_at = Utc::now();
    let t0 = Instant::now();
    let (id, config, bus) = (run.id, run.config, run.bus);
    let pgid = child.id();
    let dropped = AtomicU64::new(0);
    let started = ExecutionEvent::Started {
        execution_id: id,
        command: run.prepared.resolved.clone(),
        timestamp: started_at,
    };
    bus.emit(started, &dropped).await;

    let pipes = [child.stdout.take(), child.stderr.take()];
    let mut pump = Pump::start(id, config, (bus, &dropped), run.filter, pipes).await;
    let mut clock = Clock::new(pgid, config, t0, run.timeout_ms);
    let mut exit: Option<ExitStatus> = None;
    let mut output_incomplete = false;
    let cancel = run.cancel.clone();

    loop {
        let pipes_open = pump.settle().await;
        if !pipes_open {
            clock.pipes_closed();
        }
        if exit.is_some() && !pipes_open && pump.delivered() {
            break;
        }
        let reads = pump.reads();
        let wake = clock.next();
        tokio::select! {
            io = pump.wait(reads) => pump.handle(io).await,
            status = child.wait(), if exit.is_none() => {
                // A child that cannot be waited for is treated as killed.
                exit = Some(status.unwrap_or_else(|_| ExitStatus::from_raw(9)));
                clock.exited(Instant::now());
            }
            _ = cancel.cancelled(), if !clock.cancelled() => {
                clock.cancel(Instant::now(), exit.is_some());
            }
            _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                let due = clock.tick(Instant::now(), exit.is_some(), reads.pipes());
                output_incomplete |= due.incomplete;
                output_incomplete |= pump.on_due(&due);
            }
        }
    }
    // Whatever is left of the group (background jobs, a grandchild) goes with the child.
    signal_group(pgid, Signal::SIGKILL);
    if config.hunt_escapees {
        hunt_escapees(id).await;
    }

    let status = exit.unwrap_or_else(|| ExitStatus::from_raw(9));
    let (status_kind, exit_code, error) = classify(clock.ending(), status, run.timeout_ms);
    let Drained {
        mut stdout,
        mut stderr,
        stdout_bytes,
        stderr_bytes,
    } = pump.finish();
    ExecutionResult {
        execution_id: id,
        status: status_kind,
        exit_code,
        pid: pgid,
        signal: status.signal(),
        stdout: stdout.take_text(),
        stderr: stderr.take_text(),
        stdout_truncated: stdout.truncated,
        stderr_truncated: stderr.truncated,
        stdout_bytes: stdout_bytes + Moved::bytes(run.direct[0].as_ref()),
        stderr_bytes: stderr_bytes + Moved::bytes(run.direct[1].as_ref()),
        lines_truncated: stdout.lines_cut + stderr.lines_cut,
        events_dropped: dropped.load(Ordering::Relaxed),
        output_incomplete,
        started_at,
        finished_at: Utc::now(),
        duration: t0.elapsed(),
        command: Some(run.prepared.resolved),
        error,
        decision: run.decision,
    }
}

/// Kills the processes that carry the execution's id but left its process group (see
/// `ExecutionConfig::hunt_escapees`).
async fn hunt_escapees(id: Uuid) {
    let killed = if nix::sys::prctl::get_child_subreaper().unwrap_or(false) {
        // Only our own descendants are read (a few /proc files): not worth a thread.
        kill_escapees(id, true)
    } else {
        tokio::task::spawn_blocking(move || kill_escapees(id, false))
            .await
            .unwrap_or(0)
    };
    if killed > 0 {
        tracing::warn!(execution_id = %id, killed, "killed processes that left the execution's process group");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_are_classified() {
        let ok = ExitStatus::from_raw(0);
        assert_eq!(classify(None, ok, None).1, 0);
        assert_eq!(classify(None, ExitStatus::from_raw(3 << 8), None).1, 3);
        assert_eq!(classify(None, ExitStatus::from_raw(9), None).1, 137);
        assert_eq!(classify(Some(Ending::Timeout), ok, Some(5)).1, 124);
        assert_eq!(classify(Some(Ending::Cancel), ok, None).1, 130);
    }

    #[test]
    fn a_clean_exit_completes_with_no_error() {
        let got = classify(None, ExitStatus::from_raw(0), Some(5));
        assert_eq!(got, (ExecutionStatus::Completed, 0, None));
    }

    #[test]
    fn a_failed_exit_or_a_signal_is_a_failure_that_says_which() {
        let code = classify(None, ExitStatus::from_raw(3 << 8), None);
        assert_eq!(
            code,
            (
                ExecutionStatus::Failed,
                3,
                Some("exited with code 3".into())
            )
        );
        let signal = classify(None, ExitStatus::from_raw(15), None);
        assert_eq!(
            signal,
            (
                ExecutionStatus::Failed,
                143,
                Some("killed by signal 15".into())
            )
        );
    }

    #[test]
    fn the_runtimes_ending_wins_over_the_exit_status() {
        // A timed-out or cancelled child dies of the runtime's signal: the status says why.
        let killed = ExitStatus::from_raw(9);
        let timeout = classify(Some(Ending::Timeout), killed, Some(250));
        assert_eq!(
            timeout,
            (
                ExecutionStatus::Timeout,
                124,
                Some("timed out after 250 ms".into())
            )
        );
        let cancel = classify(Some(Ending::Cancel), killed, None);
        assert_eq!(
            cancel,
            (ExecutionStatus::Cancelled, 130, Some("cancelled".into()))
        );
    }
}
