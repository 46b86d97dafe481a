//! The pids cgroup of one execution: created before the spawn with its `pids.max`, joined by the child, removed after the run; empty leftovers of earlier runs swept.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, SystemTime};

/// Leftover cgroups younger than this are left alone when sweeping: they may belong to an
/// execution whose child has not joined yet.
const SWEEP_AGE: Duration = Duration::from_secs(60);

/// One execution's cgroup directory; removed when dropped.
#[derive(Debug)]
pub struct Cgroup {
    dir: PathBuf,
    /// `<dir>/cgroup.procs`, which the child writes "0" to.
    pub(crate) procs: CString,
}

impl Cgroup {
    /// Creates `<root>/cloudops/<name>` with `pids.max` = `max`. On v2, the `pids`
    /// controller is enabled for the children of `<root>` and of `cloudops/` first.
    pub(crate) fn create(root: &Path, v2: bool, name: &str, max: u32) -> io::Result<Cgroup> {
        use std::os::unix::ffi::OsStrExt;
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
        let dir = parent.join(name);
        if let Err(e) = std::fs::create_dir(&dir) {
            // An id run again after a run whose cgroup could not be removed: empty now?
            if e.kind() != io::ErrorKind::AlreadyExists {
                return Err(e);
            }
            std::fs::remove_dir(&dir)?;
            std::fs::create_dir(&dir)?;
        }
        let cgroup = Cgroup {
            procs: CString::new(dir.join("cgroup.procs").as_os_str().as_bytes())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
            dir,
        };
        // On error the directory goes with `cgroup`'s drop.
        std::fs::write(cgroup.dir.join("pids.max"), max.to_string())?;
        Ok(cgroup)
    }

    /// The cgroup's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills what is left in the cgroup (processes that left the command's process group,
    /// outside a PID namespace) and removes it; retries briefly while the killed processes
    /// exit. A cgroup that cannot be removed is left for a later sweep.
    fn remove(&self) {
        for attempt in 0..50 {
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => return,
                // Only a cgroup that still holds processes is worth a retry.
                Err(e) if e.raw_os_error() != Some(libc::EBUSY) => return,
                Err(_) => {}
            }
            let procs = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                kill(pid);
            }
            std::thread::sleep(Duration::from_millis(if attempt < 10 { 1 } else { 10 }));
        }
        // Left for the sweep of a later process (this crate writes nothing to stderr).
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

#[expect(unsafe_code, reason = "kill(2) of a process listed in our own cgroup")]
fn kill(pid: i32) {
    // SAFETY: a plain system call; a pid that has gone already gives ESRCH.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Removes the empty cgroups older than [`SWEEP_AGE`] under `parent` (rmdir refuses the
/// ones that still hold processes).
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= SWEEP_AGE);
        if old && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}
