//! `cloudops policy validate` and `cloudops policy test`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use cloudops_execution_engine::{ExecutionEngine, Preparation};
use cloudops_session::Session;
use serde_json::json;

use crate::approver::{AskMode, CliApprover};
use crate::render::{EXIT_FAILED, session_error};
use crate::settings::Common;

/// Compiles the policy and loads every plugin under every profile (and under none).
pub fn validate(common: &Common, path: &Path) -> anyhow::Result<i32> {
    let policy = cloudops_session::compile(path).map_err(session_error)?;
    let mut profiles: Vec<Option<&str>> = vec![None];
    profiles.extend(policy.profiles().keys().map(|k| Some(k.as_str())));
    for p in &profiles {
        cloudops_session::build_gate(policy.clone(), *p).map_err(session_error)?;
    }
    let rules = policy.rules().len()
        + policy
            .profiles()
            .values()
            .map(|p| p.rules.len())
            .sum::<usize>();
    let compiles = crate::compile_line::reports();
    if common.json {
        let compiled: Vec<_> = compiles
            .iter()
            .map(|r| {
                json!({"plugin": r.plugin, "bytes": r.bytes, "elapsed_ms": r.elapsed.as_millis() as u64,
                       "cache_entry": r.entry.as_ref().map(|e| e.display().to_string())})
            })
            .collect();
        println!(
            "{}",
            json!({"valid": true, "policy": path.display().to_string(), "plugins": policy.plugins().len(),
                   "rules": rules, "profiles": policy.profiles().len(), "tests": policy.tests().len(),
                   "compiled": compiled})
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
        for r in &compiles {
            match &r.entry {
                Some(entry) => println!(
                    "  compiled plugin '{}' ({}) in {:.2} s; cache entry: {}",
                    r.plugin,
                    crate::compile_line::mib(r.bytes),
                    r.elapsed.as_secs_f64(),
                    entry.display()
                ),
                None => println!(
                    "  compiled plugin '{}' ({}) in {:.2} s; not cached (the cache directory {} is not writable)",
                    r.plugin,
                    crate::compile_line::mib(r.bytes),
                    r.elapsed.as_secs_f64(),
                    cloudops_plugin_host::default_cache_dir().display()
                ),
            }
        }
        if compiles.is_empty() && !policy.plugins().is_empty() {
            println!(
                "  every plugin's compiled code came from the cache ({})",
                cloudops_plugin_host::default_cache_dir().display()
            );
        }
    }
    Ok(0)
}

/// Runs the `[[tests]]`: each request is decided (never run) as `run` would decide it,
/// with an approver that approves every `ask` so that the chain goes on and `ask` can be
/// seen. A request that cannot be prepared on this machine (a program it lacks) is still
/// decided, so that a policy's tests give the same answers everywhere.
pub async fn test(common: &Common, path: &Path) -> anyhow::Result<i32> {
    let policy = cloudops_session::compile(path).map_err(session_error)?;
    let mut engines: HashMap<Option<String>, Arc<ExecutionEngine>> = HashMap::new();
    let approver = Arc::new(CliApprover::new(AskMode::Approve("policy test")));
    let (mut passed, mut failed) = (0, 0);
    let mut results = Vec::new();
    for t in policy.tests() {
        let profile = t.profile.clone().or_else(|| common.profile.clone());
        let engine = match engines.get(&profile) {
            Some(e) => e.clone(),
            None => {
                let session = Session::with_local_gate(policy.clone(), profile.as_deref())
                    .map_err(session_error)?;
                let e = Arc::new(ExecutionEngine::new(
                    session.decision_config(approver.clone()),
                ));
                engines.insert(profile.clone(), e.clone());
                e
            }
        };
        let outcome = engine
            .decide(
                t.fresh_request(),
                approver.as_ref(),
                Preparation::IfPossible,
            )
            .await;
        let verdict = match outcome {
            Ok(record) => t.judge(&record),
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
