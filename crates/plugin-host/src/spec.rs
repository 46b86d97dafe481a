//! What the policy says about one plugin: where it comes from, its pin, limits, failure policy, mode and config.

use std::path::PathBuf;
use std::sync::Arc;

/// Where a plugin's component bytes come from.
#[derive(Debug, Clone)]
pub enum PluginSource {
    /// A `.wasm` component file.
    Path(PathBuf),
    /// Bytes embedded in the binary (a builtin plugin); `label` names it in errors.
    Bytes {
        /// Shown where a file name would be.
        label: String,
        /// The component.
        bytes: Arc<[u8]>,
    },
    /// Bytes built into the binary, with their SHA-256 computed at build time (so a start
    /// with a warm cache neither copies nor hashes them).
    Static {
        /// Shown where a file name would be (`builtin:NAME`).
        label: String,
        /// The component.
        bytes: &'static [u8],
        /// The SHA-256 of `bytes`, lowercase hex. Trusted: a wrong value would load the
        /// cached code of other bytes.
        sha256: &'static str,
    },
}

impl PluginSource {
    /// The file path or label, for messages.
    pub fn label(&self) -> String {
        match self {
            PluginSource::Path(p) => p.display().to_string(),
            PluginSource::Bytes { label, .. } | PluginSource::Static { label, .. } => label.clone(),
        }
    }
}

/// Per-call resource limits of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU budget of one call (`check` or one `on-output` batch), in milliseconds: CPU
    /// time of the calling thread, checked at 1 ms epoch ticks (time spent waiting for a
    /// core on a busy machine is not charged). A call also ends after a wall-clock limit
    /// of budget + 1 s, whatever its CPU use (a guest blocked in a host call). `init` gets
    /// 1 s of CPU.
    pub cpu_ms: u64,
    /// Maximum linear memory of an instance, in bytes.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_ms: 50,
            memory_bytes: 32 << 20,
        }
    }
}

/// What a plugin's failure (trap, timeout, out-of-memory, malformed answer) means for the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailurePolicy {
    /// The request is denied (fail-closed). The default.
    #[default]
    Deny,
    /// The plugin is skipped; the failure is recorded. Never applies to the output hook:
    /// a failed output plugin always withholds the batch.
    Allow,
}

/// Whether a plugin's denials stop requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Denials deny. The default.
    #[default]
    Enforce,
    /// Denials (and asks, and rewrites) are recorded with `enforced = false` and the
    /// request goes on unchanged. Output hooks still apply.
    Audit,
}

/// One plugin as the policy configures it.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// The name decisions and errors use.
    pub name: String,
    /// The component.
    pub source: PluginSource,
    /// Expected sha256 of the component bytes (64 hex digits), if pinned.
    pub sha256: Option<String>,
    /// Resource limits.
    pub limits: Limits,
    /// Failure policy.
    pub on_error: FailurePolicy,
    /// Enforce or audit.
    pub mode: Mode,
    /// The plugin's config, JSON, handed to `init`.
    pub config_json: String,
}

impl PluginSpec {
    /// A spec with default limits, policy and mode and an empty (`{}`) config.
    pub fn new(name: impl Into<String>, source: PluginSource) -> Self {
        PluginSpec {
            name: name.into(),
            source,
            sha256: None,
            limits: Limits::default(),
            on_error: FailurePolicy::Deny,
            mode: Mode::Enforce,
            config_json: "{}".into(),
        }
    }

    /// The same spec with this config.
    pub fn with_config(mut self, config_json: impl Into<String>) -> Self {
        self.config_json = config_json.into();
        self
    }
}

/// A hook a plugin asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// `check` on every request.
    Check,
    /// `on-output` on every output batch.
    Output,
}

/// What a plugin's `init` said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// The plugin's own name for itself.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The hooks it wants.
    pub hooks: Vec<Hook>,
}

impl PluginInfo {
    /// Whether the plugin wants `hook`.
    pub fn wants(&self, hook: Hook) -> bool {
        self.hooks.contains(&hook)
    }
}
