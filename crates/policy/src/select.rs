//! Pure evaluation: which rules match a request, and which plugins run, in which order and mode.

use cloudops_execution_engine::ExecutionRequest;
use cloudops_normalize::Normalized;

use crate::matcher::Facts;
use crate::model::{Mode, OnError, Unmatched};
use crate::policy::{Defaults, PluginDecl, Policy, Profile, Rule};

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

    /// Chooses the plugins for `request`. Every matching rule applies, in order; a plugin
    /// runs once, at its first position; it is enforced if any matching rule that lists it
    /// enforces it. Pure: depends only on the arguments.
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
        for rule in self.rules() {
            if !rule.when.matches(&facts) {
                continue;
            }
            choice.rules.push(rule.name.clone());
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
        if choice.rules.is_empty() && self.defaults().unmatched == Unmatched::Deny {
            choice.deny = Some(match self.profile() {
                Some(p) => format!("no rule of the policy (profile {p}) matches this request"),
                None => "no rule of the policy matches this request".into(),
            });
        }
        choice
    }
}
