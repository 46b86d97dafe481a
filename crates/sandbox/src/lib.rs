//! Kernel confinement of a command: what a sandbox allows ([`Sandbox`]), how plugins may
//! tighten it ([`Tightening`]), and the placeholders of a policy's paths.
//!
//! The policy decides which sandbox a request gets; the engine applies it when it spawns
//! the command. Nothing here knows about plugins, policies or the CLI.

mod spec;

pub use spec::{
    DEFAULT_HIDDEN, DEFAULT_PROTECTED, Network, Placeholders, Sandbox, Tightening, resolve_path,
};
