//! Per-kind normalisation of a request: `Exec`, `Script` and `AwsCli` resolve as the
//! engine does (through the look-up cache, see `pathcache`); `Shell` hands the script to
//! the shell analysis.

use std::path::{Path, PathBuf};

use cloudops_execution_engine::resolve::{read_shebang, script_path, search_path};
use cloudops_execution_engine::{Command, ExecutionRequest, PreparedCommand};

use crate::model::{Normalized, SimpleCommand, WorkingDir};
use crate::pathcache::resolve_cached as resolve;
use crate::shell;

/// Environment variables a request may set that make a shell run code that is not in
/// the script (a startup file, imported functions, options such as `expand_aliases`,
/// a trace prompt with substitutions).
const SHELL_CODE_ENV: &[&str] = &["BASH_ENV", "ENV", "BASHOPTS", "SHELLOPTS", "PS4"];

pub(crate) fn normalize_request(
    request: &ExecutionRequest,
    prepared: Option<&PreparedCommand>,
) -> Normalized {
    let path = search_path(&request.env);
    let cwd: Option<PathBuf> = request
        .working_dir
        .as_ref()
        .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()));
    let cwd = cwd.as_deref();
    match &request.command {
        Command::Shell { command, .. } => {
            let mut n = shell::analyze(command, &path, cwd);
            shell_env_findings(request, &mut n.unanalyzable);
            n
        }
        Command::Exec { program, .. } => {
            let argv = request.command.argv();
            let resolved = match prepared {
                Some(p) => Some(p.program.to_string_lossy().into_owned()),
                None => resolve(program, &path, cwd),
            };
            // `bash -c SCRIPT` (also behind `sudo`, `env`, `timeout`, ...): the script's
            // commands, as for a shell request.
            match shell::analyze_argv(&argv, &path, cwd) {
                None => single(argv, resolved, Vec::new()),
                Some(inner) => {
                    let mut n = single(argv, resolved, inner.unanalyzable);
                    n.commands
                        .extend(inner.commands.into_iter().filter(|c| !c.context.is_empty()));
                    shell_env_findings(request, &mut n.unanalyzable);
                    n
                }
            }
        }
        Command::AwsCli { .. } if prepared.is_some() => {
            prepared.map(as_prepared).unwrap_or_default()
        }
        Command::Script {
            path: script,
            interpreter,
        } => {
            let n = match prepared {
                Some(p) => as_prepared(p),
                None => normalize_script(script, interpreter.as_deref(), &path, cwd),
            };
            with_script_commands(n, &path, cwd)
        }
        Command::AwsCli { .. } => single(
            request.command.argv(),
            resolve("aws", &path, cwd),
            Vec::new(),
        ),
    }
}

/// The one command a prepared request runs: its program, named as the request (or the
/// script's shebang) names it, with the prepared arguments.
fn as_prepared(prepared: &PreparedCommand) -> Normalized {
    let mut argv = Vec::with_capacity(prepared.args.len() + 1);
    argv.push(prepared.name.clone());
    argv.extend(prepared.args.iter().cloned());
    single(
        argv,
        Some(prepared.program.to_string_lossy().into_owned()),
        Vec::new(),
    )
}

fn single(argv: Vec<String>, program: Option<String>, unanalyzable: Vec<String>) -> Normalized {
    Normalized {
        commands: vec![SimpleCommand {
            argv,
            program,
            assignments: Vec::new(),
            redirections: Vec::new(),
            context: Vec::new(),
            dynamic: false,
            dynamic_args: Vec::new(),
            working_dir: WorkingDir::Request,
        }],
        unanalyzable,
    }
}

/// A script run by a shell the host parses (`bash x.sh`, a `#!/bin/sh` script): the
/// script's own commands after the one that runs it (context `script-file`).
fn with_script_commands(mut n: Normalized, path: &str, cwd: Option<&Path>) -> Normalized {
    let Some(first) = n.commands.first() else {
        return n;
    };
    if let Some(inner) = shell::analyze_argv(&first.argv, path, cwd) {
        n.unanalyzable.extend(inner.unanalyzable);
        n.commands
            .extend(inner.commands.into_iter().filter(|c| !c.context.is_empty()));
    }
    n
}

fn normalize_script(
    script: &Path,
    interpreter: Option<&str>,
    path: &str,
    cwd: Option<&Path>,
) -> Normalized {
    let abs = script_path(script, cwd);
    let abs_s = abs.to_string_lossy().into_owned();
    if let Some(i) = interpreter {
        return single(
            vec![i.to_string(), abs_s],
            resolve(i, path, cwd),
            Vec::new(),
        );
    }
    match read_shebang(&abs) {
        Ok(Some(sb)) => {
            let program = resolve(&sb.interpreter, path, cwd);
            let mut argv = vec![sb.interpreter];
            argv.extend(sb.arg);
            argv.push(abs_s);
            single(argv, program, Vec::new())
        }
        Ok(None) => single(
            vec![abs_s],
            None,
            vec![format!(
                "script '{}' has no shebang line and no interpreter was given",
                script.display()
            )],
        ),
        Err(e) => single(
            vec![abs_s],
            None,
            vec![format!(
                "cannot read the shebang of script '{}': {e}",
                script.display()
            )],
        ),
    }
}

fn shell_env_findings(request: &ExecutionRequest, out: &mut Vec<String>) {
    let mut names: Vec<&str> = request
        .env
        .keys()
        .map(String::as_str)
        .filter(|k| SHELL_CODE_ENV.contains(k) || k.starts_with("BASH_FUNC_"))
        .collect();
    names.sort_unstable();
    for k in names {
        out.push(format!(
            "the request's environment sets {k}: the shell may run code that is not in the script"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Normalises without a prepared command: programs looked up here.
    fn normalize_request(r: &ExecutionRequest) -> Normalized {
        super::normalize_request(r, None)
    }
    use cloudops_execution_engine::ExecutionMetadata;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    pub(crate) fn req(command: Command) -> ExecutionRequest {
        ExecutionRequest {
            id: uuid_nil(),
            command,
            env: HashMap::new(),
            working_dir: None,
            timeout_ms: None,
            metadata: ExecutionMetadata::default(),
        }
    }

    fn uuid_nil() -> uuid::Uuid {
        uuid::Uuid::nil()
    }

    #[test]
    fn exec_resolves_on_the_request_path() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("mytool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut r = req(Command::Exec {
            program: "mytool".into(),
            args: vec!["-x".into()],
        });
        r.env
            .insert("PATH".into(), dir.path().to_string_lossy().into_owned());
        let n = normalize_request(&r);
        assert!(n.is_fully_analyzed());
        assert_eq!(n.commands.len(), 1);
        assert_eq!(n.commands[0].argv, ["mytool", "-x"]);
        assert_eq!(
            n.commands[0].program.as_deref(),
            Some(tool.to_string_lossy().as_ref())
        );
    }

    fn exec_req(argv: &[&str]) -> ExecutionRequest {
        req(Command::Exec {
            program: argv[0].into(),
            args: argv[1..].iter().map(|a| a.to_string()).collect(),
        })
    }

    #[test]
    fn exec_of_a_shell_c_script_reports_the_scripts_commands() {
        let n = normalize_request(&exec_req(&[
            "bash",
            "-c",
            "for i in 1; do LD_PRELOAD=/x.so ls; done",
        ]));
        assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
        assert_eq!(n.commands[0].argv[0], "bash");
        assert!(n.commands[0].program.as_deref().unwrap().ends_with("/bash"));
        let ls = n
            .commands
            .iter()
            .find(|c| c.argv.first().is_some_and(|a| a == "ls"))
            .expect("the loop's `ls` is reported");
        assert_eq!(ls.context, ["shell-c", "for"]);
        assert_eq!(ls.assignments[0].name, "LD_PRELOAD");
        assert!(ls.program.as_deref().unwrap().ends_with("/ls"));
    }

    #[test]
    fn exec_of_a_shell_c_script_behind_wrappers_is_analysed() {
        for argv in [
            &["sudo", "-u", "root", "sh", "-c", "rm -rf / && echo done"][..],
            &["timeout", "60", "env", "A=1", "dash", "-c", "rm -rf /"],
            &["/usr/bin/zsh", "-c", "x=1; rm -rf /"],
        ] {
            let n = normalize_request(&exec_req(argv));
            assert!(n.is_fully_analyzed(), "{argv:?}: {:?}", n.unanalyzable);
            assert_eq!(n.commands[0].argv, argv, "the argv itself comes first");
            let rm = n
                .commands
                .iter()
                .find(|c| c.argv.first().is_some_and(|a| a == "rm"))
                .unwrap_or_else(|| panic!("{argv:?}: no rm in {:?}", n.commands));
            assert_eq!(rm.argv, ["rm", "-rf", "/"]);
            assert_eq!(rm.context, ["shell-c"]);
        }
    }

    #[test]
    fn exec_of_a_shell_c_script_that_cannot_be_analysed_says_so() {
        let n = normalize_request(&exec_req(&["bash", "-c", "eval \"$1\"", "_", "rm -rf /"]));
        assert!(
            n.unanalyzable.iter().any(|u| u.contains("eval")),
            "{:?}",
            n.unanalyzable
        );
        let mut r = exec_req(&["bash", "-c", "ls"]);
        r.env.insert("BASH_ENV".into(), "/tmp/x".into());
        let n = normalize_request(&r);
        assert!(
            n.unanalyzable.iter().any(|u| u.contains("BASH_ENV")),
            "{:?}",
            n.unanalyzable
        );
    }

    #[test]
    fn exec_without_a_shell_is_one_command() {
        let n = normalize_request(&exec_req(&["git", "commit", "-m", "bash -c 'rm -rf /'"]));
        assert_eq!(n.commands.len(), 1);
        assert!(n.is_fully_analyzed());
        let n = normalize_request(&exec_req(&["bash", "build.sh"]));
        assert_eq!(n.commands.len(), 1);
    }

    #[test]
    fn exec_not_found_is_not_unanalyzable() {
        let n = normalize_request(&req(Command::Exec {
            program: "no-such-program-xyz".into(),
            args: vec![],
        }));
        assert!(n.is_fully_analyzed());
        assert_eq!(n.commands[0].program, None);
        assert_eq!(n.commands[0].argv, ["no-such-program-xyz"]);
    }

    #[test]
    fn exec_relative_name_with_slash_uses_working_dir() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("t.sh");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut r = req(Command::Exec {
            program: "./t.sh".into(),
            args: vec![],
        });
        r.working_dir = Some(dir.path().to_path_buf());
        let n = normalize_request(&r);
        let p = n.commands[0].program.clone().unwrap();
        assert!(p.ends_with("t.sh") && p.starts_with('/'), "{p}");
    }

    #[test]
    fn script_with_env_shebang_and_with_flag() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.py");
        std::fs::write(&a, "#!/usr/bin/env python3\nprint(1)\n").unwrap();
        let n = normalize_request(&req(Command::Script {
            path: a.clone(),
            interpreter: None,
        }));
        assert_eq!(
            n.commands[0].argv,
            [
                "/usr/bin/env".to_string(),
                "python3".into(),
                a.to_string_lossy().into_owned()
            ]
        );
        assert_eq!(n.commands[0].program.as_deref(), Some("/usr/bin/env"));
        let b = dir.path().join("b.sh");
        std::fs::write(&b, "#!/bin/bash -e\necho\n").unwrap();
        let n = normalize_request(&req(Command::Script {
            path: b.clone(),
            interpreter: None,
        }));
        assert_eq!(
            n.commands[0].argv,
            [
                "/bin/bash".to_string(),
                "-e".into(),
                b.to_string_lossy().into_owned()
            ]
        );
        assert!(n.commands[0].program.as_deref().unwrap().ends_with("bash"));
        assert!(n.is_fully_analyzed());
    }

    #[test]
    fn script_with_explicit_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("s");
        std::fs::write(&s, "echo hi\n").unwrap();
        let n = normalize_request(&req(Command::Script {
            path: s.clone(),
            interpreter: Some("sh".into()),
        }));
        assert_eq!(
            n.commands[0].argv,
            ["sh".to_string(), s.to_string_lossy().into_owned()]
        );
        assert!(n.commands[0].program.as_deref().unwrap().starts_with('/'));
    }

    #[test]
    fn script_without_shebang_or_unreadable_is_unanalyzable() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("s");
        std::fs::write(&s, "echo hi\n").unwrap();
        let n = normalize_request(&req(Command::Script {
            path: s,
            interpreter: None,
        }));
        assert!(
            n.unanalyzable[0].contains("no shebang"),
            "{:?}",
            n.unanalyzable
        );
        assert_eq!(n.commands[0].program, None);
        let n = normalize_request(&req(Command::Script {
            path: dir.path().join("missing"),
            interpreter: None,
        }));
        assert!(
            n.unanalyzable[0].contains("cannot read"),
            "{:?}",
            n.unanalyzable
        );
    }

    #[test]
    fn aws_argv_with_profile_and_region() {
        let n = normalize_request(&req(Command::AwsCli {
            service: "ec2".into(),
            operation: "describe-instances".into(),
            args: vec!["--max-items".into(), "5".into()],
            profile: Some("dev".into()),
            region: Some("eu-west-1".into()),
        }));
        assert_eq!(
            n.commands[0].argv,
            [
                "aws",
                "ec2",
                "describe-instances",
                "--max-items",
                "5",
                "--profile",
                "dev",
                "--region",
                "eu-west-1"
            ]
        );
        assert!(n.is_fully_analyzed());
    }

    #[test]
    fn shell_env_that_runs_code_is_reported() {
        let mut r = req(Command::Shell {
            command: "ls".into(),
            shell: "bash".into(),
        });
        r.env.insert("BASH_ENV".into(), "/tmp/x".into());
        r.env
            .insert("BASH_FUNC_ls%%".into(), "() { rm -rf /; }".into());
        let n = normalize_request(&r);
        assert_eq!(n.unanalyzable.len(), 2, "{:?}", n.unanalyzable);
        assert!(n.unanalyzable[0].contains("BASH_ENV"));
    }
}
