//! Escapee hunting in a process that adopts orphans (as the CLI does): its own test binary, because being a child subreaper changes what every other test in a process would see.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::time::Duration;

#[path = "support/mod.rs"]
mod support;

use cloudops_execution_engine::{ExecutionConfig, ExecutionEngine, ExecutionStatus, adopt_orphans};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use support::sh;

/// Runs a command that double-forks a daemon out of its process group and session, and
/// returns the daemon's pid.
async fn run_daemonising(engine: &ExecutionEngine, pidfile: &std::path::Path) -> i32 {
    let script = format!(
        "(setsid sh -c 'echo $$ > {}; exec sleep 100' </dev/null >/dev/null 2>&1 &); sleep 0.2",
        pidfile.display()
    );
    let r = engine
        .wait(engine.execute(sh(&script)).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    std::fs::read_to_string(pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Waits (bounded) for `pid`, which must be a child of this process, to end; returns how.
fn reap(pid: i32) -> WaitStatus {
    for _ in 0..200 {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)).unwrap() {
            WaitStatus::StillAlive => std::thread::sleep(Duration::from_millis(10)),
            status => return status,
        }
    }
    panic!("process {pid} was still running after 2 s");
}

#[tokio::test]
async fn an_adopted_daemon_is_found_among_our_descendants_and_killed() {
    assert!(adopt_orphans(), "PR_SET_CHILD_SUBREAPER refused");
    let dir = tempfile::tempdir().unwrap();

    // Without hunting, the daemon survives the execution, re-parented to this process.
    let plain = ExecutionEngine::new(ExecutionConfig::default());
    let escaped = run_daemonising(&plain, &dir.path().join("a")).await;
    nix::sys::signal::kill(Pid::from_raw(escaped), None).unwrap();
    nix::sys::signal::kill(Pid::from_raw(escaped), nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(matches!(reap(escaped), WaitStatus::Signaled(..)));

    // With hunting, the walk of our descendants finds it by its marker and kills it: it is
    // our child (adopted), so waiting for it tells how it ended.
    let hunting = ExecutionEngine::new(ExecutionConfig {
        hunt_escapees: true,
        ..Default::default()
    });
    let daemon = run_daemonising(&hunting, &dir.path().join("b")).await;
    assert_eq!(
        reap(daemon),
        WaitStatus::Signaled(
            Pid::from_raw(daemon),
            nix::sys::signal::Signal::SIGKILL,
            false
        ),
        "the daemon {daemon} should have been killed by the hunt"
    );
}
