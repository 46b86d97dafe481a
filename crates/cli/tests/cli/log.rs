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
