//! A gate for builds without the Wasm plugin host: applies the policy's rules when none of them names a plugin.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use cloudops_execution_engine::{
    DecisionRecord, ExecutionError, ExecutionRequest, Gate, GateContext, GateOutcome, Verdict,
};
use cloudops_policy::Policy;

/// Decides from the rules alone (`unmatched = "deny"`); refuses to decide if a plugin is selected.
pub struct PluginFreeGate {
    /// The policy.
    pub policy: Arc<Policy>,
    /// The profile in force.
    pub profile: Option<String>,
}

#[async_trait]
impl Gate for PluginFreeGate {
    async fn check(
        &self,
        request: &ExecutionRequest,
        _ctx: &GateContext<'_>,
    ) -> Result<GateOutcome, ExecutionError> {
        let start = Instant::now();
        let eff = self
            .policy
            .effective(self.profile.as_deref())
            .map_err(|e| ExecutionError::Gate(e.to_string()))?;
        let normalized = cloudops_normalize::normalize(request);
        let choice = eff.select(request, &normalized);
        if let Some(p) = choice.plugins.first() {
            return Err(ExecutionError::Gate(format!(
                "plugin '{}' is selected but this build has no plugin host",
                p.name
            )));
        }
        let mut record = DecisionRecord::allow_unchanged(request);
        record.profile = self.profile.clone();
        record.rules = choice.rules;
        if let Some(reason) = choice.deny {
            record.allowed = choice.audit;
            record.verdict = if choice.audit {
                Verdict::Allow
            } else {
                Verdict::Deny
            };
            record.plugin = Some("policy".into());
            record.reason = Some(reason);
        }
        record.elapsed_us = start.elapsed().as_micros() as u64;
        Ok(GateOutcome {
            record,
            output: None,
        })
    }
}
