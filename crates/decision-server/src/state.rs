//! What the server shares between its connections: whom it decides for, the policies it has loaded (reloaded when their files change), and the count of connected clients.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cloudops_execution_engine::Gate;
use tokio::sync::Mutex;

use crate::error::LoadError;
use crate::proto::{self, Hello, Stamp, stamp};

/// A policy the server has loaded for its clients, with the file identities it was loaded from.
struct ServedPolicy {
    /// The policy file's and each plugin file's identity when they were read.
    stamps: Vec<(PathBuf, Option<Stamp>)>,
    gate: Arc<dyn Gate>,
}

impl ServedPolicy {
    /// Its gate, and the policy file's stamp when it was read.
    fn gate(&self) -> (Arc<dyn Gate>, Option<Stamp>) {
        (self.gate.clone(), self.stamps[0].1)
    }

    /// Whether none of its files has changed since it was loaded.
    fn current(&self) -> bool {
        self.stamps.iter().all(|(p, s)| stamp(p) == *s)
    }
}

/// A policy file, the profile in force, and whether its sandboxes apply.
type PolicyKey = (PathBuf, Option<String>, bool);

/// The server's state, shared by its connections.
pub(crate) struct State {
    binary: String,
    path: Option<String>,
    home: Option<String>,
    /// -1 quiet, 0 normal, 1+ verbose: how much the server logs.
    pub(crate) verbosity: i8,
    /// By (policy file, profile). The lock is held while a policy loads: a second client of
    /// the same policy waits for it instead of loading it again.
    policies: Mutex<HashMap<PolicyKey, Arc<ServedPolicy>>>,
    clients: AtomicUsize,
    last_seen: std::sync::Mutex<Instant>,
}

impl State {
    /// The state of a server started now, in this process's environment.
    pub(crate) fn new(verbosity: i8) -> Self {
        State {
            binary: proto::identity(),
            path: std::env::var("PATH").ok(),
            home: std::env::var("HOME").ok(),
            verbosity,
            policies: Mutex::new(HashMap::new()),
            clients: AtomicUsize::new(0),
            last_seen: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// Why this server must not decide for `hello` from process `pid`, if it must not.
    pub(crate) fn mismatch(&self, hello: &Hello, pid: Option<i32>) -> Option<String> {
        if let Some(why) = proto::other_filesystem(pid) {
            return Some(why);
        }
        if hello.binary != self.binary {
            return Some(format!(
                "the server runs another build of cloudops ({}; this one is {})",
                self.binary, hello.binary
            ));
        }
        if hello.path != self.path {
            return Some("the server was started with another PATH".into());
        }
        if hello.home != self.home {
            return Some("the server was started with another HOME".into());
        }
        None
    }

    /// The gate of `policy` under `profile`, loaded now if it is not, or if a file it was
    /// loaded from has changed since; with the policy file's stamp when it was read.
    pub(crate) async fn gate(
        &self,
        policy: &Path,
        profile: Option<&str>,
        confine: bool,
    ) -> Result<(Arc<dyn Gate>, Option<Stamp>), LoadError> {
        let key: PolicyKey = (policy.to_path_buf(), profile.map(str::to_owned), confine);
        let mut policies = self.policies.lock().await;
        if let Some(served) = policies.get(&key)
            && served.current()
        {
            return Ok(served.gate());
        }
        policies.remove(&key);
        let (path, profile, confine) = key.clone();
        let loaded =
            tokio::task::spawn_blocking(move || load(path, profile.as_deref(), confine)).await??;
        let gate = loaded.gate();
        if self.verbosity > 0 {
            eprintln!("cloudops server: loaded {}", policy.display());
        }
        policies.insert(key, Arc::new(loaded));
        Ok(gate)
    }

    /// The number of clients connected now.
    pub(crate) fn clients(&self) -> usize {
        self.clients.load(Ordering::SeqCst)
    }

    /// Whether no client has been connected for `idle`.
    pub(crate) fn idle_for(&self, idle: std::time::Duration) -> bool {
        self.clients() == 0
            && self
                .last_seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .elapsed()
                >= idle
    }
}

/// Compiles `path` and loads its plugins for `profile` (blocking: plugins compile).
fn load(path: PathBuf, profile: Option<&str>, confine: bool) -> Result<ServedPolicy, LoadError> {
    // Each file is stamped before it is read: a change after that is seen by the next
    // decision, which loads again.
    let mut stamps = vec![(path.clone(), stamp(&path))];
    let policy = cloudops_session::compile(&path)?;
    policy.effective(profile)?;
    for decl in policy.plugins().values() {
        if let cloudops_policy::PluginOrigin::File(f) = &decl.origin {
            stamps.push((f.clone(), stamp(f)));
        }
    }
    let gate = cloudops_session::build_gate_with(policy, profile, confine)?;
    Ok(ServedPolicy {
        stamps,
        gate: Arc::new(gate),
    })
}

/// One connected client: counted while its connection lasts (a panic included), so that
/// the server does not stop for idleness under it.
pub(crate) struct Client(pub(crate) Arc<State>);

impl Client {
    /// Counts a client of `state` in.
    pub(crate) fn new(state: Arc<State>) -> Self {
        state.clients.fetch_add(1, Ordering::SeqCst);
        Client(state)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        *self.0.last_seen.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.clients.fetch_sub(1, Ordering::SeqCst);
    }
}
