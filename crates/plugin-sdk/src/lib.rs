//! cloudops-plugin-sdk: write cloudops policy plugins (WebAssembly components) in Rust.
//!
//! A plugin is a type that implements [`Plugin`], registered with [`register_plugin!`],
//! in a `cdylib` crate built for `wasm32-wasip2`. The SDK generates the guest bindings of
//! the `cloudops:plugin@0.3.0` world from `wit/v0.3.0` (the current interface, the single
//! source of truth; hosts also keep loading plugins built for `wit/v0.2.0` and
//! `wit/v0.1.0`) and wires them to the trait: the host's `init` JSON is deserialised with
//! serde ([`Config::parse`]), `check` gets a [`Request`] with the host's normalised view
//! ([`Normalized`]), the paths the host resolved on its filesystem
//! ([`Request::canonical_working_dir`], [`Request::resolved_path`]) and the kernel sandbox
//! the command will run in ([`Request::sandbox`]); [`Plugin::answer`] may tighten that
//! sandbox ([`Verdict::tighten`], [`Tightening`]); `on-output` gets an [`OutputBatch`]
//! with the execution's known secrets ([`OutputBatch::known_secrets`]).
//!
//! ```
//! use cloudops_plugin_sdk::serde::Deserialize;
//! use cloudops_plugin_sdk::{Config, Plugin, Request, Verdict, register_plugin};
//!
//! #[derive(Deserialize)]
//! #[serde(crate = "cloudops_plugin_sdk::serde", deny_unknown_fields)]
//! struct Settings {
//!     programs: Vec<String>,
//! }
//!
//! struct DenyPrograms(Settings);
//!
//! impl Plugin for DenyPrograms {
//!     fn init(config: Config) -> Result<Self, String> {
//!         Ok(DenyPrograms(config.parse()?))
//!     }
//!     fn check(&self, req: &Request) -> Verdict {
//!         for cmd in req.commands() {
//!             if self.0.programs.iter().any(|p| p == cmd.program_name()) {
//!                 return Verdict::deny(format!("`{}` is not allowed", cmd.display()));
//!             }
//!         }
//!         Verdict::Allow
//!     }
//! }
//!
//! register_plugin!(DenyPrograms);
//!
//! // Natively, the harness runs it with the host's normalisation:
//! # #[cfg(not(target_arch = "wasm32"))] {
//! use cloudops_plugin_sdk::testing::{load, shell};
//! let plugin = load::<DenyPrograms>(r#"{"programs": ["rm"]}"#).unwrap();
//! assert!(plugin.check(&shell("ls -la")).is_allow());
//! assert!(load::<DenyPrograms>(r#"{"program": []}"#).is_err());
//! # }
//! ```
//!
//! Helpers: [`Request::commands`], [`SimpleCommand::program_name`],
//! [`SimpleCommand::has_flag`] / [`FlagAliases`], [`glob::glob_match`], [`path`],
//! [`wrappers::invocations`] (sees through `sudo`, `env`, `xargs`, `sh -c`, ...),
//! [`wrappers::command_invocations`] (the same, without the `-c` scripts the host
//! analysed itself),
//! [`Request::canonical_working_dir`] / [`Request::resolved_path`] /
//! [`SimpleCommand::resolved_arg`] (symlinks resolved by the host), and,
//! on the host only, [`testing`] (plain `cargo test`, real normalisation).

extern crate self as cloudops_plugin_sdk;

pub mod flags;
pub mod glob;
pub mod log;
pub mod path;
mod request;
mod resolved;
mod sandbox;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod wrappers;

pub use flags::{FlagAliases, FlagSet};
pub use request::{DenyOrAsk, aws_argv, shell_join, shell_quote};
pub use serde;
pub use serde_json;

use __private::wit;

pub use wit::cloudops::plugin::host::LogLevel;
pub use wit::cloudops::plugin::types::{
    Answer, AwsCommand, Command, CommandKind, EnvVar, ExecCommand, Hook, NetworkAccess, Normalized,
    OutputBatch, OutputChunk, OutputStream, PathWord, PluginInfo as Info, Redirection, Request,
    ResolvedPath, Rewrite, Sandbox, ScriptCommand, ShellCommand, SimpleCommand, Tightening,
    Verdict,
};

/// The interface version the SDK builds plugins for.
pub const INTERFACE: &str = "cloudops:plugin@0.3.0";

/// A plugin's configuration: the `config` table of its policy entry, as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    json: String,
}

impl Config {
    /// Wraps the JSON text the host passed to `init`.
    pub fn new(json: impl Into<String>) -> Self {
        Config { json: json.into() }
    }

    /// The raw JSON text.
    pub fn as_str(&self) -> &str {
        &self.json
    }

    /// Deserialises the configuration into `T` (use `#[serde(deny_unknown_fields)]`).
    /// An empty string or `null` reads as `{}`, so a plugin whose fields all have
    /// defaults works without a config table. The error quotes serde's message with its
    /// line and column; `init` reports it to the host as is.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        let text = self.json.trim();
        let text = if text.is_empty() || text == "null" {
            "{}"
        } else {
            text
        };
        serde_json::from_str(text).map_err(|e| format!("invalid plugin config: {e}"))
    }
}

/// A cloudops plugin. Only `init` is required; the defaults allow every request and pass
/// output through untouched.
///
/// One value lives per plugin instance: the host calls `init` once, then `check` and/or
/// `on_output` (as [`Plugin::hooks`] asks) many times. Nothing is shared between
/// instances.
pub trait Plugin: 'static {
    /// Builds the plugin from its configuration ([`Config::parse`] it). An `Err` is
    /// reported by the host as the plugin's init failure (the policy does not load).
    fn init(config: Config) -> Result<Self, String>
    where
        Self: Sized;

    /// The hooks the host must call. Default: `[Hook::Check]`. A plugin that overrides
    /// [`Plugin::on_output`] must list [`Hook::Output`] here.
    fn hooks(&self) -> Vec<Hook> {
        vec![Hook::Check]
    }

    /// Decides on one request. Default: allow. Not called by the host when the plugin
    /// overrides [`Plugin::answer`] (unless that calls it).
    fn check(&self, request: &Request) -> Verdict {
        let _ = request;
        Verdict::Allow
    }

    /// Decides on one request and may tighten its sandbox: what the host calls. Default:
    /// [`Plugin::check`]'s verdict, the sandbox left as it is. Override it (instead of
    /// `check`) to narrow the sandbox ([`Request::sandbox`]) the command runs in:
    /// `Verdict::Allow.tighten(Tightening::new().network(NetworkAccess::None))`. The host
    /// ignores (and its trace shows) what would loosen the sandbox.
    fn answer(&self, request: &Request) -> Answer {
        Answer::from(self.check(request))
    }

    /// Transforms a batch of output; every returned chunk must hold whole lines (each
    /// ending in `\n`). `batch.known_secrets` lists the values of the secrets in the
    /// command's environment (longest first), to mask wherever they appear. Default: the
    /// batch's chunks unchanged.
    fn on_output(&mut self, batch: OutputBatch) -> Vec<OutputChunk> {
        batch.chunks
    }
}

/// Registers `$plugin` (a type implementing [`Plugin`]) as the component's exports.
///
/// The plugin's reported name and version are its crate's `CARGO_PKG_NAME` and
/// `CARGO_PKG_VERSION`. Use it once, at the root of a `cdylib` crate.
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        mod __cloudops_plugin_exports {
            #[allow(unused_imports)]
            use super::*;

            ::std::thread_local! {
                static INSTANCE: ::std::cell::RefCell<::std::option::Option<$plugin>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            struct Exports;

            impl $crate::__private::Guest for Exports {
                fn init(
                    config: ::std::string::String,
                ) -> ::std::result::Result<$crate::Info, ::std::string::String> {
                    $crate::__private::init::<$plugin>(
                        &INSTANCE,
                        env!("CARGO_PKG_NAME"),
                        env!("CARGO_PKG_VERSION"),
                        config,
                    )
                }
                fn check(request: $crate::Request) -> $crate::Answer {
                    $crate::__private::check::<$plugin>(&INSTANCE, request)
                }
                fn on_output(batch: $crate::OutputBatch) -> ::std::vec::Vec<$crate::OutputChunk> {
                    $crate::__private::on_output::<$plugin>(&INSTANCE, batch)
                }
            }

            $crate::__private::wit::__cloudops_export_plugin_world!(Exports);
        }
    };
}

/// What [`register_plugin!`] expands to needs; not part of the API.
#[doc(hidden)]
pub mod __private {
    use std::cell::RefCell;
    use std::thread::LocalKey;

    /// The generated bindings (wit-bindgen): private; the types plugin authors need are
    /// re-exported below under friendly names.
    #[allow(
        unsafe_code,
        missing_docs,
        clippy::all,
        reason = "code generated by wit-bindgen from wit/v0.3.0"
    )]
    pub mod wit {
        wit_bindgen::generate!({
            path: "../../wit/v0.3.0",
            world: "plugin",
            additional_derives: [PartialEq, Eq],
            pub_export_macro: true,
            export_macro_name: "__cloudops_export_plugin_world",
            default_bindings_module: "::cloudops_plugin_sdk::__private::wit",
            runtime_path: "::cloudops_plugin_sdk::__private::wit_bindgen::rt",
        });
    }

    pub use wit::Guest;
    pub use wit_bindgen;

    use crate::{Answer, Config, Info, OutputBatch, OutputChunk, Plugin, Request, Verdict};

    /// The instance slot a registered plugin lives in.
    pub type Slot<P> = LocalKey<RefCell<Option<P>>>;

    /// `init`: builds the plugin, stores it, reports its info.
    pub fn init<P: Plugin>(
        slot: &'static Slot<P>,
        name: &str,
        version: &str,
        config: String,
    ) -> Result<Info, String> {
        // A failed re-init must not leave the previous instance answering.
        slot.with(|s| *s.borrow_mut() = None);
        let plugin = P::init(Config::new(config))?;
        let hooks = plugin.hooks();
        slot.with(|s| *s.borrow_mut() = Some(plugin));
        Ok(Info {
            name: name.to_string(),
            version: version.to_string(),
            hooks,
        })
    }

    /// `check`: the plugin's [`Plugin::answer`]; fail-closed when `init` did not succeed.
    pub fn check<P: Plugin>(slot: &'static Slot<P>, request: Request) -> Answer {
        slot.with(|s| match s.borrow().as_ref() {
            Some(p) => p.answer(&request),
            None => Verdict::Deny("plugin called before a successful init".to_string()).into(),
        })
    }

    /// `on-output`: drops the output (and logs) when `init` did not succeed, rather than
    /// pass through what a redacting plugin would have changed.
    pub fn on_output<P: Plugin>(slot: &'static Slot<P>, batch: OutputBatch) -> Vec<OutputChunk> {
        slot.with(|s| match s.borrow_mut().as_mut() {
            Some(p) => p.on_output(batch),
            None => {
                crate::log::error("on-output called before a successful init: output dropped");
                Vec::new()
            }
        })
    }
}
