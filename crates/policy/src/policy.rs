//! The compiled, immutable policy: defaults, plugin declarations, rules, profiles and tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Location, PolicyError};
use crate::log::Fsync;
use crate::matcher::Condition;
use crate::model::{AskWithoutTty, Mode, OnError, Unmatched};
use crate::sandbox::{SandboxDecl, SandboxRef};
use crate::test_case::PolicyTest;

/// The defaults in force (top level, overridden by the active profile's).
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    /// `enforce` (default) or `audit` for every plugin.
    pub mode: Mode,
    /// What a plugin failure means, for plugins that do not say (default: `deny`).
    pub on_plugin_error: OnError,
    /// What happens when no rule matches (default: `allow`).
    pub unmatched: Unmatched,
    /// Timeout of requests that set none (default: none).
    pub timeout: Option<Duration>,
    /// Captured bytes kept per stream (default: the engine's).
    pub max_output_bytes: Option<usize>,
    /// Longest line (default: the engine's).
    pub max_line_bytes: Option<usize>,
    /// What `ask` becomes without a terminal to ask on (default: `deny`).
    pub ask_without_tty: AskWithoutTty,
    /// The sandbox of requests no rule gives one (default: none).
    pub sandbox: SandboxRef,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            mode: Mode::Enforce,
            on_plugin_error: OnError::Deny,
            unmatched: Unmatched::Allow,
            timeout: None,
            max_output_bytes: None,
            max_line_bytes: None,
            ask_without_tty: AskWithoutTty::Deny,
            sandbox: SandboxRef::Unconfined,
        }
    }
}

/// `[decision_log]`: where decisions are written and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionLogConfig {
    /// The JSON Lines file (relative paths are relative to the policy file).
    pub path: PathBuf,
    /// Refuse to run when the log cannot be written (default: true).
    pub required: bool,
    /// When to fsync (default: never).
    pub fsync: Fsync,
}

/// Where a plugin's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginOrigin {
    /// `builtin:NAME`: compiled into the binary.
    Builtin(String),
    /// A `.wasm` component file (resolved against the policy file's directory).
    File(PathBuf),
}

/// A `[plugins.NAME]` table, validated.
#[derive(Debug, Clone)]
pub struct PluginDecl {
    /// The name rules refer to.
    pub name: String,
    /// Where the component comes from.
    pub origin: PluginOrigin,
    /// Expected sha256 of the component bytes (lowercase hex).
    pub sha256: Option<String>,
    /// CPU budget per call, in milliseconds (`None` = the host's default).
    pub cpu_ms: Option<u64>,
    /// Memory cap, in bytes (`None` = the host's default).
    pub memory_bytes: Option<usize>,
    /// Failure policy (`None` = the defaults' `on_plugin_error`).
    pub on_error: Option<OnError>,
    /// Mode (`None` = the defaults' / rule's).
    pub mode: Option<Mode>,
    /// The `config` table as JSON (`{}` when absent).
    pub config_json: String,
    /// Where `source` is written.
    pub source_at: Box<Location>,
    /// Where `sha256` is written (else `source`).
    pub sha256_at: Box<Location>,
    /// Where `config` is written (else `source`).
    pub config_at: Box<Location>,
    /// Where `limits` is written (else `source`).
    pub limits_at: Box<Location>,
}

/// A `[[rules]]` entry.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name (shown in decision records).
    pub name: String,
    /// When it applies.
    pub when: Condition,
    /// Plugins, in order.
    pub plugins: Vec<String>,
    /// `audit` makes the rule's plugins record only.
    pub mode: Option<Mode>,
    /// The sandbox of the requests it matches (`None`: the defaults').
    pub sandbox: Option<SandboxRef>,
}

/// A `[profiles.NAME]` table.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The defaults with the profile's overrides applied.
    pub defaults: Defaults,
    /// Rules that apply, after the top-level rules, only under this profile.
    pub rules: Vec<Rule>,
}

/// A compiled policy file. Immutable; evaluation ([`crate::Effective::select`]) is pure.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) path: PathBuf,
    pub(crate) defaults: Defaults,
    pub(crate) decision_log: Option<DecisionLogConfig>,
    pub(crate) plugins: BTreeMap<String, PluginDecl>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) profiles: BTreeMap<String, Profile>,
    pub(crate) sandboxes: BTreeMap<String, SandboxDecl>,
    pub(crate) own_paths: crate::PolicyPaths,
    pub(crate) tests: Vec<PolicyTest>,
}

impl Policy {
    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Top-level defaults.
    pub fn defaults(&self) -> &Defaults {
        &self.defaults
    }
    /// The `[decision_log]` table, if any.
    pub fn decision_log(&self) -> Option<&DecisionLogConfig> {
        self.decision_log.as_ref()
    }
    /// Plugins by name.
    pub fn plugins(&self) -> &BTreeMap<String, PluginDecl> {
        &self.plugins
    }
    /// Top-level rules in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
    /// Profiles by name.
    pub fn profiles(&self) -> &BTreeMap<String, Profile> {
        &self.profiles
    }
    /// The `[sandboxes.NAME]` tables by name.
    pub fn sandboxes(&self) -> &BTreeMap<String, SandboxDecl> {
        &self.sandboxes
    }
    /// The policy file and decision log, absolute: every sandbox hides them.
    pub fn own_paths(&self) -> &crate::PolicyPaths {
        &self.own_paths
    }
    /// The `[[tests]]`, in file order.
    pub fn tests(&self) -> &[PolicyTest] {
        &self.tests
    }

    /// The policy as it applies under `profile` (`None` = no profile): merged defaults,
    /// top-level rules then the profile's.
    pub fn effective(&self, profile: Option<&str>) -> Result<crate::Effective<'_>, PolicyError> {
        let profile = match profile {
            None => None,
            Some(name) => {
                Some(
                    self.profiles
                        .get(name)
                        .ok_or_else(|| PolicyError::UnknownProfile {
                            path: self.path.clone(),
                            profile: name.to_string(),
                            known: self.profiles.keys().cloned().collect(),
                        })?,
                )
            }
        };
        Ok(crate::Effective::new(self, profile))
    }
}
