//! `cloudops policy validate` and `cloudops policy test`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use cloudops_execution_engine::{Gate, GateContext};
use serde_json::json;

use crate::approver::{AskMode, CliApprover};
use crate::gate;
use crate::render::EXIT_FAILED;
use crate::settings::Common;

/// Compiles the policy and loads every plugin under every profile (and under none).
pub fn validate(common: &Common, path: &Path) -> anyhow::Result<i32> {
    let policy = gate::compile(path)?;
    let mut profiles: Vec<Option<&str>> = vec![None];
    profiles.extend(policy.profiles().keys().map(|k| Some(k.as_str())));
    for p in &profiles {
        gate::build_gate(policy.clone(), *p)?;
    }
    let rules = policy.rules().len()
        + policy
            .profiles()
            .values()
            .map(|p| p.rules.len())
            .sum::<usize>();
    if common.json {
        println!(
            "{}",
            json!({"valid": true, "policy": path.display().to_string(), "plugins": policy.plugins().len(),
                   "rules": rules, "profiles": policy.profiles().len(), "tests": policy.tests().len()})
        );
    } else if common.verbosity >= 0 {
        println!(
            "{}: ok ({} plugins loaded and initialised, {} rules, {} profiles, {} tests)",
            path.display(),
            policy.plugins().len(),
            rules,
            policy.profiles().len(),
            policy.tests().len()
        );
    }
    Ok(0)
}

/// Runs the `[[tests]]`: each request is decided (never run) by the policy's gate, with an
/// approver that approves every `ask` so that the chain goes on and `ask` can be seen.
pub async fn test(common: &Common, path: &Path) -> anyhow::Result<i32> {
    let policy = gate::compile(path)?;
    let mut gates: HashMap<Option<String>, Arc<dyn Gate>> = HashMap::new();
    let approver = CliApprover::new(AskMode::Approve);
    let (mut passed, mut failed) = (0, 0);
    let mut results = Vec::new();
    for t in policy.tests() {
        let profile = t.profile.clone().or_else(|| common.profile.clone());
        let gate = match gates.get(&profile) {
            Some(g) => g.clone(),
            None => {
                let g = gate::build_gate(policy.clone(), profile.as_deref())?;
                gates.insert(profile.clone(), g.clone());
                g
            }
        };
        let ctx = GateContext {
            approver: &approver,
        };
        let mut request = t.fresh_request();
        if let Ok(eff) = policy.effective(profile.as_deref()) {
            crate::exec::apply_default_timeout(&mut request, eff.defaults());
        }
        let outcome = gate.check(&request, &ctx).await;
        let verdict = match outcome {
            Ok(o) => t.judge(&o.record),
            Err(e) => Err(format!("the gate failed: {e}")),
        };
        match &verdict {
            Ok(()) => {
                passed += 1;
                if !common.json && common.verbosity >= 0 {
                    println!("ok      {}", t.name);
                }
            }
            Err(why) => {
                failed += 1;
                if !common.json {
                    println!("FAILED  {}\n        {why}\n        at {}", t.name, t.at);
                }
            }
        }
        results.push(json!({"name": t.name, "passed": verdict.is_ok(), "error": verdict.err(), "at": t.at.to_string()}));
    }
    if common.json {
        println!(
            "{}",
            json!({"passed": passed, "failed": failed, "tests": results})
        );
    } else {
        println!("{passed} passed, {failed} failed");
    }
    Ok(if failed > 0 { EXIT_FAILED } else { 0 })
}
