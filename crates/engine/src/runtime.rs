//! The process runtime: spawn a child in its own process group, drain its pipes, enforce timeout and cancel, kill the whole tree.
//!
//! Modelled on nextest's runner: the child leads a new process group; timeout and cancel
//! send SIGTERM to the group, wait the grace period, then SIGKILL the group. When the
//! child exits, whatever is left of its group is killed (no orphans); if the pipes stay
//! open after that (a process that left the group holds them), the wait is bounded and
//! the result is flagged `output_incomplete`.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use chrono::Utc;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::ExecutionConfig;
use crate::events::{EventBus, ExecutionEvent};
use crate::gate::{DecisionRecord, OutputChunk, OutputFilter};
use crate::output::{Capture, LineSplitter, to_text};
use crate::resolve::PreparedCommand;
use crate::spawn::Child;
use crate::types::{ExecutionResult, ExecutionStatus, OutputStream};

const READ_MIN: usize = 8 << 10;
const READ_MAX: usize = 256 << 10;
/// Reads at least this large are handed on without a copy when they are whole lines.
const ZERO_COPY_MIN: usize = 32 << 10;
/// Pipe capacity asked of the kernel for a child's stdout and stderr: a chatty child then
/// writes in larger slices and both sides switch less often. Pages are only used as filled.
const PIPE_SIZE: i32 = 1 << 20;

/// Enlarges a pipe's buffer; best effort (the limit is /proc/sys/fs/pipe-max-size).
fn enlarge_pipe<F: std::os::fd::AsFd>(pipe: Option<&F>) {
    if let Some(p) = pipe {
        let _ = nix::fcntl::fcntl(p, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    }
}

fn signal_group(pgid: Option<u32>, sig: Signal) {
    if let Some(pgid) = pgid.and_then(|p| i32::try_from(p).ok()) {
        // ESRCH (the group is already gone) is the normal case after a clean exit.
        let _ = killpg(Pid::from_raw(pgid), sig);
    }
}

/// The variable every child inherits: its execution id (see `ExecutionConfig::hunt_escapees`).
pub const EXECUTION_ID_VAR: &str = "CLOUDOPS_EXECUTION_ID";

/// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`): processes that a
/// command orphans (a daemon's double fork, `setsid`) are re-parented to it instead of to
/// init, so [`ExecutionConfig::hunt_escapees`](crate::ExecutionConfig::hunt_escapees) finds
/// them among this process's descendants instead of reading every process on the machine.
///
/// For short-lived processes such as a command-line tool: an orphan that ends on its own
/// stays a zombie of this process until this process exits (nothing here waits for
/// processes the engine did not start). A long-running server should not call it.
/// Returns whether the kernel accepted it (Linux only).
pub fn adopt_orphans() -> bool {
    nix::sys::prctl::set_child_subreaper(true).is_ok()
}

/// Kills every process whose environment carries this execution's marker; returns how many.
///
/// When `subreaper` (this process is a child subreaper, `PR_SET_CHILD_SUBREAPER`, which
/// the CLI sets), every orphaned descendant is re-parented to it, so the marked processes
/// are all among its own descendants: they are found by walking
/// `/proc/<pid>/task/<tid>/children` from here, which costs in proportion to this
/// process's descendants. Otherwise (or if the kernel has no `children` files) every
/// process in `/proc` is read.
fn kill_escapees(id: Uuid, subreaper: bool) -> usize {
    let marker = format!("{EXECUTION_ID_VAR}={id}\0");
    if subreaper {
        let mut killed = 0;
        // A process killed in one round orphans its children, re-parented to us only once
        // it is gone: walk again until a round finds nothing to kill.
        for _ in 0..16 {
            let Some(pids) = descendants() else {
                return killed + kill_marked(all_pids(), &marker);
            };
            let n = kill_marked(pids.into_iter(), &marker);
            if n == 0 {
                return killed;
            }
            killed += n;
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        return killed;
    }
    kill_marked(all_pids(), &marker)
}

/// SIGKILLs each of `pids` whose environment holds `marker`; returns how many.
fn kill_marked(pids: impl Iterator<Item = i32>, marker: &str) -> usize {
    let mut killed = 0;
    for pid in pids {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if memchr::memmem::find(&environ, marker.as_bytes()).is_some()
            && nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok()
        {
            killed += 1;
        }
    }
    killed
}

/// Every process id in `/proc`.
fn all_pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
}

/// This process's descendants (children of any of its threads, and so on down), or `None`
/// if the kernel does not list children (`CONFIG_PROC_CHILDREN`).
fn descendants() -> Option<Vec<i32>> {
    let mut found = Vec::new();
    let mut frontier = vec![std::process::id().cast_signed()];
    let mut first = true;
    while let Some(pid) = frontier.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let path = task.path().join("children");
            let list = match std::fs::read_to_string(&path) {
                Ok(l) => l,
                Err(e) if first && e.kind() == std::io::ErrorKind::NotFound => return None,
                Err(_) => continue,
            };
            first = false;
            for child in list.split_ascii_whitespace().filter_map(|c| c.parse().ok()) {
                // Bounded: a fork bomb under us must not make the walk endless.
                if found.len() >= 1 << 16 {
                    return Some(found);
                }
                found.push(child);
                frontier.push(child);
            }
        }
    }
    Some(found)
}

/// SIGKILL to a whole process group (best effort).
pub(crate) fn kill_group(pgid: Option<u32>) {
    signal_group(pgid, Signal::SIGKILL);
}

/// Why the runtime is ending the process.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    Timeout,
    Cancel,
}

/// One stream being read.
struct Pipe<R> {
    reader: Option<R>,
    buf: BytesMut,
    splitter: LineSplitter,
    bytes: u64,
    stream: OutputStream,
}

impl<R: AsyncRead + Unpin> Pipe<R> {
    fn new(reader: Option<R>, stream: OutputStream, max_line: usize) -> Self {
        Pipe {
            reader,
            buf: BytesMut::new(),
            splitter: LineSplitter::new(max_line),
            bytes: 0,
            stream,
        }
    }

    fn open(&self) -> bool {
        self.reader.is_some()
    }

    async fn read(&mut self) -> std::io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve(READ_MIN);
        }
        match self.reader.as_mut() {
            Some(r) => r.read_buf(&mut self.buf).await,
            None => std::future::pending().await,
        }
    }

    /// Turns what was read into a chunk of whole lines; on EOF closes the pipe and flushes the last line.
    fn take_chunk(&mut self, n: std::io::Result<usize>) -> Option<OutputChunk> {
        let mut out = Vec::new();
        match n {
            Ok(0) | Err(_) => {
                self.reader = None;
                self.splitter.finish(&mut out);
                self.buf = BytesMut::new();
            }
            Ok(n) => {
                self.bytes += n as u64;
                let cap = self.buf.capacity();
                let full = self.buf.len() == cap;
                if n >= ZERO_COPY_MIN && self.splitter.passes_whole(&self.buf) {
                    // The read is whole lines, none over the cap: hand over the buffer
                    // itself (no copy) and read into a new one.
                    let want = if full { READ_MAX } else { cap.max(READ_MIN) };
                    out = std::mem::replace(&mut self.buf, BytesMut::with_capacity(want)).into();
                } else {
                    self.splitter.push(&self.buf, &mut out);
                    self.buf.clear();
                    if full && self.buf.capacity() < READ_MAX {
                        self.buf.reserve(READ_MAX);
                    }
                }
            }
        }
        (!out.is_empty()).then(|| OutputChunk {
            stream: self.stream,
            text: to_text(out),
        })
    }
}

/// Runs an output filter; a panic withholds the batch (fail-closed) instead of taking the engine down.
fn guarded_filter(f: &mut dyn OutputFilter, batch: Vec<OutputChunk>) -> Vec<OutputChunk> {
    let stream = batch.first().map_or(OutputStream::Stdout, |c| c.stream);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f.filter(batch))).unwrap_or_else(
        |_| {
            vec![OutputChunk {
                stream,
                text: "[cloudops: output withheld: the output filter panicked]\n".into(),
            }]
        },
    )
}

/// Chunks read but not yet filtered, per execution: reading runs this far ahead of the filter.
const FILTER_QUEUE: usize = 4;

/// An execution's output filter, run on its own thread so that reading the pipes, the
/// filter (a wasm plugin, say) and storing the result overlap, and a slow filter never
/// delays the timeout or cancel handling of the supervisor.
///
/// Chunks go in through a bounded queue (the supervisor stops reading the pipes while
/// it is full, so the child is slowed, not the memory grown); chunks that queued up
/// while the filter was busy are handed to it as one batch. The filtered batches come
/// back in order, and after the last one the filter's `finish` lines; the channel then
/// closes.
struct FilterStage {
    input: tokio::sync::mpsc::Sender<OutputChunk>,
    output: tokio::sync::mpsc::UnboundedReceiver<Vec<OutputChunk>>,
}

impl FilterStage {
    fn start(id: Uuid, mut filter: Box<dyn OutputFilter>) -> std::io::Result<Self> {
        let (input, mut rx) = tokio::sync::mpsc::channel::<OutputChunk>(FILTER_QUEUE);
        let (tx, output) = tokio::sync::mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name(format!("cloudops-output-{}", &id.simple().to_string()[..8]))
            .spawn(move || {
                let mut batch = Vec::with_capacity(FILTER_QUEUE);
                while rx.blocking_recv_many(&mut batch, FILTER_QUEUE) > 0 {
                    let out = guarded_filter(filter.as_mut(), std::mem::take(&mut batch));
                    if tx.send(out).is_err() {
                        return;
                    }
                }
                let tail =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| filter.finish()))
                        .unwrap_or_default();
                let _ = tx.send(tail);
            })?;
        Ok(FilterStage { input, output })
    }
}

/// Room in the filter's queue (cancel-safe: nothing is taken before it is ready).
async fn room(
    input: Option<&tokio::sync::mpsc::Sender<OutputChunk>>,
) -> Option<tokio::sync::mpsc::Permit<'_, OutputChunk>> {
    match input {
        Some(tx) => tx.reserve().await.ok(),
        None => std::future::pending().await,
    }
}

/// The next filtered batch; `None` once the filter thread has sent its last.
async fn next_filtered(
    output: Option<&mut tokio::sync::mpsc::UnboundedReceiver<Vec<OutputChunk>>>,
) -> Option<Vec<OutputChunk>> {
    match output {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
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
    pub config: &'a ExecutionConfig,
    pub bus: &'a EventBus,
}

struct Sink<'a> {
    id: Uuid,
    stdout: Capture,
    stderr: Capture,
    bus: &'a EventBus,
    listeners: bool,
    dropped: AtomicU64,
}

impl Sink<'_> {
    async fn deliver(&mut self, chunks: Vec<OutputChunk>) {
        for chunk in chunks {
            if self.listeners {
                self.emit_lines(&chunk).await;
            }
            match chunk.stream {
                OutputStream::Stdout => self.stdout.push_owned(chunk.text),
                OutputStream::Stderr => self.stderr.push_owned(chunk.text),
            }
        }
    }

    async fn emit_lines(&self, chunk: &OutputChunk) {
        for line in chunk.text.lines() {
            let (execution_id, line, timestamp) = (self.id, line.to_string(), Utc::now());
            let ev = match chunk.stream {
                OutputStream::Stdout => ExecutionEvent::Stdout {
                    execution_id,
                    line,
                    timestamp,
                },
                OutputStream::Stderr => ExecutionEvent::Stderr {
                    execution_id,
                    line,
                    timestamp,
                },
            };
            self.bus.emit(ev, &self.dropped).await;
        }
    }
}

/// Result of a spawn failure: status Failed, exit 127 (not found) or 126 (cannot execute).
pub(crate) fn spawn_failure(
    id: Uuid,
    prepared: &PreparedCommand,
    err: &std::io::Error,
    decision: Option<DecisionRecord>,
) -> ExecutionResult {
    let exit_code = if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
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
    let pgid = child.id();
    let config = run.config;
    let mut sink = Sink {
        id: run.id,
        stdout: Capture::new(config.max_output_bytes),
        stderr: Capture::new(config.max_output_bytes),
        bus: run.bus,
        listeners: run.bus.has_listeners(),
        dropped: AtomicU64::new(0),
    };
    run.bus
        .emit(
            ExecutionEvent::Started {
                execution_id: run.id,
                command: run.prepared.resolved.clone(),
                timestamp: started_at,
            },
            &sink.dropped,
        )
        .await;

    enlarge_pipe(child.stdout.as_ref());
    enlarge_pipe(child.stderr.as_ref());
    let mut out = Pipe::new(
        child.stdout.take(),
        OutputStream::Stdout,
        config.max_line_bytes,
    );
    let mut err = Pipe::new(
        child.stderr.take(),
        OutputStream::Stderr,
        config.max_line_bytes,
    );
    // Without a filter, chunks go straight to the sink; with one, through its thread. A
    // filter thread that cannot be started withholds all output (fail-closed).
    let mut withheld = false;
    // `input` is dropped to tell the filter thread that no more output comes; `output` is
    // dropped once it has sent its last batch; `pending` holds a chunk waiting for room.
    let (mut input, mut output) = match run.filter.map(|f| FilterStage::start(run.id, f)) {
        None => (None, None),
        Some(Ok(st)) => (Some(st.input), Some(st.output)),
        Some(Err(e)) => {
            tracing::error!(execution_id = %run.id, error = %e, "cannot start the output filter thread");
            withheld = true;
            (None, None)
        }
    };
    let filtering = output.is_some();
    let mut pending: Option<OutputChunk> = None;
    let timeout_ms = run.timeout_ms;
    // A timeout too far away to represent (u64::MAX ms, say) is no timeout at all.
    let mut timeout_at = timeout_ms.and_then(|ms| t0.checked_add(Duration::from_millis(ms)));
    let mut ending: Option<Ending> = None;
    let mut kill_at: Option<Instant> = None;
    let mut killed = false;
    let mut pipes_deadline: Option<Instant> = None;
    let mut exit: Option<ExitStatus> = None;
    let mut output_incomplete = false;
    let cancel = run.cancel.clone();

    loop {
        if !out.open() && !err.open() {
            // Nothing left to wait for on the pipes (the filter may still be draining).
            pipes_deadline = None;
        }
        if exit.is_some() && !out.open() && !err.open() && pending.is_none() {
            if output.is_none() {
                break;
            }
            // Drain the filter: what it still holds, then its `finish` lines.
            input = None;
        }
        // While a chunk waits for the filter, the pipes are not read (back-pressure).
        let reading = pending.is_none();
        let wake = [timeout_at, kill_at, pipes_deadline]
            .into_iter()
            .flatten()
            .min();
        let chunk = tokio::select! {
            n = out.read(), if reading && out.open() => out.take_chunk(n),
            n = err.read(), if reading && err.open() => err.take_chunk(n),
            Some(permit) = room(input.as_ref()), if pending.is_some() => {
                if let Some(c) = pending.take() {
                    permit.send(c);
                }
                None
            }
            filtered = next_filtered(output.as_mut()) => {
                match filtered {
                    Some(chunks) => sink.deliver(chunks).await,
                    None => output = None,
                }
                None
            }
            status = child.wait(), if exit.is_none() => {
                match status {
                    Ok(s) => exit = Some(s),
                    // The child could not be waited for: treat it as killed.
                    Err(_) => exit = Some(ExitStatus::from_raw(9)),
                }
                if pipes_deadline.is_none() && kill_at.is_none() {
                    pipes_deadline = Some(Instant::now() + config.pipe_close_grace);
                }
                None
            }
            _ = cancel.cancelled(), if ending.is_none() => {
                ending = Some(Ending::Cancel);
                timeout_at = None;
                signal_group(pgid, Signal::SIGTERM);
                kill_at = Some(Instant::now() + config.kill_grace);
                None
            }
            _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                let now = Instant::now();
                if timeout_at.is_some_and(|t| t <= now) {
                    timeout_at = None;
                    if ending.is_none() {
                        ending = Some(Ending::Timeout);
                        signal_group(pgid, Signal::SIGTERM);
                        kill_at = Some(now + config.kill_grace);
                    }
                }
                if kill_at.is_some_and(|t| t <= now) {
                    kill_at = None;
                    killed = true;
                    signal_group(pgid, Signal::SIGKILL);
                    pipes_deadline = Some(now + config.pipe_close_grace);
                }
                if pipes_deadline.is_some_and(|t| t <= now) {
                    if exit.is_some() && killed {
                        // Even SIGKILL to the group did not close the pipes: a process
                        // outside the group holds them. Stop reading.
                        output_incomplete = true;
                        out.reader = None;
                        err.reader = None;
                    } else if exit.is_some() {
                        output_incomplete = true;
                        killed = true;
                        signal_group(pgid, Signal::SIGKILL);
                        pipes_deadline = Some(now + config.pipe_close_grace);
                    } else {
                        pipes_deadline = None;
                    }
                }
                None
            }
        };
        if let Some(chunk) = chunk {
            if filtering {
                // Otherwise sent; or the filter thread is gone, which it cannot be before
                // `input` closes.
                if let Some(Err(tokio::sync::mpsc::error::TrySendError::Full(c))) =
                    input.as_ref().map(|tx| tx.try_send(chunk))
                {
                    pending = Some(c);
                }
            } else if !withheld {
                sink.deliver(vec![chunk]).await;
            }
        }
    }
    if withheld {
        sink.deliver(vec![OutputChunk {
            stream: OutputStream::Stderr,
            text: "[cloudops: output withheld: the output filter could not be started]\n".into(),
        }])
        .await;
    }
    // Whatever is left of the group (background jobs, a grandchild) goes with the child.
    signal_group(pgid, Signal::SIGKILL);
    if config.hunt_escapees {
        let id = run.id;
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

    let finished_at = Utc::now();
    let status_raw = exit.unwrap_or_else(|| ExitStatus::from_raw(9));
    let signal = status_raw.signal();
    let (status, exit_code, error) = match ending {
        Some(Ending::Timeout) => {
            let ms = timeout_ms.unwrap_or_default();
            (
                ExecutionStatus::Timeout,
                124,
                Some(format!("timed out after {ms} ms")),
            )
        }
        Some(Ending::Cancel) => (ExecutionStatus::Cancelled, 130, Some("cancelled".into())),
        None => match (status_raw.code(), signal) {
            (Some(0), _) => (ExecutionStatus::Completed, 0, None),
            (Some(code), _) => (
                ExecutionStatus::Failed,
                code,
                Some(format!("exited with code {code}")),
            ),
            (None, Some(sig)) => (
                ExecutionStatus::Failed,
                128 + sig,
                Some(format!("killed by signal {sig}")),
            ),
            (None, None) => (ExecutionStatus::Failed, 1, Some("ended abnormally".into())),
        },
    };
    let lines_truncated = out.splitter.lines_truncated + err.splitter.lines_truncated;
    ExecutionResult {
        execution_id: run.id,
        status,
        exit_code,
        pid: pgid,
        signal,
        stdout: sink.stdout.take_text(),
        stderr: sink.stderr.take_text(),
        stdout_truncated: sink.stdout.truncated,
        stderr_truncated: sink.stderr.truncated,
        stdout_bytes: out.bytes,
        stderr_bytes: err.bytes,
        lines_truncated,
        events_dropped: sink.dropped.load(Ordering::Relaxed),
        output_incomplete,
        started_at,
        finished_at,
        duration: t0.elapsed(),
        command: Some(run.prepared.resolved),
        error,
        decision: run.decision,
    }
}
