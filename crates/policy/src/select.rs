//! Evaluation: which rules match a request, which plugins run, in which order and mode, and in which sandbox.

use cloudops_execution_engine::ExecutionRequest;
use cloudops_normalize::Normalized;

use crate::matcher::Facts;
use crate::model::{Mode, OnError, Unmatched};
use crate::policy::{Defaults, PluginDecl, Policy, Profile, Rule};
use crate::sandbox::SandboxRef;
use cloudops_execution_engine::sandbox::Sandbox;

/// A policy under one profile (or none): merged defaults and the rules in force.
#[derive(Debug, Clone)]
pub struct Effective<'p> {
    policy: &'p Policy,
    profile: Option<&'p Profile>,
}

/// One plugin chosen for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedPlugin {
    /// Its name.
    pub name: String,
    /// Whether its verdicts take effect.
    pub mode: Mode,
}

/// The plugins chosen for one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Choice {
    /// In chain order; each plugin at most once.
    pub plugins: Vec<SelectedPlugin>,
    /// Names of the rules that matched, in order.
    pub rules: Vec<String>,
    /// The whole decision is audit-only (`defaults.mode = "audit"`).
    pub audit: bool,
    /// Set when the request must be denied without asking any plugin (no rule matched and
    /// `unmatched = "deny"`): the reason.
    pub deny: Option<String>,
    /// The sandbox the command runs in (paths resolved for the request), if the policy
    /// sets one for it.
    pub sandbox: Option<cloudops_execution_engine::sandbox::Sandbox>,
}

impl<'p> Effective<'p> {
    pub(crate) fn new(policy: &'p Policy, profile: Option<&'p Profile>) -> Self {
        Effective { policy, profile }
    }

    /// The compiled policy.
    pub fn policy(&self) -> &'p Policy {
        self.policy
    }

    /// The active profile's name.
    pub fn profile(&self) -> Option<&'p str> {
        self.profile.map(|p| p.name.as_str())
    }

    /// The defaults in force.
    pub fn defaults(&self) -> &'p Defaults {
        self.profile.map_or(&self.policy.defaults, |p| &p.defaults)
    }

    /// The rules in force: top-level rules in file order, then the profile's.
    pub fn rules(&self) -> impl Iterator<Item = &'p Rule> + 'p {
        let extra = self.profile.map(|p| p.rules.as_slice()).unwrap_or(&[]);
        self.policy.rules.iter().chain(extra.iter())
    }

    /// The failure policy of `plugin` under these defaults.
    pub fn on_error(&self, plugin: &PluginDecl) -> OnError {
        plugin.on_error.unwrap_or(self.defaults().on_plugin_error)
    }

    /// Every `(plugin, mode)` pair some request could select: what must be loaded.
    pub fn loadable(&self) -> Vec<SelectedPlugin> {
        let mut out: Vec<SelectedPlugin> = Vec::new();
        for rule in self.rules() {
            for name in &rule.plugins {
                let s = SelectedPlugin {
                    name: name.clone(),
                    mode: self.mode_of(rule, name),
                };
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    fn mode_of(&self, rule: &Rule, plugin: &str) -> Mode {
        let own = self.policy.plugins.get(plugin).and_then(|p| p.mode);
        if own == Some(Mode::Audit) || rule.mode == Some(Mode::Audit) {
            Mode::Audit
        } else {
            Mode::Enforce
        }
    }

    /// The sandbox named by `boxes` (the matching rules' or else the defaults'), resolved
    /// for `request`: several named sandboxes combine into what all of them allow;
    /// `"none"` adds nothing; only `"none"` gives no sandbox.
    fn sandbox(&self, boxes: &[&SandboxRef], request: &ExecutionRequest) -> Option<Sandbox> {
        let mut named = boxes
            .iter()
            .filter_map(|b| match b {
                SandboxRef::Unconfined => None,
                SandboxRef::Named(n) => self.policy.sandboxes.get(n),
            })
            .peekable();
        // Placeholders read the environment and the working directory: only when needed.
        named.peek()?;
        let ph = crate::placeholders(request.working_dir.as_deref());
        let own = &self.policy.own_paths;
        named
            .map(|decl| decl.resolve(&ph, own))
            .reduce(|a, b| a.meet(&b))
    }

    /// Chooses the plugins for `request`. Every matching rule applies, in order; a plugin
    /// runs once, at its first position; it is enforced if any matching rule that lists it
    /// enforces it. Depends only on the arguments, except that the sandbox's placeholders
    /// read this process's `HOME`, `TMPDIR` and working directory.
    pub fn select(&self, request: &ExecutionRequest, normalized: &Normalized) -> Choice {
        let facts = Facts {
            request,
            normalized,
            profile: self.profile(),
        };
        let mut choice = Choice {
            audit: self.defaults().mode == Mode::Audit,
            ..Choice::default()
        };
        let mut boxes: Option<Vec<&SandboxRef>> = None;
        for rule in self.rules() {
            if !rule.when.matches(&facts) {
                continue;
            }
            choice.rules.push(rule.name.clone());
            if let Some(b) = &rule.sandbox {
                boxes.get_or_insert_default().push(b);
            }
            for name in &rule.plugins {
                let mode = self.mode_of(rule, name);
                match choice.plugins.iter_mut().find(|p| &p.name == name) {
                    Some(p) if mode == Mode::Enforce => p.mode = Mode::Enforce,
                    Some(_) => {}
                    None => choice.plugins.push(SelectedPlugin {
                        name: name.clone(),
                        mode,
                    }),
                }
            }
        }
        let boxes = boxes.unwrap_or_else(|| vec![&self.defaults().sandbox]);
        choice.sandbox = self.sandbox(&boxes, request);
        if choice.rules.is_empty() && self.defaults().unmatched == Unmatched::Deny {
            choice.deny = Some(match self.profile() {
                Some(p) => format!("no rule of the policy (profile {p}) matches this request"),
                None => "no rule of the policy matches this request".into(),
            });
        }
        choice
    }
}
