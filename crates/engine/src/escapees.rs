//! Processes that left an execution's process group: the marker every child inherits, and the hunt that kills marked processes when the execution ends.

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use uuid::Uuid;

/// The variable every child inherits: its execution id (see `ExecutionConfig::hunt_escapees`).
pub const EXECUTION_ID_VAR: &str = "CLOUDOPS_EXECUTION_ID";

/// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`): processes that a
/// command orphans (a daemon's double fork, `setsid`) are re-parented to it instead of to
/// init, so [`ExecutionConfig::hunt_escapees`](crate::ExecutionConfig::hunt_escapees) finds
/// them among this process's descendants instead of reading every process on the machine.
///
/// For short-lived processes such as a command-line tool: an orphan that ends on its own
/// stays a zombie of this process until this process exits (nothing here waits for
/// processes the engine did not start). A long-running server should not call it.
/// Returns whether the kernel accepted it (Linux only).
pub fn adopt_orphans() -> bool {
    nix::sys::prctl::set_child_subreaper(true).is_ok()
}

/// Kills every process whose environment carries this execution's marker; returns how many.
///
/// When `subreaper` (this process is a child subreaper, `PR_SET_CHILD_SUBREAPER`, which
/// the CLI sets), every orphaned descendant is re-parented to it, so the marked processes
/// are all among its own descendants: they are found by walking
/// `/proc/<pid>/task/<tid>/children` from here, which costs in proportion to this
/// process's descendants. Otherwise (or if the kernel has no `children` files) every
/// process in `/proc` is read.
pub(crate) fn kill_escapees(id: Uuid, subreaper: bool) -> usize {
    let marker = format!("{EXECUTION_ID_VAR}={id}\0");
    if subreaper {
        let mut killed = 0;
        // A process killed in one round orphans its children, re-parented to us only once
        // it is gone: walk again until a round finds nothing to kill.
        for _ in 0..16 {
            let Some(pids) = descendants() else {
                return killed + kill_marked(all_pids(), &marker);
            };
            let n = kill_marked(pids.into_iter(), &marker);
            if n == 0 {
                return killed;
            }
            killed += n;
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        return killed;
    }
    kill_marked(all_pids(), &marker)
}

/// SIGKILLs each of `pids` whose environment holds `marker`; returns how many.
fn kill_marked(pids: impl Iterator<Item = i32>, marker: &str) -> usize {
    let mut killed = 0;
    for pid in pids {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if memchr::memmem::find(&environ, marker.as_bytes()).is_some()
            && nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok()
        {
            killed += 1;
        }
    }
    killed
}

/// Every process id in `/proc`.
fn all_pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
}

/// This process's descendants (children of any of its threads, and so on down), or `None`
/// if the kernel does not list children (`CONFIG_PROC_CHILDREN`).
fn descendants() -> Option<Vec<i32>> {
    let mut found = Vec::new();
    let mut frontier = vec![std::process::id().cast_signed()];
    let mut first = true;
    while let Some(pid) = frontier.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let path = task.path().join("children");
            let list = match std::fs::read_to_string(&path) {
                Ok(l) => l,
                Err(e) if first && e.kind() == std::io::ErrorKind::NotFound => return None,
                Err(_) => continue,
            };
            first = false;
            for child in list.split_ascii_whitespace().filter_map(|c| c.parse().ok()) {
                // Bounded: a fork bomb under us must not make the walk endless.
                if found.len() >= 1 << 16 {
                    return Some(found);
                }
                found.push(child);
                frontier.push(child);
            }
        }
    }
    Some(found)
}
