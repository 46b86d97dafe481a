//! Finds a test's processes by a marker variable in their environment (`/proc/PID/environ`),
//! so a test can see a command's whole tree, even the parts that left its process group, and
//! check that none of it outlives cloudops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The variable the marker is put in; every process cloudops starts inherits it.
pub const VAR: &str = "CLOUDOPS_TEST_TREE";

/// A marker value no other test (or test run) uses.
pub fn marker() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "t{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    )
}

/// Live processes (not zombies) whose environment has `VAR=marker`, except `except`:
/// their pid and command line.
pub fn marked(marker: &str, except: u32) -> Vec<(u32, String)> {
    let needle = format!("{VAR}={marker}");
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == except || pid == std::process::id() {
            continue;
        }
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if !env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
        if state == Some(Some('Z')) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        found.push((pid, cmdline.trim_end().to_string()));
    }
    found
}

/// Waits until `pred` holds for the marked processes (at most `limit`); returns the last list.
pub fn wait_marked(
    marker: &str,
    except: u32,
    limit: Duration,
    pred: impl Fn(&[(u32, String)]) -> bool,
) -> Vec<(u32, String)> {
    let deadline = Instant::now() + limit;
    loop {
        let now = marked(marker, except);
        if pred(&now) || Instant::now() >= deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Asserts that no marked process is left (after a short grace for the kernel to reap).
#[track_caller]
pub fn assert_none_left(marker: &str) {
    let left = wait_marked(marker, 0, Duration::from_secs(3), <[_]>::is_empty);
    assert!(left.is_empty(), "processes outlived cloudops: {left:?}");
}

/// Whether some marked process's command line contains `needle`.
pub fn has(procs: &[(u32, String)], needle: &str) -> bool {
    procs.iter().any(|(_, c)| c.contains(needle))
}
