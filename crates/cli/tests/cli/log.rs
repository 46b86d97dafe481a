//! The decision log: a decision line before the command starts, a completion line after; no log, no run.

use crate::util::Dir;

#[test]
fn audit_log_gets_a_decision_and_a_completion_line() {
    let d = Dir::new();
    d.write(
        "p.toml",
        "version = 1\n[[rules]]\nname = \"all\"\nplugins = []\n",
    );
    let r = d.run(&[
        "--policy",
        "p.toml",
        "--audit-log",
        "decisions.jsonl",
        "--source",
        "agent",
        "--tag",
        "env=dev",
        "sh",
        "echo secret-output; exit 2",
    ]);
    r.expect_code(2);
    let text = std::fs::read_to_string(d.path().join("decisions.jsonl")).expect("log written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["type"], "decision");
    assert_eq!(lines[0]["source"], "agent");
    assert_eq!(lines[0]["tags"]["env"], "dev");
    assert_eq!(lines[0]["rules"][0], "all");
    assert_eq!(
        lines[0]["request"]["command"]["command"],
        "echo secret-output; exit 2"
    );
    assert_eq!(lines[1]["type"], "completion");
    assert_eq!(lines[1]["exit_code"], 2);
    assert_eq!(lines[1]["status"], "failed");
    assert_eq!(lines[0]["execution_id"], lines[1]["execution_id"]);
    assert!(!text.contains("secret-output\\n"), "output is never logged");
}

#[test]
fn a_decision_log_that_cannot_be_written_stops_the_command() {
    let d = Dir::new();
    d.write(
        "p.toml",
        "version = 1\n[[rules]]\nname = \"all\"\nplugins = []\n",
    );
    let r = d.run(&[
        "--policy",
        "p.toml",
        "--audit-log",
        "no/such/dir/log.jsonl",
        "sh",
        "touch ran",
    ]);
    r.expect_code(125);
    assert!(
        r.stderr()
            .starts_with("error: could not open the decision log 'no/such/dir/log.jsonl'"),
        "{}",
        r.stderr()
    );
    assert!(!d.path().join("ran").exists());
}

#[test]
fn the_policy_can_name_its_decision_log() {
    let d = Dir::new();
    d.write(
        "etc/p.toml",
        "version = 1\n[decision_log]\npath = \"audit.jsonl\"\nfsync = \"decisions\"\n",
    );
    d.run(&["--policy", "etc/p.toml", "run", "--", "true"])
        .expect_code(0);
    let text = std::fs::read_to_string(d.path().join("etc/audit.jsonl"))
        .expect("relative to the policy file");
    assert_eq!(text.lines().count(), 2, "{text}");
}

/// Issue 18: the log and `--check` keep what happened (the variable's name, the header,
/// the command's kind) but not the secrets in the command line or the environment.
#[test]
fn secrets_in_the_command_and_environment_are_masked_in_the_log_and_the_check() {
    const TOKEN: &str = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    const KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let d = Dir::new();
    d.write(
        "p.toml",
        "version = 1\n[[rules]]\nname = \"all\"\nplugins = []\n",
    );
    let command = format!("echo curl -H 'Authorization: Bearer {TOKEN}' https://api.example.com");
    let env = format!("AWS_SECRET_ACCESS_KEY={KEY}");
    let r = d.run(&[
        "--policy",
        "p.toml",
        "--audit-log",
        "decisions.jsonl",
        "--env",
        &env,
        "sh",
        &command,
    ]);
    r.expect_code(0);
    let text = std::fs::read_to_string(d.path().join("decisions.jsonl")).expect("log written");
    assert!(!text.contains(TOKEN) && !text.contains(KEY), "{text}");
    let decision: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a decision line")).expect("JSON");
    assert_eq!(
        decision["request"]["env"]["AWS_SECRET_ACCESS_KEY"],
        "[REDACTED:aws-secret-key]"
    );
    assert_eq!(
        decision["request"]["command"]["command"],
        "echo curl -H 'Authorization: Bearer [REDACTED:github-token]' https://api.example.com"
    );
    let check = d.run(&[
        "--policy", "p.toml", "--env", &env, "sh", "--check", &command,
    ]);
    check.expect_code(0);
    assert!(!check.stdout().contains(TOKEN), "{}", check.stdout());
    assert!(
        check.stdout().contains("Authorization: Bearer [REDACTED:"),
        "{}",
        check.stdout()
    );
    let json = d.run(&[
        "--policy", "p.toml", "--json", "--env", &env, "sh", "--check", &command,
    ]);
    assert!(
        !json.stdout().contains(TOKEN) && !json.stdout().contains(KEY),
        "{}",
        json.stdout()
    );
}
