//! Where commands' output goes on the command line: our stdout and stderr, byte for byte and with backpressure (the command's own when no plugin reads its output, else through a writer thread); plan steps' lines prefixed with the step's name.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use cloudops_execution_engine::{OutputSink, OutputStream};
use indicatif::ProgressBar;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Pieces a writer thread holds beyond the one it is writing: with the engine's own read
/// ahead, about a megabyte per stream in flight at most.
const QUEUE: usize = 2;

enum Msg {
    Data(Vec<u8>),
    /// Answered once everything before it is written.
    Flush(oneshot::Sender<()>),
}

/// One of our output descriptors, written by a thread of its own (started on first use),
/// so that a slow or stuck reader blocks that thread, never the runtime: the engine's
/// timeout, Ctrl-C and the other stream go on.
struct Writer {
    stream: OutputStream,
    tx: OnceLock<mpsc::Sender<Msg>>,
    bar: Option<ProgressBar>,
    /// The first write error, for the user (a closed pipe is not one).
    failure: Arc<Mutex<Option<std::io::Error>>>,
}

impl Writer {
    fn new(stream: OutputStream, bar: Option<ProgressBar>) -> Self {
        Writer {
            stream,
            tx: OnceLock::new(),
            bar,
            failure: Arc::new(Mutex::new(None)),
        }
    }

    fn sender(&self) -> &mpsc::Sender<Msg> {
        self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            let (stream, bar, failure) = (self.stream, self.bar.clone(), self.failure.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("cloudops-{stream:?}").to_lowercase())
                .spawn(move || write_loop(stream, rx, bar.as_ref(), &failure));
            if let Err(e) = spawned {
                // The receiver is gone with the closure: every write fails.
                tracing::error!(error = %e, "could not start the output writer thread");
            }
            tx
        })
    }

    async fn send(&self, msg: Msg) -> std::io::Result<()> {
        self.sender().send(msg).await.map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                format!("our {:?} is closed", self.stream).to_lowercase(),
            )
        })
    }
}

/// The thread's side: writes what comes, flushes when nothing more is waiting, and stops
/// at the first error (its receiver dropped, the next send fails).
fn write_loop(
    stream: OutputStream,
    mut rx: mpsc::Receiver<Msg>,
    bar: Option<&ProgressBar>,
    failure: &Mutex<Option<std::io::Error>>,
) {
    let write = |data: &[u8]| -> std::io::Result<()> {
        let go = || match stream {
            OutputStream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(data)?;
                out.flush()
            }
            OutputStream::Stderr => std::io::stderr().lock().write_all(data),
        };
        match bar {
            Some(bar) => bar.suspend(go),
            None => go(),
        }
    };
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::Data(data) => {
                if let Err(e) = write(&data) {
                    if e.kind() != std::io::ErrorKind::BrokenPipe
                        && let Ok(mut f) = failure.lock()
                    {
                        f.get_or_insert(e);
                    }
                    return;
                }
            }
            Msg::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Our stdout and stderr as the engine's output sink: when no output plugin applies and
/// they are not terminals, the command gets them as they are; otherwise each stream's
/// bytes are written as they come, in order, unchanged.
pub struct StdioSink {
    out: Writer,
    err: Writer,
    /// A closed stdout was seen (`| head`): a note for `-v`.
    pub broken_pipe: AtomicBool,
}

impl StdioSink {
    /// A sink onto our stdout and stderr; with a progress bar, it is hidden while writing.
    pub fn new(bar: Option<ProgressBar>) -> Self {
        StdioSink {
            out: Writer::new(OutputStream::Stdout, bar.clone()),
            err: Writer::new(OutputStream::Stderr, bar),
            broken_pipe: AtomicBool::new(false),
        }
    }

    fn writer(&self, stream: OutputStream) -> &Writer {
        match stream {
            OutputStream::Stdout => &self.out,
            OutputStream::Stderr => &self.err,
        }
    }

    /// The first error writing our stdout or stderr, other than a closed pipe.
    pub fn failure(&self) -> Option<String> {
        [&self.out, &self.err].into_iter().find_map(|w| {
            let f = w.failure.lock().ok()?;
            f.as_ref()
                .map(|e| format!("could not write our {:?}: {e}", w.stream).to_lowercase())
        })
    }

    async fn put(&self, stream: OutputStream, data: Vec<u8>) -> std::io::Result<()> {
        let r = self.writer(stream).send(Msg::Data(data)).await;
        if r.is_err() && stream == OutputStream::Stdout {
            self.broken_pipe.store(true, Ordering::Relaxed);
        }
        r
    }

    async fn flush(&self, stream: OutputStream) -> std::io::Result<()> {
        let (done, written) = oneshot::channel();
        self.writer(stream).send(Msg::Flush(done)).await?;
        written
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

#[async_trait]
impl OutputSink for StdioSink {
    async fn write(&self, _: Uuid, stream: OutputStream, data: Vec<u8>) -> std::io::Result<()> {
        self.put(stream, data).await
    }

    async fn close(&self, _: Uuid, stream: OutputStream) -> std::io::Result<()> {
        self.flush(stream).await
    }

    /// Our own descriptor, unless it is a terminal (a command could push input into it,
    /// `TIOCSTI`, or take it over): a file or a pipe is the command's as it would be
    /// without cloudops.
    fn direct(&self, _: Uuid, stream: OutputStream) -> Option<std::os::fd::OwnedFd> {
        use std::os::fd::AsFd;
        let fd = match stream {
            OutputStream::Stdout => std::io::stdout().as_fd().try_clone_to_owned(),
            OutputStream::Stderr => std::io::stderr().as_fd().try_clone_to_owned(),
        }
        .ok()?;
        (!nix::unistd::isatty(&fd).unwrap_or(true)).then_some(fd)
    }
}

/// Longest unfinished line a plan step may hold back: past it, the piece is written (its
/// prefix first) and the rest of the line follows without one.
const MAX_HELD_LINE: usize = 64 << 10;

/// Per step and stream: the unfinished last line, and whether its prefix is written.
type Held = HashMap<(Uuid, OutputStream), (Vec<u8>, bool)>;

/// Plan steps' output on our stdout and stderr, each line prefixed with its step's name
/// (`[build] `), so that parallel steps' lines stay whole and tell where they come from.
/// A step's last line without newline gets one.
pub struct PrefixSink {
    inner: StdioSink,
    prefixes: HashMap<Uuid, String>,
    held: Mutex<Held>,
}

impl PrefixSink {
    /// Prefixes per execution id; a progress bar is hidden while writing.
    pub fn new(prefixes: HashMap<Uuid, String>, bar: Option<ProgressBar>) -> Self {
        PrefixSink {
            inner: StdioSink::new(bar),
            prefixes,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// The first error writing our output, other than a closed pipe.
    pub fn failure(&self) -> Option<String> {
        self.inner.failure()
    }

    /// `data` with every whole line prefixed; the unfinished rest is held.
    fn prefixed(&self, id: Uuid, stream: OutputStream, data: &[u8]) -> Vec<u8> {
        let prefix = self.prefixes.get(&id).map_or("", String::as_str).as_bytes();
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let (line, started) = held.entry((id, stream)).or_default();
        let mut out = Vec::with_capacity(data.len() + data.len() / 16);
        let mut rest = data;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            if !*started {
                out.extend_from_slice(prefix);
            }
            out.append(line);
            out.extend_from_slice(&rest[..=i]);
            *started = false;
            rest = &rest[i + 1..];
        }
        line.extend_from_slice(rest);
        if line.len() > MAX_HELD_LINE {
            if !*started {
                out.extend_from_slice(prefix);
            }
            out.append(line);
            *started = true;
        }
        out
    }
}

#[async_trait]
impl OutputSink for PrefixSink {
    async fn write(&self, id: Uuid, stream: OutputStream, data: Vec<u8>) -> std::io::Result<()> {
        let out = self.prefixed(id, stream, &data);
        if out.is_empty() {
            return Ok(());
        }
        self.inner.put(stream, out).await
    }

    async fn close(&self, id: Uuid, stream: OutputStream) -> std::io::Result<()> {
        let last = self
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(id, stream));
        if let Some((line, started)) = last
            && (started || !line.is_empty())
        {
            let mut out = Vec::new();
            if !started {
                out.extend_from_slice(self.prefixes.get(&id).map_or("", String::as_str).as_bytes());
            }
            out.extend_from_slice(&line);
            out.push(b'\n');
            self.inner.put(stream, out).await?;
        }
        self.inner.flush(stream).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_lines_are_prefixed_whole_and_held_until_their_newline() {
        let id = Uuid::new_v4();
        let sink = PrefixSink::new(HashMap::from([(id, "[a] ".to_string())]), None);
        let s = OutputStream::Stdout;
        assert_eq!(sink.prefixed(id, s, b"one\ntw"), b"[a] one\n");
        assert_eq!(sink.prefixed(id, s, b"o\r\n\nthree"), b"[a] two\r\n[a] \n");
        let long = vec![b'x'; MAX_HELD_LINE + 1];
        let out = sink.prefixed(id, s, &long);
        assert!(
            out.starts_with(b"[a] threex"),
            "an over-long line is not held"
        );
        assert_eq!(sink.prefixed(id, s, b"y\nz\n"), b"y\n[a] z\n");
    }
}
