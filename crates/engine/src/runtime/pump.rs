//! The output pump: reads the child's two pipes and routes what they give, through the output filter when there is one, to each stream's delivery, reading only as fast as what comes after has room.

use std::sync::atomic::AtomicU64;

use tokio::net::unix::pipe::Receiver;
use uuid::Uuid;

use super::deadline::Due;
use crate::config::ExecutionConfig;
use crate::events::EventBus;
use crate::gate::{OutputChunk, OutputFilter};
use crate::output::{Capture, LineEvents};
use crate::stream::{Delivery, FilterFeed, Filtered, Pipe, start_filter};
use crate::types::OutputStream;

/// Which of the pump's waits are open for one turn: a pipe is read only when what comes
/// after it has room (backpressure), filtered batches are taken only when both deliveries
/// have room.
#[derive(Clone, Copy)]
pub(super) struct Reads {
    out: bool,
    err: bool,
    batch: bool,
}

impl Reads {
    /// Whether either pipe is being read.
    pub(super) fn pipes(self) -> bool {
        self.out || self.err
    }
}

/// What one of the pump's waits gave, for [`Pump::handle`].
pub(super) enum Io {
    /// A pipe's read returned.
    Read(OutputStream, std::io::Result<usize>),
    /// The filter's feed had room for a waiting chunk, and took it.
    Room,
    /// The filter's next batch (`None`: it has sent its last).
    Batch(Option<Vec<OutputChunk>>),
    /// A sink call returned.
    Written(OutputStream, std::io::Result<()>),
}

/// What a finished pump leaves for the result.
pub(super) struct Drained {
    /// What was kept of stdout.
    pub(super) stdout: Capture,
    /// What was kept of stderr.
    pub(super) stderr: Capture,
    /// Bytes read from the stdout pipe.
    pub(super) stdout_bytes: u64,
    /// Bytes read from the stderr pipe.
    pub(super) stderr_bytes: u64,
}

/// The child's pipes, the output filter's two ends, and each stream's delivery.
pub(super) struct Pump<'a> {
    id: Uuid,
    bus: &'a EventBus,
    /// Events the bus dropped, counted for the result.
    dropped: &'a AtomicU64,
    out: Pipe,
    err: Pipe,
    d_out: Delivery,
    d_err: Delivery,
    feed: Option<FilterFeed>,
    filtered: Option<Filtered>,
    /// The filter could not be started: the pipes are drained, nothing is delivered.
    withheld: bool,
}

impl<'a> Pump<'a> {
    /// Takes the child's stdout and stderr (`pipes`) and starts the output filter's thread
    /// when there is a filter.
    pub(super) async fn start(
        id: Uuid,
        config: &ExecutionConfig,
        (bus, dropped): (&'a EventBus, &'a AtomicU64),
        filter: Option<Box<dyn OutputFilter>>,
        [stdout, stderr]: [Option<Receiver>; 2],
    ) -> Self {
        let out = Pipe::new(stdout, OutputStream::Stdout);
        let err = Pipe::new(stderr, OutputStream::Stderr);
        let lines = bus.wants_lines();
        let delivery = |stream| {
            Delivery::new(
                stream,
                Capture::new(config.max_output_bytes, config.max_line_bytes),
                lines.then(|| LineEvents::new(config.max_line_bytes)),
                config.output_sink.clone(),
            )
        };
        let (d_out, d_err) = (
            delivery(OutputStream::Stdout),
            delivery(OutputStream::Stderr),
        );
        // With an output filter, output goes through its thread. One that cannot be started
        // withholds all output (fail-closed): the pipes are drained, nothing is delivered.
        let mut withheld = false;
        let (feed, filtered) = match filter.map(|f| start_filter(id, f, config.max_line_bytes)) {
            None => (None, None),
            Some(Ok((feed, filtered))) => (Some(feed), Some(filtered)),
            Some(Err(e)) => {
                tracing::error!(execution_id = %id, error = %e, "cannot start the output filter thread");
                withheld = true;
                (None, None)
            }
        };
        let mut pump = Pump {
            id,
            bus,
            dropped,
            out,
            err,
            d_out,
            d_err,
            feed,
            filtered,
            withheld,
        };
        if withheld {
            let note = b"[cloudops: output withheld: the output filter could not be started]\n";
            pump.d_err.deliver(id, note.to_vec(), bus, dropped).await;
        }
        pump
    }

    /// Moves what has finished along: once both pipes are closed the filter's feed is
    /// closed; a stream ends with its pipe or, through a filter, with the filter's last
    /// batch; each sink's next call starts. Returns whether a pipe is still open.
    pub(super) async fn settle(&mut self) -> bool {
        let pipes_open = self.out.open() || self.err.open();
        if !pipes_open && let Some(f) = &mut self.feed {
            f.close();
        }
        let (id, bus, dropped) = (self.id, self.bus, self.dropped);
        match &self.filtered {
            None => {
                if !self.out.open() {
                    self.d_out.end(id, bus, dropped).await;
                }
                if !self.err.open() {
                    self.d_err.end(id, bus, dropped).await;
                }
            }
            Some(f) if f.done() => {
                self.d_out.end(id, bus, dropped).await;
                self.d_err.end(id, bus, dropped).await;
            }
            Some(_) => {}
        }
        self.d_out.start_write(id);
        self.d_err.start_write(id);
        pipes_open
    }

    /// True once both streams have been delivered in full.
    pub(super) fn delivered(&self) -> bool {
        self.d_out.done() && self.d_err.done()
    }

    /// What may be read this turn.
    pub(super) fn reads(&self) -> Reads {
        let room = self.d_out.has_room() && self.d_err.has_room();
        let (out, err) = match &self.feed {
            Some(f) => (room && !f.backed_up(), room && !f.backed_up()),
            None => (self.d_out.has_room(), self.d_err.has_room()),
        };
        Reads {
            out: out && self.out.open(),
            err: err && self.err.open(),
            batch: room,
        }
    }

    /// Waits for the first of the pump's parts to be ready (cancel-safe: each part keeps
    /// what it has, and a dropped wait loses nothing).
    pub(super) async fn wait(&mut self, reads: Reads) -> Io {
        let Pump {
            out,
            err,
            d_out,
            d_err,
            feed,
            filtered,
            ..
        } = self;
        tokio::select! {
            n = out.read(), if reads.out => Io::Read(OutputStream::Stdout, n),
            n = err.read(), if reads.err => Io::Read(OutputStream::Stderr, n),
            () = async { match feed { Some(f) => f.room().await, None => std::future::pending().await } } => Io::Room,
            batch = async { match filtered { Some(f) => f.next().await, None => std::future::pending().await } }, if reads.batch => Io::Batch(batch),
            r = d_out.written() => Io::Written(OutputStream::Stdout, r),
            r = d_err.written() => Io::Written(OutputStream::Stderr, r),
        }
    }

    /// Acts on what [`Self::wait`] gave.
    pub(super) async fn handle(&mut self, io: Io) {
        let (id, bus, dropped) = (self.id, self.bus, self.dropped);
        match io {
            Io::Read(stream, n) => {
                let withheld = self.withheld;
                let (pipe, delivery, feed) = self.parts(stream);
                let data = pipe.take(n);
                let to = (!withheld).then_some(delivery);
                route(stream, data, feed, to, (id, bus, dropped)).await;
            }
            Io::Room => {}
            Io::Batch(batch) => {
                for chunk in batch.into_iter().flatten() {
                    let (_, delivery, _) = self.parts(chunk.stream);
                    delivery.deliver(id, chunk.data, bus, dropped).await;
                }
            }
            Io::Written(stream, r) => {
                let (pipe, delivery, feed) = self.parts(stream);
                if delivery.on_written(r) {
                    close_pipe(pipe, feed);
                }
            }
        }
    }

    /// Acts on what a passed deadline asks of the output: stops reading the pipes, gives
    /// up on what is not delivered yet. Returns whether output was given up.
    pub(super) fn on_due(&mut self, due: &Due) -> bool {
        if due.stop_reading || due.abandon {
            close_pipe(&mut self.out, self.feed.as_mut());
            close_pipe(&mut self.err, self.feed.as_mut());
        }
        if !due.abandon {
            return false;
        }
        let filter_pending = self.filtered.as_ref().is_some_and(|f| !f.done());
        if let Some(f) = &mut self.feed {
            f.abandon();
        }
        if let Some(f) = &mut self.filtered {
            f.abandon();
        }
        let lost_out = self.d_out.abandon();
        let lost_err = self.d_err.abandon();
        filter_pending || lost_out || lost_err
    }

    /// What is left for the result.
    pub(super) fn finish(self) -> Drained {
        Drained {
            stdout: self.d_out.capture,
            stderr: self.d_err.capture,
            stdout_bytes: self.out.bytes,
            stderr_bytes: self.err.bytes,
        }
    }

    /// The pipe and the delivery of `stream`, and the filter's feed.
    fn parts(
        &mut self,
        stream: OutputStream,
    ) -> (&mut Pipe, &mut Delivery, Option<&mut FilterFeed>) {
        let feed = self.feed.as_mut();
        match stream {
            OutputStream::Stdout => (&mut self.out, &mut self.d_out, feed),
            OutputStream::Stderr => (&mut self.err, &mut self.d_err, feed),
        }
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
