//! cloudops-policy: policy files (TOML) parsed, validated and compiled into an immutable [`Policy`].
//!
//! ```text
//! text ──parse (serde, deny_unknown_fields, spans)──▶ validate (references, files, globs)
//!      ──compile──▶ Policy ──effective(profile)──▶ Effective ──select(request, normalized)──▶ Choice
//! ```
//!
//! Evaluation ([`Effective::select`]) is pure: which rules match, which plugins run in
//! which order and mode. Loading the plugins into the Wasm host and chaining them is the
//! plugin host's job; this crate tells it what to load ([`Effective::loadable`]) and what to
//! run per request. Every error names `file:line:column` and renders the line with a caret
//! ([`PolicyError::render`]).
//!
//! The file format is documented in `policies/README.md`. In short:
//!
//! - `version = 1`; `[defaults]` (`mode`, `on_plugin_error`, `unmatched`, `timeout`,
//!   `max_output_bytes`, `max_line_bytes`, `ask_without_tty`); `[decision_log]`.
//! - `[plugins.NAME]`: `source` (`builtin:NAME` or a path relative to the policy file),
//!   `sha256`, `limits = { cpu_ms, memory_mb }`, `on_error`, `mode`, `config`.
//! - `[[rules]]`: `name`, `when = { source, tags, profile, kind, aws_profile, aws_region,
//!   program }`, `plugins`, `mode`. Every matching rule applies, in file order; a plugin
//!   runs once, at its first position.
//! - `[profiles.NAME]`: `description`, `[profiles.NAME.defaults]`,
//!   `[[profiles.NAME.rules]]` (applied after the top-level rules).
//! - `[[tests]]`: a request and the verdict it must get.
//!
//! Plan files ([`load_plan`]) are read here too: their `[[steps]]` are requests written
//! as a policy test's are, made into an `ExecutionRequest` by the same conversion.

mod command_table;
mod compile;
mod duration;
mod error;
mod log;
mod mask;
mod matcher;
mod model;
mod plan_file;
mod policy;
mod request_table;
mod sandbox;
mod select;
mod template;
mod test_case;
mod text_file;

pub use command_table::{CommandFields, CommandFieldsError, command_from_fields};
pub use compile::{CompileOptions, compile, load_file};
pub use duration::{TimeoutError, millis, parse_timeout};
pub use error::{LocatedError, Location, PlanError, PolicyError};
pub use log::{Fsync, JsonlSink};
pub use mask::{mask_command, mask_record};
pub use matcher::{Condition, Pattern};
pub use model::{AskWithoutTty, Mode, OnError, Unmatched};
pub use plan_file::{PlanFile, load_plan};
pub use policy::{DecisionLogConfig, Defaults, PluginDecl, PluginOrigin, Policy, Profile, Rule};
pub use sandbox::{DEFAULT_WRITE, PolicyPaths, SandboxDecl, SandboxRef, UNCONFINED, placeholders};
pub use select::{Choice, Effective, SelectedPlugin};
pub use template::RequestTemplate;
pub use test_case::{Expect, PolicyTest};

#[cfg(feature = "host")]
mod host;
#[cfg(feature = "host")]
pub use host::{BuiltinLookup, LoadedPolicy};
