//! Kernel confinement of a command: what a sandbox allows ([`Sandbox`]), how plugins may
//! tighten it ([`Tightening`]), the placeholders of a policy's paths, what this kernel
//! can apply ([`probe`], [`Support`]), and applying it: [`prepare`] in the parent,
//! [`apply_in_child`] between `clone` and `execve`.
//!
//! The policy decides which sandbox a request gets; the engine applies it when it spawns
//! the command. Nothing here knows about plugins, policies, the engine or the CLI.
//! `docs/sandbox.md` describes what each part does and what it costs.

mod cgroup;
mod child;
mod loopback;
mod prepare;
mod probe;
mod seccomp;
mod spec;

pub use cgroup::Cgroup;
pub use child::{ChildFailure, DROPPED_CAPABILITIES, Step, StepDisplay, apply_in_child};
pub use prepare::{Prepared, SandboxError, prepare};
pub use probe::{SIMULATABLE, SIMULATE_MISSING_VAR, Support, probe, probe_kernel};
pub use seccomp::{REFUSED_IOCTLS, REFUSED_SYSCALLS};
pub use spec::{
    DEFAULT_HIDDEN, DEFAULT_PROTECTED, Network, Placeholders, Sandbox, Tightening, resolve_path,
};
