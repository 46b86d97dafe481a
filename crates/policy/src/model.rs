//! The policy file as written: serde types with spans, rejecting unknown keys (no flatten, no untagged).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::request_table::{RequestFields, request_fields};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub version: Spanned<i64>,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub decision_log: Option<Spanned<RawDecisionLog>>,
    #[serde(default)]
    pub plugins: BTreeMap<Spanned<String>, Spanned<RawPlugin>>,
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
    #[serde(default)]
    pub sandboxes: BTreeMap<Spanned<String>, Spanned<RawSandbox>>,
    #[serde(default)]
    pub profiles: BTreeMap<Spanned<String>, Spanned<RawProfile>>,
    #[serde(default)]
    pub tests: Vec<Spanned<RawTest>>,
}

/// `[sandboxes.NAME]`: every field optional; the defaults are documented in `policies/README.md`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSandbox {
    pub required: Option<bool>,
    pub read: Option<Vec<Spanned<String>>>,
    pub write: Option<Vec<Spanned<String>>>,
    pub hidden: Option<Vec<Spanned<String>>>,
    pub protected: Option<Vec<Spanned<String>>>,
    pub network: Option<Spanned<String>>,
    pub tcp_connect: Option<Vec<Spanned<i64>>>,
    pub tcp_bind: Option<Vec<Spanned<i64>>>,
    pub pid_namespace: Option<bool>,
    pub seccomp: Option<bool>,
    pub max_processes: Option<Spanned<i64>>,
    pub max_file_size: Option<Spanned<i64>>,
    pub cpu_time: Option<Spanned<String>>,
}

/// `[defaults]` (and `[profiles.NAME.defaults]`): every field optional so a profile can override some.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDefaults {
    pub mode: Option<Mode>,
    pub on_plugin_error: Option<OnError>,
    pub unmatched: Option<Unmatched>,
    pub timeout: Option<Spanned<String>>,
    pub max_output_bytes: Option<Spanned<i64>>,
    pub max_line_bytes: Option<Spanned<i64>>,
    pub ask_without_tty: Option<AskWithoutTty>,
    pub sandbox: Option<Spanned<String>>,
}

/// `[decision_log]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDecisionLog {
    pub path: Spanned<String>,
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub fsync: Option<crate::log::Fsync>,
}

/// Deserializes a fieldless enum from its lowercase name, through a string, so that a
/// wrong type says "expected a string" and a wrong word lists the accepted ones.
macro_rules! string_enum {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                match s.as_str() {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(serde::de::Error::unknown_variant(&s, &[$($name),+])),
                }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(Mode { Enforce = "enforce", Audit = "audit" });
string_enum!(OnError { Deny = "deny", Allow = "allow" });
string_enum!(Unmatched { Allow = "allow", Deny = "deny" });
string_enum!(AskWithoutTty { Deny = "deny", Approve = "approve" });

/// `enforce` or `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Verdicts take effect.
    Enforce,
    /// Verdicts are recorded; the request runs anyway.
    Audit,
}

/// What a plugin failure (trap, timeout, malformed answer) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Fail closed: the request is denied.
    Deny,
    /// Fail open: the plugin is skipped.
    Allow,
}

/// What happens to a request that no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmatched {
    /// It runs, with no plugin.
    Allow,
    /// It is denied.
    Deny,
}

/// What an `ask` verdict becomes when nobody can be asked (no terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AskWithoutTty {
    /// Denied with the plugin's reason.
    Deny,
    /// Approved.
    Approve,
}

/// `[plugins.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlugin {
    pub source: Spanned<String>,
    #[serde(default)]
    pub sha256: Option<Spanned<String>>,
    #[serde(default)]
    pub limits: Option<Spanned<RawLimits>>,
    #[serde(default)]
    pub on_error: Option<OnError>,
    #[serde(default)]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub config: Option<Spanned<toml::Table>>,
}

/// `limits = { cpu_ms = .., memory_mb = .. }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub cpu_ms: Option<Spanned<i64>>,
    pub memory_mb: Option<Spanned<i64>>,
}

/// `[[rules]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub name: Spanned<String>,
    #[serde(default)]
    pub when: Option<RawWhen>,
    #[serde(default)]
    pub plugins: Vec<Spanned<String>>,
    #[serde(default)]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub sandbox: Option<Spanned<String>>,
}

/// `when = { .. }`: every given condition must hold. Each value is a string or an array
/// of strings (checked when compiling, so the error can point at it).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWhen {
    pub source: Option<Spanned<toml::Value>>,
    pub tags: Option<BTreeMap<String, Spanned<toml::Value>>>,
    pub profile: Option<Spanned<toml::Value>>,
    pub kind: Option<Spanned<toml::Value>>,
    pub aws_profile: Option<Spanned<toml::Value>>,
    pub aws_region: Option<Spanned<toml::Value>>,
    pub program: Option<Spanned<toml::Value>>,
}

/// `[profiles.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProfile {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
}

/// `[[tests]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub shell: Option<String>,
    #[serde(default)]
    pub exec: Option<Vec<String>>,
    #[serde(default)]
    pub script: Option<String>,
    #[serde(default)]
    pub interpreter: Option<String>,
    #[serde(default)]
    pub aws: Option<Vec<String>>,
    #[serde(default)]
    pub aws_profile: Option<String>,
    #[serde(default)]
    pub aws_region: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub cwd: Option<String>,
    pub expect: Spanned<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub argv: Option<Vec<String>>,
}

impl RawTest {
    /// Its request fields, for the conversion shared with plan steps (a test has no `timeout`).
    pub fn request_fields(&self) -> RequestFields<'_> {
        request_fields!(self, timeout: None)
    }
}
