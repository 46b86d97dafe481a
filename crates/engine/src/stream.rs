//! The parts an execution's output passes through: the child's pipes, the output filter's thread, and per stream the delivery to the capture, the line events and the output sink.
//!
//! Every part holds a bounded amount: a pipe is read only when the part after it has
//! room, so a slow sink or filter slows the child (it blocks on its full pipe) instead of
//! growing memory.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use chrono::Utc;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe::Receiver;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::events::{EventBus, ExecutionEvent};
use crate::gate::{OutputChunk, OutputFilter};
use crate::io::OutputSink;
use crate::output::{Capture, Chunker, LineEvents};
use crate::types::OutputStream;

const READ_MIN: usize = 8 << 10;
const READ_MAX: usize = 256 << 10;
/// Reads at least this large are handed on without a copy (smaller ones are copied out,
/// so that a large buffer holding a few bytes is not what waits in a queue).
const ZERO_COPY_MIN: usize = 32 << 10;
/// Pipe capacity asked of the kernel for a child's stdout and stderr: a chatty child then
/// writes in larger slices and both sides switch less often. Pages are only used as filled.
const PIPE_SIZE: i32 = 1 << 20;

/// One of the child's output pipes, being read.
pub(crate) struct Pipe {
    reader: Option<Receiver>,
    buf: Vec<u8>,
    /// Bytes the child wrote to it.
    pub(crate) bytes: u64,
    pub(crate) stream: OutputStream,
}

impl Pipe {
    pub(crate) fn new(reader: Option<Receiver>, stream: OutputStream) -> Self {
        if let Some(r) = &reader {
            // Best effort (the limit is /proc/sys/fs/pipe-max-size).
            let _ = nix::fcntl::fcntl(r, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
        }
        Pipe {
            reader,
            buf: Vec::new(),
            bytes: 0,
            stream,
        }
    }

    pub(crate) fn open(&self) -> bool {
        self.reader.is_some()
    }

    /// Stops reading and closes our end: a child still writing gets `SIGPIPE`/`EPIPE`.
    pub(crate) fn close(&mut self) {
        self.reader = None;
        self.buf = Vec::new();
    }

    /// Waits for data (cancel-safe: what a cancelled read got stays in the buffer).
    pub(crate) async fn read(&mut self) -> std::io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve(READ_MIN);
        }
        match self.reader.as_mut() {
            Some(r) => r.read_buf(&mut self.buf).await,
            None => std::future::pending().await,
        }
    }

    /// What a read got; `None` at end of file (or on a read error), which closes the pipe.
    pub(crate) fn take(&mut self, n: std::io::Result<usize>) -> Option<Vec<u8>> {
        match n {
            Ok(0) | Err(_) => {
                self.close();
                None
            }
            Ok(n) => {
                self.bytes += n as u64;
                let cap = self.buf.capacity();
                // A full buffer: the child writes fast, read more at once next time.
                let next = if self.buf.len() == cap { READ_MAX } else { cap };
                if n >= ZERO_COPY_MIN {
                    Some(std::mem::replace(&mut self.buf, Vec::with_capacity(next)))
                } else {
                    let data = self.buf.clone();
                    self.buf.clear();
                    self.buf.reserve(next);
                    Some(data)
                }
            }
        }
    }
}

/// Runs an output filter; a panic withholds the batch (fail-closed) instead of taking the engine down.
fn guarded_filter(f: &mut dyn OutputFilter, batch: Vec<OutputChunk>) -> Vec<OutputChunk> {
    let stream = batch.first().map_or(OutputStream::Stdout, |c| c.stream);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f.filter(batch))).unwrap_or_else(
        |_| {
            vec![OutputChunk::text(
                stream,
                "[cloudops: output withheld: the output filter panicked]\n",
            )]
        },
    )
}

/// Chunks read but not yet filtered, per execution: reading runs this far ahead of the filter.
const FILTER_QUEUE: usize = 4;
/// Filtered batches waiting for delivery.
const FILTERED_QUEUE: usize = 2;
/// Most bytes handed to the filter in one call (a chunk larger than this goes alone): a
/// plugin's time budget is per call and counts wall-clock time, so a call's work is kept
/// small enough to stay far within it on a busy machine.
const BATCH_BYTES: usize = 256 << 10;

/// Chunks grouped into batches of at most [`BATCH_BYTES`] (each at least one chunk).
fn batches(chunks: Vec<OutputChunk>) -> Vec<Vec<OutputChunk>> {
    let mut out: Vec<Vec<OutputChunk>> = Vec::new();
    let mut size = 0;
    for c in chunks {
        match out.last_mut() {
            Some(batch) if size + c.data.len() <= BATCH_BYTES => {
                size += c.data.len();
                batch.push(c);
            }
            _ => {
                size = c.data.len();
                out.push(vec![c]);
            }
        }
    }
    out
}

/// Starts an execution's output filter on its own thread, so that reading the pipes, the
/// filter (a wasm plugin, say) and delivery overlap, and a slow filter never delays the
/// timeout or cancel handling of the supervisor. Returns the two ends: the feed, which
/// cuts each stream into the chunks a filter takes (see [`OutputChunk`]) and queues them
/// in a bounded channel, and the filtered batches, in order, the filter's `finish` chunks
/// last. Chunks that queued up while the filter was busy are handed to it together, in
/// batches of at most [`BATCH_BYTES`].
pub(crate) fn start_filter(
    id: Uuid,
    mut filter: Box<dyn OutputFilter>,
    max_line: usize,
) -> std::io::Result<(FilterFeed, Filtered)> {
    let (input, mut rx) = mpsc::channel::<OutputChunk>(FILTER_QUEUE);
    // Bounded too: while delivery is backed up, the thread waits here, its input fills,
    // and the pipes are no longer read.
    let (tx, output) = mpsc::channel(FILTERED_QUEUE);
    std::thread::Builder::new()
        .name(format!("cloudops-output-{}", &id.simple().to_string()[..8]))
        .spawn(move || {
            let mut queued = Vec::with_capacity(FILTER_QUEUE);
            while rx.blocking_recv_many(&mut queued, FILTER_QUEUE) > 0 {
                for batch in batches(std::mem::take(&mut queued)) {
                    let out = guarded_filter(filter.as_mut(), batch);
                    if tx.blocking_send(out).is_err() {
                        return;
                    }
                }
            }
            let tail = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| filter.finish()))
                .unwrap_or_default();
            let _ = tx.blocking_send(tail);
        })?;
    let feed = FilterFeed {
        input: Some(input),
        pending: VecDeque::new(),
        chunkers: [Chunker::new(max_line), Chunker::new(max_line)],
    };
    Ok((feed, Filtered { rx: Some(output) }))
}

/// The way into the filter's thread.
pub(crate) struct FilterFeed {
    /// Dropped once no more output comes.
    input: Option<mpsc::Sender<OutputChunk>>,
    /// Chunks waiting for room in `input`.
    pending: VecDeque<OutputChunk>,
    chunkers: [Chunker; 2],
}

impl FilterFeed {
    /// Takes what a pipe gave (`None`: its end) into the queue towards the filter.
    pub(crate) fn push(&mut self, stream: OutputStream, data: Option<Vec<u8>>) {
        let chunker = &mut self.chunkers[usize::from(stream == OutputStream::Stderr)];
        let mut chunks = Vec::new();
        match data {
            Some(d) => chunker.push(d, &mut chunks),
            None => chunker.finish(&mut chunks),
        }
        self.pending
            .extend(chunks.into_iter().map(|data| OutputChunk { stream, data }));
        self.send_pending();
    }

    /// Moves queued chunks into the filter's input while it has room.
    fn send_pending(&mut self) {
        let Some(input) = &self.input else {
            self.pending.clear();
            return;
        };
        while let Some(chunk) = self.pending.pop_front() {
            match input.try_send(chunk) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(c)) => {
                    self.pending.push_front(c);
                    return;
                }
                // The thread is gone (it cannot be before `input` closes): drop the rest.
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.pending.clear();
                    return;
                }
            }
        }
    }

    /// True while chunks wait for room: the pipes are not read meanwhile.
    pub(crate) fn backed_up(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Waits for room for the first waiting chunk and sends it (cancel-safe).
    pub(crate) async fn room(&mut self) {
        match &self.input {
            Some(tx) if !self.pending.is_empty() => {
                if let Ok(permit) = tx.reserve().await
                    && let Some(c) = self.pending.pop_front()
                {
                    permit.send(c);
                }
                self.send_pending();
            }
            _ => std::future::pending().await,
        }
    }

    /// Tells the thread that no more output comes, once everything queued is in.
    pub(crate) fn close(&mut self) {
        if self.pending.is_empty() {
            self.input = None;
        }
    }

    /// Gives up on what has not gone in yet.
    pub(crate) fn abandon(&mut self) {
        self.pending.clear();
        self.input = None;
    }
}

/// The filtered batches coming back from the filter's thread.
pub(crate) struct Filtered {
    /// Dropped once the thread has sent its last batch.
    rx: Option<mpsc::Receiver<Vec<OutputChunk>>>,
}

impl Filtered {
    /// The next filtered batch; `None` once the thread has sent its last (cancel-safe).
    pub(crate) async fn next(&mut self) -> Option<Vec<OutputChunk>> {
        match self.rx.as_mut() {
            Some(rx) => {
                let batch = rx.recv().await;
                if batch.is_none() {
                    self.rx = None;
                }
                batch
            }
            None => std::future::pending().await,
        }
    }

    /// True once the thread has sent everything.
    pub(crate) fn done(&self) -> bool {
        self.rx.is_none()
    }

    /// Gives up on what has not come back yet.
    pub(crate) fn abandon(&mut self) {
        self.rx = None;
    }
}

type Write = Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

/// Where one stream goes after the filter: the capture kept in the result, line events
/// for observers, and the output sink, in order and with backpressure.
pub(crate) struct Delivery {
    stream: OutputStream,
    pub(crate) capture: Capture,
    lines: Option<LineEvents>,
    sink: Option<Arc<dyn OutputSink>>,
    /// Data waiting for the sink (at most a chunk or a batch: see [`Self::has_room`]).
    queue: VecDeque<Vec<u8>>,
    /// The sink call in flight.
    writing: Option<Write>,
    /// No more data comes.
    ended: bool,
    /// The sink has been told the stream ended.
    closed: bool,
    /// The sink failed: nothing more goes to it.
    pub(crate) broken: bool,
}

impl Delivery {
    pub(crate) fn new(
        stream: OutputStream,
        capture: Capture,
        lines: Option<LineEvents>,
        sink: Option<Arc<dyn OutputSink>>,
    ) -> Self {
        Delivery {
            stream,
            capture,
            lines,
            sink,
            queue: VecDeque::new(),
            writing: None,
            ended: false,
            closed: false,
            broken: false,
        }
    }

    /// Keeps `data` in the capture, emits its lines, queues it for the sink.
    pub(crate) async fn deliver(
        &mut self,
        id: Uuid,
        data: Vec<u8>,
        bus: &EventBus,
        dropped: &AtomicU64,
    ) {
        if data.is_empty() {
            return;
        }
        self.capture.push(&data);
        if let Some(lines) = &mut self.lines {
            let mut out = Vec::new();
            lines.push(&data, &mut out);
            emit_lines(id, self.stream, out, bus, dropped).await;
        }
        if self.sink.is_some() && !self.broken {
            self.queue.push_back(data);
        }
    }

    /// The stream has ended: its last unfinished line goes out as an event, and the sink
    /// is told once everything before has been taken.
    pub(crate) async fn end(&mut self, id: Uuid, bus: &EventBus, dropped: &AtomicU64) {
        if self.ended {
            return;
        }
        self.ended = true;
        if let Some(lines) = &mut self.lines {
            let mut out = Vec::new();
            lines.finish(&mut out);
            emit_lines(id, self.stream, out, bus, dropped).await;
        }
    }

    /// True when nothing waits for the sink: the producer may hand over more.
    pub(crate) fn has_room(&self) -> bool {
        self.queue.is_empty()
    }

    /// Starts the next sink call if none is in flight (the data's write, or the close).
    pub(crate) fn start_write(&mut self, id: Uuid) {
        if self.writing.is_some() || self.broken {
            return;
        }
        let Some(sink) = self.sink.clone() else {
            return;
        };
        let stream = self.stream;
        if let Some(data) = self.queue.pop_front() {
            self.writing = Some(Box::pin(async move { sink.write(id, stream, data).await }));
        } else if self.ended && !self.closed {
            self.closed = true;
            self.writing = Some(Box::pin(async move { sink.close(id, stream).await }));
        }
    }

    /// Waits for the sink call in flight (cancel-safe: the call stays in flight).
    pub(crate) async fn written(&mut self) -> std::io::Result<()> {
        match self.writing.as_mut() {
            Some(w) => w.await,
            None => std::future::pending().await,
        }
    }

    /// The sink call has returned; an error breaks the stream. Returns whether it broke.
    pub(crate) fn on_written(&mut self, r: std::io::Result<()>) -> bool {
        self.writing = None;
        if let Err(e) = r {
            tracing::debug!(stream = ?self.stream, error = %e, "the output sink failed; the stream is closed");
            self.broken = true;
            self.queue.clear();
            return true;
        }
        false
    }

    /// True once everything has been delivered (the stream ended, the sink has it all).
    pub(crate) fn done(&self) -> bool {
        self.ended
            && self.writing.is_none()
            && (self.sink.is_none() || self.broken || (self.closed && self.queue.is_empty()))
    }

    /// Gives up on what the sink has not taken; returns whether anything was lost.
    pub(crate) fn abandon(&mut self) -> bool {
        let lost = !self.queue.is_empty() || self.writing.is_some();
        self.queue.clear();
        self.writing = None;
        self.ended = true;
        self.broken = true;
        lost
    }
}

async fn emit_lines(
    execution_id: Uuid,
    stream: OutputStream,
    lines: Vec<String>,
    bus: &EventBus,
    dropped: &AtomicU64,
) {
    for line in lines {
        let timestamp = Utc::now();
        let ev = match stream {
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
        bus.emit(ev, dropped).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_call_gets_at_most_a_batch_of_bytes_and_every_chunk_in_order() {
        let chunk = |n: usize, b: u8| OutputChunk {
            stream: OutputStream::Stdout,
            data: vec![b; n],
        };
        let k = 100 << 10;
        let got = batches(vec![chunk(k, 1), chunk(k, 2), chunk(k, 3), chunk(3 * k, 4)]);
        let shape: Vec<Vec<u8>> = got
            .iter()
            .map(|b| b.iter().map(|c| c.data[0]).collect())
            .collect();
        assert_eq!(shape, [vec![1, 2], vec![3], vec![4]]);
    }
}
