//! The four command kinds, validation, environment and working directory.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;

use cloudops_execution_engine::{
    Command, EnvPolicy, ExecutionConfig, ExecutionEngine, ExecutionError, ExecutionStatus,
};

use crate::support::{exec, request, sh};

#[tokio::test]
async fn shell_command_completes_with_its_output() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let id = engine.execute(sh("echo 'Hello, World!'")).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed);
    assert_eq!(r.exit_code, 0);
    assert_eq!(r.stdout, "Hello, World!\n");
    assert!(r.finished_at >= r.started_at);
    assert_eq!(
        engine.get_status(id).await.unwrap(),
        ExecutionStatus::Completed
    );
}

#[tokio::test]
async fn nonzero_exit_is_failed_with_its_code() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let id = engine.execute(sh("echo oops >&2; exit 3")).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.exit_code, 3);
    assert_eq!(r.stderr, "oops\n");
    assert_eq!(r.signal, None);
}

#[tokio::test]
async fn death_by_signal_is_failed_with_128_plus_n() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let id = engine.execute(sh("kill -KILL $$")).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.signal, Some(9));
    assert_eq!(r.exit_code, 137);
}

#[tokio::test]
async fn exec_runs_without_a_shell_and_reports_the_absolute_program() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let id = engine
        .execute(exec("echo", &["$HOME", "a b", "*"]))
        .await
        .unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.stdout, "$HOME a b *\n", "no shell expansion");
    match r.command.unwrap() {
        Command::Exec { program, .. } => {
            assert!(
                program.starts_with('/') && program.ends_with("/echo"),
                "{program}"
            )
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn exec_uses_the_requests_path() {
    let dir = tempfile::tempdir().unwrap();
    let tool = dir.path().join("hello-tool");
    std::fs::write(&tool, "#!/bin/sh\necho tool-ran\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let mut req = exec("hello-tool", &[]);
    req.env.insert(
        "PATH".into(),
        format!("{}:/usr/bin:/bin", dir.path().display()),
    );
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.stdout, "tool-ran\n");
}

#[tokio::test]
async fn missing_program_is_named_with_exit_127() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let err = engine
        .execute(exec("definitely-not-a-program", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecutionError::ProgramNotFound { ref program, .. } if program == "definitely-not-a-program")
    );
    assert_eq!(err.exit_code(), 127);
}

#[tokio::test]
async fn script_runs_by_its_shebang_even_when_not_executable() {
    let dir = tempfile::tempdir().unwrap();
    let sh_script = dir.path().join("a.sh");
    std::fs::write(
        &sh_script,
        "#!/bin/bash -e\necho from-bash $0\nfalse\necho not-reached\n",
    )
    .unwrap();
    std::fs::set_permissions(&sh_script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let py = dir.path().join("b.py");
    std::fs::write(
        &py,
        "#!/usr/bin/env python3\nimport sys\nprint('from-python', sys.version_info[0])\n",
    )
    .unwrap();
    let engine = ExecutionEngine::new(ExecutionConfig::default());

    let r = engine
        .wait(
            engine
                .execute(request(Command::Script {
                    path: sh_script.clone(),
                    interpreter: None,
                }))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.stdout, format!("from-bash {}\n", sh_script.display()));
    assert_eq!(r.exit_code, 1, "`-e` from the shebang applies");

    let r = engine
        .wait(
            engine
                .execute(request(Command::Script {
                    path: py,
                    interpreter: None,
                }))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.stdout, "from-python 3\n");
}

#[tokio::test]
async fn script_interpreter_overrides_and_missing_shebang_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("plain");
    std::fs::write(&s, "echo via-sh\n").unwrap();
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let err = engine
        .execute(request(Command::Script {
            path: s.clone(),
            interpreter: None,
        }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecutionError::Validation(ref m) if m.contains("no shebang")),
        "{err}"
    );
    let id = engine
        .execute(request(Command::Script {
            path: s,
            interpreter: Some("sh".into()),
        }))
        .await
        .unwrap();
    assert_eq!(engine.wait(id).await.unwrap().stdout, "via-sh\n");
}

#[tokio::test]
async fn working_dir_must_exist_and_is_used() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let mut req = sh("pwd");
    req.working_dir = Some("/definitely/not/here".into());
    let err = engine.execute(req).await.unwrap_err();
    assert!(
        matches!(err, ExecutionError::Validation(ref m) if m.contains("/definitely/not/here")),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut req = sh("pwd");
    req.working_dir = Some(dir.path().to_path_buf());
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        r.stdout.trim_end(),
        dir.path().canonicalize().unwrap().to_str().unwrap()
    );

    let file = dir.path().join("f");
    std::fs::write(&file, "").unwrap();
    let mut req = sh("pwd");
    req.working_dir = Some(file);
    assert!(
        matches!(engine.execute(req).await, Err(ExecutionError::Validation(m)) if m.contains("not a directory"))
    );
}

#[tokio::test]
async fn request_env_is_added_to_a_minimal_base() {
    let engine = ExecutionEngine::new(ExecutionConfig {
        env: EnvPolicy::Minimal {
            keep: vec!["PATH".into()],
        },
        ..Default::default()
    });
    let mut req = exec("env", &[]);
    req.env = HashMap::from([("GREETING".into(), "hi".into())]);
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    let mut names: Vec<&str> = r
        .stdout
        .lines()
        .map(|l| l.split('=').next().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["CLOUDOPS_EXECUTION_ID", "GREETING", "PATH"],
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn inherited_env_drops_the_denylist_but_request_env_and_extra_env_apply() {
    let engine = ExecutionEngine::new(ExecutionConfig {
        extra_env: vec![("FROM_CONFIG".into(), "1".into())],
        ..Default::default()
    });
    let mut req = sh("echo \"$FROM_CONFIG/$MINE/${HOME:+home}\"");
    req.env.insert("MINE".into(), "2".into());
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.stdout, "1/2/home\n");
}

#[tokio::test]
async fn stdin_is_null() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let r = engine
        .wait(engine.execute(exec("cat", &[])).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed);
    assert_eq!(r.stdout, "");
}

#[tokio::test]
async fn bash_reads_no_profile_or_rc_files() {
    let home = tempfile::tempdir().unwrap();
    for f in [".bashrc", ".bash_profile", ".profile"] {
        std::fs::write(home.path().join(f), format!("echo SOURCED-{f}\n")).unwrap();
    }
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let mut req = sh("echo body");
    req.env
        .insert("HOME".into(), home.path().to_string_lossy().into_owned());
    let r = engine
        .wait(engine.execute(req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.stdout, "body\n");
}

#[tokio::test]
async fn shells_by_name_or_absolute_path_only() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let bad = request(Command::Shell {
        command: "true".into(),
        shell: "python3".into(),
    });
    assert!(
        matches!(engine.execute(bad).await, Err(ExecutionError::Validation(m)) if m.contains("unknown shell 'python3'"))
    );
    let abs = request(Command::Shell {
        command: "echo $0".into(),
        shell: "/bin/sh".into(),
    });
    let r = engine
        .wait(engine.execute(abs).await.unwrap())
        .await
        .unwrap();
    assert_eq!(r.stdout, "/bin/sh\n");
}

#[tokio::test]
async fn nul_bytes_and_empty_programs_are_invalid() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    for req in [exec("", &[]), exec("echo", &["a\0b"]), sh("echo \0")] {
        assert!(matches!(
            engine.execute(req).await,
            Err(ExecutionError::Validation(_))
        ));
    }
}
