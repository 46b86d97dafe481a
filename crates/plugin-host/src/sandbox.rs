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

use crate::bindings::{v0_1_0, v0_2_0};

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
            clock: CallClock::start(std::time::Duration::ZERO, std::time::Duration::ZERO),
        }
    }
}

/// The CPU budget of the call in progress on a store.
///
/// The epoch ticks every millisecond of wall time. The first deadline of a call comes
/// after [`CallClock::FIRST_CHECK`] (or its whole budget, if smaller): that wall time is
/// charged in full, and the calling thread's CPU clock is read. At each later deadline
/// only the CPU time the thread really used since then is added, so time spent waiting
/// for a core (a busy machine) is not charged, and the deadline moves by what is left.
/// A short call (nearly all of them) never reads the CPU clock (a system call).
/// `wall_limit` stops a call whatever its CPU use (a guest blocked in a host call does
/// not reach an epoch check: the caller's wall-clock timeout covers that case).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallClock {
    cpu_budget: std::time::Duration,
    wall_limit: std::time::Duration,
    started: std::time::Instant,
    thread: std::thread::ThreadId,
    /// At the first deadline: the thread's CPU clock then, and what was charged by then.
    mark: Option<(std::time::Duration, std::time::Duration)>,
}

/// CPU time this thread has used (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu() -> Option<std::time::Duration> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    Some(std::time::Duration::new(
        u64::try_from(t.tv_sec()).ok()?,
        u32::try_from(t.tv_nsec()).ok()?,
    ))
}

impl CallClock {
    /// Wall time charged in full before the CPU clock is consulted.
    pub(crate) const FIRST_CHECK: std::time::Duration = std::time::Duration::from_millis(2);

    /// Starts the clock of a call on the current thread.
    pub(crate) fn start(cpu_budget: std::time::Duration, wall_limit: std::time::Duration) -> Self {
        CallClock {
            cpu_budget,
            wall_limit,
            started: std::time::Instant::now(),
            thread: std::thread::current().id(),
            mark: None,
        }
    }

    /// The first deadline, in ticks.
    pub(crate) fn first_deadline(&self, tick: std::time::Duration) -> u64 {
        ticks(self.cpu_budget.min(Self::FIRST_CHECK), tick)
    }

    /// What the call is charged so far (see the type's docs); sets the mark on first use.
    pub(crate) fn used(&mut self) -> std::time::Duration {
        let wall = self.started.elapsed();
        let now = (std::thread::current().id() == self.thread)
            .then(thread_cpu)
            .flatten();
        match (self.mark, now) {
            (Some((cpu0, charged)), Some(cpu)) => charged + cpu.saturating_sub(cpu0),
            (None, Some(cpu)) => {
                self.mark = Some((cpu, wall));
                wall
            }
            // No CPU clock, or the call moved to another thread: wall time counts.
            (_, None) => wall,
        }
    }

    /// Epoch ticks to wait before looking again, or `None` when the call is over budget
    /// (CPU) or over its wall-clock limit.
    pub(crate) fn remaining_ticks(&mut self, tick: std::time::Duration) -> Option<u64> {
        if self.started.elapsed() >= self.wall_limit {
            return None;
        }
        let left = self.cpu_budget.checked_sub(self.used())?;
        if left.is_zero() {
            return None;
        }
        Some(ticks(left, tick))
    }
}

/// `d` in ticks, rounded up, at least one.
fn ticks(d: std::time::Duration, tick: std::time::Duration) -> u64 {
    let tick_ns = tick.as_nanos().max(1);
    u64::try_from(d.as_nanos().div_ceil(tick_ns))
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The data of one plugin store.
pub(crate) struct PluginState {
    name: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    /// The budget of the call in progress.
    pub(crate) clock: CallClock,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl PluginState {
    /// Routes a plugin's `log` to tracing under its name (`level`: 0 trace .. 4 error).
    fn log(&self, level: u8, message: &str) {
        let plugin = &*self.name;
        match level {
            0 => tracing::trace!(plugin, "{message}"),
            1 => tracing::debug!(plugin, "{message}"),
            2 => tracing::info!(plugin, "{message}"),
            3 => tracing::warn!(plugin, "{message}"),
            _ => tracing::error!(plugin, "{message}"),
        }
    }
}

impl v0_1_0::cloudops::plugin::types::Host for PluginState {}

impl v0_1_0::cloudops::plugin::host::Host for PluginState {
    fn log(&mut self, level: v0_1_0::cloudops::plugin::host::LogLevel, message: String) {
        use v0_1_0::cloudops::plugin::host::LogLevel as L;
        let level = match level {
            L::Trace => 0,
            L::Debug => 1,
            L::Info => 2,
            L::Warn => 3,
            L::Error => 4,
        };
        PluginState::log(self, level, &message);
    }
}

impl v0_2_0::cloudops::plugin::types::Host for PluginState {}

impl v0_2_0::cloudops::plugin::host::Host for PluginState {
    fn log(&mut self, level: v0_2_0::cloudops::plugin::host::LogLevel, message: String) {
        use v0_2_0::cloudops::plugin::host::LogLevel as L;
        let level = match level {
            L::Trace => 0,
            L::Debug => 1,
            L::Info => 2,
            L::Warn => 3,
            L::Error => 4,
        };
        PluginState::log(self, level, &message);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::CallClock;

    const TICK: Duration = Duration::from_millis(1);

    /// Waiting (for a core, or here asleep) is not charged to the CPU budget; computing is.
    #[test]
    fn the_budget_counts_cpu_time_not_waiting() {
        let mut clock = CallClock::start(Duration::from_millis(30), Duration::from_secs(5));
        // The first check charges the wall time before it (a couple of ms in practice).
        std::thread::sleep(CallClock::FIRST_CHECK);
        assert!(clock.remaining_ticks(TICK).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(
            clock.remaining_ticks(TICK).is_some(),
            "60 ms asleep used {:?} of a 30 ms CPU budget",
            clock.used()
        );
        let spin = Instant::now();
        while clock.remaining_ticks(TICK).is_some() {
            assert!(
                spin.elapsed() < Duration::from_secs(3),
                "the budget never ran out"
            );
            std::hint::black_box((0..1000u64).sum::<u64>());
        }
        assert!(clock.used() >= Duration::from_millis(30));
    }

    /// The wall-clock limit ends a call whatever its CPU use.
    #[test]
    fn the_wall_limit_ends_a_call_that_uses_no_cpu() {
        let mut clock = CallClock::start(Duration::from_secs(10), Duration::from_millis(20));
        assert!(clock.remaining_ticks(TICK).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(clock.remaining_ticks(TICK), None);
    }

    /// Called from another thread than the one the call began on, the clock falls back to
    /// wall time (a thread's CPU clock says nothing about another's).
    #[test]
    fn on_another_thread_wall_time_counts() {
        let mut clock = CallClock::start(Duration::from_millis(20), Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(30));
        let left = std::thread::spawn(move || clock.remaining_ticks(TICK))
            .join()
            .unwrap();
        assert_eq!(left, None);
    }
}
