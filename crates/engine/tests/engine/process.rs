//! Process groups, timeout, cancel, leftovers: nothing survives an execution.

use std::time::{Duration, Instant};

use cloudops_execution_engine::{ExecutionConfig, ExecutionEngine, ExecutionStatus};

use crate::support::{alive, eventually, exec, group_members, sh};

fn quick_kill() -> ExecutionConfig {
    ExecutionConfig {
        kill_grace: Duration::from_millis(300),
        pipe_close_grace: Duration::from_millis(300),
        ..Default::default()
    }
}

fn pids(stdout: &str) -> Vec<u32> {
    stdout
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[tokio::test]
async fn timeout_kills_the_whole_tree_even_a_grandchild_ignoring_sigterm() {
    let engine = ExecutionEngine::new(quick_kill());
    let mut req = sh("trap '' TERM; sleep 100 & echo $!; sleep 100");
    req.timeout_ms = Some(400);
    let t0 = Instant::now();
    let id = engine.execute(req).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t0.elapsed()
    );
    assert_eq!(r.status, ExecutionStatus::Timeout);
    assert_eq!(r.exit_code, 124);
    assert_eq!(r.error.as_deref(), Some("timed out after 400 ms"));
    assert_eq!(
        r.signal,
        Some(9),
        "the shell ignores SIGTERM, so SIGKILL ended it"
    );
    let grandchild = pids(&r.stdout)[0];
    assert!(
        eventually(Duration::from_secs(2), || !alive(grandchild)).await,
        "grandchild {grandchild} survived"
    );
    assert!(group_members(r.pid.unwrap()).is_empty());
}

#[tokio::test]
async fn config_default_timeout_applies() {
    let engine = ExecutionEngine::new(ExecutionConfig {
        default_timeout_ms: Some(200),
        ..quick_kill()
    });
    let mut req = sh("sleep 30");
    req.timeout_ms = None;
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Timeout);
}

#[tokio::test]
async fn sigterm_is_sent_first_and_the_grace_period_is_honoured() {
    let engine = ExecutionEngine::new(ExecutionConfig {
        kill_grace: Duration::from_secs(5),
        ..Default::default()
    });
    let mut req = sh("trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.05; done");
    req.timeout_ms = Some(300);
    let t0 = Instant::now();
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Timeout);
    assert!(r.stdout.contains("got-term"), "{}", r.stdout);
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "no need to wait for SIGKILL"
    );
}

#[tokio::test]
async fn cancel_terminates_the_tree() {
    let engine = ExecutionEngine::new(quick_kill());
    let id = engine
        .execute(sh("sleep 100 & echo $!; sleep 100"))
        .await
        .unwrap();
    let mut rx = engine.subscribe();
    // Wait until the child has printed the grandchild's pid.
    let _ = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
    engine.cancel(id).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Cancelled);
    assert_eq!(r.exit_code, 130);
    for pid in pids(&r.stdout) {
        assert!(eventually(Duration::from_secs(2), || !alive(pid)).await);
    }
    // Signals are delivered asynchronously: a killed member may take a moment to go.
    let pgid = r.pid.unwrap();
    assert!(eventually(Duration::from_secs(2), || group_members(pgid).is_empty()).await);
    // Cancelling a finished execution is harmless.
    engine.cancel(id).await.unwrap();
}

#[tokio::test]
async fn background_jobs_left_behind_are_killed_when_the_child_exits() {
    let engine = ExecutionEngine::new(quick_kill());
    let id = engine
        .execute(sh("sleep 100 >/dev/null 2>&1 & echo $!"))
        .await
        .unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed);
    assert!(!r.output_incomplete);
    let bg = pids(&r.stdout)[0];
    assert!(eventually(Duration::from_secs(2), || !alive(bg)).await);
}

#[tokio::test]
async fn a_leftover_holding_the_pipe_does_not_hang_the_execution() {
    let engine = ExecutionEngine::new(quick_kill());
    let t0 = Instant::now();
    let id = engine.execute(sh("sleep 100 & echo $!")).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(r.status, ExecutionStatus::Completed);
    assert!(r.output_incomplete, "flagged");
    let bg = pids(&r.stdout)[0];
    assert!(eventually(Duration::from_secs(2), || !alive(bg)).await);
}

#[tokio::test]
async fn each_child_leads_its_own_process_group() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let id = engine.execute(sh("ps -o pgid= -p $$")).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    let pgid: u32 = r.stdout.trim().parse().unwrap();
    assert_eq!(Some(pgid), r.pid);
    assert_ne!(pgid, nix_pgrp(), "not the test's group");
}

fn nix_pgrp() -> u32 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    stat.rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_same_id_runs_again_once_finished_but_not_while_running() {
    let engine = ExecutionEngine::new(quick_kill());
    let req = sh("sleep 0.3; echo run");
    let id = engine.execute(req.clone()).await.unwrap();
    let err = engine.execute(req.clone()).await.unwrap_err();
    assert!(
        matches!(err, cloudops_execution_engine::ExecutionError::Validation(ref m) if m.contains("still running")),
        "{err}"
    );
    let first = engine.wait(id).await.unwrap();
    let again = engine.execute(req).await.unwrap();
    assert_eq!(again, id);
    let second = engine.wait(id).await.unwrap();
    assert_eq!(second.stdout, "run\n");
    assert!(second.started_at > first.started_at, "a new run");
}

#[tokio::test]
async fn extreme_timeouts_are_handled() {
    let engine = ExecutionEngine::new(quick_kill());
    let mut req = sh("echo fine");
    req.timeout_ms = Some(u64::MAX);
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.stdout.as_str()),
        (ExecutionStatus::Completed, "fine\n")
    );
    let mut req = sh("sleep 5");
    req.timeout_ms = Some(0);
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Timeout);
}

#[tokio::test]
async fn an_argv_too_big_for_the_kernel_is_a_failed_result_not_a_crash() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let huge = "x".repeat(200_000);
    let args: Vec<&str> = std::iter::repeat_n(huge.as_str(), 100).collect();
    let id = engine
        .execute(crate::support::exec("echo", &args))
        .await
        .unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.exit_code, 126);
    assert!(r.error.unwrap().contains("could not start"));
    // The engine keeps serving.
    let r = engine
        .wait(engine.execute(sh("echo next")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.stdout, "next\n");
}

/// Starts a daemon that leaves the process group (setsid) and writes its pid to a file.
async fn run_daemonising(engine: &ExecutionEngine, pidfile: &std::path::Path) -> u32 {
    let script = format!(
        "setsid sh -c 'echo $$ > {}; exec sleep 100' </dev/null >/dev/null 2>&1 & sleep 0.2",
        pidfile.display()
    );
    let r = engine
        .wait(engine.execute(sh(&script)).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed);
    std::fs::read_to_string(pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_daemon_that_left_the_group_is_hunted_down_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let plain = ExecutionEngine::new(quick_kill());
    let escaped = run_daemonising(&plain, &dir.path().join("a")).await;
    assert!(alive(escaped), "setsid escapes the process group");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(escaped as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();

    let hunting = ExecutionEngine::new(ExecutionConfig {
        hunt_escapees: true,
        ..quick_kill()
    });
    let daemon = run_daemonising(&hunting, &dir.path().join("b")).await;
    assert!(
        eventually(Duration::from_secs(2), || !alive(daemon)).await,
        "daemon {daemon} survived"
    );
}

/// The command's signal state is its own, whatever the engine's: the spawning thread
/// blocks SIGUSR2 here and Rust ignores SIGPIPE, and the command sees neither (a pipeline
/// such as `yes | head -1` relies on SIGPIPE ending the writer).
#[tokio::test]
async fn a_command_starts_with_no_blocked_signal_and_sigpipe_at_its_default() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let mut usr2 = SigSet::empty();
    usr2.add(Signal::SIGUSR2);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&usr2), None).unwrap();
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let id = engine
        .execute(exec("grep", &["-E", "^Sig(Blk|Ign):", "/proc/self/status"]))
        .await
        .unwrap();
    let r = engine.wait(id).await.unwrap();
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&usr2), None).unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    let mask = |name: &str| {
        let line = r.stdout.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(mask("SigBlk:"), 0, "{}", r.stdout);
    let sigpipe = 1 << (Signal::SIGPIPE as u32 - 1);
    assert_eq!(
        mask("SigIgn:") & sigpipe,
        0,
        "SIGPIPE ignored: {}",
        r.stdout
    );
}

/// A program the kernel refuses to run (no `#!`, not a binary) fails with 126 and the
/// kernel's reason, and leaves nothing behind.
#[tokio::test]
async fn a_file_the_kernel_cannot_execute_fails_with_126_and_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("not-a-program");
    std::fs::write(&program, b"\x01\x02 not an executable format\n").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let id = engine
        .execute(exec(program.to_str().unwrap(), &[]))
        .await
        .unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.exit_code, 126);
    let error = r.error.unwrap_or_default();
    assert!(
        error.contains("not-a-program") && error.contains("Exec format error"),
        "{error}"
    );
}
