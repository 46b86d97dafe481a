//! The bridge to the plugin host: load every plugin the policy can select, and select per request ([`PluginSelector`]).

use std::collections::HashMap;
use std::sync::Arc;

use cloudops_execution_engine::ExecutionRequest;
use cloudops_normalize::Normalized;
use cloudops_plugin_host::{
    FailurePolicy, LoadError, LoadedPlugin, PluginHost, PluginSelector, PluginSource, PluginSpec,
    Selection,
};

use crate::error::PolicyError;
use crate::model::{Mode, OnError};
use crate::policy::{PluginOrigin, Profile};
use crate::select::Effective;
use crate::{Choice, Policy};

/// Looks up a built-in plugin (`builtin:NAME`): its component bytes, embedded in the
/// binary, and their SHA-256 (lowercase hex), computed when the binary was built.
pub type BuiltinLookup = fn(&str) -> Option<(&'static [u8], &'static str)>;

/// A policy under one profile with its plugins loaded: implements [`PluginSelector`].
pub struct LoadedPolicy {
    policy: Arc<Policy>,
    profile: Option<String>,
    plugins: HashMap<(String, Mode), Arc<LoadedPlugin>>,
    confine: bool,
}

impl std::fmt::Debug for LoadedPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPolicy")
            .field("policy", &self.policy.path())
            .field("profile", &self.profile)
            .field("plugins", &self.plugins.len())
            .finish()
    }
}

impl LoadedPolicy {
    /// Loads (compiles or takes from the cache, checks the pin, initialises with its
    /// config) every plugin that `policy` under `profile` can select. Errors point at the
    /// plugin's `source`, `sha256` or `config` in the file.
    pub fn load(
        policy: Arc<Policy>,
        profile: Option<&str>,
        host: &PluginHost,
        builtins: BuiltinLookup,
    ) -> Result<Self, PolicyError> {
        let eff = policy.effective(profile)?;
        let mut specs = Vec::new();
        for sel in eff.loadable() {
            let decl = &policy.plugins()[&sel.name];
            let source = match &decl.origin {
                PluginOrigin::File(p) => PluginSource::Path(p.clone()),
                PluginOrigin::Builtin(b) => {
                    let (bytes, sha256) =
                        builtins(b).ok_or_else(|| PolicyError::UnknownBuiltin {
                            at: decl.source_at.clone(),
                            plugin: decl.name.clone(),
                            builtin: b.clone(),
                            known: Vec::new(),
                        })?;
                    PluginSource::Static {
                        label: format!("builtin:{b}"),
                        bytes,
                        sha256,
                    }
                }
            };
            let mut limits = cloudops_plugin_host::Limits::default();
            if let Some(ms) = decl.cpu_ms {
                limits.cpu_ms = ms;
            }
            if let Some(b) = decl.memory_bytes {
                limits.memory_bytes = b;
            }
            let spec = PluginSpec {
                name: decl.name.clone(),
                source,
                sha256: decl.sha256.clone(),
                limits,
                on_error: match eff.on_error(decl) {
                    OnError::Deny => FailurePolicy::Deny,
                    OnError::Allow => FailurePolicy::Allow,
                },
                mode: match sel.mode {
                    Mode::Enforce => cloudops_plugin_host::Mode::Enforce,
                    Mode::Audit => cloudops_plugin_host::Mode::Audit,
                },
                config_json: decl.config_json.clone(),
            };
            specs.push(((sel.name.clone(), sel.mode), decl, spec));
        }
        let loaded = host.load_all(&specs.iter().map(|(_, _, spec)| spec).collect::<Vec<_>>());
        let mut plugins = HashMap::new();
        for ((key, decl, _), result) in specs.into_iter().zip(loaded) {
            plugins.insert(key, result.map_err(|e| load_error(decl, e))?);
        }
        let profile = eff.profile().map(str::to_string);
        Ok(LoadedPolicy {
            policy,
            profile,
            plugins,
            confine: true,
        })
    }

    /// The same policy for a front end that decides but does not run the command itself
    /// (an agent's hook: the agent runs it): no request gets a sandbox, so plugins decide
    /// knowing that nothing confines the command.
    pub fn unconfined(mut self) -> Self {
        self.confine = false;
        self
    }

    fn effective(&self) -> Effective<'_> {
        let profile: Option<&Profile> = self
            .profile
            .as_deref()
            .and_then(|p| self.policy.profiles().get(p));
        Effective::new(&self.policy, profile)
    }

    /// The plugins chosen for a request (names and modes), without the loaded instances.
    pub fn choose(&self, request: &ExecutionRequest, normalized: &Normalized) -> Choice {
        self.effective().select(request, normalized)
    }
}

fn load_error(decl: &crate::PluginDecl, e: LoadError) -> PolicyError {
    let mut hint = None;
    let (at, what) = match &e {
        LoadError::Memory {
            requested, limit, ..
        } => {
            let need = requested.map_or(*limit as u64 * 2, |r| r);
            // The smallest whole MiB that holds it, with room for the plugin to grow.
            let mb = need.div_ceil(1 << 20) + 4;
            hint = Some(format!(
                "raise the cap: `limits = {{ memory_mb = {mb} }}` in [plugins.{}] (memory_mb is in MiB; the default is 32, the most 4096)",
                decl.name
            ));
            (decl.limits_at.clone(), "it needs more memory than its cap")
        }
        LoadError::HashMismatch { .. } | LoadError::BadPin { .. } => {
            (decl.sha256_at.clone(), "sha256 mismatch")
        }
        LoadError::Config { .. } => (decl.config_at.clone(), "its init rejected the config"),
        // A trap or timeout, not a refusal: the config is where init starts from.
        LoadError::Init { .. } => (decl.config_at.clone(), "its init failed"),
        LoadError::NotAComponent { .. } => (decl.source_at.clone(), "not a WebAssembly component"),
        LoadError::WrongWorld { .. } => (decl.source_at.clone(), "not a cloudops plugin"),
        LoadError::Read { .. } => (decl.source_at.clone(), "cannot read the file"),
        _ => (decl.source_at.clone(), "load failed"),
    };
    PolicyError::PluginLoad {
        at,
        plugin: decl.name.clone(),
        what: what.to_string(),
        hint,
        source: Box::new(e),
    }
}

impl PluginSelector for LoadedPolicy {
    fn select(&self, request: &ExecutionRequest, normalized: &Normalized) -> Selection {
        let choice = self.choose(request, normalized);
        Selection {
            plugins: choice
                .plugins
                .iter()
                .filter_map(|p| self.plugins.get(&(p.name.clone(), p.mode)).cloned())
                .collect(),
            rules: choice.rules,
            profile: self.profile.clone(),
            audit: choice.audit,
            deny: choice.deny,
            sandbox: choice.sandbox.filter(|_| self.confine),
        }
    }
}
