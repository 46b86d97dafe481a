//! `cloudops aws SERVICE OPERATION ... --aws-profile --region` end to end, against a moto
//! server on loopback (`moto_server` from PyPI, installed by scripts/setup.sh with awscli).

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::util::{Dir, Run};

/// A moto server on loopback and an AWS config with `production` and `sandbox` profiles;
/// the server is killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
    dir: tempfile::TempDir,
}

impl Moto {
    fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect(
                "moto_server not found: run scripts/setup.sh (pip install awscli 'moto[server]')",
            );
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            dir: tempfile::tempdir().expect("tempdir"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline || moto.child.try_wait().ok().flatten().is_some() {
                panic!("moto_server did not start on {}", moto.endpoint);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let write = |name: &str, text: &str| {
            std::fs::write(moto.dir.path().join(name), text).expect("write aws config");
        };
        write(
            "config",
            "[default]\nregion = us-east-1\n[profile production]\nregion = us-west-2\n[profile sandbox]\nregion = eu-west-1\n",
        );
        let keys = "aws_access_key_id = testing\naws_secret_access_key = testing\n";
        write(
            "credentials",
            &format!("[default]\n{keys}[production]\n{keys}[sandbox]\n{keys}"),
        );
        moto
    }

    /// `cmd` pointed at this server (the aws CLI inherits the variables through cloudops).
    fn env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        let p = |f: &str| self.dir.path().join(f);
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_CONFIG_FILE", p("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", p("credentials"))
            .env("AWS_PAGER", "")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_PROFILE")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
    }

    /// `cloudops ARGS` in `d` against this server.
    fn run(&self, d: &Dir, args: &[&str]) -> Run {
        let mut cmd = d.cmd(args);
        Run(self.env(&mut cmd).output().expect("spawn cloudops"))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let direct = moto.env(&mut direct).output().expect("aws");
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
