//! `cloudops server` and its clients: decisions, asks and output filtering through the server, reloading an edited policy, deciding locally when the server cannot, and the socket's safety checks.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use crate::plugins::dir_with_plugins;
use crate::util::{Dir, Run};

const POLICY: &str = r#"version = 1
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
plugins = ["strip", "no-rm", "redact"]
[[rules]]
name = "deploys ask"
when = { tags = { action = "deploy" } }
plugins = ["human"]
"#;

/// A `cloudops -v server` on `DIR/run/s.sock`, stopped (SIGTERM) when dropped.
struct Server {
    child: Option<Child>,
    socket: PathBuf,
    log: PathBuf,
}

impl Server {
    fn start(d: &Dir, extra: &[&str]) -> Server {
        Self::start_in(d, d.path(), extra)
    }

    /// [`Server::start`] with `cwd` as the server's working directory.
    fn start_in(d: &Dir, cwd: &Path, extra: &[&str]) -> Server {
        let run = d.path().join("run");
        let socket = run.join("s.sock");
        let log = d.path().join("server.log");
        let mut cmd = d.cmd(&["-v", "server", "--socket"]);
        cmd.arg(&socket).args(extra).current_dir(cwd);
        let child = cmd
            .stderr(std::fs::File::create(&log).expect("log"))
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn the server");
        let s = Server {
            child: Some(child),
            socket,
            log,
        };
        let start = Instant::now();
        while !s.log().contains("listening on") {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the server did not start: {}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many decisions the server made so far.
    fn decisions(&self) -> usize {
        self.log().lines().filter(|l| l.ends_with(" µs")).count()
    }

    /// `cloudops ARGS` in `d`, a client of this server, to adjust before it runs.
    fn cmd(&self, d: &Dir, args: &[&str]) -> std::process::Command {
        let mut c = d.cmd(args);
        c.env("CLOUDOPS_SERVER", &self.socket);
        c
    }

    /// `cloudops ARGS` in `d`, a client of this server, run to the end.
    fn run(&self, d: &Dir, args: &[&str]) -> Run {
        Run(self.cmd(d, args).output().expect("spawn cloudops"))
    }

    /// Stops the server with SIGTERM; its exit code.
    fn stop(&mut self) -> i32 {
        let mut child = self.terminate();
        child.wait().expect("wait").code().unwrap_or(-1)
    }

    /// Sends the server SIGTERM and hands over its process, still to be waited for.
    fn terminate(&mut self) -> Child {
        let child = self.child.take().expect("running");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        child
    }

    /// A client whose command prints a key, sleeps 2 s, prints another key and `after`;
    /// returned once its first line, redacted by the server, is out.
    fn in_flight(&self, d: &Dir) -> InFlight {
        let mut child = self
            .cmd(
                d,
                &[
                    "--policy",
                    "p.toml",
                    "sh",
                    "echo key=AKIAABCDEFGHIJKLMNOP; sleep 2; echo key=AKIAQRSTUVWXYZ234567; echo after",
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cloudops");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        out.read_line(&mut first).expect("first line");
        assert_eq!(first, "key=[REDACTED]\n");
        InFlight { child, out }
    }
}

/// A client of [`Server::in_flight`], between its first line and the rest.
struct InFlight {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl InFlight {
    /// Waits for the end: the exit code, the rest of stdout, and stderr.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let mut rest = String::new();
        self.out.read_to_string(&mut rest).expect("rest");
        let mut err = String::new();
        let mut stderr = self.child.stderr.take().expect("stderr");
        stderr.read_to_string(&mut err).expect("stderr");
        (self.child.wait().expect("wait").code(), rest, err)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

#[test]
fn denials_rewrites_asks_and_redaction_come_from_the_server_as_they_would_locally() {
    let d = dir_with_plugins();
    d.write("p.toml", POLICY);
    let server = Server::start(&d, &[]);

    // A denial: the same message and code as without a server.
    let local = d.run(&["--policy", "p.toml", "run", "--", "rm", "-rf", "x"]);
    let remote = server.run(&d, &["--policy", "p.toml", "run", "--", "rm", "-rf", "x"]);
    remote.expect_code(126);
    assert_eq!(remote.stderr(), local.stderr());
    assert_eq!(server.decisions(), 1, "{}", server.log());

    // A rewrite changes what runs; the output goes through the server's redact plugin.
    let r = server.run(
        &d,
        &[
            "--policy",
            "p.toml",
            "--env",
            "SECRET=x",
            "sh",
            "echo ${SECRET:-stripped}; echo key=AKIAABCDEFGHIJKLMNOP",
        ],
    );
    r.expect_code(0);
    assert_eq!(r.stdout(), "stripped\nkey=[REDACTED]\n");

    // An ask goes back to the client: without a terminal it is denied, --yes approves it.
    let r = server.run(
        &d,
        &[
            "--policy",
            "p.toml",
            "--tag",
            "action=deploy",
            "sh",
            "touch ran",
        ],
    );
    r.expect_code(126);
    assert!(
        r.stderr()
            .starts_with("error: denied by human: needs a human"),
        "{}",
        r.stderr()
    );
    assert!(!d.path().join("ran").exists());
    server
        .run(
            &d,
            &[
                "--policy",
                "p.toml",
                "--tag",
                "action=deploy",
                "--yes",
                "sh",
                "touch ran",
            ],
        )
        .expect_code(0);
    assert!(d.path().join("ran").exists());

    // --check --json: the trace of the server's plugins.
    let r = server.run(
        &d,
        &[
            "--policy", "p.toml", "--json", "run", "--check", "--", "rm", "x",
        ],
    );
    r.expect_code(126);
    let v: serde_json::Value = serde_json::from_str(r.stdout().trim()).expect("json");
    assert_eq!(v["verdict"], "deny");
    assert_eq!(v["plugin"], "no-rm");
    assert_eq!(server.decisions(), 5, "{}", server.log());
}

#[test]
fn the_decision_log_is_written_by_the_client_with_each_plugins_step() {
    let d = dir_with_plugins();
    d.write("p.toml", POLICY);
    let server = Server::start(&d, &[]);
    server
        .run(
            &d,
            &[
                "--policy",
                "p.toml",
                "--audit-log",
                "audit.jsonl",
                "run",
                "--",
                "true",
            ],
        )
        .expect_code(0);
    let log = std::fs::read_to_string(d.path().join("audit.jsonl")).expect("log");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("a whole JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "a decision and a completion:\n{log}");
    let steps: Vec<&str> = lines[0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["plugin"].as_str().expect("plugin"))
        .collect();
    assert_eq!(steps, ["strip", "no-rm"], "redact only sees output");
    assert_eq!(server.decisions(), 1);
}

#[test]
fn an_edited_policy_or_plugin_file_is_loaded_again() {
    let d = dir_with_plugins();
    d.write("p.toml", POLICY);
    let server = Server::start(&d, &[]);
    server
        .run(&d, &["--policy", "p.toml", "run", "--", "rm", "-f", "gone"])
        .expect_code(126);
    d.write(
        "p.toml",
        &POLICY.replace("programs = [\"rm\"]", "programs = [\"mkfs\"]"),
    );
    server
        .run(&d, &["--policy", "p.toml", "run", "--", "rm", "-f", "gone"])
        .expect_code(0);
    // The plugin file replaced by one that asks about everything (denied without a terminal).
    std::fs::copy(
        d.path().join("ask.wasm"),
        d.path().join("deny-pattern.wasm"),
    )
    .expect("copy");
    server
        .run(&d, &["--policy", "p.toml", "run", "--", "rm", "-f", "gone"])
        .expect_code(126);
    let loads = server.log().matches("cloudops server: loaded").count();
    assert_eq!(loads, 3, "{}", server.log());
}

#[test]
fn verbose_says_who_decided_the_server_or_this_process() {
    let d = dir_with_plugins();
    d.write("p.toml", POLICY);
    let server = Server::start(&d, &[]);
    let remote = server.run(&d, &["-v", "--policy", "p.toml", "run", "--", "true"]);
    remote.expect_code(0);
    assert!(
        remote
            .stderr()
            .contains("cloudops: decided by the server at "),
        "{}",
        remote.stderr()
    );
    assert!(!remote.stderr().contains("deciding in this process"));
    let local = d.run(&["-v", "--policy", "p.toml", "run", "--", "true"]);
    local.expect_code(0);
    assert!(
        local
            .stderr()
            .contains("cloudops: deciding in this process"),
        "{}",
        local.stderr()
    );
    assert!(!local.stderr().contains("decided by the server"));
}

#[test]
fn without_a_server_that_will_decide_the_command_decides_itself() {
    let d = dir_with_plugins();
    d.write("p.toml", POLICY);
    // Nothing listens there.
    let r = Run(d
        .cmd(&["-v", "--policy", "p.toml", "run", "--", "rm", "x"])
        .env("CLOUDOPS_SERVER", d.path().join("none.sock"))
        .output()
        .expect("spawn"));
    r.expect_code(126);
    assert!(
        r.stderr()
            .contains("deciding here, not on the server: could not connect"),
        "{}",
        r.stderr()
    );
    // A server started with another PATH resolves programs differently: not asked.
    let server = Server::start(&d, &[]);
    let r = Run(server
        .cmd(&d, &["-v", "--policy", "p.toml", "run", "--", "rm", "x"])
        .env("PATH", format!("{}:/usr/bin:/bin", d.path().display()))
        .output()
        .expect("spawn"));
    r.expect_code(126);
    assert!(
        r.stderr()
            .contains("deciding here, not on the server: the server was started with another PATH"),
        "{}",
        r.stderr()
    );
    assert_eq!(server.decisions(), 0);
    // A policy the server cannot load is reported by the client, as without a server.
    d.write("bad.toml", &POLICY.replace("rewrite.wasm", "missing.wasm"));
    let local = d.run(&["--policy", "bad.toml", "run", "--", "true"]);
    let remote = server.run(&d, &["--policy", "bad.toml", "run", "--", "true"]);
    remote.expect_code(125);
    assert_eq!(remote.stderr(), local.stderr());
}

#[test]
fn the_socket_must_be_private_and_not_taken() {
    use std::os::unix::fs::PermissionsExt;
    let d = Dir::new();
    let open = d.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let r = d.run(&["server", "--socket", "open/s.sock"]);
    r.expect_code(125);
    assert!(
        r.stderr().starts_with(
            "error: cannot listen on 'open/s.sock': 'open' can be written by other users (mode 777)"
        ),
        "{}",
        r.stderr()
    );

    let mut server = Server::start(&d, &[]);
    let r = d.run(&["server", "--socket", "run/s.sock"]);
    r.expect_code(125);
    assert!(
        r.stderr().contains("a server is already listening there"),
        "{}",
        r.stderr()
    );
    assert_eq!(server.stop(), 0);
    assert!(!server.socket.exists(), "the socket is removed at exit");
}

#[test]
fn an_idle_server_stops_by_itself() {
    let d = Dir::new();
    let mut server = Server::start(&d, &["--idle-timeout", "1s"]);
    let mut child = server.child.take().expect("running");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    assert!(
        server.log().contains("no client for 1s; stopping"),
        "{}",
        server.log()
    );
    assert!(!Path::new(&server.socket).exists());
}

#[test]
fn a_policy_given_to_the_server_is_loaded_at_start_and_request_options_are_refused() {
    let d = dir_with_plugins();
    d.write("bad.toml", &POLICY.replace("rewrite.wasm", "missing.wasm"));
    let r = d.run(&["server", "--socket", "run/s.sock", "--policy", "bad.toml"]);
    r.expect_code(125);
    assert!(
        r.stderr()
            .starts_with("error: could not load the policy 'bad.toml'"),
        "{}",
        r.stderr()
    );
    assert!(r.stderr().contains("missing.wasm"), "{}", r.stderr());
    assert!(
        !d.path().join("run/s.sock").exists(),
        "no socket for a server that did not start"
    );

    let r = d.run(&["server", "--socket", "run/s.sock", "--tag", "team=web"]);
    r.expect_code(125);
    insta::assert_snapshot!(r.stderr(), @r"
    error: `cloudops server` takes no --tag
    hint: each command's own options apply to its requests: give them to the commands that use the server
    ");

    // A good policy is loaded before the first client comes.
    d.write("p.toml", POLICY);
    let server = Server::start(&d, &["--policy", "p.toml"]);
    assert!(
        server.log().contains("cloudops server: loaded"),
        "{}",
        server.log()
    );
    server
        .run(&d, &["--policy", "p.toml", "run", "--", "true"])
        .expect_code(0);
    assert_eq!(
        server.log().matches("cloudops server: loaded").count(),
        1,
        "{}",
        server.log()
    );
}

#[test]
fn output_filtered_by_the_server_is_the_local_output_byte_for_byte() {
    let d = dir_with_plugins();
    d.write("p.toml", POLICY);
    let mut input = Vec::new();
    for i in 0..1_000_000u32 {
        match i % 4 {
            0 => input.extend_from_slice(format!("{i} key=AKIAABCDEFGHIJKLMNOP\n").as_bytes()),
            1 => input.extend_from_slice(format!("{i} crlf\r\n").as_bytes()),
            2 => input.extend_from_slice(b"bytes \xff\x00 kept key=AKIAABCDEFGHIJKLMNOP\n"),
            _ => input.extend_from_slice(format!("{i} plain\n").as_bytes()),
        }
    }
    input.extend_from_slice(b"no newline key=AKIAABCDEFGHIJKLMNOP");
    std::fs::write(d.path().join("in.log"), &input).expect("write");
    let server = Server::start(&d, &[]);
    let args = ["--policy", "p.toml", "sh", "cat in.log"];
    let local = d.run(&args);
    let remote = server.run(&d, &args);
    local.expect_code(0);
    remote.expect_code(0);
    assert_eq!(server.decisions(), 1, "{}", server.log());
    assert!(
        remote.0.stdout == local.0.stdout,
        "the server's output differs"
    );
    let out = &remote.0.stdout;
    assert_eq!(
        out.split(|b| *b == b'\n').count(),
        1_000_001,
        "no line lost"
    );
    assert!(!out.windows(4).any(|w| w == b"AKIA"), "every key redacted");
    assert!(
        out.ends_with(b"no newline key=[REDACTED]"),
        "no newline added"
    );
    let kept: &[u8] = b"\xff\x00 kept key=[REDACTED]\n";
    assert_eq!(
        out.windows(kept.len()).filter(|w| *w == kept).count(),
        250_000,
        "invalid UTF-8 and NUL kept"
    );
}

#[test]
fn output_is_withheld_when_the_server_dies_while_filtering_it() {
    let d = dir_with_plugins();
    d.write("p.toml", POLICY);
    let mut server = Server::start(&d, &[]);
    let client = server.in_flight(&d);
    // The server dies between two batches: nothing of the second may come out unfiltered.
    let mut child = server.child.take().expect("running");
    child.kill().expect("kill the server");
    child.wait().expect("wait");
    let (code, rest, err) = client.finish();
    assert_eq!(code, Some(0));
    assert_eq!(rest, "", "{err}");
    assert!(
        err.contains("[cloudops: output withheld: the server's output plugins failed"),
        "{err}"
    );
}

#[test]
fn a_stopping_server_lets_the_commands_in_flight_finish_and_takes_no_new_ones() {
    let d = dir_with_plugins();
    d.write("p.toml", POLICY);
    let mut server = Server::start(&d, &[]);
    let client = server.in_flight(&d);
    // SIGTERM while the command still has output to come through the server's plugins.
    let mut child = server.terminate();
    // The socket goes at once: a new command decides by itself, even while the old one runs.
    let start = Instant::now();
    while server.socket.exists() {
        assert!(start.elapsed() < Duration::from_secs(5), "{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    server
        .run(&d, &["--policy", "p.toml", "run", "--", "rm", "x"])
        .expect_code(126);
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the server left early: {}",
        server.log()
    );
    // The command in flight gets the rest of its output, filtered, and the server then stops.
    let (code, rest, err) = client.finish();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(rest, "key=[REDACTED]\nafter\n", "{err}");
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let log = server.log();
    assert!(
        log.contains("waiting up to 10s for 1 client(s) to finish"),
        "{log}"
    );
    assert!(!log.contains("withheld"), "{log}");
}

#[test]
fn relative_paths_mean_for_the_server_what_they_mean_for_the_command() {
    let d = dir_with_plugins();
    // A symlinked policy: its plugins are found beside the link, as the command finds them.
    for sub in ["a", "b"] {
        std::fs::create_dir(d.path().join(sub)).expect("mkdir");
    }
    std::fs::copy(
        d.path().join("deny-pattern.wasm"),
        d.path().join("a/guard.wasm"),
    )
    .expect("copy");
    std::fs::copy(
        d.path().join("allow-all.wasm"),
        d.path().join("b/guard.wasm"),
    )
    .expect("copy");
    d.write(
        "b/policy.toml",
        "version = 1\n[plugins.guard]\nsource = \"guard.wasm\"\nconfig = { programs = [\"rm\"] }\n[[rules]]\nname = \"all\"\nplugins = [\"guard\"]\n",
    );
    std::os::unix::fs::symlink(
        d.path().join("b/policy.toml"),
        d.path().join("a/policy.toml"),
    )
    .expect("symlink");
    let server = Server::start(&d, &[]);
    d.run(&["--policy", "a/policy.toml", "run", "--", "rm", "x"])
        .expect_code(126);
    server
        .run(&d, &["--policy", "a/policy.toml", "run", "--", "rm", "x"])
        .expect_code(126);
    assert_eq!(server.decisions(), 1, "{}", server.log());
    drop(server);

    // A relative --cwd is the command's directory, not the server's.
    std::fs::create_dir_all(d.path().join("proj/src")).expect("mkdir");
    std::fs::create_dir_all(d.path().join("other/src")).expect("mkdir");
    let jail = format!(
        "version = 1\n[plugins.jail]\nsource = \"builtin:workdir-jail\"\nconfig = {{ roots = [\"{}\"] }}\n[[rules]]\nname = \"all\"\nplugins = [\"jail\"]\n",
        d.path().join("proj").display()
    );
    d.write("jail.toml", &jail);
    let server = Server::start_in(&d, &d.path().join("proj"), &[]);
    let r = Run(server
        .cmd(
            &d,
            &[
                "--policy",
                "../jail.toml",
                "--cwd",
                "src",
                "run",
                "--",
                "true",
            ],
        )
        .current_dir(d.path().join("other"))
        .output()
        .expect("spawn"));
    r.expect_code(126);
    assert!(r.stderr().contains("denied by jail"), "{}", r.stderr());
}
