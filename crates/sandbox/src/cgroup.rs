//! The pids cgroup of one execution: taken from this process's pool of empty cgroups (or created) with its `pids.max`, joined by the child, emptied after the run and put back; leftovers of earlier processes swept.
//!
//! Creating and removing a cgroup directory per command costs the kernel about 90 µs and
//! takes its global cgroup lock; commands run in parallel queue on it. An emptied cgroup
//! is as good as a new one (its `pids.current` back at 0), so each process keeps up to
//! [`POOL_MAX`] of them for its next commands, named `<process id>-<n>`.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, SystemTime};

/// Leftover cgroups (of other naming) younger than this are left alone when sweeping:
/// they may belong to an execution whose child has not joined yet.
const SWEEP_AGE: Duration = Duration::from_secs(60);

/// Emptied cgroups kept for reuse, at most.
const POOL_MAX: usize = 32;

/// This process's emptied cgroups.
static POOL: Mutex<Vec<Slot>> = Mutex::new(Vec::new());

/// One cgroup directory and what identifies its use.
#[derive(Debug)]
struct Slot {
    dir: PathBuf,
    procs: CString,
    max: u32,
}

/// One execution's cgroup directory; emptied and put back in the pool (or removed) when
/// dropped.
#[derive(Debug)]
pub struct Cgroup {
    slot: Option<Slot>,
}

impl Cgroup {
    /// A cgroup under `<root>/cloudops/` with `pids.max` = `max`: an emptied one of this
    /// process's, else a new one. On v2, the `pids` controller is enabled for the
    /// children of `<root>` and of `cloudops/` first.
    pub(crate) fn take(root: &Path, v2: bool, max: u32) -> io::Result<Cgroup> {
        {
            let mut pool = POOL
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(i) = pool
                .iter()
                .position(|s| s.max == max && s.dir.starts_with(root))
            {
                return Ok(Cgroup {
                    slot: Some(pool.swap_remove(i)),
                });
            }
        }
        Self::create(root, v2, max)
    }

    fn create(root: &Path, v2: bool, max: u32) -> io::Result<Cgroup> {
        use std::os::unix::ffi::OsStrExt;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let parent = root.join("cloudops");
        if v2 {
            // Enabling an enabled controller is harmless; a refusal shows at pids.max.
            let _ = std::fs::write(root.join("cgroup.subtree_control"), "+pids");
        }
        match std::fs::create_dir(&parent) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        if v2 {
            let _ = std::fs::write(parent.join("cgroup.subtree_control"), "+pids");
        }
        static SWEEP: Once = Once::new();
        SWEEP.call_once(|| sweep(&parent));
        let name = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = parent.join(name);
        if let Err(e) = std::fs::create_dir(&dir) {
            // Left by an earlier process that had our process id: empty now?
            if e.kind() != io::ErrorKind::AlreadyExists {
                return Err(e);
            }
            std::fs::remove_dir(&dir)?;
            std::fs::create_dir(&dir)?;
        }
        let cgroup = Cgroup {
            slot: Some(Slot {
                // v1: `tasks`, which moves only the writing thread (the child is single
                // threaded): the kernel then skips the lock that moving a whole process
                // takes against every fork on the machine (`cgroup_threadgroup_rwsem`).
                procs: CString::new(
                    dir.join(if v2 { "cgroup.procs" } else { "tasks" })
                        .as_os_str()
                        .as_bytes(),
                )
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
                dir,
                max,
            }),
        };
        // On error the directory goes with `cgroup`'s drop.
        std::fs::write(cgroup.dir().join("pids.max"), max.to_string())?;
        Ok(cgroup)
    }

    /// The cgroup's directory.
    pub fn dir(&self) -> &Path {
        self.slot.as_ref().map_or(Path::new(""), |s| &s.dir)
    }

    /// The file the child writes "0" to, to join: `tasks` (v1) or `cgroup.procs` (v2).
    pub(crate) fn procs(&self) -> &std::ffi::CStr {
        self.slot.as_ref().map_or(c"", |s| s.procs.as_c_str())
    }
}

impl Drop for Cgroup {
    /// Kills what is left in the cgroup (processes that left the command's process group,
    /// outside a PID namespace), waits briefly until it is empty, and puts it back in the
    /// pool (or removes it when the pool is full). One that does not empty is left for the
    /// sweep of a later process.
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        if !empty(&slot.dir) {
            return;
        }
        let mut pool = POOL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pool.len() < POOL_MAX {
            pool.push(slot);
        } else {
            drop(pool);
            let _ = std::fs::remove_dir(&slot.dir);
        }
    }
}

/// Empties the cgroup at `dir`: kills its processes and waits (up to about half a second)
/// until none is left and none is counted. False if it did not empty.
fn empty(dir: &Path) -> bool {
    for attempt in 0..50 {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        let mut any = false;
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            kill(pid);
            any = true;
        }
        // Exited processes are counted until they are reaped.
        if !any && std::fs::read_to_string(dir.join("pids.current")).is_ok_and(|c| c.trim() == "0")
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(if attempt < 10 { 1 } else { 10 }));
    }
    false
}

#[expect(unsafe_code, reason = "kill(2) of a process listed in our own cgroup")]
fn kill(pid: i32) {
    // SAFETY: a plain system call; a pid that has gone already gives ESRCH.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Removes the empty cgroups of processes that are gone (`<process id>-<n>`), and other
/// empty ones older than [`SWEEP_AGE`], under `parent` (rmdir refuses the ones that still
/// hold processes).
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name();
        let owner = name
            .to_str()
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, n)| Some((pid.parse::<u32>().ok()?, n.parse::<u64>().ok()?)))
            .map(|(pid, _)| pid);
        let stale = match owner {
            Some(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age >= SWEEP_AGE),
        };
        if stale {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emptied_cgroup_is_reused_and_one_with_a_straggler_is_emptied_first() {
        let Some(root) = crate::probe().pids_cgroup.clone() else {
            return;
        };
        let v2 = crate::probe().cgroup_v2;
        let first = Cgroup::take(&root, v2, 77).expect("a cgroup");
        let dir = first.dir().to_path_buf();
        // A process left in it, as one that escaped its command's process group would be;
        // its parent shell (outside the cgroup) reaps it once it is killed.
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "sleep 60 >/dev/null 2>&1 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start sleep");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(shell.stdout.take().expect("stdout")),
            &mut line,
        )
        .expect("its pid");
        std::fs::write(dir.join("cgroup.procs"), line.trim()).expect("join");
        drop(first);
        assert!(shell.wait().expect("reap the shell").success());
        assert!(
            !Path::new(&format!("/proc/{}", line.trim())).exists(),
            "the straggler was killed and reaped"
        );
        // The same directory comes back, empty, with its limit.
        let again = Cgroup::take(&root, v2, 77).expect("a cgroup");
        assert_eq!(again.dir(), dir);
        assert_eq!(
            std::fs::read_to_string(dir.join("pids.current"))
                .unwrap()
                .trim(),
            "0"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("pids.max"))
                .unwrap()
                .trim(),
            "77"
        );
        // Another limit gets another cgroup.
        let other = Cgroup::take(&root, v2, 78).expect("a cgroup");
        assert_ne!(other.dir(), dir);
    }
}
