//! What a plugin instance is granted: nothing but computation, a clock and randomness, within a memory cap.
//!
//! Every store gets a [`Sandbox`]-built state. The WASI 0.2 context has no preopened
//! directory, no environment variable, no argument, no network (TCP, UDP and name lookup
//! all off, every socket address refused), a closed stdin, and stdout/stderr that discard
//! what is written. It is linked only because a Rust `std` guest imports `wasi:cli`,
//! `wasi:io` and friends even when it uses none of them. The plugin's only channel out is
//! its return value and the `log` import (routed to `tracing` under the plugin's name).

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::v0_1_0::cloudops::plugin::{host, types};

/// The grants of one plugin instance. Deny by default: the only knob is the memory cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sandbox {
    /// Maximum linear memory of the instance, in bytes (growth beyond it traps).
    pub memory_bytes: usize,
}

impl Sandbox {
    /// The WASI context: no files, env, args, network or stdio.
    pub fn wasi_ctx() -> WasiCtx {
        WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build()
    }

    /// The store limits: one memory of at most `memory_bytes`, few tables and instances;
    /// a failed growth traps (so it is reported as out-of-memory, not as a guest abort).
    pub fn limits(&self) -> StoreLimits {
        StoreLimitsBuilder::new()
            .memory_size(self.memory_bytes)
            .memories(16)
            .tables(64)
            .instances(64)
            .trap_on_grow_failure(true)
            .build()
    }

    /// The state of a new store for the plugin `name`.
    pub(crate) fn state(&self, name: Arc<str>) -> PluginState {
        PluginState {
            name,
            wasi: Self::wasi_ctx(),
            table: ResourceTable::new(),
            limits: self.limits(),
        }
    }
}

/// The data of one plugin store.
pub(crate) struct PluginState {
    name: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for PluginState {}

impl host::Host for PluginState {
    fn log(&mut self, level: host::LogLevel, message: String) {
        let plugin = &*self.name;
        match level {
            host::LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            host::LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            host::LogLevel::Info => tracing::info!(plugin, "{message}"),
            host::LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            host::LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }
}
