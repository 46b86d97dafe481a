//! The server's output stream: the SDK's messages and the parse errors of the input guard, written to stdout as whole lines.
//!
//! rmcp owns the writer it is given and answers nothing to input that is not JSON. The
//! input guard ([`crate::input`]) reports such lines here, and this task writes the
//! JSON-RPC `-32700 Parse error` response for each, between two whole lines of the SDK
//! (rmcp writes into a pipe that this task reads line by line), so the two never mix.

use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The response to a line that is not JSON (JSON-RPC 2.0: parse error, id null).
pub const PARSE_ERROR: &[u8] =
    b"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error: the line is not JSON\"}}\n";

/// Parse errors waiting to be written; beyond this many (a client sending garbage and not
/// reading), further ones are dropped.
pub const MAX_PENDING_ERRORS: usize = 64;

/// Starts the writer task over `out`: returns the writer to hand to the SDK, the sender
/// the input guard reports parse errors on, and the task (it ends when the SDK drops its
/// writer, after writing everything it was given).
pub fn spawn<W>(out: W) -> (DuplexStream, mpsc::Sender<()>, JoinHandle<()>)
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (for_sdk, ours) = tokio::io::duplex(64 * 1024);
    let (errors_tx, errors) = mpsc::channel(MAX_PENDING_ERRORS);
    let task = tokio::spawn(pump(BufReader::new(ours), errors, out));
    (for_sdk, errors_tx, task)
}

async fn pump<W: AsyncWrite + Unpin>(
    mut from_sdk: BufReader<DuplexStream>,
    mut errors: mpsc::Receiver<()>,
    mut out: W,
) {
    let mut line = Vec::new();
    let mut errors_open = true;
    // After a write error (the client is gone) the SDK's output is still read and
    // dropped, so that the SDK never blocks on a full pipe.
    let mut broken = false;
    loop {
        tokio::select! {
            // `read_until` keeps partial input in `line`: cancelling it loses nothing.
            read = from_sdk.read_until(b'\n', &mut line) => {
                let end = matches!(read, Ok(0) | Err(_));
                if !line.is_empty() && !broken {
                    broken = write_line(&mut out, &line).await.is_err();
                }
                line.clear();
                if end {
                    break;
                }
            }
            e = errors.recv(), if errors_open => match e {
                Some(()) if !broken => broken = write_line(&mut out, PARSE_ERROR).await.is_err(),
                Some(()) => {}
                None => errors_open = false,
            },
        }
    }
}

async fn write_line<W: AsyncWrite + Unpin>(out: &mut W, line: &[u8]) -> std::io::Result<()> {
    out.write_all(line).await?;
    out.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn parse_errors_go_between_whole_lines_and_everything_is_written_by_the_end() {
        let (client_end, mut client) = tokio::io::duplex(4096);
        let (mut sdk, errors, task) = spawn(client_end);
        sdk.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,")
            .await
            .unwrap();
        errors.send(()).await.unwrap();
        tokio::task::yield_now().await;
        sdk.write_all(b"\"result\":{}}\n{\"last\":true}\n")
            .await
            .unwrap();
        drop(sdk);
        task.await.unwrap();
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(
            lines.contains(&"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"),
            "{out}"
        );
        assert_eq!(lines[2], "{\"last\":true}", "{out}");
        let parse: Vec<_> = lines.iter().filter(|l| l.contains("-32700")).collect();
        assert_eq!(parse.len(), 1, "{out}");
    }
}
