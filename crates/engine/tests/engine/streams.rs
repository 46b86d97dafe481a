//! The lossless output stream and stdin: every byte reaches the sink in order, a slow sink slows the child, a closed sink closes the child's pipe, stdin is fed and closed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cloudops_execution_engine::{
    DecisionRecord, ExecutionConfig, ExecutionEngine, ExecutionError, ExecutionRequest,
    ExecutionStatus, Gate, GateContext, GateOutcome, OutputChunk, OutputFilter, OutputSink,
    OutputStream, Stdin,
};
use proptest::prelude::*;
use uuid::Uuid;

use crate::support::sh;

/// Collects what it is given, optionally sleeping before each write or failing.
#[derive(Default)]
struct Collect {
    out: Mutex<Vec<u8>>,
    err: Mutex<Vec<u8>>,
    writes: Mutex<usize>,
    closed: Mutex<Vec<OutputStream>>,
    delay: Option<Duration>,
    fail: bool,
    stuck: bool,
}

#[async_trait]
impl OutputSink for Collect {
    async fn write(&self, _: Uuid, stream: OutputStream, data: Vec<u8>) -> std::io::Result<()> {
        if self.stuck {
            std::future::pending::<()>().await;
        }
        if self.fail {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        *self.writes.lock().unwrap() += 1;
        match stream {
            OutputStream::Stdout => self.out.lock().unwrap().extend_from_slice(&data),
            OutputStream::Stderr => self.err.lock().unwrap().extend_from_slice(&data),
        }
        Ok(())
    }

    async fn close(&self, _: Uuid, stream: OutputStream) -> std::io::Result<()> {
        self.closed.lock().unwrap().push(stream);
        Ok(())
    }
}

fn engine(sink: Arc<Collect>) -> ExecutionEngine {
    ExecutionEngine::new(ExecutionConfig::default().with_output_sink(sink))
}

#[tokio::test]
async fn a_slow_sink_gets_every_byte_in_order_and_the_child_waits_for_it() {
    let sink = Arc::new(Collect {
        delay: Some(Duration::from_millis(2)),
        ..Default::default()
    });
    let engine = engine(sink.clone());
    let r = engine
        .wait(
            engine
                .execute(sh("seq 1 200000; echo err >&2"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed);
    let want: String = (1..=200_000).map(|i| format!("{i}\n")).collect();
    assert!(
        *sink.out.lock().unwrap() == want.as_bytes(),
        "stdout differs"
    );
    assert_eq!(*sink.err.lock().unwrap(), b"err\n");
    assert_eq!(
        sink.closed.lock().unwrap().len(),
        2,
        "each stream is closed once"
    );
    assert!(!r.output_incomplete);
}

#[tokio::test]
async fn bytes_no_line_tool_would_keep_reach_the_sink_and_the_result_unchanged() {
    let sink = Arc::new(Collect::default());
    let engine = engine(sink.clone());
    let r = engine
        .wait(
            engine
                .execute(sh(r"printf 'a\r\nnul\0\377\376end'"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(*sink.out.lock().unwrap(), b"a\r\nnul\0\xff\xfeend");
    assert_eq!(r.stdout, "a\r\nnul\0\u{fffd}\u{fffd}end");
}

#[tokio::test]
async fn a_failing_sink_closes_the_childs_pipe_and_the_child_sees_it() {
    let sink = Arc::new(Collect {
        fail: true,
        ..Default::default()
    });
    let engine = engine(sink.clone());
    let t = Instant::now();
    // Endless without the closed pipe (the timeout would end it in 30 s).
    let r = engine
        .wait(engine.execute(sh("exec yes")).await.unwrap())
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(r.signal, Some(13), "SIGPIPE: {r:?}");
    assert_eq!(r.exit_code, 141);
}

#[tokio::test]
async fn a_stuck_sink_is_given_up_after_the_timeout_and_its_grace() {
    let sink = Arc::new(Collect {
        stuck: true,
        ..Default::default()
    });
    let engine = ExecutionEngine::new(ExecutionConfig {
        kill_grace: Duration::from_millis(200),
        ..ExecutionConfig::default().with_output_sink(sink)
    });
    let mut req = sh("exec yes");
    req.timeout_ms = Some(300);
    let t = Instant::now();
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(r.status, ExecutionStatus::Timeout);
    assert!(r.output_incomplete);
}

#[tokio::test]
async fn stdin_bytes_are_fed_with_backpressure_and_closed_at_the_end() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let id = engine
        .execute_with_stdin(sh("sha256sum"), Stdin::Bytes(data.clone()))
        .await
        .unwrap();
    let r = engine.wait(id).await.unwrap();
    let want = {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        let out = std::process::Command::new("sha256sum")
            .arg(f.path())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        r.stdout.split_whitespace().next(),
        want.split_whitespace().next()
    );
}

#[tokio::test]
async fn a_descriptor_is_the_commands_stdin_and_one_it_never_reads_does_not_hang() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let mut f = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut f, b"1\n2\n3\n").unwrap();
    std::io::Seek::rewind(&mut f).unwrap();
    let id = engine
        .execute_with_stdin(sh("wc -l"), Stdin::Fd(f.into()))
        .await
        .unwrap();
    assert_eq!(engine.wait(id).await.unwrap().stdout.trim(), "3");
    // 50 MB offered to a command that reads none of it.
    let id = engine
        .execute_with_stdin(sh("true"), Stdin::Bytes(vec![b'x'; 50 << 20]))
        .await
        .unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed);
    // Without a stdin, a reader of stdin gets end of file at once instead of waiting.
    let t = Instant::now();
    let r = engine
        .wait(engine.execute(sh("cat")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.stdout.as_str()),
        (ExecutionStatus::Completed, "")
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

/// Counts what it filters, passing it on unchanged.
struct Counting(Arc<std::sync::atomic::AtomicUsize>);

impl OutputFilter for Counting {
    fn filter(&mut self, batch: Vec<OutputChunk>) -> Vec<OutputChunk> {
        let n: usize = batch.iter().map(|c| c.data.len()).sum();
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        batch
    }
}

/// A gate whose output filter passes every chunk on as it came, counting its bytes.
#[derive(Default)]
struct CountingGate(Arc<std::sync::atomic::AtomicUsize>);

#[async_trait]
impl Gate for CountingGate {
    async fn check(
        &self,
        request: &ExecutionRequest,
        _: &GateContext<'_>,
    ) -> Result<GateOutcome, ExecutionError> {
        Ok(GateOutcome {
            record: DecisionRecord::allow_unchanged(request),
            output: Some(Box::new(Counting(self.0.clone()))),
        })
    }
}

/// Runs `cat` over `bytes` and returns what the sink got on stdout.
async fn through(bytes: &[u8], filter: bool, max_line: usize) -> Vec<u8> {
    let sink = Arc::new(Collect::default());
    let mut config = ExecutionConfig {
        max_line_bytes: max_line,
        ..ExecutionConfig::default().with_output_sink(sink.clone())
    };
    if filter {
        config = config.with_gate(Arc::new(CountingGate::default()));
    }
    let engine = ExecutionEngine::new(config);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in");
    std::fs::write(&path, bytes).unwrap();
    let t = Instant::now();
    let r = engine
        .wait(
            engine
                .execute(sh(&format!("cat '{}'", path.display())))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed);
    // The run ends with the command (the timeout is 30 s): nothing waits for a wake-up.
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    sink.out.lock().unwrap().clone()
}

#[tokio::test]
async fn a_filter_sees_long_lines_in_pieces_and_the_stream_keeps_every_byte() {
    let mut line = vec![b'a'; 3 << 20];
    line.extend_from_slice(b"\r\nshort\nno newline at the end");
    assert!(through(&line, true, 1 << 20).await == line);
}

#[tokio::test]
async fn a_slow_sink_holds_back_the_filter_and_the_reading_not_just_the_writing() {
    let filtered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sink = Arc::new(Collect {
        delay: Some(Duration::from_millis(10)),
        ..Default::default()
    });
    let engine = ExecutionEngine::new(
        ExecutionConfig {
            kill_grace: Duration::from_millis(100),
            ..ExecutionConfig::default().with_output_sink(sink.clone())
        }
        .with_gate(Arc::new(CountingGate(filtered.clone()))),
    );
    let id = engine.execute(sh("exec yes")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ahead = filtered.load(std::sync::atomic::Ordering::Relaxed) as i64
        - sink.out.lock().unwrap().len() as i64;
    // `yes` writes gigabytes a second: only what the queues hold may have gone ahead.
    assert!(ahead < 8 << 20, "{ahead} bytes filtered ahead of the sink");
    engine.cancel(id).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Cancelled);
}

/// Random bytes weighted towards newlines, CR and invalid UTF-8, up to 300 KB: drawn as
/// a seed and a length (a vector strategy draws each byte on its own: too slow here).
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    (any::<u64>(), 0usize..300_000).prop_map(|(seed, len)| {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                match state % 8 {
                    0 => b'\n',
                    1 => b'\r',
                    2 => 0xff,
                    _ => (state >> 24) as u8,
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_come_out_identical_with_or_without_a_filter(data in bytes(), filter: bool, small_lines: bool) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let max_line = if small_lines { 100 } else { 1 << 20 };
        let got = rt.block_on(through(&data, filter, max_line));
        prop_assert!(got == data, "{} bytes in, {} out", data.len(), got.len());
    }
}
