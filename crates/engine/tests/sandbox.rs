//! Commands run through the engine in a sandbox (`ExecutionConfig::sandbox`), aimed only at canaries: a directory outside the writable roots and a fake HOME with fake keys, so that a sandbox that fails costs a canary.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cloudops_execution_engine::sandbox::{Network, SIMULATE_MISSING_VAR, Sandbox};
use cloudops_execution_engine::{
    Command, DenyApprover, ExecutionConfig, ExecutionEngine, ExecutionError, ExecutionMetadata,
    ExecutionRequest, ExecutionResult, ExecutionStatus, Preparation,
};
use uuid::Uuid;

/// A temporary tree: `work/` (the writable root, the commands' working directory),
/// `canary/` (outside it, with files), `home/` (a fake HOME with fake credentials).
struct Fixture {
    _dir: tempfile::TempDir,
    work: PathBuf,
    canary: PathBuf,
    home: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let (work, canary, home) = (root.join("work"), root.join("canary"), root.join("home"));
        std::fs::create_dir_all(canary.join("sub")).unwrap();
        std::fs::write(canary.join("keep.txt"), "canary").unwrap();
        std::fs::write(canary.join("sub/deep.txt"), "canary").unwrap();
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::write(home.join(".ssh/id_rsa"), "FAKE PRIVATE KEY").unwrap();
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        std::fs::write(home.join(".aws/credentials"), "FAKE AWS SECRET").unwrap();
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(work.join("locked.txt"), "locked").unwrap();
        Fixture {
            _dir: dir,
            work,
            canary,
            home,
        }
    }

    /// Read everything, write `work/` only; the fake keys hidden; `locked.txt` and the
    /// git hooks and config protected; no network; a PID namespace; seccomp.
    fn sandbox(&self) -> Sandbox {
        Sandbox {
            // `.aws/credentials` lies under the hidden `.aws`: hidden with it.
            hidden: vec![
                self.home.join(".ssh/id_rsa"),
                self.home.join(".aws/credentials"),
                self.home.join(".aws"),
            ],
            protected: vec![
                self.work.join("locked.txt"),
                self.work.join(".git/hooks"),
                self.work.join(".git/config"),
            ],
            max_processes: Some(64),
            ..Sandbox::new("agent", vec![self.work.clone()])
        }
    }

    fn engine(&self, sandbox: Sandbox) -> ExecutionEngine {
        ExecutionEngine::new(ExecutionConfig {
            sandbox: Some(sandbox),
            die_with_engine: true,
            kill_grace: Duration::from_millis(300),
            ..ExecutionConfig::default()
        })
    }

    /// A bash script run in `work/` with the fake HOME.
    fn sh(&self, script: &str) -> ExecutionRequest {
        ExecutionRequest {
            id: Uuid::new_v4(),
            command: Command::Shell {
                command: script.to_string(),
                shell: "bash".to_string(),
            },
            env: HashMap::from([("HOME".to_string(), self.home.display().to_string())]),
            working_dir: Some(self.work.clone()),
            timeout_ms: Some(30_000),
            metadata: ExecutionMetadata::default(),
        }
    }

    async fn run(&self, engine: &ExecutionEngine, script: &str) -> ExecutionResult {
        let id = engine.execute(self.sh(script)).await.unwrap();
        engine.wait(id).await.unwrap()
    }

    /// The canary is as it was made.
    fn assert_canary_intact(&self) {
        assert_eq!(
            std::fs::read_to_string(self.canary.join("keep.txt")).unwrap(),
            "canary"
        );
        assert_eq!(
            std::fs::read_to_string(self.canary.join("sub/deep.txt")).unwrap(),
            "canary"
        );
        let names: Vec<_> = std::fs::read_dir(&self.canary)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}

fn failed_with(r: &ExecutionResult, message: &str) {
    assert_eq!(r.status, ExecutionStatus::Failed, "{r:?}");
    assert!(r.stderr.contains(message), "expected {message:?} in {r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_written_then_run_cannot_delete_the_canary() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let script = format!("printf 'rm -rf {}' > x.sh && bash x.sh", f.canary.display());
    let r = f.run(&engine, &script).await;
    failed_with(&r, "Permission denied");
    assert!(
        f.work.join("x.sh").exists(),
        "the script was written in work/"
    );
    f.assert_canary_intact();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copied_rm_cannot_delete_the_canary() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let script = format!("cp /bin/rm ./d && ./d -rf {}", f.canary.display());
    let r = f.run(&engine, &script).await;
    failed_with(&r, "Permission denied");
    f.assert_canary_intact();
}

#[tokio::test(flavor = "multi_thread")]
async fn inline_python_cannot_delete_the_canary() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let script = format!(
        "python3 -c \"import shutil; shutil.rmtree('{}')\"",
        f.canary.display()
    );
    let r = f.run(&engine, &script).await;
    failed_with(&r, "PermissionError");
    f.assert_canary_intact();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_direct_write_outside_the_writable_roots_is_refused_and_one_inside_works() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let r = f
        .run(&engine, &format!("echo x > {}/f", f.canary.display()))
        .await;
    failed_with(&r, "Permission denied");
    f.assert_canary_intact();

    let r = f
        .run(&engine, "mkdir -p out && echo hello > out/f && cat out/f")
        .await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    assert_eq!(r.stdout, "hello\n");
    assert_eq!(
        std::fs::read_to_string(f.work.join("out/f")).unwrap(),
        "hello\n"
    );
    // Writing to /dev/null is always allowed.
    let r = f.run(&engine, "echo quiet > /dev/null").await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn landlock_alone_confines_without_any_namespace() {
    // No namespace: an ordinary user gets no user namespace either, and keeps no
    // capability to drop from the bounding set.
    let f = Fixture::new();
    let engine = f.engine(Sandbox {
        network: Network::All,
        pid_namespace: false,
        hidden: Vec::new(),
        protected: Vec::new(),
        max_processes: None,
        ..f.sandbox()
    });
    let r = f
        .run(
            &engine,
            &format!("echo ok > out && rm -rf {}", f.canary.display()),
        )
        .await;
    failed_with(&r, "Permission denied");
    assert!(f.work.join("out").exists());
    f.assert_canary_intact();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protected_path_inside_a_writable_root_is_read_only() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let r = f
        .run(&engine, "cat locked.txt; echo more >> locked.txt")
        .await;
    failed_with(&r, "Read-only file system");
    assert_eq!(r.stdout, "locked");
    assert_eq!(
        std::fs::read_to_string(f.work.join("locked.txt")).unwrap(),
        "locked"
    );
    let r = f.run(&engine, "rm -f locked.txt").await;
    assert_eq!(r.status, ExecutionStatus::Failed, "{r:?}");
    assert!(f.work.join("locked.txt").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn hidden_keys_cannot_be_read_and_a_hidden_directory_is_empty() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let r = f
        .run(
            &engine,
            "cat \"$HOME/.ssh/id_rsa\"; echo '--'; ls -A \"$HOME/.aws\"; echo '--'; cat \"$HOME/.aws/credentials\"",
        )
        .await;
    assert!(!r.stdout.contains("FAKE"), "{r:?}");
    assert_eq!(r.stdout, "--\n--\n", "{r:?}");
    assert!(r.stderr.contains("No such file or directory"), "{r:?}");
    // The keys are still there for the user.
    assert_eq!(
        std::fs::read_to_string(f.home.join(".ssh/id_rsa")).unwrap(),
        "FAKE PRIVATE KEY"
    );
}

/// A listener of this test's on 127.0.0.1 (the machine's network), answering "pong".
fn host_listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.write_all(b"pong\n");
        }
    });
    port
}

/// A listener on every address of the machine answering "pong", its port.
fn listener_on_all_addresses() -> u16 {
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.write_all(b"pong\n");
        }
    });
    port
}

/// An address of this machine off the loopback (the one it would reach the outside
/// from; no packet is sent), if it has one.
fn address_off_the_loopback() -> Option<std::net::IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    probe.connect("192.0.2.200:9").ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_machines_loopback_is_reachable_under_loopback_and_the_rest_only_under_all() {
    let f = Fixture::new();
    let port = listener_on_all_addresses();
    let other = address_off_the_loopback();
    // Each line: TCP to the machine's 127.0.0.1, TCP to its other address, the address a
    // server bound to 0.0.0.0 gets, a UDP datagram to the other address. Errors by errno.
    let script = format!(
        r#"python3 -c "
import socket
def attempt(f):
    try: return f()
    except OSError as e: return 'errno %d' % e.errno
print(attempt(lambda: socket.create_connection(('127.0.0.1', {port}), timeout=5).recv(10).decode().strip()))
print(attempt(lambda: socket.create_connection(('{other}', {port}), timeout=5).recv(10).decode().strip()))
s = socket.socket(); s.bind(('0.0.0.0', 0)); print(s.getsockname()[0])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print(attempt(lambda: u.sendto(b'x', ('{other}', 9)) and 'sent'))
""#,
        other = other.map_or_else(|| "127.0.0.1".to_string(), |ip| ip.to_string()),
    );
    let host_loopback = cloudops_execution_engine::sandbox::probe().host_loopback;
    for network in [Network::None, Network::Loopback, Network::All] {
        let engine = f.engine(Sandbox {
            network,
            ..f.sandbox()
        });
        let r = f.run(&engine, &script).await;
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(lines.len(), 4, "{network:?}: {r:?}");
        match network {
            // No interface up: nothing is reachable.
            Network::None => {
                assert_eq!(lines[0], "errno 101", "{network:?}: {r:?}");
                assert_eq!(lines[1], "errno 101", "{network:?}: {r:?}");
            }
            Network::Loopback if host_loopback => {
                assert_eq!(lines[0], "pong", "{r:?}");
                // Off the loopback: refused by the BPF filter (EPERM), TCP and UDP alike;
                // a server for every address listens on the loopback only.
                if other.is_some() {
                    assert_eq!(lines[1], "errno 1", "{r:?}");
                    assert_eq!(lines[3], "errno 1", "{r:?}");
                }
                assert_eq!(lines[2], "127.0.0.1", "{r:?}");
            }
            // A namespace's own loopback: the machine's listener is not there.
            Network::Loopback => assert_eq!(lines[0], "errno 111", "{r:?}"),
            Network::All => {
                assert_eq!(lines[0], "pong", "{r:?}");
                assert_eq!(lines[1], "pong", "{r:?}");
                assert_eq!(lines[2], "0.0.0.0", "{r:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn under_loopback_ipv6_stays_on_the_loopback_too() {
    let f = Fixture::new();
    if !cloudops_execution_engine::sandbox::probe().host_loopback
        || !std::path::Path::new("/proc/net/if_inet6").exists()
    {
        return;
    }
    let engine = f.engine(Sandbox {
        network: Network::Loopback,
        ..f.sandbox()
    });
    let r = f
        .run(
            &engine,
            r#"python3 -c "
import socket
def attempt(f):
    try: return f()
    except OSError as e: return 'errno %d' % e.errno
s = socket.socket(socket.AF_INET6); s.bind(('::', 0)); print(s.getsockname()[0]); s.listen()
print(attempt(lambda: socket.create_connection(('::1', s.getsockname()[1]), timeout=5) and 'reached'))
print(attempt(lambda: socket.create_connection(('2001:db8::1', 80), timeout=5) and 'reached'))
print(attempt(lambda: socket.create_connection(('::ffff:192.0.2.200', 80), timeout=5) and 'reached'))
""#,
        )
        .await;
    assert_eq!(r.stdout, "::1\nreached\nerrno 1\nerrno 1\n", "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn under_all_tcp_connect_limits_the_ports() {
    let f = Fixture::new();
    let (open, other) = (host_listener(), host_listener());
    let engine = f.engine(Sandbox {
        network: Network::All,
        tcp_connect: Some(vec![open]),
        ..f.sandbox()
    });
    let connect = |port: u16| format!("exec 3<>/dev/tcp/127.0.0.1/{port} && head -n1 <&3");
    let r = f.run(&engine, &connect(open)).await;
    assert_eq!(r.stdout, "pong\n", "{r:?}");
    let r = f.run(&engine, &connect(other)).await;
    failed_with(&r, "Permission denied");
}

#[tokio::test(flavor = "multi_thread")]
async fn file_size_and_cpu_time_are_limited() {
    let f = Fixture::new();
    let engine = f.engine(Sandbox {
        max_file_size: Some(4096),
        cpu_seconds: Some(1),
        ..f.sandbox()
    });
    let r = f.run(&engine, "head -c 100000 /dev/zero > big").await;
    assert_eq!(r.status, ExecutionStatus::Failed, "{r:?}");
    assert_eq!(std::fs::metadata(f.work.join("big")).unwrap().len(), 4096);
    let t0 = Instant::now();
    let r = f.run(&engine, "exec python3 -c 'while True: pass'").await;
    // At the limit: SIGXCPU, or SIGKILL when the kernel sees the hard limit (the same
    // value) reached in the same tick.
    assert_eq!(r.status, ExecutionStatus::Failed, "{r:?}");
    assert!(matches!(r.signal, Some(9 | 24)), "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn under_none_not_even_root_can_bring_an_interface_up() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let r = f.run(&engine, "ip link set lo up").await;
    failed_with(&r, "Operation not permitted");
    let r = f.run(&engine, "ip -o link show up").await;
    assert_eq!(r.stdout, "", "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn under_loopback_the_commands_own_server_is_reachable() {
    let f = Fixture::new();
    let script = r#"python3 -c "
import socket, threading
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
threading.Thread(target=lambda: s.accept()[0].sendall(b'own server'), daemon=True).start()
c = socket.create_connection(s.getsockname(), timeout=5)
print(c.recv(100).decode())
""#;
    let engine = f.engine(Sandbox {
        network: Network::Loopback,
        ..f.sandbox()
    });
    let r = f.run(&engine, script).await;
    assert_eq!(r.stdout, "own server\n", "{r:?}");
    // Under `none` no interface is up: not even its own server is reachable.
    let engine = f.engine(f.sandbox());
    let r = f.run(&engine, script).await;
    assert_eq!(r.status, ExecutionStatus::Failed, "{r:?}");
    assert!(r.stderr.contains("Network is unreachable"), "{r:?}");
}

/// Processes whose command line holds `marker`.
fn processes_with(marker: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(mut file) = std::fs::File::open(entry.path().join("cmdline")) else {
            continue;
        };
        let mut cmdline = Vec::new();
        let _ = file.read_to_end(&mut cmdline);
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) {
            found.push(pid);
        }
    }
    found
}

/// Waits (bounded) until no process holds `marker`; returns those left.
async fn gone(marker: &str) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_with(marker);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_background_sleeps_are_capped_and_cleaned_up() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let marker = format!("{}.25", 3000 + std::process::id() % 1000);
    let script = format!(
        r#"python3 -c "
import subprocess
started = 0
for _ in range(2000):
    try:
        subprocess.Popen(['sleep', '{marker}'])
        started += 1
    except OSError:
        pass
print(started)
""#
    );
    let id = engine.execute(f.sh(&script)).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    let started: u32 = r.stdout.trim().parse().unwrap();
    // 64 processes at most: python, and 63 others.
    assert!((50..64).contains(&started), "started {started}");
    assert_eq!(gone(&marker).await, Vec::<i32>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_double_forked_daemon_ends_with_the_command() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let marker = format!("{}.5", 4000 + std::process::id() % 1000);
    let r = f
        .run(
            &engine,
            &format!("setsid sh -c 'sleep {marker} &' </dev/null >/dev/null 2>&1 & sleep 0.3"),
        )
        .await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    assert_eq!(gone(&marker).await, Vec::<i32>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn git_commits_in_a_writable_repo_but_its_hooks_are_protected() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    // The hooks exist once the repository does: from the next command on, they are protected.
    let r = f.run(&engine, "git init -q .").await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    let r = f
        .run(
            &engine,
            "echo a > a.txt && git add a.txt && git -c user.name=Test -c user.email=t@example.invalid commit -q -m first && git log --format=%s",
        )
        .await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    assert_eq!(r.stdout, "first\n");
    let r = f
        .run(
            &engine,
            "printf '#!/bin/sh\\necho owned\\n' > .git/hooks/pre-commit",
        )
        .await;
    failed_with(&r, "Read-only file system");
    assert!(!f.work.join(".git/hooks/pre-commit").exists());
    let r = f
        .run(&engine, "git config core.hooksPath /tmp/elsewhere")
        .await;
    assert_eq!(r.status, ExecutionStatus::Failed, "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seccomp_filter_refuses_new_namespaces_and_device_nodes_are_refused() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let r = f.run(&engine, "unshare --user --map-root-user true").await;
    failed_with(&r, "Operation not permitted");
    // Nor can it make a device node in a writable root (root could read a disk through one).
    let r = f.run(&engine, "mknod ./disk b 8 0").await;
    assert_eq!(r.status, ExecutionStatus::Failed, "{r:?}");
    assert!(!f.work.join("disk").exists());
    // The command has a PID namespace of its own, under our init (pid 1).
    let r = f
        .run(&engine, "echo $$ $PPID; set -- /proc/[0-9]*; echo $#")
        .await;
    // Our init and the command: nothing of the host.
    assert_eq!(r.stdout, "2 1\n2\n", "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_takes_signals_as_it_would_unconfined() {
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    // pid 1 ignores every signal it has no handler for; the command is not pid 1.
    let r = f.run(&engine, "kill -PIPE $$; echo survived").await;
    assert_eq!(r.signal, Some(nix::libc::SIGPIPE), "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    let r = f
        .run(
            &engine,
            "exec python3 -c 'import os; os.kill(os.getpid(), 15)'",
        )
        .await;
    assert_eq!(r.signal, Some(nix::libc::SIGTERM), "{r:?}");
    // Exit codes come through unchanged.
    let r = f.run(&engine, "exit 42").await;
    assert_eq!(r.exit_code, 42, "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn timeouts_and_cancels_end_a_command_in_a_pid_namespace_with_sigterm() {
    let f = Fixture::new();
    let engine = ExecutionEngine::new(ExecutionConfig {
        sandbox: Some(f.sandbox()),
        kill_grace: Duration::from_secs(10),
        ..ExecutionConfig::default()
    });
    let mut req = f.sh("sleep 30");
    req.timeout_ms = Some(200);
    let t0 = Instant::now();
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Timeout, "{r:?}");
    // SIGTERM ends it: no wait for the grace (10 s here) and its SIGKILL.
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(r.signal, Some(nix::libc::SIGTERM), "{r:?}");

    let id = engine
        .execute(f.sh("trap 'exit 3' TERM; sleep 30 & wait"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    engine.cancel(id).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Cancelled, "{r:?}");
}

/// Runs `test` of this binary in a child process with `SIMULATE_MISSING_VAR` set: the
/// probe is cached per process, so the simulation must not reach the other tests.
fn in_subprocess(test: &str, missing: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(SIMULATE_MISSING_VAR, missing)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_landlock_a_required_sandbox_is_refused_and_another_runs_noted() {
    if std::env::var_os(SIMULATE_MISSING_VAR).is_none() {
        in_subprocess(
            "without_landlock_a_required_sandbox_is_refused_and_another_runs_noted",
            "landlock",
        );
        return;
    }
    let f = Fixture::new();
    let engine = f.engine(f.sandbox());
    let err = engine.execute(f.sh("true")).await.unwrap_err();
    assert!(
        matches!(err, ExecutionError::SandboxUnavailable { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the sandbox `agent` is required but this kernel lacks: Landlock (the kernel has no Landlock ABI)"
    );
    assert_eq!(err.exit_code(), 126);
    // decide reports it as a denial by `sandbox`, with what is missing.
    let record = engine
        .decide(f.sh("true"), &DenyApprover, Preparation::Required)
        .await
        .unwrap();
    assert!(!record.allowed);
    assert_eq!(record.plugin.as_deref(), Some("sandbox"));
    assert_eq!(record.reason.as_deref(), Some(err.to_string().as_str()));
    assert_eq!(
        record.unconfined.as_deref(),
        Some("Landlock (the kernel has no Landlock ABI)")
    );
    // Policy tests do not ask the kernel: the same answer on every machine.
    let record = engine
        .decide(f.sh("true"), &DenyApprover, Preparation::IfPossible)
        .await
        .unwrap();
    assert!(record.allowed && record.unconfined.is_none(), "{record:?}");

    let engine = f.engine(Sandbox {
        required: false,
        ..f.sandbox()
    });
    let record = engine
        .decide(f.sh("true"), &DenyApprover, Preparation::Required)
        .await
        .unwrap();
    assert_eq!(record.sandbox.as_ref().unwrap().name, "agent");
    assert_eq!(
        record.unconfined.as_deref(),
        Some("Landlock (the kernel has no Landlock ABI)")
    );
    // It runs, without Landlock: the canary's directory is writable now (the rest of the
    // sandbox still applies: the keys are hidden).
    let r = f
        .run(
            &engine,
            &format!(
                "echo x > {}/new && cat \"$HOME/.ssh/id_rsa\"",
                f.canary.display()
            ),
        )
        .await;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(f.canary.join("new").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_sandbox_configured_nothing_is_confined() {
    let f = Fixture::new();
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let record = engine
        .decide(f.sh("true"), &DenyApprover, Preparation::Required)
        .await
        .unwrap();
    assert!(record.sandbox.is_none() && record.unconfined.is_none());
    let r = f.run(&engine, "cat \"$HOME/.ssh/id_rsa\"; echo $$").await;
    assert!(r.stdout.starts_with("FAKE PRIVATE KEY"), "{r:?}");
    assert_ne!(r.stdout.lines().nth(1), Some("1"));
}

/// Set in the child process of the `kill -9` test: the marker of its daemon's `sleep`.
const ENGINE_CHILD_VAR: &str = "CLOUDOPS_TEST_SANDBOX_ENGINE_CHILD";

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_9_of_the_engine_ends_the_whole_pid_namespace() {
    let name = "a_kill_9_of_the_engine_ends_the_whole_pid_namespace";
    if let Some(marker) = std::env::var_os(ENGINE_CHILD_VAR) {
        // The engine's process: starts a command that leaves a daemon, then waits to die.
        let f = Fixture::new();
        let engine = f.engine(f.sandbox());
        let script = format!(
            "setsid sh -c 'sleep {}; :' </dev/null >/dev/null 2>&1 & sleep 300",
            marker.to_string_lossy()
        );
        let id = engine.execute(f.sh(&script)).await.unwrap();
        let _ = engine.wait(id).await;
        return;
    }
    let marker = format!("{}.75", 5000 + std::process::id() % 1000);
    let mut engine = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(ENGINE_CHILD_VAR, &marker)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes_with(&marker).is_empty() {
        assert!(Instant::now() < deadline, "the daemon never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    engine.kill().unwrap();
    engine.wait().unwrap();
    assert_eq!(gone(&marker).await, Vec::<i32>::new());
}

/// A gate that allows everything in a sandbox of its own: as a policy's `[sandboxes]` would.
struct SandboxingGate(Sandbox);

#[async_trait::async_trait]
impl cloudops_execution_engine::Gate for SandboxingGate {
    async fn check(
        &self,
        request: &ExecutionRequest,
        _ctx: &cloudops_execution_engine::GateContext<'_>,
    ) -> Result<cloudops_execution_engine::GateOutcome, ExecutionError> {
        let mut record = cloudops_execution_engine::DecisionRecord::allow_unchanged(request);
        record.sandbox = Some(self.0.clone());
        Ok(cloudops_execution_engine::GateOutcome {
            record,
            output: None,
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gates_sandbox_wins_over_the_engines_and_is_applied() {
    let f = Fixture::new();
    let from_gate = Sandbox {
        name: "from-policy".into(),
        write: Vec::new(),
        ..f.sandbox()
    };
    let engine = ExecutionEngine::new(ExecutionConfig {
        sandbox: Some(Sandbox {
            network: Network::All,
            ..f.sandbox()
        }),
        gate: Some(std::sync::Arc::new(SandboxingGate(from_gate))),
        ..ExecutionConfig::default()
    });
    let record = engine
        .decide(f.sh("true"), &DenyApprover, Preparation::Required)
        .await
        .unwrap();
    assert_eq!(record.sandbox.as_ref().unwrap().name, "from-policy");
    assert_eq!(record.unconfined, None);
    // The policy's sandbox writes nowhere: not even work/.
    let r = f.run(&engine, "echo x > out.txt").await;
    failed_with(&r, "Permission denied");
    assert_eq!(
        r.decision
            .as_ref()
            .and_then(|d| d.sandbox.as_ref())
            .map(|s| s.name.as_str()),
        Some("from-policy")
    );
}
