//! cloudops-plugin-host: runs policy plugins (WebAssembly components of `cloudops:plugin@0.3.0`, and of the frozen `@0.2.0` and `@0.1.0`) in a wasmtime sandbox, behind the engine's gate seam.
//!
//! [`PluginHost`] compiles plugins once (cached on disk), checks their pin, finds which
//! interface version they implement ([`SUPPORTED`], newest first), and runs `init` at load
//! time. Plugins of 0.2.0 and later also get the paths the host resolved (canonical working dir,
//! path arguments with symlinks followed; see `cloudops_normalize::paths`). Plugins of
//! 0.3.0 also see the kernel sandbox the command will run in, may tighten it in their
//! answer (never loosen it: the decision trace lists what each took away, and what it
//! asked for that was ignored), and their output hook is told the execution's
//! [`known_secrets`] (values of variables named like [`DEFAULT_SECRET_NAMES`]) to mask.
//! [`ChainGate`] implements the engine's
//! [`Gate`](cloudops_execution_engine::Gate): it normalises each request once, runs the
//! plugins a [`PluginSelector`] picks in order, and builds the [`OutputChain`] that every
//! batch of output lines goes through.
//!
//! # What plugin authors can rely on
//! - **Sandbox**: no files, environment, arguments, network or stdio (see [`Sandbox`]);
//!   only the return values and the `log` import leave the plugin.
//! - **Logging**: the `log` import is bounded so that a plugin cannot flood or forge the
//!   operator's logs: control characters (newlines, ANSI escapes, bidi overrides) are
//!   escaped, a message is cut to [`Sandbox::LOG_MESSAGE_BYTES`] (4 KiB) on a character
//!   boundary with `… [truncated, N bytes]`, and one call (`init`, `check`, one `on-output`
//!   batch) emits at most [`Sandbox::LOG_EVENTS_PER_CALL`] (32) events; the rest are
//!   dropped and counted in one warning at the end of the call.
//! - **Budgets**: each call (`check`, one `on-output` batch) has a CPU budget (default
//!   50 ms of the calling thread's CPU time, checked every 1 ms; waiting for a core on a
//!   busy machine is not charged), a wall-clock limit of budget + 1 s, and each instance a
//!   memory cap (default 32 MiB); `init` gets 1 s of CPU. Exceeding either,
//!   trapping or answering nonsense fails the call; the request then follows the plugin's
//!   failure policy (deny by default) and the instance is thrown away.
//! - **Instances and state**: instances are initialised (`init` with the config) and kept
//!   alive between executions, one at a time per call: module state *may* persist from one
//!   `check` to the next, in any order across requests, and *may* be lost at any time (a
//!   fresh instance is made after a failure, or when several requests run at once). Do not
//!   rely on either: decide from the request alone. For output, one instance serves all
//!   batches of an execution, in order, so state within one execution does persist.
//!   Instances are kept alive because making a fresh one per execution costs several
//!   times the decision itself (`cargo bench -p cloudops-plugin-host`; figures in
//!   `docs/benchmarks.md`).

mod bindings;
mod cache;
mod chain;
mod compat;
mod convert;
mod error;
mod host;
mod observe;
mod output;
mod plugin;
mod sandbox;
mod spec;
mod tighten;
mod view;

pub use bindings::SUPPORTED;
/// The current interface version (`cloudops:plugin@0.3.0`): what the SDK builds.
pub use bindings::current::PACKAGE;
pub use cache::{CacheOutcome, default_cache_dir};
pub use chain::{ChainGate, PluginSelector, Selection, StaticSelector};
pub use cloudops_redact::{DEFAULT_SECRET_NAMES, MIN_SECRET_BYTES, known_secrets};
pub use error::{CallError, HostError, LoadError, WasmError};
pub use host::{HostConfig, PluginHost};
pub use observe::{CompileObserver, CompileObserverRef, CompileReport};
pub use output::OutputChain;
pub use plugin::LoadedPlugin;
pub use sandbox::Sandbox;
pub use spec::{FailurePolicy, Hook, Limits, Mode, PluginInfo, PluginSource, PluginSpec};
pub use tighten::MAX_TIGHTENING_PATHS;
pub use view::request_view;
