//! The server's input stream: reports end of input at once, and takes out the lines that are not JSON, reporting each so that it gets a JSON-RPC parse error.
//!
//! rmcp ignores input that is not JSON at all (no id to answer; its `-32600 Invalid
//! request` is only for JSON that is not a message). A client that sends garbage should
//! learn that it did, so such a line is dropped here and reported to the output task
//! ([`crate::output`]), which answers `-32700 Parse error` with id null; the SDK
//! goes on serving. End of input is reported through a watch channel as soon as it is
//! read, so running commands are stopped without waiting for the SDK's own drain period.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::{mpsc, watch};

/// Wraps the server's input (see the module documentation).
pub struct GuardedInput<R> {
    inner: R,
    /// Bytes read but not yet part of a whole line.
    partial: Vec<u8>,
    /// Whole, checked lines waiting to be handed out.
    ready: Vec<u8>,
    /// How much of `ready` was handed out.
    offset: usize,
    eof: bool,
    closed: watch::Sender<bool>,
    parse_errors: mpsc::Sender<()>,
}

impl<R> GuardedInput<R> {
    /// Wraps `inner`; `closed` is set to true when it reaches end of input (or fails);
    /// each line that is not JSON is reported on `parse_errors`.
    pub fn new(inner: R, closed: watch::Sender<bool>, parse_errors: mpsc::Sender<()>) -> Self {
        GuardedInput {
            inner,
            partial: Vec::new(),
            ready: Vec::new(),
            offset: 0,
            eof: false,
            closed,
            parse_errors,
        }
    }

    /// Moves the whole lines of `partial` into `ready`, reporting (and dropping) those that
    /// are not JSON.
    fn take_lines(&mut self) {
        let mut start = 0;
        while let Some(pos) = self.partial[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos + 1;
            let line = &self.partial[start..end];
            if is_json_or_blank(line) {
                self.ready.extend_from_slice(line);
            } else if self.parse_errors.try_send(()).is_ok() {
                tracing::warn!(
                    bytes = line.len(),
                    "input line is not JSON; answering with a JSON-RPC parse error"
                );
            } else {
                tracing::warn!(
                    bytes = line.len(),
                    "input line is not JSON; too many parse errors pending: not answered"
                );
            }
            start = end;
        }
        self.partial.drain(..start);
    }
}

fn is_json_or_blank(line: &[u8]) -> bool {
    if line.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

impl<R: AsyncRead + Unpin> AsyncRead for GuardedInput<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.offset < this.ready.len() {
                let n = (this.ready.len() - this.offset).min(buf.remaining());
                buf.put_slice(&this.ready[this.offset..this.offset + n]);
                this.offset += n;
                if this.offset == this.ready.len() {
                    this.ready.clear();
                    this.offset = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                // A last line without its newline is handed out as it is.
                if !this.partial.is_empty() {
                    this.ready = std::mem::take(&mut this.partial);
                    continue;
                }
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut rb = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => {
                    this.eof = true;
                    let _ = this.closed.send(true);
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(())) => {
                    let filled = rb.filled();
                    if filled.is_empty() {
                        this.eof = true;
                        let _ = this.closed.send(true);
                    } else {
                        this.partial.extend_from_slice(filled);
                        this.take_lines();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn garbage_lines_are_reported_and_dropped_and_end_of_input_is_reported() {
        let input: &[u8] =
            b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\nnot json {\n\n{\"a\":1}";
        let (tx, rx) = watch::channel(false);
        let (errors_tx, mut errors) = mpsc::channel(8);
        let mut g = GuardedInput::new(input, tx, errors_tx);
        let mut out = String::new();
        g.read_to_string(&mut out).await.unwrap();
        assert_eq!(
            out,
            "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n\n{\"a\":1}"
        );
        assert!(*rx.borrow());
        assert_eq!(errors.try_recv(), Ok(()));
        assert!(errors.try_recv().is_err(), "one garbage line, one report");
    }
}
