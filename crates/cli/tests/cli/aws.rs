//! `cloudops aws SERVICE OPERATION ... --aws-profile --region` end to end, against a moto
//! server on loopback (`moto_server` from PyPI, installed by scripts/setup.sh with awscli).

use std::process::Command;

use cloudops_test_support::Moto;

use crate::util::{Dir, Run};

/// The AWS side of these tests: a moto server (its config has `production` and `sandbox`
/// profiles) and `cloudops` pointed at it.
trait MotoCli {
    /// `cmd` pointed at this server (the aws CLI inherits the variables through cloudops),
    /// with the caller's own AWS profile, region and keys taken away.
    fn point<'c>(&self, cmd: &'c mut Command) -> &'c mut Command;
    /// `cloudops ARGS` in `d` against this server.
    fn run(&self, d: &Dir, args: &[&str]) -> Run;
}

impl MotoCli for Moto {
    fn point<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.envs(self.env())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_PROFILE")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
    }

    fn run(&self, d: &Dir, args: &[&str]) -> Run {
        let mut cmd = d.cmd(args);
        Run(self.point(&mut cmd).output().expect("spawn cloudops"))
    }
}

#[test]
fn aws_runs_the_aws_cli_with_the_profile_and_region_given() {
    let moto = Moto::start();
    let d = Dir::new();
    let r = moto.run(
        &d,
        &[
            "aws",
            "s3",
            "mb",
            "s3://cloudops-cli-test",
            "--aws-profile",
            "production",
            "--region",
            "us-east-1",
        ],
    );
    r.expect_code(0);
    assert_eq!(r.stdout(), "make_bucket: cloudops-cli-test\n");
    // Options may also come after the operation's own arguments.
    let r = moto.run(&d, &["aws", "s3", "ls", "--aws-profile=production"]);
    r.expect_code(0);
    assert!(r.stdout().contains("cloudops-cli-test"), "{}", r.stdout());
    // The region reaches the CLI: EC2 answers for the region asked.
    let r = moto.run(
        &d,
        &[
            "aws",
            "ec2",
            "describe-availability-zones",
            "--region",
            "eu-west-1",
            "--output",
            "json",
        ],
    );
    r.expect_code(0);
    let zones: serde_json::Value = serde_json::from_str(r.stdout().trim()).expect("aws JSON");
    let first = zones["AvailabilityZones"][0]["ZoneName"]
        .as_str()
        .expect("a zone");
    assert!(first.starts_with("eu-west-1"), "{zones}");
}

#[test]
fn a_failing_aws_call_passes_the_aws_clis_exit_code_and_stderr_through() {
    let moto = Moto::start();
    let d = Dir::new();
    let mut direct = Command::new("aws");
    direct.args([
        "s3",
        "ls",
        "s3://no-such-bucket-xyz",
        "--region",
        "us-east-1",
    ]);
    let direct = moto.point(&mut direct).output().expect("aws");
    let want = direct.status.code().expect("aws exit code");
    assert_ne!(want, 0);
    let r = moto.run(
        &d,
        &[
            "aws",
            "s3",
            "ls",
            "s3://no-such-bucket-xyz",
            "--region",
            "us-east-1",
        ],
    );
    r.expect_code(want);
    assert!(r.stderr().contains("NoSuchBucket"), "{}", r.stderr());
}

/// Only the sandbox profile in eu-* regions may run.
const SANDBOX_ONLY: &str = r#"version = 1
[defaults]
unmatched = "deny"
[[rules]]
name = "sandbox in europe"
when = { kind = "aws", aws_profile = "sandbox", aws_region = "eu-*" }
plugins = []
"#;

#[test]
fn the_aws_profile_and_region_are_what_policy_rules_match_on() {
    let moto = Moto::start();
    let d = Dir::new();
    d.write("p.toml", SANDBOX_ONLY);
    let check = moto.run(
        &d,
        &[
            "--policy",
            "p.toml",
            "--json",
            "aws",
            "--check",
            "sts",
            "get-caller-identity",
            "--aws-profile",
            "sandbox",
            "--region",
            "eu-west-1",
        ],
    );
    check.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(check.stdout().trim()).expect("json");
    assert_eq!(v["rules"][0], "sandbox in europe");
    assert_eq!(v["request"]["command"]["profile"], "sandbox");
    assert_eq!(v["request"]["command"]["region"], "eu-west-1");
    let r = moto.run(
        &d,
        &[
            "--policy",
            "p.toml",
            "aws",
            "sts",
            "get-caller-identity",
            "--aws-profile",
            "sandbox",
            "--region",
            "eu-west-1",
            "--output",
            "text",
        ],
    );
    r.expect_code(0);
    assert!(!r.stdout().trim().is_empty(), "{}", r.stderr());
    for (profile, region) in [("production", "eu-west-1"), ("sandbox", "us-east-1")] {
        let r = moto.run(
            &d,
            &[
                "--policy",
                "p.toml",
                "aws",
                "sts",
                "get-caller-identity",
                "--aws-profile",
                profile,
                "--region",
                region,
            ],
        );
        r.expect_code(126);
        assert!(
            r.stderr()
                .starts_with("error: denied by policy: no rule of the policy matches this request"),
            "{}",
            r.stderr()
        );
    }
}

#[test]
fn a_plan_step_can_be_an_aws_call() {
    let moto = Moto::start();
    let d = Dir::new();
    d.write(
        "plan.toml",
        "strategy = \"serial\"\n[[steps]]\nname = \"make\"\naws = [\"s3\", \"mb\", \"s3://plan-bucket\"]\naws_profile = \"sandbox\"\naws_region = \"eu-west-1\"\n[[steps]]\nname = \"list\"\naws = [\"s3\", \"ls\"]\naws_profile = \"sandbox\"\n",
    );
    let r = moto.run(&d, &["plan", "plan.toml"]);
    r.expect_code(0);
    assert!(
        r.stdout().contains("[make] make_bucket: plan-bucket")
            && r.stdout().contains("plan-bucket\n"),
        "{}",
        r.stdout()
    );
}
