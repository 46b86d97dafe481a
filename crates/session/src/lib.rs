//! cloudops-session: what every front end (the CLI, the MCP server, the decision server) does before it decides or runs anything: compile the policy with the built-in plugins, load its plugins into a gate, and configure an engine from the policy's defaults.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use cloudops_execution_engine::{DenyApprover, ExecutionEngine};
//! use cloudops_session::{Session, compile};
//!
//! let policy = compile(std::path::Path::new("policies/agent.toml"))?;
//! let session = Session::with_local_gate(policy, None)?;
//! let config = session.engine_config(Arc::new(DenyApprover), None)?;
//! let engine = ExecutionEngine::new(config);
//! # let _ = engine; Ok(()) }
//! ```

mod trace;

pub use cloudops_policy::{RequestTemplate, mask_command, mask_record, millis};
pub use trace::{decision_json, sandbox_text, trace};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cloudops_execution_engine::{Approver, ExecutionConfig, Gate};
use cloudops_plugin_host::{
    ChainGate, CompileObserver, CompileObserverRef, HostConfig, PluginHost,
};
use cloudops_policy::{
    CompileOptions, Defaults, Fsync, JsonlSink, LoadedPolicy, Policy, PolicyError,
};

/// What can go wrong while setting a session up.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The policy file does not compile, or the profile is not in it.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The plugin host could not start.
    #[error("the plugin host could not start: {0}")]
    Host(String),
    /// A plugin of the policy could not be loaded or initialised.
    #[error("could not load the plugins of policy '{path}': {source}")]
    Plugins {
        /// The policy file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: PolicyError,
    },
    /// The decision log could not be opened (commands do not run without it).
    #[error("could not open the decision log '{path}': {source}")]
    DecisionLog {
        /// The log file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What the policy compiler must know about this build: the built-in plugins.
pub fn compile_options() -> CompileOptions {
    CompileOptions::with_builtins(cloudops_builtin_plugins::names())
}

/// Reads and compiles a policy file (its `builtin:NAME` plugins are this build's).
pub fn compile(path: &Path) -> Result<Arc<Policy>, SessionError> {
    Ok(Arc::new(cloudops_policy::load_file(
        path,
        &compile_options(),
    )?))
}

/// The observer every plugin host of this process reports compiles to.
static COMPILE_OBSERVER: std::sync::OnceLock<CompileObserverRef> = std::sync::OnceLock::new();

/// Sets the observer told about every plugin compile (not cache hits) of the gates this
/// process builds: a front end sets it once, at start (the CLI shows a line on its terminal
/// and `policy validate` reports each compile). Later calls are ignored.
pub fn observe_compiles(observer: Arc<dyn CompileObserver>) {
    let _ = COMPILE_OBSERVER.set(CompileObserverRef(observer));
}

/// Loads every plugin `policy` can select under `profile` and chains them into a gate.
/// Plugins are compiled once and cached on disk (`$XDG_CACHE_HOME/cloudops/plugins`).
pub fn build_gate(policy: Arc<Policy>, profile: Option<&str>) -> Result<ChainGate, SessionError> {
    build_gate_with(policy, profile, true)
}

/// As [`build_gate`]; with `confine` false the policy's sandboxes are left out, for a front
/// end that decides on a command it does not run (an agent's hook).
pub fn build_gate_with(
    policy: Arc<Policy>,
    profile: Option<&str>,
    confine: bool,
) -> Result<ChainGate, SessionError> {
    // Instances on demand, not from a pool: the pool's set-up costs milliseconds at every
    // start and reserves ~1 TiB of address space (refused under `ulimit -v`).
    let host = PluginHost::new(HostConfig {
        pooling: false,
        compile_observer: COMPILE_OBSERVER.get().cloned(),
        ..HostConfig::default()
    })
    .map_err(|e| SessionError::Host(format!("{e:#}")))?;
    let path = policy.path().to_path_buf();
    let mut loaded = LoadedPolicy::load(policy, profile, &host, cloudops_builtin_plugins::lookup)
        .map_err(|source| SessionError::Plugins { path, source })?;
    if !confine {
        loaded = loaded.unconfined();
    }
    Ok(ChainGate::new(host, Arc::new(loaded)))
}

/// The policy in force (if any), its profile, and the gate that decides for it.
#[derive(Clone, Default)]
pub struct Session {
    policy: Option<Arc<Policy>>,
    profile: Option<String>,
    gate: Option<Arc<dyn Gate>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field(
                "policy",
                &self.policy.as_ref().map(|p| p.path().to_path_buf()),
            )
            .field("profile", &self.profile)
            .field("gate", &self.gate.is_some())
            .finish()
    }
}

impl Session {
    /// No policy: nothing is gated, the engine's own defaults apply.
    pub fn without_policy() -> Self {
        Session::default()
    }

    /// `policy` under `profile`, decided here: every plugin it can select is loaded and
    /// initialised now, so that a broken plugin stops the session before anything runs.
    pub fn with_local_gate(
        policy: Arc<Policy>,
        profile: Option<&str>,
    ) -> Result<Self, SessionError> {
        policy.effective(profile)?;
        let gate = build_gate(policy.clone(), profile)?;
        Ok(Session {
            policy: Some(policy),
            profile: profile.map(str::to_string),
            gate: Some(Arc::new(gate)),
        })
    }

    /// As [`Session::with_local_gate`], for a front end that only decides and does not run
    /// the command (an agent's hook): the policy's sandboxes are left out, so plugins see
    /// that nothing will confine the command.
    pub fn deciding_only(policy: Arc<Policy>, profile: Option<&str>) -> Result<Self, SessionError> {
        policy.effective(profile)?;
        let gate = build_gate_with(policy.clone(), profile, false)?;
        Ok(Session {
            policy: Some(policy),
            profile: profile.map(str::to_string),
            gate: Some(Arc::new(gate)),
        })
    }

    /// `policy` under `profile`, decided by `gate` (a decision server's).
    pub fn with_gate(policy: Arc<Policy>, profile: Option<&str>, gate: Arc<dyn Gate>) -> Self {
        Session {
            policy: Some(policy),
            profile: profile.map(str::to_string),
            gate: Some(gate),
        }
    }

    /// The compiled policy, if any.
    pub fn policy(&self) -> Option<&Arc<Policy>> {
        self.policy.as_ref()
    }

    /// The profile in force.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// The gate, if there is a policy.
    pub fn gate(&self) -> Option<&Arc<dyn Gate>> {
        self.gate.as_ref()
    }

    /// The defaults in force: the policy's under the profile, else the built-in ones.
    pub fn defaults(&self) -> Defaults {
        self.policy
            .as_ref()
            .and_then(|p| p.effective(self.profile.as_deref()).ok())
            .map(|e| e.defaults().clone())
            .unwrap_or_default()
    }

    /// The engine configuration of this session: its gate, `approver`, the policy's
    /// default timeout and output caps, and the decision log (`audit_log` if given, else
    /// the policy's; `audit_log` is always required). Nothing the engine starts outlives
    /// this process.
    pub fn engine_config(
        &self,
        approver: Arc<dyn Approver>,
        audit_log: Option<&Path>,
    ) -> Result<ExecutionConfig, SessionError> {
        let d = self.defaults();
        let base = ExecutionConfig::default();
        let mut config = ExecutionConfig {
            default_timeout_ms: d.timeout.map(millis),
            max_output_bytes: d.max_output_bytes.unwrap_or(base.max_output_bytes),
            max_line_bytes: d.max_line_bytes.unwrap_or(base.max_line_bytes),
            event_queue: 1 << 16,
            // Nothing here subscribes to the broadcast stream; its slots are allocated up front.
            broadcast_capacity: 1,
            // Nothing cloudops starts outlives it: processes that left the group are hunted
            // down by their marker, and a `kill -9` of cloudops takes its commands with it.
            hunt_escapees: true,
            die_with_engine: true,
            gate: self.gate.clone(),
            approver,
            ..base
        };
        let from_policy = self.policy.as_ref().and_then(|p| p.decision_log().cloned());
        let log = match (audit_log, &from_policy) {
            (Some(path), l) => Some((
                path.to_path_buf(),
                l.as_ref().map_or(Fsync::Never, |l| l.fsync),
                true,
            )),
            (None, Some(l)) => Some((l.path.clone(), l.fsync, l.required)),
            (None, None) => None,
        };
        if let Some((path, fsync, required)) = log {
            let sink = JsonlSink::open(&path, fsync)
                .map_err(|source| SessionError::DecisionLog { path, source })?;
            config.decision_sink = Some(Arc::new(sink));
            config.require_decision_log = required;
        }
        Ok(config)
    }

    /// An engine configuration for deciding only (`--check`, policy tests): the session's
    /// gate and defaults, no decision log.
    pub fn decision_config(&self, approver: Arc<dyn Approver>) -> ExecutionConfig {
        let d = self.defaults();
        ExecutionConfig {
            default_timeout_ms: d.timeout.map(millis),
            gate: self.gate.clone(),
            approver,
            ..ExecutionConfig::default()
        }
    }
}
