//! Process faults: daemons that double-fork out of the group, binary output, a 10 MB line, a child that closes stdout early, a pipe held by an escaped grandchild; each with its status, a bounded time and no process left behind.
//!
//! Every command here carries a unique marker variable (`CLOUDOPS_FAULT_MARKER=<uuid>`,
//! inherited by everything it starts), so the orphan check is exact: `/proc/*/environ` is
//! scanned for that marker and nothing else. A [`Marked`] guard kills whatever still carries
//! its marker when the test ends, on every path (assertion failures included).

use std::time::{Duration, Instant};

use cloudops_execution_engine::{
    ExecutionConfig, ExecutionEngine, ExecutionRequest, ExecutionResult, ExecutionStatus,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use uuid::Uuid;

use crate::support::{alive, eventually, sh};

const MARKER_VAR: &str = "CLOUDOPS_FAULT_MARKER";

/// A unique marker for the processes of one test; kills them all when dropped.
struct Marked {
    marker: String,
}

impl Marked {
    fn new() -> Self {
        Marked {
            marker: Uuid::new_v4().to_string(),
        }
    }

    /// `script` under bash, with the marker in its environment.
    fn sh(&self, script: &str) -> ExecutionRequest {
        let mut r = sh(script);
        r.env.insert(MARKER_VAR.into(), self.marker.clone());
        r
    }

    /// Live (non-zombie) processes that carry the marker.
    fn survivors(&self) -> Vec<u32> {
        let needle = format!("{MARKER_VAR}={}\0", self.marker);
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(env) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            if env.windows(needle.len()).any(|w| w == needle.as_bytes()) && alive(pid) {
                out.push(pid);
            }
        }
        out
    }

    /// Waits (bounded) until nothing carries the marker; returns what is left.
    async fn settle(&self) -> Vec<u32> {
        eventually(Duration::from_secs(3), || self.survivors().is_empty()).await;
        self.survivors()
    }
}

impl Drop for Marked {
    fn drop(&mut self) {
        for pid in self.survivors() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

fn quick() -> ExecutionConfig {
    ExecutionConfig {
        kill_grace: Duration::from_millis(300),
        pipe_close_grace: Duration::from_millis(300),
        ..Default::default()
    }
}

async fn run(engine: &ExecutionEngine, req: ExecutionRequest) -> (ExecutionResult, Duration) {
    let t0 = Instant::now();
    let id = engine.execute(req).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    (r, t0.elapsed())
}

/// A classic daemon: fork, `setsid`, fork again, the parent exits at once; the daemon
/// closes its standard streams and writes its pid to a file.
fn double_fork(pidfile: &std::path::Path) -> String {
    format!(
        "( setsid bash -c '( exec sleep 300 ) </dev/null >/dev/null 2>&1 & echo $! > {}' & ); \
         while [ ! -s {} ]; do sleep 0.01; done; echo parent-done",
        pidfile.display(),
        pidfile.display()
    )
}

#[tokio::test]
async fn a_double_forked_daemon_is_killed_with_hunt_escapees_and_survives_without() {
    let dir = tempfile::tempdir().unwrap();

    // Without hunting (the library default): the daemon left the process group and the
    // session, so killing the group cannot reach it. It survives the execution.
    let m = Marked::new();
    let plain = ExecutionEngine::new(quick());
    let pidfile = dir.path().join("plain.pid");
    let (r, took) = run(&plain, m.sh(&double_fork(&pidfile))).await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    assert_eq!(r.stdout, "parent-done\n");
    assert!(!r.output_incomplete, "the daemon closed its streams");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let daemon: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(daemon), "without hunt_escapees the daemon survives");
    assert_eq!(m.survivors(), [daemon], "exactly the daemon is left");
    drop(m); // the guard kills it

    // With hunting (what the CLI and the MCP server use): found by the execution's marker.
    let m = Marked::new();
    let hunting = ExecutionEngine::new(ExecutionConfig {
        hunt_escapees: true,
        ..quick()
    });
    let pidfile = dir.path().join("hunted.pid");
    let (r, took) = run(&hunting, m.sh(&double_fork(&pidfile))).await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let daemon: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(m.settle().await, Vec::<u32>::new(), "daemon {daemon} left");
}

/// A small deterministic generator (xorshift) for "random" bytes the test can reproduce.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[tokio::test]
async fn binary_output_gives_a_valid_result_with_replacement_characters() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = noise(1 << 20, 0x9e37_79b9_7f4a_7c15);
    // Make sure the awkward bytes are there: NULs, lone continuation bytes, a truncated
    // multi-byte sequence right before a newline, 0xff.
    data[..8].copy_from_slice(b"\0\0\x80\xbf\xe2\x82\n\xff");
    data.push(b'\n');
    let file = dir.path().join("noise.bin");
    std::fs::write(&file, &data).unwrap();

    let m = Marked::new();
    let engine = ExecutionEngine::new(quick());
    let (r, took) = run(
        &engine,
        m.sh(&format!("cat {0}; cat {0} >&2", file.display())),
    )
    .await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{:?}", r.error);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(r.stdout_bytes, data.len() as u64);
    assert_eq!(r.stderr_bytes, data.len() as u64);
    // Line by line, invalid sequences replaced by U+FFFD; NULs are valid UTF-8 and kept.
    let want = String::from_utf8_lossy(&data);
    assert_eq!(r.stdout.len(), want.len());
    assert!(r.stdout == want, "stdout differs from the lossy text");
    assert!(r.stderr == want, "stderr differs from the lossy text");
    assert!(
        r.stdout
            .starts_with("\0\0\u{fffd}\u{fffd}\u{fffd}\n\u{fffd}")
    );
    assert!(!r.stdout_truncated && r.lines_truncated == 0);
    assert_eq!(m.settle().await, Vec::<u32>::new());
}

/// Peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

const ISOLATED: &str = "CLOUDOPS_FAULTS_ISOLATED";

/// Runs the named test of this binary alone in a fresh process (with [`ISOLATED`] set), so
/// it can measure its own peak memory without the other tests' allocations.
fn in_own_process(test: &str) -> bool {
    if std::env::var_os(ISOLATED).is_some() {
        return false;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ISOLATED, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "isolated run failed:\n{text}");
    assert!(text.contains("1 passed"), "the test did not run:\n{text}");
    true
}

#[tokio::test]
async fn a_10_mb_line_is_cut_at_the_line_cap_flagged_and_memory_stays_bounded() {
    if in_own_process(
        "faults::a_10_mb_line_is_cut_at_the_line_cap_flagged_and_memory_stays_bounded",
    ) {
        return;
    }
    let m = Marked::new();
    let engine = ExecutionEngine::new(quick()); // max_line_bytes: 1 MiB
    let cap = engine.config().max_line_bytes;
    let before = peak_rss();
    let (r, took) = run(
        &engine,
        m.sh("head -c 10000000 /dev/zero | tr '\\0' x; echo; echo after"),
    )
    .await;
    let grew = peak_rss().saturating_sub(before);
    assert_eq!(r.status, ExecutionStatus::Completed, "{:?}", r.error);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(r.stdout_bytes, 10_000_000 + 1 + 6);
    assert_eq!(r.lines_truncated, 1, "flagged");
    assert_eq!(r.stdout.len(), cap + 1 + 6, "cut at the cap");
    assert!(r.stdout.ends_with("x\nafter\n"));
    // Bounded: the cut line (1 MiB) is held at most a few times over, never the 10 MB.
    println!("peak RSS grew by {} KiB for a 10 MB line", grew >> 10);
    assert!(
        grew < 8 << 20,
        "peak RSS grew by {} KiB for one line",
        grew >> 10
    );
    assert_eq!(m.settle().await, Vec::<u32>::new());
}

#[tokio::test]
async fn a_child_that_closes_stdout_early_but_keeps_running_is_waited_for() {
    let m = Marked::new();
    let engine = ExecutionEngine::new(quick());
    // stdout closed at once; the child goes on for a second, writes to stderr, exits 3.
    let (r, took) = run(
        &engine,
        m.sh("echo before; exec >&-; sleep 1; echo still-here >&2; exit 3"),
    )
    .await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.exit_code, 3, "the child's own status, not an early end");
    assert_eq!(
        (r.stdout.as_str(), r.stderr.as_str()),
        ("before\n", "still-here\n")
    );
    assert!(!r.output_incomplete);
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(5),
        "took {took:?}"
    );

    // Both streams closed: nothing to read, the exit is still awaited and reported.
    let (r, took) = run(&engine, m.sh("exec >&- 2>&-; sleep 1; exit 0")).await;
    assert_eq!(r.status, ExecutionStatus::Completed);
    assert!(took >= Duration::from_millis(950) && took < Duration::from_secs(5));

    // Closed streams and never ending: the timeout still ends it, group and all.
    let mut req = m.sh("exec >&- 2>&-; sleep 300 & sleep 300");
    req.timeout_ms = Some(500);
    let (r, took) = run(&engine, req).await;
    assert_eq!(r.status, ExecutionStatus::Timeout);
    assert_eq!(r.exit_code, 124);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(m.settle().await, Vec::<u32>::new());
}

#[tokio::test]
async fn an_escaped_grandchild_holding_the_pipe_after_lots_of_output_is_a_bounded_wait() {
    // The child writes 5 MB, starts a grandchild in a new session (out of reach of the
    // group kill) that keeps stdout open, and exits. The engine must not wait for EOF.
    let script = format!(
        "yes {} | head -n 50000; setsid sleep 300 & echo holder=$!",
        "y".repeat(100)
    );
    for hunt in [false, true] {
        let m = Marked::new();
        let engine = ExecutionEngine::new(ExecutionConfig {
            hunt_escapees: hunt,
            ..quick()
        });
        let (r, took) = run(&engine, m.sh(&script)).await;
        assert_eq!(r.status, ExecutionStatus::Completed, "{:?}", r.error);
        assert_eq!(r.exit_code, 0);
        // Two grace periods at most: one for the pipes, one after the group's SIGKILL.
        assert!(took < Duration::from_secs(3), "hunt={hunt}: took {took:?}");
        assert!(r.output_incomplete, "flagged: the pipe never closed");
        let last = r.stdout.lines().last().unwrap();
        assert_eq!(r.stdout_bytes, 50_000 * 101 + last.len() as u64 + 1);
        assert_eq!(r.stdout.lines().filter(|l| l.len() == 100).count(), 50_000);
        let holder: u32 = r
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("holder="))
            .unwrap()
            .parse()
            .unwrap();
        if hunt {
            assert_eq!(m.settle().await, Vec::<u32>::new(), "hunted");
        } else {
            // Out of the group and not hunted: it is still there (the guard kills it).
            assert_eq!(
                m.survivors(),
                [holder],
                "hunt=false leaves exactly the holder"
            );
        }
    }
}

/// `die_with_engine`: the kernel kills the child when the thread that spawned it ends (as
/// when the engine's process is killed: every thread ends). Here the spawning thread is
/// a plain thread calling `block_on`, so it can end while the engine and runtime live on.
#[test]
fn die_with_engine_kills_the_child_when_its_spawning_thread_ends() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for die in [false, true] {
        let m = Marked::new();
        let engine = std::sync::Arc::new(ExecutionEngine::new(ExecutionConfig {
            die_with_engine: die,
            ..quick()
        }));
        let (spawner, req, handle) = (engine.clone(), m.sh("exec sleep 300"), rt.handle().clone());
        let id = std::thread::spawn(move || handle.block_on(spawner.execute(req)))
            .join()
            .unwrap()
            .unwrap();
        let waited = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(2), engine.wait(id)).await
        });
        if die {
            let r = waited.expect("ended with its thread").unwrap();
            assert_eq!(r.status, ExecutionStatus::Failed);
            assert_eq!((r.signal, r.exit_code), (Some(9), 137), "SIGKILLed: {r:?}");
            assert_eq!(rt.block_on(m.settle()), Vec::<u32>::new());
        } else {
            assert!(
                waited.is_err(),
                "without it the command outlives the thread"
            );
            assert_eq!(m.survivors().len(), 1);
            rt.block_on(engine.cancel(id)).unwrap();
            let r = rt.block_on(engine.wait(id)).unwrap();
            assert_eq!(r.status, ExecutionStatus::Cancelled);
        }
    }
}
