//! Bad requests: NUL bytes, empty and invalid names, argv and env too big for the kernel, non-UTF-8 paths, working dirs that are not directories, special files as scripts, a zero timeout: a clear error naming what is wrong, no panic, nothing run.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use cloudops_execution_engine::{
    Command, ExecutionConfig, ExecutionEngine, ExecutionError, ExecutionStatus,
};

use crate::support::{exec, request, sh};

fn engine() -> ExecutionEngine {
    ExecutionEngine::new(ExecutionConfig::default())
}

/// The validation error of `req`; the test fails if the engine accepted it.
async fn rejected(req: cloudops_execution_engine::ExecutionRequest) -> String {
    match engine().execute(req).await {
        Err(ExecutionError::Validation(m)) => m,
        Err(e) => panic!("expected a validation error, got {e:?}"),
        Ok(id) => panic!("accepted: {id}"),
    }
}

#[tokio::test]
async fn nul_bytes_are_rejected_wherever_they_are() {
    let m = rejected(exec("ec\0ho", &[])).await;
    assert!(m.contains("NUL") && m.contains("ec\\0ho"), "{m}");
    let m = rejected(exec("echo", &["a\0b"])).await;
    assert!(m.contains("argument contains a NUL byte"), "{m}");
    let mut req = sh("true");
    req.env.insert("X".into(), "a\0b".into());
    let m = rejected(req).await;
    assert!(
        m.contains("environment variable X contains a NUL byte"),
        "{m}"
    );
    let mut req = sh("true");
    req.env.insert("X\0Y".into(), "v".into());
    let m = rejected(req).await;
    assert!(m.contains("environment variable name"), "{m}");
    let m = rejected(request(Command::Shell {
        command: "true".into(),
        shell: "ba\0sh".into(),
    }))
    .await;
    assert!(m.contains("NUL"), "{m}");
    let m = rejected(request(Command::Script {
        path: "/tmp/x\0y.sh".into(),
        interpreter: None,
    }))
    .await;
    assert!(m.contains("NUL") && m.contains("script"), "{m}");
    let mut req = sh("true");
    req.working_dir = Some("/tmp\0/x".into());
    let m = rejected(req).await;
    assert!(m.contains("NUL") && m.contains("working_dir"), "{m}");
}

#[tokio::test]
async fn empty_and_malformed_names_are_rejected() {
    let m = rejected(exec("", &[])).await;
    assert!(m.contains("empty"), "{m}");
    for name in ["", "A=B"] {
        let mut req = sh("true");
        req.env.insert(name.into(), "v".into());
        let m = rejected(req).await;
        assert!(m.contains(&format!("{name:?} is not valid")), "{m}");
    }
    let m = rejected(request(Command::Shell {
        command: "true".into(),
        shell: String::new(),
    }))
    .await;
    assert!(m.contains("unknown shell ''"), "{m}");
    let m = rejected(request(Command::Script {
        path: PathBuf::new(),
        interpreter: None,
    }))
    .await;
    assert!(m.contains("script path is empty"), "{m}");
    let mut req = sh("true");
    req.working_dir = Some(PathBuf::new());
    assert!(rejected(req).await.contains("working_dir is empty"));
}

/// The kernel refuses argv or environments past its limits (`E2BIG`): the execution fails
/// with that reason, and nothing ran.
#[tokio::test]
async fn argv_or_env_too_big_for_the_kernel_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let script = format!("touch '{}'", marker.display());
    // One argument longer than MAX_ARG_STRLEN (128 KiB), and many that add up past ARG_MAX.
    let long = "x".repeat(200_000);
    let many: Vec<String> = (0..200_000).map(|i| format!("argument-{i:08}")).collect();
    let mut big_env = sh(&script);
    big_env.env.insert("BIG".into(), long.clone());
    let cases = [
        request(Command::Exec {
            program: "sh".into(),
            args: vec!["-c".into(), script.clone(), long.clone()],
        }),
        request(Command::Exec {
            program: "sh".into(),
            args: [vec!["-c".to_string(), script.clone()], many].concat(),
        }),
        big_env,
    ];
    let engine = engine();
    for req in cases {
        let id = engine.execute(req).await.unwrap();
        let r = tokio::time::timeout(Duration::from_secs(30), engine.wait(id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.status, ExecutionStatus::Failed);
        assert_eq!(r.pid, None, "nothing was started");
        let error = r.error.unwrap_or_default();
        assert!(
            error.contains("could not start") && error.contains("Argument list too long"),
            "{error}"
        );
        assert!(!marker.exists(), "the command ran");
    }
}

#[tokio::test]
async fn a_non_utf8_working_dir_is_used_as_it_is() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join(OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir(&dir).unwrap();
    let mut req = exec("sh", &["-c", "pwd > out"]);
    req.working_dir = Some(dir.clone());
    let engine = engine();
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed, "{:?}", r.error);
    let out = std::fs::read(dir.join("out")).unwrap();
    assert!(out.ends_with(b"/caf\xe9\n"), "{out:?}");
}

#[tokio::test]
async fn a_non_utf8_script_path_is_rejected_not_mangled() {
    let base = tempfile::tempdir().unwrap();
    let script = base.path().join(OsStr::from_bytes(b"run-\xff.sh"));
    std::fs::write(&script, "#!/bin/sh\necho ran\n").unwrap();
    let m = rejected(request(Command::Script {
        path: script.clone(),
        interpreter: None,
    }))
    .await;
    assert!(m.contains("not valid UTF-8") && m.contains("run-"), "{m}");
    // Relative to a non-UTF-8 working dir: the same.
    let mut req = request(Command::Script {
        path: "run-\u{fffd}.sh".into(),
        interpreter: Some("sh".into()),
    });
    let dir = base.path().join(OsStr::from_bytes(b"d\xff"));
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("run-\u{fffd}.sh"), "echo ran\n").unwrap();
    req.working_dir = Some(dir);
    let m = rejected(req).await;
    assert!(m.contains("not valid UTF-8"), "{m}");
}

#[tokio::test]
async fn working_dirs_that_are_not_directories_are_rejected() {
    let base = tempfile::tempdir().unwrap();
    let file = base.path().join("f");
    std::fs::write(&file, "").unwrap();
    for (dir, why) in [
        (file.clone(), "is not a directory"),
        (file.join("below"), "does not exist"),
        (base.path().join("missing"), "does not exist"),
        (PathBuf::from("/dev/null"), "is not a directory"),
    ] {
        let mut req = sh("true");
        req.working_dir = Some(dir.clone());
        let m = rejected(req).await;
        assert!(
            m.contains(why) && m.contains(&dir.display().to_string()),
            "{m}"
        );
    }
}

/// A script path naming a FIFO, a directory or a device is refused before anything reads
/// it: reading a FIFO's shebang would block the caller for ever.
#[tokio::test]
async fn special_files_as_scripts_are_rejected_without_blocking() {
    let base = tempfile::tempdir().unwrap();
    let fifo = base.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for path in [fifo.clone(), base.path().to_path_buf(), "/dev/zero".into()] {
        let req = request(Command::Script {
            path: path.clone(),
            interpreter: None,
        });
        let m = tokio::time::timeout(Duration::from_secs(10), rejected(req))
            .await
            .expect("validation blocked");
        assert!(m.contains("not a file"), "{m}");
    }
    // What reads shebangs on behalf of others (the normaliser, say) does not block either.
    let r = tokio::task::spawn_blocking(move || {
        cloudops_execution_engine::resolve::read_shebang(&fifo)
    });
    let r = tokio::time::timeout(Duration::from_secs(10), r)
        .await
        .expect("read_shebang blocked on a FIFO")
        .unwrap();
    let e = r.unwrap_err();
    let why = std::error::Error::source(&e).map(ToString::to_string);
    assert_eq!(why.as_deref(), Some("not a regular file"), "{e}");
}

/// A timeout of 0 ms: the run times out at once and the command does not get to act.
#[tokio::test]
async fn a_zero_timeout_stops_the_command_before_it_acts() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let mut req = sh(&format!("sleep 0.5; touch '{}'", marker.display()));
    req.timeout_ms = Some(0);
    let engine = engine();
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Timeout);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(!marker.exists(), "the command ran after its timeout");
}
