//! What a command reads and where its output goes: the stdin sources and the lossless output sink.
//!
//! Two kinds of output consumer are kept apart. An [`OutputSink`] gets every byte of every
//! stream, after the output plugins, in order, with backpressure: while it has not taken
//! a piece, the engine reads no more of that stream (of both streams when an output filter
//! applies, since the filter sees them together), so a slow sink slows the command exactly
//! as a slow pipe would. An [`crate::EventHandler`] is an observer: it gets line events
//! that are dropped when it falls behind (see [`crate::events`]).

use std::os::fd::OwnedFd;

use async_trait::async_trait;
use uuid::Uuid;

use crate::types::OutputStream;

/// What a command reads on its standard input.
#[derive(Debug, Default)]
pub enum Stdin {
    /// `/dev/null`: the command reads end of file at once. The default, and what plan
    /// steps get.
    #[default]
    Null,
    /// This descriptor (a file, a pipe, a terminal), given to the command as its stdin:
    /// it reads it directly, with the kernel's own backpressure and end of file. The
    /// engine closes its copy once the command has started.
    Fd(OwnedFd),
    /// These bytes, written into a pipe as the command reads them (it blocks when the
    /// command does not read); the pipe is closed after the last byte.
    Bytes(Vec<u8>),
}

/// Receives the output of executions byte for byte, after the output plugins.
///
/// For each execution and stream, `write` is called with the stream's bytes in order (a
/// call's data is not aligned to lines unless an output filter applies), then `close`
/// once when the stream has ended. Calls for one stream never overlap; calls for the two
/// streams of an execution, and for different executions, may.
#[async_trait]
pub trait OutputSink: Send + Sync {
    /// Takes the next piece of `stream`. Return only once the data is taken (written, or
    /// queued within a bounded buffer): the engine reads nothing more of the stream until
    /// then. An error (a closed pipe, say) ends the stream for this sink: the engine stops
    /// reading the command's pipe and closes it, so the command sees the closed pipe
    /// (`SIGPIPE`/`EPIPE`) as it would writing to the closed destination itself.
    async fn write(
        &self,
        execution_id: Uuid,
        stream: OutputStream,
        data: Vec<u8>,
    ) -> std::io::Result<()>;

    /// The stream has ended: nothing more comes for it. Flush what is buffered.
    async fn close(&self, execution_id: Uuid, stream: OutputStream) -> std::io::Result<()> {
        let _ = (execution_id, stream);
        Ok(())
    }

    /// A descriptor the command may write `stream` to itself, as `nice` or `timeout` let it:
    /// asked at spawn, and used only when no output filter applies and no event handler
    /// wants lines. The command then writes there directly (no copy, its own backpressure
    /// and `SIGPIPE`); the engine reads nothing of the stream: its capture in the result is
    /// empty, its byte count is how far the descriptor's offset moved (0 for a pipe), and
    /// `write` is never called for it (`close` still is). Default: none.
    fn direct(&self, execution_id: Uuid, stream: OutputStream) -> Option<OwnedFd> {
        let _ = (execution_id, stream);
        None
    }
}
