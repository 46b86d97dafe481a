//! The standard policy `policies/agent.toml` enforced through the library: each built-in plugin denying, rewriting or redacting what it should, and everyday work running.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::HashMap;
use std::path::PathBuf;

use cloudops_execution_engine::{
    Command, ExecutionEngine, ExecutionError, ExecutionMetadata, ExecutionRequest, ExecutionStatus,
};
use cloudops_test_support::Moto;
use support::denied_by;
use uuid::Uuid;

#[path = "support/mod.rs"]
mod support;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// An engine gated by `policies/<name>.toml` under `profile`, with a private plugin cache.
fn engine(name: &str, profile: Option<&str>, cache: &tempfile::TempDir) -> ExecutionEngine {
    engine_with_env(name, profile, cache, Vec::new())
}

/// [`engine`], with `extra_env` in every child's environment (set by whoever runs the
/// engine, so plugins do not see it as part of a request).
fn engine_with_env(
    name: &str,
    profile: Option<&str>,
    cache: &tempfile::TempDir,
    extra_env: Vec<(String, String)>,
) -> ExecutionEngine {
    support::gated_engine(
        &repo().join(format!("policies/{name}.toml")),
        profile,
        cache.path(),
        extra_env,
    )
}

fn agent(command: Command) -> ExecutionRequest {
    ExecutionRequest {
        id: Uuid::new_v4(),
        command,
        env: HashMap::new(),
        working_dir: None,
        timeout_ms: None,
        metadata: ExecutionMetadata {
            source: Some("agent".into()),
            ..Default::default()
        },
    }
}

/// An agent's `aws s3 OP ARGS…` in us-east-1.
fn s3(op: &str, args: &[&str]) -> ExecutionRequest {
    agent(Command::AwsCli {
        service: "s3".into(),
        operation: op.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        profile: None,
        region: Some("us-east-1".into()),
    })
}

fn sh(script: &str) -> ExecutionRequest {
    agent(Command::Shell {
        command: script.into(),
        shell: "bash".into(),
    })
}

#[tokio::test]
async fn destructive_commands_are_denied_and_nothing_runs() {
    let cache = tempfile::tempdir().unwrap();
    let engine = engine("agent", None, &cache);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    for script in [
        "rm -rf /",
        "sudo rm -fr /",
        "bash -c 'rm --recursive --force /'",
    ] {
        let req = sh(&format!("touch {}; {script}", marker.display()));
        let (plugin, reason) = denied_by(engine.execute(req).await.unwrap_err());
        assert_eq!(plugin, "deny-commands", "{script}: {reason}");
        assert!(!marker.exists(), "{script} spawned something");
    }
    let r = engine
        .wait(
            engine
                .execute(sh("ls -la /tmp && git --version"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
}

/// Regression (audit): a static `bash -c` anywhere in the request made deny-commands drop
/// the "cannot split" finding of a dynamic `-c` script behind a wrapper, and the
/// normaliser did not flag such a script, so `sudo sh -c "$X"` ran whatever `$X` held.
/// An exec'd `bash -c` loop was not analysed at all.
#[tokio::test]
async fn a_dynamic_or_exec_shell_c_script_behind_a_wrapper_is_denied_and_nothing_runs() {
    let cache = tempfile::tempdir().unwrap();
    let engine = engine("agent", None, &cache);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let touch = format!("touch {}", marker.display());
    for script in [
        // `$X` comes from a command: only known at run time.
        format!(r#"X=$(printf '%s' '{touch}'); bash -c true; timeout 5 sh -c "$X""#),
        format!(r#"X=$(printf '%s' '{touch}'); bash -c true; sudo sh -c "$X""#),
    ] {
        let (plugin, reason) = denied_by(engine.execute(sh(&script)).await.unwrap_err());
        assert_eq!(plugin, "deny-commands", "{script}: {reason}");
        assert!(reason.contains("$X"), "{script}: {reason}");
        assert!(!marker.exists(), "{script} ran");
    }
    let looped = agent(Command::Exec {
        program: "timeout".into(),
        args: vec![
            "5".into(),
            "bash".into(),
            "-c".into(),
            format!("{touch}; for d in /; do rm -rf \"$d\"; done"),
        ],
    });
    let (plugin, reason) = denied_by(engine.execute(looped).await.unwrap_err());
    assert_eq!(plugin, "deny-commands", "{reason}");
    assert!(reason.contains("recursive delete"), "{reason}");
    assert!(!marker.exists(), "the exec'd loop ran");
}

#[tokio::test]
async fn env_injection_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let engine = engine("agent", None, &cache);
    let mut req = sh("ls");
    req.env.insert("LD_PRELOAD".into(), "/tmp/evil.so".into());
    assert_eq!(
        denied_by(engine.execute(req).await.unwrap_err()).0,
        "env-guard"
    );
    let (plugin, _) = denied_by(
        engine
            .execute(sh("BASH_ENV=/tmp/x bash -c true"))
            .await
            .unwrap_err(),
    );
    assert_eq!(plugin, "env-guard");
}

#[tokio::test]
async fn secrets_never_reach_the_result() {
    let cache = tempfile::tempdir().unwrap();
    let engine = engine("agent", None, &cache);
    let id = engine
        .execute(sh("echo key=AKIAABCDEFGHIJKLMNOP; echo token ghp_abcdefghijklmnopqrstuvwxyz0123456789 >&2; echo plain"))
        .await
        .unwrap();
    let r = engine.wait(id).await.unwrap();
    assert!(!r.stdout.contains("AKIAABCDEFGHIJKLMNOP"), "{}", r.stdout);
    assert!(
        !r.stderr
            .contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("REDACTED") && r.stdout.contains("plain"),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn requests_without_a_known_source_are_refused() {
    let cache = tempfile::tempdir().unwrap();
    let engine = engine("agent", None, &cache);
    let mut req = sh("true");
    req.metadata.source = None;
    assert!(matches!(
        engine.execute(req).await,
        Err(ExecutionError::Denied { .. })
    ));
}

#[tokio::test]
async fn the_jailed_profile_keeps_agents_in_their_roots() {
    let cache = tempfile::tempdir().unwrap();
    let engine = engine("agent", Some("jailed"), &cache);
    let mut req = sh("ls");
    req.working_dir = Some("/etc".into());
    assert_eq!(
        denied_by(engine.execute(req).await.unwrap_err()).0,
        "workdir-jail"
    );
    // Not /etc/shadow: deny-commands, first in the chain, asks about credential files.
    let (plugin, _) = denied_by(engine.execute(sh("cat /etc/hostname")).await.unwrap_err());
    assert_eq!(plugin, "workdir-jail");
    let mut req = sh("ls");
    req.working_dir = Some("/tmp".into());
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed);
}

#[tokio::test]
async fn aws_writes_need_the_write_tag() {
    let cache = tempfile::tempdir().unwrap();
    let engine = engine("agent", None, &cache);
    let (plugin, reason) = denied_by(engine.execute(s3("mb", &["s3://demo"])).await.unwrap_err());
    assert_eq!(plugin, "aws-guard", "{reason}");
    let mut endpoint = s3("ls", &["--endpoint-url", "http://evil.example"]);
    endpoint.metadata.source = Some("agent".into());
    assert_eq!(
        denied_by(engine.execute(endpoint).await.unwrap_err()).0,
        "aws-guard"
    );
    // That a read is allowed and runs is shown against moto below.
}

/// limits (agent policy): a timeout above the maximum is clamped, a request without one
/// gets the default, and an oversized request is refused before anything runs.
#[tokio::test]
async fn limits_clamps_and_defaults_timeouts_and_refuses_oversized_requests() {
    let cache = tempfile::tempdir().unwrap();
    let engine = engine("agent", None, &cache);

    let mut long = sh("echo clamped");
    long.timeout_ms = Some(10 * 3_600_000);
    let r = engine
        .wait(engine.execute(long).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed);
    let d = r.decision.unwrap();
    assert_eq!(d.request.timeout_ms, Some(3_600_000), "{d:?}");
    let step = d.steps.iter().find(|s| s.plugin == "limits").unwrap();
    assert!(
        step.diff.iter().any(|l| l == "+timeout_ms: 3600000"),
        "{:?}",
        step.diff
    );

    let r = engine
        .wait(engine.execute(sh("echo defaulted")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.decision.unwrap().request.timeout_ms, Some(600_000));

    let marker = tempfile::tempdir().unwrap();
    let ran = marker.path().join("ran");
    let mut args = vec!["-c".to_string(), format!("touch {}", ran.display())];
    args.extend((0..5000).map(|i| i.to_string()));
    let huge = agent(Command::Exec {
        program: "sh".into(),
        args,
    });
    let (plugin, reason) = denied_by(engine.execute(huge).await.unwrap_err());
    assert_eq!(plugin, "limits", "{reason}");
    assert!(!ran.exists(), "a refused request ran");
}

/// aws-guard (agent policy, profile `aws`: its sandbox reaches the network) against a moto
/// server: a read runs and sees the server, a write without the `aws-write` tag is refused
/// and changes nothing, the same write with the tag runs.
#[tokio::test]
async fn aws_guard_against_moto_reads_run_writes_need_the_tag() {
    let moto = Moto::start();
    let cache = tempfile::tempdir().unwrap();
    let engine = engine_with_env("agent", Some("aws"), &cache, moto.env());
    let run = |req: ExecutionRequest| {
        let engine = &engine;
        async move {
            engine
                .wait(engine.execute(req).await.unwrap())
                .await
                .unwrap()
        }
    };

    let r = run(s3("ls", &[])).await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{}", r.stderr);
    assert!(!r.stdout.contains("cloudops-e2e"), "{}", r.stdout);

    let (plugin, reason) = denied_by(
        engine
            .execute(s3("mb", &["s3://cloudops-e2e"]))
            .await
            .unwrap_err(),
    );
    assert_eq!(plugin, "aws-guard", "{reason}");
    let r = run(s3("ls", &[])).await;
    assert!(
        !r.stdout.contains("cloudops-e2e"),
        "a denied write ran: {}",
        r.stdout
    );

    let mut write = s3("mb", &["s3://cloudops-e2e"]);
    write
        .metadata
        .tags
        .insert("aws-write".into(), "true".into());
    let r = run(write).await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{}", r.stderr);
    let r = run(s3("ls", &[])).await;
    assert!(r.stdout.contains("cloudops-e2e"), "{}", r.stdout);
}
