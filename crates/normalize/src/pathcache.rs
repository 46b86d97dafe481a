//! Program look-up on `PATH` for the commands of a shell script, behind a small bounded cache.
//!
//! A `Shell` request's `program` fields are predictions: the shell does its own look-up
//! when it runs each command. Resolving costs one `stat` per `PATH` directory (about a
//! microsecond each), too slow for the policy budget, so results are cached.
//!
//! Cache choice: the key is the exact `PATH` string, the working directory (only for
//! relative names with a `/`) and the name, so a request with another `PATH` never sees
//! another request's answer. Entries live [`TTL`] (one second) and the cache holds at
//! most [`CAPACITY`] entries (it is emptied when full). A program installed or removed
//! in a `PATH` directory is thus seen within a second; that window is no wider than the
//! one between the policy decision and the shell's own look-up, which exists anyway.
//! `Exec`, `Script` and `AwsCli` requests use it too (an uncached look-up costs about
//! 10 µs on a usual `PATH`); the engine resolves again when it spawns, so what runs is
//! whatever is on `PATH` then, as without a cache.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use cloudops_execution_engine::resolve::resolve_program;

/// How long a cached look-up stays valid.
pub(crate) const TTL: Duration = Duration::from_secs(1);
/// Most entries kept.
pub(crate) const CAPACITY: usize = 512;

type Cache = HashMap<String, (Option<String>, Instant)>;

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Resolves `name` on `path` (relative to `cwd` for names with a `/`) without caching.
fn resolve_uncached(name: &str, path: &str, cwd: Option<&Path>) -> Option<String> {
    resolve_program(name, path, cwd)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Resolves `name` like [`resolve_uncached`], through the cache.
pub(crate) fn resolve_cached(name: &str, path: &str, cwd: Option<&Path>) -> Option<String> {
    if name.is_empty() || name.contains('\0') {
        return None;
    }
    let mut key = String::with_capacity(path.len() + name.len() + 2);
    if !name.starts_with('/') {
        if name.contains('/') {
            // Relative path: depends on the directory, not on PATH.
            let cwd = cwd.map(|c| c.to_string_lossy()).unwrap_or_default();
            key.push_str(&cwd);
            key.push('\0');
        } else {
            key.push_str(path);
        }
    }
    key.push('\0');
    key.push_str(name);
    let now = Instant::now();
    if let Ok(map) = cache().lock()
        && let Some((hit, at)) = map.get(&key)
        && now.duration_since(*at) < TTL
    {
        return hit.clone();
    }
    let found = resolve_uncached(name, path, cwd);
    if let Ok(mut map) = cache().lock() {
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, (found.clone(), now));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn cached_lookup_is_keyed_by_path() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let tool = a.path().join("cachetool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let pa = a.path().to_string_lossy().into_owned();
        let pb = b.path().to_string_lossy().into_owned();
        assert_eq!(
            resolve_cached("cachetool", &pa, None).as_deref(),
            Some(tool.to_string_lossy().as_ref())
        );
        // Same name, another PATH: not the cached answer.
        assert_eq!(resolve_cached("cachetool", &pb, None), None);
        // Hit.
        assert!(resolve_cached("cachetool", &pa, None).is_some());
    }

    #[test]
    fn entries_expire() {
        let a = tempfile::tempdir().unwrap();
        let pa = a.path().to_string_lossy().into_owned();
        assert_eq!(resolve_cached("latetool", &pa, None), None);
        let tool = a.path().join("latetool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::thread::sleep(TTL + Duration::from_millis(50));
        assert!(resolve_cached("latetool", &pa, None).is_some());
    }
}
