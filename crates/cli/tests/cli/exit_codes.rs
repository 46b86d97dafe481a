//! Every documented exit code, produced the way a user would meet it.

use std::time::{Duration, Instant};

use crate::util::Dir;

const DENY_UNMATCHED: &str = r#"version = 1
[defaults]
unmatched = "deny"
[[rules]]
name = "ci may run anything"
when = { source = "ci" }
plugins = []
"#;

#[test]
fn success_is_0_and_the_output_is_passed_through() {
    let d = Dir::new();
    let r = d.run(&["run", "--", "printf", "a\\nb\\n"]);
    r.expect_code(0);
    assert_eq!(r.stdout(), "a\nb\n");
}

#[test]
fn the_childs_exit_code_and_stderr_are_passed_through() {
    let d = Dir::new();
    let r = d.run(&["sh", "echo out; echo err >&2; exit 3"]);
    r.expect_code(3);
    assert_eq!(r.stdout(), "out\n");
    assert_eq!(r.stderr(), "err\n");
}

#[test]
fn a_timeout_is_124_and_says_so() {
    let d = Dir::new();
    let start = Instant::now();
    let r = d.run(&["--timeout", "300ms", "sh", "sleep 20"]);
    r.expect_code(124);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        r.stderr().contains("timed out after 300 ms"),
        "{}",
        r.stderr()
    );
}

#[test]
fn a_timeout_too_long_for_the_engine_is_refused_not_cut_short() {
    let d = Dir::new();
    // One second past u64::MAX milliseconds: a truncating cast made this a 384 ms timeout.
    let r = d.run(&["--timeout", "18446744073709552s", "sh", "touch ran"]);
    r.expect_code(125);
    insta::assert_snapshot!(r.stderr(), @r#"
    error: invalid --timeout "18446744073709552s": too long: at most 18446744073709551615 ms (about 584 million years)
    hint: write a duration such as 500ms, 30s, 5m or 1h; leave --timeout out for none
    "#);
    assert!(!d.path().join("ran").exists(), "nothing runs");
    // Too long even for the duration parser: refused too, naming the flag.
    let r = d.run(&["--timeout", "600000000000000000000s", "sh", "touch ran"]);
    r.expect_code(125);
    assert!(
        r.stderr()
            .starts_with("error: invalid --timeout \"600000000000000000000s\": "),
        "{}",
        r.stderr()
    );
    assert!(!d.path().join("ran").exists(), "nothing runs");
}

#[test]
fn a_zero_timeout_is_refused_not_an_instant_kill() {
    let d = Dir::new();
    // It was accepted and the command killed at once (exit 124); policy and plan files
    // refuse a zero timeout as well.
    let r = d.run(&["--timeout", "0s", "sh", "touch ran"]);
    r.expect_code(125);
    insta::assert_snapshot!(r.stderr(), @r#"
    error: invalid --timeout "0s": expected a positive duration (at least 1ms)
    hint: write a duration such as 500ms, 30s, 5m or 1h; leave --timeout out for none
    "#);
    assert!(!d.path().join("ran").exists(), "nothing runs");
    // Less than the engine's millisecond is zero to it: refused the same way, for plans too.
    d.write(
        "plan.toml",
        "strategy = \"serial\"\n[[steps]]\nshell = \"touch ran\"\n",
    );
    let r = d.run(&["--timeout", "500us", "plan", "plan.toml"]);
    r.expect_code(125);
    assert_eq!(
        r.stderr().lines().next(),
        Some("error: invalid --timeout \"500us\": expected a positive duration (at least 1ms)")
    );
    assert!(!d.path().join("ran").exists(), "nothing runs");
}

#[test]
fn a_denial_is_126_with_the_reason_and_a_hint() {
    let d = Dir::new();
    d.write("p.toml", DENY_UNMATCHED);
    let r = d.run(&["--policy", "p.toml", "sh", "touch ran"]);
    r.expect_code(126);
    insta::assert_snapshot!(r.stderr(), @r"
    error: denied by policy: no rule of the policy matches this request
    hint: run the same command with --check to see the decision trace
    ");
    assert!(
        !d.path().join("ran").exists(),
        "a denied command must not run"
    );
    d.run(&["--policy", "p.toml", "--source", "ci", "sh", "touch ran"])
        .expect_code(0);
    assert!(d.path().join("ran").exists());
}

#[test]
fn a_missing_program_is_127() {
    let d = Dir::new();
    let r = d.run(&["run", "--", "no-such-program-xyz"]);
    r.expect_code(127);
    assert!(
        r.stderr()
            .starts_with("error: program not found: 'no-such-program-xyz'"),
        "{}",
        r.stderr()
    );
    assert!(r.stderr().contains("hint: "), "{}", r.stderr());
}

#[test]
fn errors_of_cloudops_itself_are_125() {
    let d = Dir::new();
    let r = d.run(&["--tag", "nokey", "run", "--", "true"]);
    r.expect_code(125);
    insta::assert_snapshot!(r.stderr(), @r#"
    error: invalid --tag "nokey"
    hint: expected KEY=VALUE, e.g. --tag env=prod
    "#);
    d.run(&["--policy", "missing.toml", "run", "--", "true"])
        .expect_code(125);
    d.run(&["run", "--no-such-flag", "--", "true"])
        .expect_code(125);
}

#[test]
fn ctrl_c_is_130_and_stops_the_whole_process_tree() {
    let d = Dir::new();
    let marker = format!("sleep 37.{}", std::process::id());
    let child = d
        .cmd(&["sh", &format!("{marker} & {marker}; echo never")])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(700));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("never"));
    std::thread::sleep(Duration::from_millis(300));
    let left = std::process::Command::new("pgrep")
        .args(["-f", &marker])
        .output()
        .expect("pgrep");
    assert!(
        left.stdout.is_empty(),
        "orphans left: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn no_policy_runs_ungated_and_verbose_says_so() {
    let d = Dir::new();
    let r = d.run(&["-v", "run", "--", "true"]);
    r.expect_code(0);
    assert!(
        r.stderr().contains("no policy file found"),
        "{}",
        r.stderr()
    );
}

#[test]
fn the_default_search_finds_cloudops_toml_in_the_current_directory() {
    let d = Dir::new();
    d.write("cloudops.toml", DENY_UNMATCHED);
    d.run(&["run", "--", "true"]).expect_code(126);
}

#[test]
fn an_unknown_profile_is_an_error_listing_the_defined_ones() {
    let d = Dir::new();
    d.write("p.toml", "version = 1\n[profiles.prod]\n[profiles.dev]\n");
    let r = d.run(&[
        "--policy",
        "p.toml",
        "--profile",
        "staging",
        "run",
        "--",
        "true",
    ]);
    r.expect_code(125);
    insta::assert_snapshot!(r.stderr(), @r"
    error: unknown profile 'staging' in policy 'p.toml'
    hint: the policy defines these profiles: dev, prod
    ");
}

#[test]
fn a_child_killed_by_a_signal_is_128_plus_the_signal() {
    let d = Dir::new();
    d.run(&["sh", "kill -TERM $$"]).expect_code(128 + 15);
    d.run(&["run", "--", "sh", "-c", "kill -KILL $$"])
        .expect_code(128 + 9);
}

#[test]
fn a_timed_out_plan_step_fails_the_plan_with_1_and_is_counted() {
    let d = Dir::new();
    d.write(
        "plan.toml",
        "strategy = \"serial\"\n[[steps]]\nname = \"slow\"\nshell = \"sleep 20\"\ntimeout = \"300ms\"\n[[steps]]\nshell = \"touch ran\"\n",
    );
    let start = Instant::now();
    let r = d.run(&["plan", "plan.toml"]);
    r.expect_code(1);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(r.stderr().contains(" 1 timed out, "), "{}", r.stderr());
    assert!(
        !d.path().join("ran").exists(),
        "stop_on_error stops at a timeout too"
    );
}

#[test]
fn json_errors_carry_the_exit_code() {
    let d = Dir::new();
    d.write("p.toml", DENY_UNMATCHED);
    let r = d.run(&["--json", "--policy", "p.toml", "run", "--", "true"]);
    r.expect_code(126);
    let v: serde_json::Value = serde_json::from_str(r.stdout().trim()).expect("one JSON object");
    assert_eq!(v["exit_code"], 126);
    assert_eq!(
        v["error"],
        "denied by policy: no rule of the policy matches this request"
    );
}
