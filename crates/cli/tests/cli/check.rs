//! `--check`: the decision without running, as text and as one JSON object; exit 0 or 126.

use crate::util::Dir;

const POLICY: &str = r#"version = 1
[defaults]
unmatched = "deny"
[[rules]]
name = "ci"
when = { source = "ci", kind = ["exec", "shell"] }
plugins = []
"#;

#[test]
fn check_prints_the_trace_and_does_not_run() {
    let d = Dir::new();
    d.write("p.toml", POLICY);
    let r = d.run(&[
        "--policy",
        "p.toml",
        "--source",
        "ci",
        "sh",
        "--check",
        "touch ran",
    ]);
    r.expect_code(0);
    assert!(
        !d.path().join("ran").exists(),
        "--check must not run the command"
    );
    insta::assert_snapshot!(r.stdout(), @r"
    decision: allow (would run)
    policy:   p.toml (rules: ci)
    sandbox:  none (the command would run unconfined)
    request:  bash -c 'touch ran'
    ");
}

#[test]
fn check_json_has_verdict_plugin_reason_request_and_trace() {
    let d = Dir::new();
    d.write("p.toml", POLICY);
    let r = d.run(&[
        "--policy", "p.toml", "--json", "--source", "agent", "run", "--check", "--", "ls", "-l",
    ]);
    r.expect_code(126);
    let v: serde_json::Value = serde_json::from_str(r.stdout().trim()).expect("one JSON object");
    assert_eq!(v["verdict"], "deny");
    assert_eq!(v["plugin"], "policy");
    assert_eq!(v["reason"], "no rule of the policy matches this request");
    assert_eq!(v["request"]["command"]["program"], "ls");
    assert_eq!(v["request"]["metadata"]["source"], "agent");
    assert!(v["trace"].is_array());
}

#[test]
fn check_of_a_missing_program_is_127() {
    let d = Dir::new();
    d.run(&["run", "--check", "--", "no-such-program-xyz"])
        .expect_code(127);
}
