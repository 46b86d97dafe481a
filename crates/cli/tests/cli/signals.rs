//! Ctrl-C (SIGINT) during `plan` and `run`: the running executions are cancelled with their
//! whole process trees (background jobs, double forks, `setsid` escapees), nothing further
//! starts, and cloudops exits 130. Processes are found by a marker in their environment.

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::tree;
use crate::util::Dir;

/// A shell command that starts a tree: a background job, a double fork (re-parented, same
/// process group), a `setsid` escapee (own session) and a foreground sleep. The durations
/// `N1`..`N4` tell the processes apart.
fn tree_script(n: u32) -> String {
    format!(
        "sleep {a} & (sleep {b} &); setsid sleep {c} & sleep {d}; echo never",
        a = n + 1,
        b = n + 2,
        c = n + 3,
        d = n + 4
    )
}

/// Whether every process of `tree_script(n)` is up.
fn tree_up(procs: &[(u32, String)], n: u32) -> bool {
    (1..=4).all(|i| tree::has(procs, &format!("sleep {}", n + i)))
}

fn spawn(d: &Dir, args: &[&str], marker: &str) -> Child {
    d.cmd(args)
        .env(tree::VAR, marker)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cloudops")
}

fn interrupt(child: &Child) {
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -INT failed");
}

/// Waits for cloudops to exit (at most 20 s, else kills it and fails).
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("cloudops did not exit after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn ctrl_c_during_a_parallel_plan_stops_every_steps_tree_and_exits_130() {
    let d = Dir::new();
    d.write(
        "plan.toml",
        &format!(
            "strategy = \"parallel\"\n[[steps]]\nname = \"a\"\nshell = \"{}\"\n[[steps]]\nname = \"b\"\nshell = \"{}\"\n",
            tree_script(310),
            tree_script(320)
        ),
    );
    let marker = tree::marker();
    let child = spawn(&d, &["plan", "plan.toml"], &marker);
    let up = tree::wait_marked(&marker, child.id(), Duration::from_secs(30), |p| {
        tree_up(p, 310) && tree_up(p, 320)
    });
    assert!(
        tree_up(&up, 310) && tree_up(&up, 320),
        "the steps did not start: {up:?}"
    );
    interrupt(&child);
    let out = finish(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("never"),
        "the steps were not stopped"
    );
    tree::assert_none_left(&marker);
    // The summary still comes, and says what happened to each step.
    assert!(
        stderr.contains("cancelled") && stderr.contains("plan "),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_during_a_serial_plan_stops_the_running_step_and_starts_no_other() {
    let d = Dir::new();
    d.write(
        "plan.toml",
        &format!(
            "strategy = \"serial\"\n[[steps]]\nname = \"long\"\nshell = \"{}\"\n[[steps]]\nname = \"after\"\nshell = \"touch ran\"\n",
            tree_script(330)
        ),
    );
    let marker = tree::marker();
    let child = spawn(&d, &["plan", "plan.toml"], &marker);
    let up = tree::wait_marked(&marker, child.id(), Duration::from_secs(30), |p| {
        tree_up(p, 330)
    });
    assert!(tree_up(&up, 330), "the step did not start: {up:?}");
    interrupt(&child);
    let out = finish(child);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tree::assert_none_left(&marker);
    assert!(
        !d.path().join("ran").exists(),
        "no step starts after Ctrl-C"
    );
}

#[test]
fn ctrl_c_during_run_stops_the_program_and_its_escaped_children() {
    let d = Dir::new();
    let marker = tree::marker();
    let child = spawn(&d, &["run", "--", "bash", "-c", &tree_script(340)], &marker);
    let up = tree::wait_marked(&marker, child.id(), Duration::from_secs(30), |p| {
        tree_up(p, 340)
    });
    assert!(tree_up(&up, 340), "the command did not start: {up:?}");
    interrupt(&child);
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130));
    tree::assert_none_left(&marker);
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stderr), @"cloudops: interrupted; the command and its children were stopped");
}
