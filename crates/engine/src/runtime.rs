//! The process runtime: supervise a spawned child to its end, its output delivered without loss, its timeout and cancel enforced on the whole process group.
//!
//! Modelled on nextest's runner: the child leads a new process group; timeout and cancel
//! send SIGTERM to the group, wait the grace period, then SIGKILL the group. When the
//! child exits, whatever is left of its group is killed (no orphans); if the pipes stay
//! open after that (a process that left the group holds them), the wait is bounded and
//! the result is flagged `output_incomplete`. Output is read only as fast as it is
//! delivered (see [`crate::stream`]); output a sink has not taken within the grace
//! periods after a timeout or cancel is given up (also flagged).

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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
use crate::output::{Capture, LineEvents};
use crate::resolve::PreparedCommand;
use crate::spawn::Child;
use crate::stream::{Delivery, FilterFeed, Pipe, start_filter};
use crate::types::{ExecutionResult, ExecutionStatus, OutputStream};

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

/// Why the runtime is ending the process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ending {
    Timeout,
    Cancel,
}

/// What a passed deadline asks of the supervisor.
#[derive(Default, Debug, PartialEq, Eq)]
struct Due {
    /// Output may be missing (the pipes outlived the child).
    incomplete: bool,
    /// Stop reading the pipes: a process outside the group holds them.
    stop_reading: bool,
    /// Give up on output not yet delivered.
    abandon: bool,
}

/// The supervisor's deadlines, as a state machine: timeout → SIGTERM → grace → SIGKILL →
/// a grace for the pipes to close; after the child's exit, a grace for the pipes too;
/// after a timeout or cancel, a last grace for undelivered output.
struct Clock {
    pgid: Option<u32>,
    kill_grace: Duration,
    pipe_grace: Duration,
    timeout_at: Option<Instant>,
    kill_at: Option<Instant>,
    pipes_at: Option<Instant>,
    drain_at: Option<Instant>,
    ending: Option<Ending>,
    cancelled: bool,
    killed: bool,
}

impl Clock {
    fn new(
        pgid: Option<u32>,
        config: &ExecutionConfig,
        t0: Instant,
        timeout_ms: Option<u64>,
    ) -> Self {
        Clock {
            pgid,
            kill_grace: config.kill_grace,
            pipe_grace: config.pipe_close_grace,
            // A timeout too far away to represent (u64::MAX ms, say) is no timeout at all.
            timeout_at: timeout_ms.and_then(|ms| t0.checked_add(Duration::from_millis(ms))),
            kill_at: None,
            pipes_at: None,
            drain_at: None,
            ending: None,
            cancelled: false,
            killed: false,
        }
    }

    /// The next deadline, if any.
    fn next(&self) -> Option<Instant> {
        [self.timeout_at, self.kill_at, self.pipes_at, self.drain_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Ends the process for `why`, unless it has exited already: then only the output
    /// still on its way gets a last grace.
    fn end(&mut self, why: Ending, now: Instant, exited: bool) {
        self.timeout_at = None;
        if exited || self.ending.is_some() {
            self.drain_at.get_or_insert(now + self.kill_grace);
            return;
        }
        self.ending = Some(why);
        signal_group(self.pgid, Signal::SIGTERM);
        self.kill_at = Some(now + self.kill_grace);
        self.drain_at = Some(now + self.kill_grace + self.pipe_grace);
    }

    fn cancel(&mut self, now: Instant, exited: bool) {
        self.cancelled = true;
        self.end(Ending::Cancel, now, exited);
    }

    /// The child has exited: its pipes get a grace to close.
    fn exited(&mut self, now: Instant) {
        if self.pipes_at.is_none() && self.kill_at.is_none() {
            self.pipes_at = Some(now + self.pipe_grace);
        }
    }

    /// Both pipes are closed: nothing to wait for on them.
    fn pipes_closed(&mut self) {
        self.pipes_at = None;
    }

    /// SIGKILL to the group; the pipes then get a grace to close.
    fn kill(&mut self, now: Instant) {
        self.killed = true;
        signal_group(self.pgid, Signal::SIGKILL);
        self.pipes_at = Some(now + self.pipe_grace);
    }

    /// Acts on the deadlines that have passed. `reading`: whether the pipes are being read
    /// (they are not while delivery is backed up, and then the pipes' grace starts over:
    /// their data is waiting for us, not held by a leftover process).
    fn tick(&mut self, now: Instant, exited: bool, reading: bool) -> Due {
        let mut due = Due::default();
        if self.timeout_at.is_some_and(|t| t <= now) {
            self.end(Ending::Timeout, now, exited);
        }
        if self.kill_at.is_some_and(|t| t <= now) {
            self.kill_at = None;
            self.kill(now);
        }
        if self.pipes_at.is_some_and(|t| t <= now) {
            self.pipes_at = None;
            if !reading {
                self.pipes_at = Some(now + self.pipe_grace);
            } else if exited && self.killed {
                // Even SIGKILL to the group did not close the pipes: a process outside
                // the group holds them. Stop reading.
                due.incomplete = true;
                due.stop_reading = true;
            } else if exited {
                due.incomplete = true;
                self.kill(now);
            }
        }
        if self.drain_at.is_some_and(|t| t <= now) {
            self.drain_at = None;
            due.abandon = true;
        }
        due
    }
}

/// Status, exit code and error message of a finished run.
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

/// The delivery of `stream`.
fn pick<'a>(
    stream: OutputStream,
    out: &'a mut Delivery,
    err: &'a mut Delivery,
) -> &'a mut Delivery {
    match stream {
        OutputStream::Stdout => out,
        OutputStream::Stderr => err,
    }
}

/// What a pipe gave (`None`: its end): into the filter's feed when there is a filter, else
/// to the stream's delivery (`None`: withheld).
async fn route(
    stream: OutputStream,
    data: Option<Vec<u8>>,
    feed: Option<&mut FilterFeed>,
    delivery: Option<&mut Delivery>,
    (id, bus, dropped): (Uuid, &EventBus, &AtomicU64),
) {
    match (feed, data, delivery) {
        (Some(f), data, _) => f.push(stream, data),
        (None, Some(data), Some(d)) => d.deliver(id, data, bus, dropped).await,
        (None, _, _) => {}
    }
}

/// Stops reading `pipe`; with a filter, its last partial line still goes through.
fn close_pipe(pipe: &mut Pipe, feed: Option<&mut FilterFeed>) {
    if pipe.open() {
        pipe.close();
        if let Some(feed) = feed {
            feed.push(pipe.stream, None);
        }
    }
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

    let mut out = Pipe::new(child.stdout.take(), OutputStream::Stdout);
    let mut err = Pipe::new(child.stderr.take(), OutputStream::Stderr);
    let lines = bus.wants_lines();
    let delivery = |stream| {
        Delivery::new(
            stream,
            Capture::new(config.max_output_bytes, config.max_line_bytes),
            lines.then(|| LineEvents::new(config.max_line_bytes)),
            config.output_sink.clone(),
        )
    };
    let (mut d_out, mut d_err) = (
        delivery(OutputStream::Stdout),
        delivery(OutputStream::Stderr),
    );
    // With an output filter, output goes through its thread. One that cannot be started
    // withholds all output (fail-closed): the pipes are drained, nothing is delivered.
    let mut withheld = false;
    let (mut feed, mut filtered) = match run
        .filter
        .map(|f| start_filter(id, f, config.max_line_bytes))
    {
        None => (None, None),
        Some(Ok((feed, filtered))) => (Some(feed), Some(filtered)),
        Some(Err(e)) => {
            tracing::error!(execution_id = %id, error = %e, "cannot start the output filter thread");
            withheld = true;
            (None, None)
        }
    };
    if withheld {
        let note = b"[cloudops: output withheld: the output filter could not be started]\n";
        d_err.deliver(id, note.to_vec(), bus, &dropped).await;
    }
    let mut clock = Clock::new(pgid, config, t0, run.timeout_ms);
    let mut exit: Option<ExitStatus> = None;
    let mut output_incomplete = false;
    let cancel = run.cancel.clone();

    loop {
        let pipes_open = out.open() || err.open();
        if !pipes_open {
            clock.pipes_closed();
            if let Some(f) = &mut feed {
                f.close();
            }
        }
        // A stream ends with its pipe, or, through a filter, with the filter's last batch.
        match &filtered {
            None => {
                if !out.open() {
                    d_out.end(id, bus, &dropped).await;
                }
                if !err.open() {
                    d_err.end(id, bus, &dropped).await;
                }
            }
            Some(f) if f.done() => {
                d_out.end(id, bus, &dropped).await;
                d_err.end(id, bus, &dropped).await;
            }
            Some(_) => {}
        }
        d_out.start_write(id);
        d_err.start_write(id);
        if exit.is_some() && !pipes_open && d_out.done() && d_err.done() {
            break;
        }
        // Backpressure: a pipe is read only when what comes after it has room.
        let room = d_out.has_room() && d_err.has_room();
        let (read_out, read_err) = match &feed {
            Some(f) => (room && !f.backed_up(), room && !f.backed_up()),
            None => (d_out.has_room(), d_err.has_room()),
        };
        let (read_out, read_err) = (read_out && out.open(), read_err && err.open());
        let wake = clock.next();
        tokio::select! {
            n = out.read(), if read_out => {
                let data = out.take(n);
                let to = (!withheld).then_some(&mut d_out);
                route(OutputStream::Stdout, data, feed.as_mut(), to, (id, bus, &dropped)).await;
            }
            n = err.read(), if read_err => {
                let data = err.take(n);
                let to = (!withheld).then_some(&mut d_err);
                route(OutputStream::Stderr, data, feed.as_mut(), to, (id, bus, &dropped)).await;
            }
            () = async { match &mut feed { Some(f) => f.room().await, None => std::future::pending().await } } => {}
            batch = async { match &mut filtered { Some(f) => f.next().await, None => std::future::pending().await } }, if room => {
                for chunk in batch.into_iter().flatten() {
                    pick(chunk.stream, &mut d_out, &mut d_err)
                        .deliver(id, chunk.data, bus, &dropped)
                        .await;
                }
            }
            r = d_out.written() => {
                if d_out.on_written(r) {
                    close_pipe(&mut out, feed.as_mut());
                }
            }
            r = d_err.written() => {
                if d_err.on_written(r) {
                    close_pipe(&mut err, feed.as_mut());
                }
            }
            status = child.wait(), if exit.is_none() => {
                // A child that cannot be waited for is treated as killed.
                exit = Some(status.unwrap_or_else(|_| ExitStatus::from_raw(9)));
                clock.exited(Instant::now());
            }
            _ = cancel.cancelled(), if !clock.cancelled => {
                clock.cancel(Instant::now(), exit.is_some());
            }
            _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                let due = clock.tick(Instant::now(), exit.is_some(), read_out || read_err);
                output_incomplete |= due.incomplete;
                if due.stop_reading || due.abandon {
                    close_pipe(&mut out, feed.as_mut());
                    close_pipe(&mut err, feed.as_mut());
                }
                if due.abandon {
                    let filter_pending = filtered.as_ref().is_some_and(|f| !f.done());
                    if let Some(f) = &mut feed {
                        f.abandon();
                    }
                    if let Some(f) = &mut filtered {
                        f.abandon();
                    }
                    let lost_out = d_out.abandon();
                    let lost_err = d_err.abandon();
                    output_incomplete |= filter_pending || lost_out || lost_err;
                }
            }
        }
    }
    // Whatever is left of the group (background jobs, a grandchild) goes with the child.
    signal_group(pgid, Signal::SIGKILL);
    if config.hunt_escapees {
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

    let status = exit.unwrap_or_else(|| ExitStatus::from_raw(9));
    let (status_kind, exit_code, error) = classify(clock.ending, status, run.timeout_ms);
    ExecutionResult {
        execution_id: id,
        status: status_kind,
        exit_code,
        pid: pgid,
        signal: status.signal(),
        stdout: d_out.capture.take_text(),
        stderr: d_err.capture.take_text(),
        stdout_truncated: d_out.capture.truncated,
        stderr_truncated: d_err.capture.truncated,
        stdout_bytes: out.bytes + Moved::bytes(run.direct[0].as_ref()),
        stderr_bytes: err.bytes + Moved::bytes(run.direct[1].as_ref()),
        lines_truncated: d_out.capture.lines_cut + d_err.capture.lines_cut,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        let config = ExecutionConfig {
            kill_grace: Duration::from_secs(2),
            pipe_close_grace: Duration::from_millis(500),
            ..Default::default()
        };
        Clock::new(None, &config, Instant::now(), Some(1000))
    }

    #[tokio::test]
    async fn a_timeout_terms_then_kills_then_gives_the_pipes_and_the_output_a_grace() {
        let mut c = clock();
        let t = c.timeout_at.unwrap();
        assert_eq!(c.tick(t, false, true), Due::default());
        assert_eq!(c.ending, Some(Ending::Timeout));
        assert_eq!(c.kill_at, Some(t + Duration::from_secs(2)));
        let k = t + Duration::from_secs(2);
        c.tick(k, false, true);
        assert!(c.killed);
        c.exited(k);
        let p = k + Duration::from_millis(500);
        let due = c.tick(p, true, true);
        assert!(due.stop_reading && due.incomplete && due.abandon, "{due:?}");
    }

    #[tokio::test]
    async fn the_pipes_grace_starts_over_while_delivery_is_backed_up() {
        let mut c = clock();
        c.timeout_at = None;
        let now = Instant::now();
        c.exited(now);
        let p = now + Duration::from_millis(500);
        assert_eq!(c.tick(p, true, false), Due::default());
        assert_eq!(c.pipes_at, Some(p + Duration::from_millis(500)));
        assert!(!c.killed, "nothing is killed for a slow reader");
        let due = c.tick(p + Duration::from_millis(500), true, true);
        assert!(due.incomplete && !due.stop_reading);
        assert!(c.killed);
    }

    #[tokio::test]
    async fn a_timeout_after_the_exit_keeps_the_status_and_bounds_the_drain() {
        let mut c = clock();
        let now = Instant::now();
        c.exited(now);
        c.pipes_closed();
        let t = c.timeout_at.unwrap();
        c.tick(t, true, false);
        assert_eq!(c.ending, None);
        assert_eq!(c.drain_at, Some(t + Duration::from_secs(2)));
        assert!(c.tick(t + Duration::from_secs(2), true, false).abandon);
    }

    #[test]
    fn exit_statuses_are_classified() {
        let ok = ExitStatus::from_raw(0);
        assert_eq!(classify(None, ok, None).1, 0);
        assert_eq!(classify(None, ExitStatus::from_raw(3 << 8), None).1, 3);
        assert_eq!(classify(None, ExitStatus::from_raw(9), None).1, 137);
        assert_eq!(classify(Some(Ending::Timeout), ok, Some(5)).1, 124);
        assert_eq!(classify(Some(Ending::Cancel), ok, None).1, 130);
    }
}
