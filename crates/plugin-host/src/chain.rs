//! The chain gate: normalises a request once (and resolves its paths when a plugin of interface 0.2.0 or later will see them), runs the selected plugins in order (rewrite, deny, ask, audit, failure policy, sandbox tightenings) and records the decision.
//!
//! Sandbox: the record starts with the policy's sandbox ([`Selection::sandbox`]); after
//! each plugin's answer its tightening (interface 0.3.0) is applied to it (see `tighten`),
//! the step lists what changed and what was ignored, and later plugins see the tightened
//! sandbox in their request. In audit mode (the plugin's or the chain's) a tightening is
//! recorded, not applied, like a denial. A tightening applies whatever the verdict (it can
//! only take away), and never changes the verdict: a denial stays a denial. An answer
//! whose rewrite is malformed still has its tightening applied before its failure policy.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use cloudops_execution_engine::sandbox::{Sandbox, Tightening};
use cloudops_execution_engine::{
    DecisionRecord, DecisionStep, ExecutionError, ExecutionRequest, Gate, GateContext, GateOutcome,
    PreparedCommand, Verdict,
};
use cloudops_normalize::Normalized;

use crate::bindings::current::types as wit;
use crate::convert::{apply_rewrite, sandbox_to_wit, tightening_from_wit, to_wit};
use crate::error::CallError;
use crate::host::PluginHost;
use crate::output::OutputChain;
use crate::plugin::LoadedPlugin;
use crate::plugin::Sent;
use crate::spec::{FailurePolicy, Hook, Mode};

/// Picks the plugins for a request (the policy implements this).
pub trait PluginSelector: Send + Sync {
    /// The plugins, in chain order, and what the decision record should say about why.
    fn select(&self, request: &ExecutionRequest, normalized: &Normalized) -> Selection;
}

/// The plugins selected for one request.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// The chain, in order. `check` runs on those with the check hook, `on-output` on
    /// those with the output hook.
    pub plugins: Vec<Arc<LoadedPlugin>>,
    /// Names of the policy rules that matched (copied into the decision record).
    pub rules: Vec<String>,
    /// The profile in force (given to plugins and recorded).
    pub profile: Option<String>,
    /// Chain-level audit: every plugin's denial is only recorded.
    pub audit: bool,
    /// Deny before any plugin runs, with this reason (recorded as plugin `policy`).
    pub deny: Option<String>,
    /// The sandbox the policy chose (copied into the decision record; plugins may tighten
    /// it, and see it in their request: `None` tells them the command runs unconfined).
    pub sandbox: Option<Sandbox>,
}

/// Every request gets the same plugins.
#[derive(Debug, Clone)]
pub struct StaticSelector(pub Vec<Arc<LoadedPlugin>>);

impl PluginSelector for StaticSelector {
    fn select(&self, _: &ExecutionRequest, _: &Normalized) -> Selection {
        Selection {
            plugins: self.0.clone(),
            ..Selection::default()
        }
    }
}

/// The engine's [`Gate`] backed by wasm plugins.
#[derive(Clone)]
pub struct ChainGate {
    host: PluginHost,
    selector: Arc<dyn PluginSelector>,
    /// Name patterns of the variables whose values are known secrets.
    secret_names: Arc<[String]>,
}

impl std::fmt::Debug for ChainGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainGate")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// What one plugin's answer comes to, after its failure policy.
enum Outcome {
    Allow,
    Deny(String),
    Ask(String),
    Rewrite(Box<(ExecutionRequest, PreparedCommand)>, String),
    Failed(CallError),
}

/// The request as the chain has it so far, and the view the next plugin is sent.
struct Current<'a> {
    request: ExecutionRequest,
    /// The request as prepared for running (after the last rewrite), when it was.
    prepared: Option<Cow<'a, PreparedCommand>>,
    sent: Sent,
    /// Whether plugins of this chain see resolved paths (interface 0.2.0 and later).
    resolve: bool,
    profile: Option<&'a str>,
}

impl<'a> Current<'a> {
    fn new(
        request: ExecutionRequest,
        prepared: Option<&'a PreparedCommand>,
        normalized: &Normalized,
        selection: &'a Selection,
        sandbox: Option<&Sandbox>,
    ) -> Self {
        // Only plugins of 0.2.0 and later see resolved paths: spare the filesystem
        // look-ups when none of them is in the chain.
        let resolve = selection
            .plugins
            .iter()
            .any(|p| p.info().wants(Hook::Check) && p.sees_resolved_paths());
        let profile = selection.profile.as_deref();
        let sent = Sent::new(view_of(&request, normalized, resolve, profile, sandbox));
        Current {
            request,
            prepared: prepared.map(Cow::Borrowed),
            sent,
            resolve,
            profile,
        }
    }

    /// Takes a rewrite: later plugins see the new request (in the same sandbox).
    fn replace(&mut self, request: ExecutionRequest, prepared: PreparedCommand) {
        let sandbox = self.sent.request.sandbox.take();
        self.sent = Sent::new(view(
            &request,
            Some(&prepared),
            self.resolve,
            self.profile,
            None,
        ));
        self.sent.set_sandbox(sandbox);
        self.request = request;
        self.prepared = Some(Cow::Owned(prepared));
    }

    /// The known secrets of the request as it will run (variables named like `names`):
    /// from the environment the child gets when the request was prepared, else from the
    /// variables the request sets.
    fn known_secrets(&self, names: &[String]) -> Vec<String> {
        match &self.prepared {
            Some(p) => {
                crate::known_secrets(p.env.iter().map(|(n, v)| (n.as_str(), v.as_str())), names)
            }
            None => crate::known_secrets(
                self.request
                    .env
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str())),
                names,
            ),
        }
    }
}

/// The WIT view of `request` (normalised; its paths resolved when `resolve`).
pub(crate) fn view(
    request: &ExecutionRequest,
    prepared: Option<&PreparedCommand>,
    resolve: bool,
    profile: Option<&str>,
    sandbox: Option<&Sandbox>,
) -> wit::Request {
    let normalized = cloudops_normalize::normalize_prepared(request, prepared);
    view_of(request, &normalized, resolve, profile, sandbox)
}

/// [`view`] of a request already normalised (the chain normalises once, for the
/// selection and the plugins).
fn view_of(
    request: &ExecutionRequest,
    normalized: &Normalized,
    resolve: bool,
    profile: Option<&str>,
    sandbox: Option<&Sandbox>,
) -> wit::Request {
    let resolved = resolve.then(|| cloudops_normalize::resolve_paths(request, normalized));
    to_wit(request, normalized, resolved.as_ref(), profile, sandbox)
}

impl ChainGate {
    /// A gate running the plugins `selector` picks, on `host`; the known secrets of an
    /// execution are the values of the variables named like [`DEFAULT_SECRET_NAMES`].
    ///
    /// [`DEFAULT_SECRET_NAMES`]: crate::DEFAULT_SECRET_NAMES
    pub fn new(host: PluginHost, selector: Arc<dyn PluginSelector>) -> Self {
        ChainGate {
            host,
            selector,
            secret_names: crate::DEFAULT_SECRET_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// The same gate, taking the known secrets from the variables whose names match
    /// `patterns` instead (`*`: any run of characters; ASCII case ignored; see
    /// [`known_secrets`](crate::known_secrets)). An empty list gives no secrets.
    pub fn with_secret_names(mut self, patterns: Vec<String>) -> Self {
        self.secret_names = patterns.into();
        self
    }

    /// The host the gate runs plugins on.
    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// Decides on `request` (what [`Gate::check`] does, without building the output chain).
    /// The record's `sandbox` is the selection's, tightened by the plugins.
    pub async fn decide(
        &self,
        request: &ExecutionRequest,
        ctx: &GateContext<'_>,
    ) -> (DecisionRecord, Selection) {
        let (record, selection, _) = self.decide_with_secrets(request, ctx).await;
        (record, selection)
    }

    /// [`ChainGate::decide`], and the known secrets of the request that will run (for the
    /// output chain).
    async fn decide_with_secrets(
        &self,
        request: &ExecutionRequest,
        ctx: &GateContext<'_>,
    ) -> (DecisionRecord, Selection, Vec<String>) {
        let t0 = Instant::now();
        let normalized = cloudops_normalize::normalize_prepared(request, ctx.prepared);
        let selection = self.selector.select(request, &normalized);
        let mut record = DecisionRecord::allow_unchanged(request);
        record.profile = selection.profile.clone();
        record.rules = selection.rules.clone();
        record.sandbox = selection.sandbox.clone();
        if let Some(reason) = &selection.deny {
            record.allowed = false;
            record.verdict = Verdict::Deny;
            record.plugin = Some("policy".into());
            record.reason = Some(reason.clone());
            record.elapsed_us = t0.elapsed().as_micros() as u64;
            return (record, selection, Vec::new());
        }
        let mut current = Current::new(
            request.clone(),
            ctx.prepared,
            &normalized,
            &selection,
            record.sandbox.as_ref(),
        );
        let (mut rewrote, mut asked): (Option<usize>, Option<usize>) = (None, None);
        for plugin in selection
            .plugins
            .iter()
            .filter(|p| p.info().wants(Hook::Check))
        {
            let audit = selection.audit || plugin.mode() == Mode::Audit;
            let t = Instant::now();
            let (outcome, tighten) = ask_plugin(plugin, &current, ctx).await;
            // The tightening first: an approver asked about this request, and the plugins
            // after it, see the sandbox it will run in.
            let tightened = match tighten {
                Some(t) => {
                    let lines = crate::tighten::apply(&mut record.sandbox, &t, audit);
                    if !audit && !lines.is_empty() {
                        current
                            .sent
                            .set_sandbox(record.sandbox.as_ref().map(sandbox_to_wit));
                    }
                    lines
                }
                None => Vec::new(),
            };
            let (mut step, effect) = judge(plugin, outcome, audit, &current, ctx).await;
            step.tightened = tightened;
            step.elapsed_us = t.elapsed().as_micros() as u64;
            let index = record.steps.len();
            record.steps.push(step);
            match effect {
                Effect::Go => {}
                Effect::Approved => asked = Some(index),
                Effect::Rewrote(next) => {
                    let (request, prepared) = *next;
                    current.replace(request, prepared);
                    rewrote = Some(index);
                }
                Effect::Stop(reason) => {
                    record.allowed = false;
                    record.verdict = Verdict::Deny;
                    record.plugin = Some(plugin.name().to_string());
                    record.reason = Some(reason);
                    break;
                }
            }
        }
        if record.allowed
            && let Some(i) = rewrote.or(asked)
        {
            let step = &record.steps[i];
            record.verdict = step.verdict;
            record.plugin = Some(step.plugin.clone());
            record.reason = step.reason.clone();
        }
        // Only an output chain is given the secrets.
        let secrets = if record.allowed
            && selection
                .plugins
                .iter()
                .any(|p| p.info().wants(Hook::Output))
        {
            current.known_secrets(&self.secret_names)
        } else {
            Vec::new()
        };
        record.request = current.request;
        record.elapsed_us = t0.elapsed().as_micros() as u64;
        (record, selection, secrets)
    }
}

/// What a plugin's step does to the chain.
enum Effect {
    /// Go on with the request as it is.
    Go,
    /// Go on: the approver granted the plugin's `ask`.
    Approved,
    /// Go on with this request.
    Rewrote(Box<(ExecutionRequest, PreparedCommand)>),
    /// Stop: denied, with this reason.
    Stop(String),
}

/// Runs `plugin`'s check on the current request: the outcome of its verdict, and the
/// tightening it answered with (none when it failed).
async fn ask_plugin(
    plugin: &LoadedPlugin,
    current: &Current<'_>,
    ctx: &GateContext<'_>,
) -> (Outcome, Option<Tightening>) {
    let answer = match plugin.check(&current.sent).await {
        Err(e) => return (Outcome::Failed(e), None),
        Ok(a) => a,
    };
    let tighten = answer.tighten.map(tightening_from_wit);
    let outcome = match answer.verdict {
        wit::Verdict::Allow => Outcome::Allow,
        wit::Verdict::Deny(r) => Outcome::Deny(r),
        wit::Verdict::Ask(r) => Outcome::Ask(r),
        wit::Verdict::Rewrite(rw) => {
            match apply_rewrite(
                &current.request,
                &current.sent.request,
                rw.request,
                ctx.preparer,
            ) {
                Ok(next) => Outcome::Rewrite(Box::new(next), rw.reason),
                Err(why) => Outcome::Failed(CallError::Malformed(why)),
            }
        }
    };
    (outcome, tighten)
}

fn empty_step(plugin: &str) -> DecisionStep {
    DecisionStep {
        plugin: plugin.to_string(),
        verdict: Verdict::Allow,
        reason: None,
        diff: Vec::new(),
        elapsed_us: 0,
        enforced: true,
        error: None,
        approval: None,
        tightened: Vec::new(),
    }
}

/// The decision step for `plugin`'s outcome, and what it does to the chain: its failure
/// policy applied to a failure, the approver asked for an `ask`; in audit mode nothing
/// but the record changes.
async fn judge(
    plugin: &LoadedPlugin,
    outcome: Outcome,
    audit: bool,
    current: &Current<'_>,
    ctx: &GateContext<'_>,
) -> (DecisionStep, Effect) {
    let mut step = empty_step(plugin.name());
    step.enforced = !audit;
    let effect = match outcome {
        Outcome::Allow => Effect::Go,
        Outcome::Deny(r) => {
            step.verdict = Verdict::Deny;
            step.reason = Some(r.clone());
            Effect::Stop(r)
        }
        Outcome::Failed(e) => {
            let msg = e.to_string();
            step.error = Some(msg.clone());
            tracing::warn!(plugin = plugin.name(), error = %msg, "plugin failed");
            match plugin.on_error() {
                FailurePolicy::Deny => {
                    let r = format!("plugin failed: {msg}");
                    step.verdict = Verdict::Deny;
                    step.reason = Some(r.clone());
                    Effect::Stop(r)
                }
                FailurePolicy::Allow => {
                    step.reason = Some(format!(
                        "plugin failed, allowed by its failure policy: {msg}"
                    ));
                    Effect::Go
                }
            }
        }
        Outcome::Ask(r) => {
            step.verdict = Verdict::Ask;
            step.reason = Some(r.clone());
            if audit {
                Effect::Go
            } else {
                let answer = ctx
                    .approver
                    .approve(&current.request, plugin.name(), &r)
                    .await;
                let granted = answer.granted;
                step.approval = Some(answer);
                if granted {
                    Effect::Approved
                } else {
                    Effect::Stop(r)
                }
            }
        }
        Outcome::Rewrite(next, r) => {
            step.verdict = Verdict::Rewrite;
            step.reason = Some(r);
            step.diff = cloudops_execution_engine::request_diff(&current.request, &next.0);
            if audit {
                Effect::Go
            } else {
                Effect::Rewrote(next)
            }
        }
    };
    // In audit mode a denial is only recorded.
    let effect = match effect {
        Effect::Stop(_) if audit => Effect::Go,
        e => e,
    };
    (step, effect)
}

#[async_trait]
impl Gate for ChainGate {
    async fn check(
        &self,
        request: &ExecutionRequest,
        ctx: &GateContext<'_>,
    ) -> Result<GateOutcome, ExecutionError> {
        let (record, selection, secrets) = self.decide_with_secrets(request, ctx).await;
        let output = if record.allowed {
            OutputChain::for_selection(&selection, record.execution_id, secrets).await
        } else {
            None
        };
        Ok(GateOutcome {
            record,
            output: output.map(|o| Box::new(o) as _),
        })
    }
}
