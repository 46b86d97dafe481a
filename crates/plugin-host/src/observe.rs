//! Compile events: a front end is told when a plugin's code is compiled (not taken from the cache), to show a line while it waits and report where the entry went.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// One compile of a plugin, finished.
#[derive(Debug, Clone)]
pub struct CompileReport {
    /// The plugin's name in the policy.
    pub plugin: String,
    /// The size of the component, in bytes.
    pub bytes: usize,
    /// How long the compile took.
    pub elapsed: Duration,
    /// The cache entry written (`<key>.fresh.cwasm`, renamed to `<key>.cwasm` once checked
    /// at its next use); `None` when it could not be written, or the compile failed.
    pub entry: Option<PathBuf>,
    /// The compile succeeded.
    pub ok: bool,
}

/// Told about compiles; called from the threads that load plugins (several at once).
pub trait CompileObserver: Send + Sync {
    /// A compile of `plugin` (`bytes` long) starts: its code is not in the cache.
    fn started(&self, plugin: &str, bytes: usize);
    /// That compile ended (successfully or not).
    fn finished(&self, report: &CompileReport);
}

/// A [`CompileObserver`] in a [`HostConfig`](crate::HostConfig).
#[derive(Clone)]
pub struct CompileObserverRef(pub Arc<dyn CompileObserver>);

impl std::fmt::Debug for CompileObserverRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompileObserver")
    }
}
