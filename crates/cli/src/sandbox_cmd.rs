//! `cloudops sandbox probe`: what this kernel can confine, and the sandbox the policy gives a command run here.

use std::fmt::Write as _;
use std::sync::Arc;

use cloudops_execution_engine::sandbox::{self, Support};
use cloudops_execution_engine::{Command, ExecutionEngine, Preparation};
use serde_json::json;

use crate::approver::{AskMode, CliApprover};
use crate::settings::Common;

/// Prints the kernel's support and the policy's sandbox for a command run with these
/// flags; exit 1 when that sandbox is required and the kernel cannot apply it whole.
pub async fn probe(common: &Common) -> anyhow::Result<i32> {
    let support = sandbox::probe();
    let session = crate::gate::open(common).await?;
    let request = crate::exec::request(
        common,
        Command::Exec {
            program: "true".into(),
            args: Vec::new(),
        },
    );
    let approver = Arc::new(CliApprover::new(AskMode::Deny("sandbox probe asks nobody")));
    let engine = ExecutionEngine::new(session.decision_config(approver.clone()));
    // Preparation::IfPossible: the sandbox as the policy gives it, before the kernel is asked.
    let record = engine
        .decide(request, approver.as_ref(), Preparation::IfPossible)
        .await?;
    let chosen = record.sandbox.as_ref();
    let missing = chosen.map(|s| support.missing_for(s)).unwrap_or_default();
    let refused = chosen.is_some_and(|s| s.required) && !missing.is_empty();
    let policy = session.policy().map(|p| p.path().display().to_string());
    if common.json {
        println!(
            "{}",
            json!({
                "kernel": support,
                "policy": policy,
                "profile": record.profile,
                "sandbox": chosen,
                "missing": missing,
                "applies": chosen.is_some() && missing.is_empty(),
            })
        );
    } else {
        print!("{}", kernel_text(support));
        match &policy {
            Some(p) => println!(
                "policy:   {p}{}",
                record
                    .profile
                    .as_deref()
                    .map(|p| format!(", profile {p}"))
                    .unwrap_or_default()
            ),
            None => println!("policy:   none (no sandbox applies)"),
        }
        print!("{}", cloudops_session::sandbox_text(chosen, None));
        println!("{}", verdict(chosen.is_some(), refused, &missing));
    }
    Ok(if refused { 1 } else { 0 })
}

/// The kernel's support, one feature per line.
fn kernel_text(s: &Support) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let mut out = String::from("kernel:\n");
    let landlock = if s.landlock_abi == 0 {
        "no".to_string()
    } else {
        format!("ABI {}", s.landlock_abi)
    };
    let cgroup = match &s.pids_cgroup {
        Some(p) => format!(
            "{} (cgroup {})",
            p.display(),
            if s.cgroup_v2 { "v2" } else { "v1" }
        ),
        None => "no".into(),
    };
    for (name, value) in [
        ("Landlock", landlock),
        ("user namespaces", yes(s.user_namespaces).into()),
        ("PID namespaces", yes(s.pid_namespaces).into()),
        ("mount namespaces", yes(s.mount_namespaces).into()),
        ("network namespaces", yes(s.network_namespaces).into()),
        ("seccomp", yes(s.seccomp).into()),
        ("pids cgroup", cgroup),
        (
            "loopback",
            if s.host_loopback {
                "the machine's, filtered (cgroup BPF)"
            } else {
                "a network namespace's own"
            }
            .into(),
        ),
        (
            "running as",
            if s.root { "root" } else { "an ordinary user" }.into(),
        ),
    ] {
        let _ = writeln!(out, "  {name:20}{value}");
    }
    if !s.simulated_missing.is_empty() {
        let _ = writeln!(
            out,
            "  {:20}{} ({})",
            "simulated missing",
            s.simulated_missing.join(", "),
            sandbox::SIMULATE_MISSING_VAR
        );
    }
    out
}

fn verdict(has_sandbox: bool, refused: bool, missing: &[String]) -> String {
    if !has_sandbox {
        "result:   commands run unconfined (the policy gives them no sandbox)".into()
    } else if missing.is_empty() {
        "result:   this kernel applies the whole sandbox".into()
    } else if refused {
        format!(
            "result:   this kernel lacks {}: the sandbox is required, so commands would not run",
            missing.join(", ")
        )
    } else {
        format!(
            "result:   this kernel lacks {}: commands would run without those parts (required = false)",
            missing.join(", ")
        )
    }
}
