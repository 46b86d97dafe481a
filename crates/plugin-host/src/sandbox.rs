//! What a plugin instance is granted: nothing but computation, a clock and randomness, within a memory cap.
//!
//! Every store gets a [`Sandbox`]-built state. The WASI 0.2 context has no preopened
//! directory, no environment variable, no argument, no network (TCP, UDP and name lookup
//! all off, every socket address refused), a closed stdin, and stdout/stderr that discard
//! what is written. It is linked only because a Rust `std` guest imports `wasi:cli`,
//! `wasi:io` and friends even when it uses none of them. The plugin's only channel out is
//! its return value and the `log` import (routed to `tracing` under the plugin's name,
//! bounded: see [`Sandbox::LOG_MESSAGE_BYTES`] and [`Sandbox::LOG_EVENTS_PER_CALL`]).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{v0_1_0, v0_2_0, v0_3_0};

/// The grants of one plugin instance. Deny by default: the only knob is the memory cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sandbox {
    /// Maximum linear memory of the instance, in bytes (growth beyond it traps).
    pub memory_bytes: usize,
}

impl Sandbox {
    /// The longest message the `log` import passes on, in bytes (after escaping). A longer
    /// one is cut on a character boundary and ends with `… [truncated, N bytes]`, N being
    /// the length of the message the plugin sent.
    pub const LOG_MESSAGE_BYTES: usize = 4096;

    /// The most `log` events one call (`init`, `check`, one `on-output` batch) emits. Later
    /// messages of the call are counted and dropped; at the end of the call one warning
    /// says `plugin logged N more messages; dropped` (field `dropped` = N).
    pub const LOG_EVENTS_PER_CALL: u32 = 32;

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
            logged: 0,
            dropped: 0,
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
    /// `log` events emitted during the call in progress.
    logged: u32,
    /// `log` messages dropped during the call in progress (over the per-call cap).
    dropped: u64,
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
    /// Starts a call (`init`, `check`, `on-output`): its CPU budget, and a fresh `log` quota
    /// (after reporting what the previous call dropped, if its end was not seen).
    pub(crate) fn begin_call(&mut self, clock: CallClock) {
        self.end_call();
        self.clock = clock;
    }

    /// Ends a call: reports the `log` messages it dropped, and resets the quota.
    pub(crate) fn end_call(&mut self) {
        if self.dropped > 0 {
            let plugin = &*self.name;
            let dropped = self.dropped;
            tracing::warn!(
                plugin,
                dropped,
                "plugin logged {dropped} more messages; dropped"
            );
        }
        self.logged = 0;
        self.dropped = 0;
    }

    /// Routes a plugin's `log` to tracing under its name (`level`: 0 trace .. 4 error):
    /// control characters escaped, at most [`Sandbox::LOG_MESSAGE_BYTES`], at most
    /// [`Sandbox::LOG_EVENTS_PER_CALL`] events per call.
    fn log(&mut self, level: u8, message: &str) {
        if self.logged >= Sandbox::LOG_EVENTS_PER_CALL {
            self.dropped += 1;
            return;
        }
        self.logged += 1;
        let plugin = &*self.name;
        let message = log_line(message);
        match level {
            0 => tracing::trace!(plugin, "{message}"),
            1 => tracing::debug!(plugin, "{message}"),
            2 => tracing::info!(plugin, "{message}"),
            3 => tracing::warn!(plugin, "{message}"),
            _ => tracing::error!(plugin, "{message}"),
        }
    }
}

impl Drop for PluginState {
    /// An instance thrown away during a call (a trap, a timeout) still reports its drops.
    fn drop(&mut self) {
        self.end_call();
    }
}

/// Characters a log line must not carry as they are: C0/C1 controls (newlines, ANSI
/// escapes), line and paragraph separators, and bidirectional overrides (they would let a
/// plugin forge or disguise log lines).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `message` as one safe log line: characters of [`needs_escape`] written as `\n`, `\r`,
/// `\t` or `\u{1b}`, and cut to [`Sandbox::LOG_MESSAGE_BYTES`] on a character boundary
/// with a `… [truncated, N bytes]` marker.
pub(crate) fn log_line(message: &str) -> Cow<'_, str> {
    let max = Sandbox::LOG_MESSAGE_BYTES;
    if message.len() <= max && !message.chars().any(needs_escape) {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len().min(max) + 32);
    let mut piece = String::new();
    for c in message.chars() {
        piece.clear();
        match c {
            '\n' => piece.push_str("\\n"),
            '\r' => piece.push_str("\\r"),
            '\t' => piece.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(piece, "\\u{{{:x}}}", u32::from(c));
            }
            c => piece.push(c),
        }
        if out.len() + piece.len() > max {
            let _ = write!(out, "… [truncated, {} bytes]", message.len());
            break;
        }
        out.push_str(&piece);
    }
    Cow::Owned(out)
}

/// The `host` and `types` interfaces of one WIT version, for [`PluginState`]: both
/// versions' `log` take the same levels, numbered 0 (trace) to 4 (error).
macro_rules! host_interfaces {
    ($version:ident) => {
        impl $version::cloudops::plugin::types::Host for PluginState {}

        impl $version::cloudops::plugin::host::Host for PluginState {
            fn log(&mut self, level: $version::cloudops::plugin::host::LogLevel, message: String) {
                use $version::cloudops::plugin::host::LogLevel as L;
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
    };
}

host_interfaces!(v0_1_0);
host_interfaces!(v0_2_0);
host_interfaces!(v0_3_0);

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{CallClock, Sandbox, log_line};

    /// A clean, short message passes as it is (no copy).
    #[test]
    fn a_plain_log_message_is_kept_as_is() {
        let m = "checked 3 commands: ok";
        assert!(matches!(log_line(m), std::borrow::Cow::Borrowed(s) if s == m));
    }

    /// Newlines, ANSI escapes and bidi overrides are written out, so a message stays on one
    /// line and cannot colour or reorder the terminal.
    #[test]
    fn control_characters_in_a_log_message_are_escaped() {
        assert_eq!(
            log_line("a\nINFO forged\r\t\x1b[31mred\u{202e}x\u{2028}"),
            "a\\nINFO forged\\r\\t\\u{1b}[31mred\\u{202e}x\\u{2028}"
        );
    }

    /// A long message is cut to the cap on a character boundary, with the original size.
    #[test]
    fn a_long_log_message_is_truncated_on_a_char_boundary() {
        let m = "€".repeat(10_000);
        let line = log_line(&m);
        let (kept, marker) = line.split_once('…').unwrap();
        assert!(
            kept.len() <= Sandbox::LOG_MESSAGE_BYTES && kept.len() > Sandbox::LOG_MESSAGE_BYTES - 3
        );
        assert!(kept.chars().all(|c| c == '€'));
        assert_eq!(marker, " [truncated, 30000 bytes]");
        // Escapes count against the cap too.
        let escapes = "\x1b".repeat(5_000);
        let escaped = log_line(&escapes);
        assert!(
            escaped.len() < Sandbox::LOG_MESSAGE_BYTES + 40,
            "{}",
            escaped.len()
        );
        assert!(escaped.ends_with("… [truncated, 5000 bytes]"));
    }

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
