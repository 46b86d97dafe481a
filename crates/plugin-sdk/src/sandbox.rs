//! The kernel sandbox in a plugin's terms (interface 0.3.0): reading the sandbox a request will run in, and answering with a verdict that tightens it.
//!
//! ```
//! use cloudops_plugin_sdk::{Answer, NetworkAccess, Request, Tightening, Verdict};
//!
//! // Allow `npm test`, but without network and without the project's `.env`.
//! fn answer(req: &Request) -> Answer {
//!     let mut t = Tightening::new().network(NetworkAccess::None);
//!     if let Some(dir) = req.canonical_working_dir() {
//!         t = t.hide(format!("{dir}/.env"));
//!     }
//!     Verdict::Allow.tighten(t)
//! }
//! ```

use crate::path::is_under;
use crate::{Answer, NetworkAccess, Request, Sandbox, Tightening, Verdict};

impl Request {
    /// The sandbox the command will run in, as the policy chose it and the plugins before
    /// this one tightened it; `None`: the command runs unconfined.
    pub fn sandbox(&self) -> Option<&Sandbox> {
        self.sandbox.as_ref()
    }

    /// The request in `sandbox` (for tests: the host sets it).
    pub fn with_sandbox(mut self, sandbox: Option<Sandbox>) -> Self {
        self.sandbox = sandbox;
        self
    }
}

impl Sandbox {
    /// True when `path` lies under a writable root and not under a protected path
    /// (lexically, whole components: `/w` covers `/w/x`, not `/wx`).
    pub fn is_writable(&self, path: &str) -> bool {
        self.write.iter().any(|w| is_under(path, w))
            && !self.protected.iter().any(|p| is_under(path, p))
    }

    /// True when `path` is hidden, or lies under a hidden path.
    pub fn is_hidden(&self, path: &str) -> bool {
        self.hidden.iter().any(|h| is_under(path, h))
    }

    /// True when the command can reach more than its own loopback interface.
    pub fn reaches_network(&self) -> bool {
        self.network == NetworkAccess::All
    }
}

impl NetworkAccess {
    /// Its name as written in a policy: `none`, `loopback`, `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkAccess::None => "none",
            NetworkAccess::Loopback => "loopback",
            NetworkAccess::All => "all",
        }
    }
}

impl Tightening {
    /// A tightening that takes nothing away; add to it with the methods below.
    pub fn new() -> Self {
        Tightening {
            network: None,
            hide: Vec::new(),
            protect: Vec::new(),
            drop_write: Vec::new(),
        }
    }

    /// At most `network` (a wider network than the one in force is ignored by the host).
    pub fn network(mut self, network: NetworkAccess) -> Self {
        self.network = Some(network);
        self
    }

    /// Hides `path` as well (absolute, without `..`).
    pub fn hide(mut self, path: impl Into<String>) -> Self {
        self.hide.push(path.into());
        self
    }

    /// Keeps `path` read-only as well (matters only under a writable root).
    pub fn protect(mut self, path: impl Into<String>) -> Self {
        self.protect.push(path.into());
        self
    }

    /// Withdraws the writable roots at or under `path`.
    pub fn drop_write(mut self, path: impl Into<String>) -> Self {
        self.drop_write.push(path.into());
        self
    }

    /// True when it takes nothing away.
    pub fn is_empty(&self) -> bool {
        self.network.is_none()
            && self.hide.is_empty()
            && self.protect.is_empty()
            && self.drop_write.is_empty()
    }

    /// Adds what `other` takes away (the narrower network of the two).
    pub fn and(mut self, other: Tightening) -> Self {
        self.network = match (self.network, other.network) {
            (Some(a), Some(b)) => Some(narrower(a, b)),
            (a, b) => a.or(b),
        };
        self.hide.extend(other.hide);
        self.protect.extend(other.protect);
        self.drop_write.extend(other.drop_write);
        self
    }
}

impl Default for Tightening {
    fn default() -> Self {
        Tightening::new()
    }
}

fn narrower(a: NetworkAccess, b: NetworkAccess) -> NetworkAccess {
    let rank = |n| match n {
        NetworkAccess::None => 0,
        NetworkAccess::Loopback => 1,
        NetworkAccess::All => 2,
    };
    if rank(a) <= rank(b) { a } else { b }
}

impl Verdict {
    /// This verdict, with the request's sandbox tightened by `t`.
    pub fn tighten(self, t: Tightening) -> Answer {
        Answer::from(self).tighten(t)
    }
}

impl From<Verdict> for Answer {
    /// The verdict alone: the sandbox stays as it is.
    fn from(verdict: Verdict) -> Self {
        Answer {
            verdict,
            tighten: None,
        }
    }
}

impl Answer {
    /// The same answer, tightening the sandbox by `t` as well (added to any tightening it
    /// already has).
    pub fn tighten(mut self, t: Tightening) -> Self {
        self.tighten = Some(match self.tighten.take() {
            Some(have) => have.and(t),
            None => t,
        });
        self
    }

    /// The tightening, when it takes anything away.
    pub fn tightening(&self) -> Option<&Tightening> {
        self.tighten.as_ref().filter(|t| !t.is_empty())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::testing::{sandbox, shell, tighten};

    #[test]
    fn a_verdict_alone_tightens_nothing_and_tightenings_add_up() {
        let a: Answer = Verdict::deny("no").into();
        assert_eq!(a.verdict, Verdict::deny("no"));
        assert_eq!(a.tightening(), None);
        let a = Verdict::Allow
            .tighten(
                Tightening::new()
                    .network(NetworkAccess::Loopback)
                    .hide("/a"),
            )
            .tighten(Tightening::new().network(NetworkAccess::None).hide("/b"));
        let t = a.tightening().unwrap();
        assert_eq!(t.network, Some(NetworkAccess::None), "the narrower network");
        assert_eq!(t.hide, ["/a", "/b"]);
        assert_eq!(Verdict::Allow.tighten(Tightening::new()).tightening(), None);
    }

    #[test]
    fn the_harness_applies_a_tightening_by_the_hosts_rules() {
        let req = shell("make").with_sandbox(Some(sandbox("/w")));
        let sb = req.sandbox().unwrap();
        assert!(sb.is_writable("/w/src/main.rs") && !sb.is_writable("/w/.git/hooks/pre-commit"));
        assert!(!sb.reaches_network());
        let answer = Verdict::Allow.tighten(
            Tightening::new()
                .network(NetworkAccess::All)
                .protect("/w/Cargo.lock")
                .drop_write("/tmp"),
        );
        let (after, changes) = tighten(&req, &answer);
        let after = after.unwrap();
        assert_eq!(changes, ["protect /w/Cargo.lock", "no write to /tmp"]);
        assert_eq!(after.network, NetworkAccess::Loopback, "never loosened");
        assert_eq!(after.write, ["/w"]);
        assert!(!after.is_writable("/w/Cargo.lock"));
        assert_eq!(tighten(&shell("make"), &answer), (None, vec![]));
    }
}
