//! `cloudops policy test`: runs the [[tests]], prints a report, fails when one fails.

use crate::util::Dir;

const POLICY: &str = r#"version = 1
[defaults]
unmatched = "deny"

[[rules]]
name = "ci"
when = { source = "ci" }
plugins = []

[profiles.open]
defaults = { unmatched = "allow" }

[[tests]]
name = "agents are denied"
shell = "ls"
source = "agent"
expect = "deny"
reason = "no rule"

[[tests]]
name = "ci runs"
exec = ["make", "test"]
source = "ci"
expect = "allow"

[[tests]]
name = "the open profile lets agents run"
shell = "ls"
source = "agent"
profile = "open"
expect = "allow"
"#;

#[test]
fn passing_tests_report_ok_and_exit_0() {
    let d = Dir::new();
    d.write("p.toml", POLICY);
    let r = d.run(&["policy", "test", "p.toml"]);
    r.expect_code(0);
    insta::assert_snapshot!(r.stdout(), @r"
    ok      agents are denied
    ok      ci runs
    ok      the open profile lets agents run
    3 passed, 0 failed
    ");
}

#[test]
fn a_failing_test_says_what_it_got_and_where_and_exits_1() {
    let d = Dir::new();
    d.write(
        "p.toml",
        &format!("{POLICY}\n[[tests]]\nname = \"wrong\"\naws = [\"s3\", \"ls\"]\nsource = \"agent\"\nexpect = \"allow\"\n"),
    );
    let r = d.run(&["policy", "test", "p.toml"]);
    r.expect_code(1);
    insta::assert_snapshot!(r.stdout(), @r"
    ok      agents are denied
    ok      ci runs
    ok      the open profile lets agents run
    FAILED  wrong
            expected allow, got deny (by policy: no rule of the policy matches this request)
            at p.toml:33:1
    3 passed, 1 failed
    ");
}
