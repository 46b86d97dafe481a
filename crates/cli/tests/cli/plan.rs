//! Plans: serial and parallel runs, stop on error, summary table, plan file errors.

use crate::util::Dir;

#[test]
fn a_serial_plan_runs_every_step_and_prints_a_summary() {
    let d = Dir::new();
    d.write(
        "plan.toml",
        r#"description = "two steps"
strategy = "serial"
[[steps]]
name = "first"
shell = "echo one"
[[steps]]
name = "second"
exec = ["echo", "two"]
"#,
    );
    let r = d.run(&["plan", "plan.toml"]);
    r.expect_code(0);
    assert_eq!(r.stdout(), "[first] one\n[second] two\n");
    let err = r.stderr();
    assert!(err.contains("[1/2] first: completed"), "{err}");
    assert!(
        err.contains("plan completed: 2 completed, 0 failed, 0 timed out, 0 cancelled, of 2"),
        "{err}"
    );
}

#[test]
fn a_failing_step_stops_a_serial_plan_and_exits_1() {
    let d = Dir::new();
    d.write(
        "plan.toml",
        "strategy = \"serial\"\n[[steps]]\nshell = \"exit 4\"\n[[steps]]\nshell = \"touch ran\"\n",
    );
    let r = d.run(&["plan", "plan.toml"]);
    r.expect_code(1);
    assert!(
        !d.path().join("ran").exists(),
        "stop_on_error defaults to true"
    );
    assert!(r.stderr().contains("1 failed"), "{}", r.stderr());
}

#[test]
fn a_parallel_plan_reports_json() {
    let d = Dir::new();
    d.write(
        "plan.toml",
        "strategy = \"parallel\"\nmax_concurrency = 2\n[[steps]]\nexec = [\"true\"]\n[[steps]]\nexec = [\"false\"]\n[[steps]]\nshell = \"sleep 0.1\"\n",
    );
    let r = d.run(&["--json", "plan", "plan.toml"]);
    r.expect_code(1);
    let v: serde_json::Value = serde_json::from_str(r.stdout().trim()).expect("json");
    assert_eq!(v["stats"]["completed"], 2);
    assert_eq!(v["stats"]["failed"], 1);
    assert_eq!(v["steps"][1]["exit_code"], 1);
}

#[test]
fn a_plan_step_with_two_commands_is_an_error_at_the_step() {
    let d = Dir::new();
    d.write(
        "plan.toml",
        "strategy = \"serial\"\n[[steps]]\nshell = \"ls\"\nexec = [\"ls\"]\n",
    );
    let r = d.run(&["plan", "plan.toml"]);
    r.expect_code(125);
    insta::assert_snapshot!(r.stderr());
}

#[test]
fn a_plan_with_an_unknown_key_is_an_error_at_the_key() {
    let d = Dir::new();
    d.write(
        "plan.toml",
        "strategy = \"serial\"\n[[steps]]\nshel = \"ls\"\n",
    );
    let r = d.run(&["plan", "plan.toml"]);
    r.expect_code(125);
    insta::assert_snapshot!(r.stderr());
}

#[test]
fn a_denied_step_refuses_the_whole_plan() {
    let d = Dir::new();
    d.write("p.toml", "version = 1\n[defaults]\nunmatched = \"deny\"\n[[rules]]\nname = \"ci\"\nwhen = { source = \"ci\" }\nplugins = []\n");
    d.write(
        "plan.toml",
        "strategy = \"serial\"\n[[steps]]\nshell = \"touch a\"\nsource = \"ci\"\n[[steps]]\nshell = \"touch b\"\nsource = \"agent\"\n",
    );
    let r = d.run(&["--policy", "p.toml", "plan", "plan.toml"]);
    r.expect_code(126);
    assert!(
        !d.path().join("a").exists() && !d.path().join("b").exists(),
        "nothing runs"
    );
    assert!(
        r.stderr()
            .starts_with("error: step 2 (bash -c 'touch b'): denied by policy: "),
        "{}",
        r.stderr()
    );
    assert!(
        r.stderr().contains("nothing in the plan ran"),
        "{}",
        r.stderr()
    );
}
