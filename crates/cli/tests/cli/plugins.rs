//! The whole chain through real Wasm plugins (the host's test plugins): deny, rewrite, ask,
//! output redaction, plugin failures, and the load errors of a policy (not a component,
//! sha256 mismatch, init rejecting its config).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::util::Dir;

/// Builds plugins/testing/* for wasm32-wasip2 once per test run; returns the directory of the `.wasm` files.
fn built() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let target = tmp.parent().expect("target dir").join("wasm");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/Cargo.toml");
        let mut cmd =
            std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(manifest)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
        for p in [
            "allow-all",
            "deny-pattern",
            "rewrite",
            "ask",
            "redact",
            "hostile",
        ] {
            cmd.args(["-p", &format!("test-{p}")]);
        }
        assert!(
            cmd.status().expect("cargo").success(),
            "building the test plugins failed"
        );
        target.join("wasm32-wasip2/release")
    })
}

/// A scratch directory with the test plugins copied in as `NAME.wasm`.
pub fn dir_with_plugins() -> Dir {
    let d = Dir::new();
    for p in [
        "allow-all",
        "deny-pattern",
        "rewrite",
        "ask",
        "redact",
        "hostile",
    ] {
        let from = built().join(format!("test_{}.wasm", p.replace('-', "_")));
        std::fs::copy(&from, d.path().join(format!("{p}.wasm"))).expect("copy plugin");
    }
    d
}

const CHAIN: &str = r#"version = 1
[plugins.strip]
source = "rewrite.wasm"
config = { strip_env = ["SECRET"] }
[plugins.no-rm]
source = "deny-pattern.wasm"
config = { programs = ["rm"] }
[plugins.redact]
source = "redact.wasm"
[plugins.human]
source = "ask.wasm"

[[rules]]
name = "agents"
when = { source = "agent" }
plugins = ["strip", "no-rm", "redact"]
[[rules]]
name = "deploys ask"
when = { tags = { action = "deploy" } }
plugins = ["human"]

[[tests]]
name = "rm is denied"
exec = ["rm", "-rf", "/tmp/x"]
source = "agent"
expect = "deny"
reason = "not allowed"
[[tests]]
name = "a secret env var is stripped"
exec = ["ls"]
env = { SECRET = "s3cr3t" }
source = "agent"
expect = "rewrite"
argv = ["ls"]
[[tests]]
name = "ls runs"
exec = ["ls"]
source = "agent"
expect = "allow"
[[tests]]
name = "a deploy asks"
exec = ["ls"]
tags = { action = "deploy" }
expect = "ask"
"#;

#[test]
fn a_plugin_denial_is_126_and_names_the_plugin_and_reason() {
    let d = dir_with_plugins();
    d.write("p.toml", CHAIN);
    let r = d.run(&[
        "--policy", "p.toml", "--source", "agent", "run", "--", "rm", "-rf", "x",
    ]);
    r.expect_code(126);
    insta::assert_snapshot!(r.stderr(), @r#"
    error: denied by no-rm: program "rm" is not allowed
    hint: the policy's rules agents apply to this request; run it with --check to see the decision trace
    "#);
}

#[test]
fn check_shows_each_plugin_its_verdict_and_what_it_changed() {
    let d = dir_with_plugins();
    d.write("p.toml", CHAIN);
    let r = d.run(&[
        "--policy", "p.toml", "--source", "agent", "--env", "SECRET=x", "--json", "run", "--check",
        "--", "ls",
    ]);
    r.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(r.stdout().trim()).expect("json");
    assert_eq!(v["verdict"], "rewrite");
    assert_eq!(v["plugin"], "strip");
    let trace = v["trace"].as_array().expect("trace");
    let names: Vec<&str> = trace
        .iter()
        .map(|s| s["plugin"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names[..2], ["strip", "no-rm"]);
    assert_eq!(trace[0]["verdict"], "rewrite");
    assert!(
        v["request"]["env"].get("SECRET").is_none(),
        "{}",
        v["request"]
    );
    let text = d.run(&[
        "--policy", "p.toml", "--source", "agent", "--env", "SECRET=x", "run", "--check", "--",
        "ls",
    ]);
    text.expect_code(0);
    let out = text.stdout();
    assert!(out.starts_with("decision: rewrite by strip"), "{out}");
    assert!(out.contains("1. strip"), "{out}");
    assert!(out.contains("2. no-rm"), "{out}");
}

#[test]
fn a_rewrite_changes_what_runs() {
    let d = dir_with_plugins();
    d.write("p.toml", CHAIN);
    let r = d.run(&[
        "--policy",
        "p.toml",
        "--source",
        "agent",
        "--env",
        "SECRET=x",
        "sh",
        "echo ${SECRET:-stripped}",
    ]);
    r.expect_code(0);
    assert_eq!(r.stdout(), "stripped\n");
}

#[test]
fn secrets_are_redacted_from_the_streamed_output() {
    let d = dir_with_plugins();
    d.write("p.toml", CHAIN);
    let r = d.run(&[
        "--policy",
        "p.toml",
        "--source",
        "agent",
        "sh",
        "echo key=AKIAABCDEFGHIJKLMNOP; echo fine",
    ]);
    r.expect_code(0);
    assert_eq!(r.stdout(), "key=[REDACTED]\nfine\n");
}

#[test]
fn ask_without_a_terminal_is_denied_unless_yes() {
    let d = dir_with_plugins();
    d.write("p.toml", CHAIN);
    let r = d.run(&[
        "--policy",
        "p.toml",
        "--tag",
        "action=deploy",
        "sh",
        "touch ran",
    ]);
    r.expect_code(126);
    assert!(
        r.stderr()
            .starts_with("error: denied by human: needs a human"),
        "{}",
        r.stderr()
    );
    assert!(!d.path().join("ran").exists());
    d.run(&[
        "--policy",
        "p.toml",
        "--tag",
        "action=deploy",
        "--yes",
        "sh",
        "touch ran",
    ])
    .expect_code(0);
    assert!(d.path().join("ran").exists());
}

#[test]
fn policy_test_runs_the_tests_through_the_plugins() {
    let d = dir_with_plugins();
    d.write("p.toml", CHAIN);
    let r = d.run(&["policy", "test", "p.toml"]);
    r.expect_code(0);
    assert!(
        r.stdout().ends_with("4 passed, 0 failed\n"),
        "{}",
        r.stdout()
    );
    d.run(&["policy", "validate", "p.toml"]).expect_code(0);
}

#[test]
fn a_failing_plugin_fails_closed_unless_told_otherwise() {
    let d = dir_with_plugins();
    let policy = |on_error: &str| {
        format!(
            "version = 1\n[plugins.bad]\nsource = \"hostile.wasm\"\non_error = \"{on_error}\"\nconfig = {{ attack = \"panic\" }}\n[[rules]]\nname = \"all\"\nplugins = [\"bad\"]\n"
        )
    };
    d.write("closed.toml", &policy("deny"));
    d.run(&["--policy", "closed.toml", "run", "--", "true"])
        .expect_code(126);
    d.write("open.toml", &policy("allow"));
    d.run(&["--policy", "open.toml", "run", "--", "true"])
        .expect_code(0);
}

fn validate_error(d: &Dir, text: &str) -> String {
    d.write("policy.toml", text);
    let r = d.run(&["policy", "validate", "policy.toml"]);
    r.expect_code(125);
    r.stderr()
}

#[test]
fn a_file_that_is_not_a_component_is_an_error_at_source() {
    let d = dir_with_plugins();
    d.write("junk.wasm", "this is not wasm");
    insta::assert_snapshot!(validate_error(
        &d,
        "version = 1\n[plugins.junk]\nsource = \"junk.wasm\"\n[[rules]]\nname = \"r\"\nplugins = [\"junk\"]\n"
    ));
}

#[test]
fn a_sha256_mismatch_is_an_error_at_the_pin() {
    let d = dir_with_plugins();
    let pin = "0".repeat(64);
    let out = validate_error(
        &d,
        &format!(
            "version = 1\n[plugins.a]\nsource = \"allow-all.wasm\"\nsha256 = \"{pin}\"\n[[rules]]\nname = \"r\"\nplugins = [\"a\"]\n"
        ),
    );
    let first = out.lines().take(2).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(first, @r"
    error: plugin 'a' could not be loaded: sha256 mismatch
     --> policy.toml:4:10
    ");
    assert!(out.contains(&format!("expected {pin}")), "{out}");
}

#[test]
fn a_config_the_plugin_rejects_is_an_error_at_the_config() {
    let d = dir_with_plugins();
    insta::assert_snapshot!(validate_error(
        &d,
        "version = 1\n[plugins.no-rm]\nsource = \"deny-pattern.wasm\"\nconfig = { program = [\"rm\"] }\n[[rules]]\nname = \"r\"\nplugins = [\"no-rm\"]\n"
    ));
}
