//! The kernel sandbox through the CLI: what a policy's sandbox stops (aimed at canaries only), what `--check`, `-v` and the decision log say about it, `kill -9` of cloudops, and a kernel without support.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::util::{Dir, MARKER_VAR, Marked};

/// A policy whose every `agent` request runs in sandbox `s`: writes only to the working
/// directory, the default hidden and protected paths, no network.
fn policy(extra: &str) -> String {
    format!(
        "version = 1\n\
         [defaults]\nsandbox = \"s\"\n\
         [sandboxes.s]\nwrite = [\"{{cwd}}\"]\nnetwork = \"none\"\nmax_processes = 64\n{extra}\n\
         [[rules]]\nname = \"agents\"\nwhen = {{ source = \"agent\" }}\n"
    )
}

/// A directory outside every writable root, with a file in it: what the commands aim at.
struct Canary {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Canary {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("canary dir");
        let path = dir.path().join("canary");
        std::fs::create_dir(&path).expect("mkdir canary");
        std::fs::write(path.join("keep"), "still here\n").expect("write canary");
        Canary { _dir: dir, path }
    }

    #[track_caller]
    fn assert_intact(&self) {
        let kept = std::fs::read_to_string(self.path.join("keep"));
        assert_eq!(
            kept.ok().as_deref(),
            Some("still here\n"),
            "the canary was damaged"
        );
        let entries: Vec<_> = std::fs::read_dir(&self.path)
            .expect("canary dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            entries.len(),
            1,
            "something was written into the canary: {entries:?}"
        );
    }
}

fn sh(d: &Dir, script: &str) -> crate::util::Run {
    d.run(&["--policy", "p.toml", "--source", "agent", "sh", script])
}

#[test]
fn writes_outside_the_writable_roots_fail_whatever_form_they_take() {
    let d = Dir::new();
    d.write("p.toml", &policy(""));
    let c = Canary::new();
    let canary = c.path.display().to_string();
    for (what, script) in [
        ("a direct write", format!("echo x > {canary}/new")),
        (
            "a script written then run",
            format!("printf 'rm -rf {canary}' > x.sh && bash x.sh"),
        ),
        ("a copied rm", format!("cp /bin/rm ./d && ./d -rf {canary}")),
        (
            "inline python",
            format!("python3 -c \"import shutil; shutil.rmtree('{canary}')\""),
        ),
    ] {
        let r = sh(&d, &script);
        assert_ne!(r.code(), 0, "{what} succeeded: {}", r.stderr());
        assert!(
            r.stderr().contains("Permission denied") || r.stderr().contains("PermissionError"),
            "{what}: the kernel's own error is shown: {}",
            r.stderr()
        );
        c.assert_intact();
    }
    // The working directory stays writable.
    sh(&d, "echo ok > inside && cat inside").expect_code(0);
    assert_eq!(
        std::fs::read_to_string(d.path().join("inside"))
            .ok()
            .as_deref(),
        Some("ok\n")
    );
}

#[test]
fn hidden_credentials_read_empty_and_the_policy_file_is_out_of_reach() {
    let d = Dir::new();
    d.write("p.toml", &policy(""));
    // HOME is the test directory: a fake key where the default hidden paths point.
    d.write(".ssh/id_ed25519", "FAKE-PRIVATE-KEY\n");
    d.write(
        ".aws/credentials",
        "[default]\naws_secret_access_key = FAKE\n",
    );
    let r = sh(
        &d,
        "cat ~/.ssh/id_ed25519 ~/.aws/credentials p.toml 2>&1; ls -A ~/.ssh; echo x >> p.toml",
    );
    let out = r.stdout() + &r.stderr();
    assert!(!out.contains("FAKE"), "a hidden file was read: {out}");
    assert!(
        !out.contains("sandboxes"),
        "the policy file was read: {out}"
    );
    assert!(
        std::fs::read_to_string(d.path().join("p.toml")).is_ok_and(|p| !p.contains("\nx\n")),
        "the policy file was changed"
    );
}

#[test]
fn check_text_and_json_and_the_decision_log_show_the_sandbox() {
    let d = Dir::new();
    d.write("p.toml", &policy(""));
    let r = d.run(&[
        "--policy", "p.toml", "--source", "agent", "sh", "--check", "ls",
    ]);
    r.expect_code(0);
    let out = r.stdout();
    assert!(
        out.contains(
            "sandbox:  s (required): network none, own PID namespace, seccomp, at most 64 processes"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "write      {}",
            d.path().canonicalize().unwrap_or(d.path().into()).display()
        )) || out.contains(&format!("write      {}", d.path().display())),
        "{out}"
    );

    let r = d.run(&[
        "--policy", "p.toml", "--source", "agent", "--json", "sh", "--check", "ls",
    ]);
    let v: serde_json::Value = serde_json::from_str(r.stdout().trim()).expect("JSON");
    assert_eq!(v["sandbox"]["name"], "s");
    assert_eq!(v["sandbox"]["network"], "none");
    assert!(v["unconfined"].is_null());

    sh(&d, "true").expect_code(0);
    let r = d.run(&[
        "--policy",
        "p.toml",
        "--source",
        "agent",
        "--audit-log",
        "log.jsonl",
        "-v",
        "sh",
        "true",
    ]);
    r.expect_code(0);
    assert!(
        r.stderr().contains("sandbox s"),
        "-v names the sandbox: {}",
        r.stderr()
    );
    let log = std::fs::read_to_string(d.path().join("log.jsonl")).expect("log");
    let decision: serde_json::Value =
        serde_json::from_str(log.lines().next().expect("a line")).expect("JSON");
    assert_eq!(decision["sandbox"]["name"], "s");
    assert_eq!(decision["sandbox"]["pid_namespace"], true);
}

#[test]
fn kill_9_of_cloudops_ends_every_process_of_the_command() {
    let d = Dir::new();
    d.write("p.toml", &policy(""));
    let marked = Marked(uuid::Uuid::new_v4().to_string());
    // A double-forked daemon (its own session) and a child, then the shell waits.
    let script = "setsid sh -c 'sleep 300 & sleep 300' & sleep 300 & echo started > started; wait";
    let mut cli = d
        .cmd(&["--policy", "p.toml", "--source", "agent", "sh", script])
        .env(MARKER_VAR, &marked.0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn cloudops");
    let deadline = Instant::now() + Duration::from_secs(30);
    while marked.survivors().len() < 4 {
        assert!(
            Instant::now() < deadline,
            "the command did not start: {:?}",
            cli.try_wait()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    cli.kill().expect("SIGKILL cloudops");
    cli.wait().expect("reap cloudops");
    let left = marked.settle(Duration::from_secs(5));
    assert!(
        left.is_empty(),
        "processes of the command outlived cloudops: {left:?}"
    );
}

#[test]
fn a_confined_writer_whose_reader_goes_away_ends_with_sigpipe_as_unconfined() {
    use std::io::Read;
    let d = Dir::new();
    d.write("p.toml", &policy(""));
    // `seq` as the shell's last command is exec'd in its place: unconfined it dies of
    // SIGPIPE once its reader is gone, and cloudops says so with 141.
    for args in [
        &[
            "--policy",
            "p.toml",
            "--source",
            "agent",
            "sh",
            "seq 1 100000000",
        ][..],
        &["sh", "seq 1 100000000"][..],
    ] {
        let t0 = Instant::now();
        let mut cli = d
            .cmd(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn cloudops");
        let mut first = [0u8; 2];
        cli.stdout
            .take()
            .expect("stdout")
            .read_exact(&mut first)
            .expect("first line");
        assert_eq!(&first, b"1\n");
        // The reader is gone (dropped above).
        let status = cli.wait().expect("wait");
        assert_eq!(status.code(), Some(141), "{args:?}: {status:?}");
        assert!(t0.elapsed() < Duration::from_secs(20), "{args:?}");
    }
}

#[test]
fn a_required_sandbox_the_kernel_cannot_give_refuses_and_names_what_is_missing() {
    let d = Dir::new();
    d.write("p.toml", &policy(""));
    let r = d
        .cmd(&["--policy", "p.toml", "--source", "agent", "sh", "touch ran"])
        .env("CLOUDOPS_SANDBOX_SIMULATE_MISSING", "landlock")
        .output()
        .expect("cloudops");
    let r = crate::util::Run(r);
    r.expect_code(126);
    assert!(
        r.stderr()
            .contains("the sandbox `s` is required but this kernel lacks: Landlock"),
        "{}",
        r.stderr()
    );
    assert!(!d.path().join("ran").exists(), "the command ran unconfined");
}

#[test]
fn a_sandbox_that_is_not_required_runs_unconfined_with_a_warning_and_says_so_in_the_log() {
    let d = Dir::new();
    d.write("p.toml", &policy("required = false"));
    let r = d
        .cmd(&[
            "--policy",
            "p.toml",
            "--source",
            "agent",
            "--audit-log",
            "log.jsonl",
            "sh",
            "touch ran",
        ])
        .env("CLOUDOPS_SANDBOX_SIMULATE_MISSING", "landlock")
        .output()
        .expect("cloudops");
    let r = crate::util::Run(r);
    r.expect_code(0);
    assert!(d.path().join("ran").exists());
    assert!(
        r.stderr().contains("unconfined") && r.stderr().contains("Landlock"),
        "{}",
        r.stderr()
    );
    let log = std::fs::read_to_string(d.path().join("log.jsonl")).expect("log");
    let decision: serde_json::Value =
        serde_json::from_str(log.lines().next().expect("a line")).expect("JSON");
    assert!(
        decision["unconfined"]
            .as_str()
            .is_some_and(|u| u.contains("Landlock")),
        "{decision}"
    );
}

#[test]
fn the_network_is_closed_under_none_the_machines_loopback_under_loopback_and_open_under_all() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let d = Dir::new();
    let connect = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");
    d.write("p.toml", &policy(""));
    let r = sh(&d, &connect);
    assert_ne!(
        r.code(),
        0,
        "connected under network = none: {}",
        r.stdout()
    );
    let with = |network: &str| {
        policy("").replace("network = \"none\"", &format!("network = \"{network}\""))
    };
    d.write("p.toml", &with("all"));
    let r = sh(&d, &connect);
    r.expect_code(0);
    assert!(r.stdout().contains("connected"));
    // Under `loopback` the machine's listener is reachable where the kernel allows the
    // filter (root, cgroup v2: `sandbox probe` says which); TEST-NET-1 is refused.
    let probe = d.run(&["sandbox", "probe"]);
    if probe.stdout().contains("the machine's, filtered") {
        d.write("p.toml", &with("loopback"));
        let r = sh(&d, &connect);
        r.expect_code(0);
        assert!(r.stdout().contains("connected"));
        let r = sh(&d, "exec 3<>/dev/tcp/192.0.2.200/80");
        assert_ne!(r.code(), 0);
        assert!(
            r.stderr().contains("Operation not permitted"),
            "{}",
            r.stderr()
        );
    }
}

#[test]
fn sandbox_probe_reports_the_kernel_and_what_a_policy_would_get() {
    let d = Dir::new();
    d.write("p.toml", &policy(""));
    let r = d.run(&[
        "--policy", "p.toml", "--source", "agent", "sandbox", "probe",
    ]);
    r.expect_code(0);
    let out = r.stdout();
    assert!(out.contains("Landlock"), "{out}");
    assert!(out.contains("sandbox:  s"), "{out}");
    let r = d
        .cmd(&[
            "--policy", "p.toml", "--source", "agent", "--json", "sandbox", "probe",
        ])
        .env("CLOUDOPS_SANDBOX_SIMULATE_MISSING", "landlock")
        .output()
        .expect("cloudops");
    let r = crate::util::Run(r);
    let v: serde_json::Value = serde_json::from_str(r.stdout().trim()).expect("JSON");
    assert_eq!(v["sandbox"]["name"], "s");
    assert!(
        v["missing"].as_array().is_some_and(|m| m
            .iter()
            .any(|x| x.as_str().is_some_and(|x| x.contains("Landlock")))),
        "{v}"
    );
    // Missing support for a required sandbox: probe says so in its exit code.
    r.expect_code(1);
}
