//! The supervisor's deadlines as a state machine: timeout → SIGTERM → grace → SIGKILL → a grace for the pipes, and the bound on output still being delivered.

use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::time::Instant;

use super::signal_group;
use crate::config::ExecutionConfig;

/// Why the runtime is ending the process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Ending {
    Timeout,
    Cancel,
}

/// What a passed deadline asks of the supervisor.
#[derive(Default, Debug, PartialEq, Eq)]
pub(super) struct Due {
    /// Output may be missing (the pipes outlived the child).
    pub(super) incomplete: bool,
    /// Stop reading the pipes: a process outside the group holds them.
    pub(super) stop_reading: bool,
    /// Give up on output not yet delivered.
    pub(super) abandon: bool,
}

/// The supervisor's deadlines, as a state machine: timeout → SIGTERM → grace → SIGKILL →
/// a grace for the pipes to close; after the child's exit, a grace for the pipes too;
/// after a timeout or cancel, a last grace for undelivered output.
pub(super) struct Clock {
    pgid: Option<u32>,
    kill_grace: Duration,
    pipe_grace: Duration,
    timeout_at: Option<Instant>,
    kill_at: Option<Instant>,
    pipes_at: Option<Instant>,
    drain_at: Option<Instant>,
    ending: Option<Ending>,
    cancelled: bool,
    killed: bool,
}

impl Clock {
    pub(super) fn new(
        pgid: Option<u32>,
        config: &ExecutionConfig,
        t0: Instant,
        timeout_ms: Option<u64>,
    ) -> Self {
        Clock {
            pgid,
            kill_grace: config.kill_grace,
            pipe_grace: config.pipe_close_grace,
            // A timeout too far away to represent (u64::MAX ms, say) is no timeout at all.
            timeout_at: timeout_ms.and_then(|ms| t0.checked_add(Duration::from_millis(ms))),
            kill_at: None,
            pipes_at: None,
            drain_at: None,
            ending: None,
            cancelled: false,
            killed: false,
        }
    }

    /// Why the runtime ended the process, if it did.
    pub(super) fn ending(&self) -> Option<Ending> {
        self.ending
    }

    /// Whether the run has been cancelled.
    pub(super) fn cancelled(&self) -> bool {
        self.cancelled
    }

    /// The next deadline, if any.
    pub(super) fn next(&self) -> Option<Instant> {
        [self.timeout_at, self.kill_at, self.pipes_at, self.drain_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Ends the process for `why`, unless it has exited already: then only the output
    /// still on its way gets a last grace.
    fn end(&mut self, why: Ending, now: Instant, exited: bool) {
        self.timeout_at = None;
        if exited || self.ending.is_some() {
            self.drain_at.get_or_insert(now + self.kill_grace);
            return;
        }
        self.ending = Some(why);
        signal_group(self.pgid, Signal::SIGTERM);
        self.kill_at = Some(now + self.kill_grace);
        self.drain_at = Some(now + self.kill_grace + self.pipe_grace);
    }

    /// The run is cancelled: the process is ended as for a timeout.
    pub(super) fn cancel(&mut self, now: Instant, exited: bool) {
        self.cancelled = true;
        self.end(Ending::Cancel, now, exited);
    }

    /// The child has exited: its pipes get a grace to close.
    pub(super) fn exited(&mut self, now: Instant) {
        if self.pipes_at.is_none() && self.kill_at.is_none() {
            self.pipes_at = Some(now + self.pipe_grace);
        }
    }

    /// Both pipes are closed: nothing to wait for on them.
    pub(super) fn pipes_closed(&mut self) {
        self.pipes_at = None;
    }

    /// SIGKILL to the group; the pipes then get a grace to close.
    fn kill(&mut self, now: Instant) {
        self.killed = true;
        signal_group(self.pgid, Signal::SIGKILL);
        self.pipes_at = Some(now + self.pipe_grace);
    }

    /// Acts on the deadlines that have passed. `reading`: whether the pipes are being read
    /// (they are not while delivery is backed up, and then the pipes' grace starts over:
    /// their data is waiting for us, not held by a leftover process).
    pub(super) fn tick(&mut self, now: Instant, exited: bool, reading: bool) -> Due {
        let mut due = Due::default();
        if self.timeout_at.is_some_and(|t| t <= now) {
            self.end(Ending::Timeout, now, exited);
        }
        if self.kill_at.is_some_and(|t| t <= now) {
            self.kill_at = None;
            self.kill(now);
        }
        if self.pipes_at.is_some_and(|t| t <= now) {
            self.pipes_at = None;
            if !reading {
                self.pipes_at = Some(now + self.pipe_grace);
            } else if exited && self.killed {
                // Even SIGKILL to the group did not close the pipes: a process outside
                // the group holds them. Stop reading.
                due.incomplete = true;
                due.stop_reading = true;
            } else if exited {
                due.incomplete = true;
                self.kill(now);
            }
        }
        if self.drain_at.is_some_and(|t| t <= now) {
            self.drain_at = None;
            due.abandon = true;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        let config = ExecutionConfig {
            kill_grace: Duration::from_secs(2),
            pipe_close_grace: Duration::from_millis(500),
            ..Default::default()
        };
        Clock::new(None, &config, Instant::now(), Some(1000))
    }

    #[tokio::test]
    async fn a_timeout_terms_then_kills_then_gives_the_pipes_and_the_output_a_grace() {
        let mut c = clock();
        let t = c.timeout_at.unwrap();
        assert_eq!(c.tick(t, false, true), Due::default());
        assert_eq!(c.ending, Some(Ending::Timeout));
        assert_eq!(c.kill_at, Some(t + Duration::from_secs(2)));
        let k = t + Duration::from_secs(2);
        c.tick(k, false, true);
        assert!(c.killed);
        c.exited(k);
        let p = k + Duration::from_millis(500);
        let due = c.tick(p, true, true);
        assert!(due.stop_reading && due.incomplete && due.abandon, "{due:?}");
    }

    #[tokio::test]
    async fn the_pipes_grace_starts_over_while_delivery_is_backed_up() {
        let mut c = clock();
        c.timeout_at = None;
        let now = Instant::now();
        c.exited(now);
        let p = now + Duration::from_millis(500);
        assert_eq!(c.tick(p, true, false), Due::default());
        assert_eq!(c.pipes_at, Some(p + Duration::from_millis(500)));
        assert!(!c.killed, "nothing is killed for a slow reader");
        let due = c.tick(p + Duration::from_millis(500), true, true);
        assert!(due.incomplete && !due.stop_reading);
        assert!(c.killed);
    }

    #[tokio::test]
    async fn a_timeout_after_the_exit_keeps_the_status_and_bounds_the_drain() {
        let mut c = clock();
        let now = Instant::now();
        c.exited(now);
        c.pipes_closed();
        let t = c.timeout_at.unwrap();
        c.tick(t, true, false);
        assert_eq!(c.ending, None);
        assert_eq!(c.drain_at, Some(t + Duration::from_secs(2)));
        assert!(c.tick(t + Duration::from_secs(2), true, false).abandon);
    }
}
