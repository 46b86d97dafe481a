//! Validation and resolution of a request into the exact program, argv, environment and directory that run.
//!
//! The policy layer calls [`prepare`] too, so that plugins see the same absolute program
//! path that the engine executes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read as _};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::EnvPolicy;
use crate::error::ExecutionError;
use crate::types::{Command, ExecutionRequest};

/// A request resolved down to what `execve` gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedCommand {
    /// Absolute path of the program that runs.
    pub program: PathBuf,
    /// The program as the request (or the script's shebang) names it: `bash`, `aws`,
    /// `./build.sh`, `/usr/bin/env`. What a policy sees as `argv[0]`.
    pub name: String,
    /// Arguments after `argv[0]`.
    pub args: Vec<String>,
    /// The request's command with names resolved (absolute program, shell, interpreter,
    /// script path): what events and results report.
    pub resolved: Command,
    /// The complete environment of the child.
    pub env: Vec<(String, String)>,
    /// Working directory (`None` = the engine's).
    pub cwd: Option<PathBuf>,
}

impl PreparedCommand {
    /// `argv` as the child sees it: the program path then the arguments.
    pub fn argv(&self) -> Vec<String> {
        let mut v = vec![self.program.to_string_lossy().into_owned()];
        v.extend(self.args.iter().cloned());
        v
    }
}

fn invalid(msg: impl Into<String>) -> ExecutionError {
    ExecutionError::Validation(msg.into())
}

fn no_nul(what: &str, s: &str) -> Result<(), ExecutionError> {
    if s.contains('\0') {
        return Err(invalid(format!("{what} contains a NUL byte: {s:?}")));
    }
    Ok(())
}

fn no_nul_path(what: &str, p: &Path) -> Result<(), ExecutionError> {
    if p.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(invalid(format!(
            "{what} contains a NUL byte: {:?}",
            p.as_os_str()
        )));
    }
    Ok(())
}

/// The `PATH` used to resolve programs: the request's own `PATH` if it sets one, else the engine's.
pub fn search_path(env: &HashMap<String, String>) -> String {
    env.get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_string())
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Resolves `program` to an absolute path: a name is looked up in `path` (absolute
/// entries only; relative entries are ignored), a name with a `/` is taken relative to `cwd`.
pub fn resolve_program(
    program: &str,
    path: &str,
    cwd: Option<&Path>,
) -> Result<PathBuf, ExecutionError> {
    if program.is_empty() {
        return Err(invalid("program is empty"));
    }
    no_nul("program", program)?;
    let not_found = || ExecutionError::ProgramNotFound {
        program: program.to_string(),
        path: path.to_string(),
    };
    if program.contains('/') {
        let p = Path::new(program);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            let base = match cwd {
                Some(c) => c.to_path_buf(),
                None => std::env::current_dir().map_err(|e| ExecutionError::Io {
                    context: "reading the current directory".into(),
                    source: e,
                })?,
            };
            base.join(p)
        };
        return if is_executable_file(&abs) {
            Ok(abs)
        } else {
            Err(not_found())
        };
    }
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate))
        .ok_or_else(not_found)
}

/// A shebang line split the way Linux does: the interpreter, then everything after it as one optional argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter path as written (`/usr/bin/env`).
    pub interpreter: String,
    /// The single optional argument (`python3`, `-e`).
    pub arg: Option<String>,
}

/// Reads the shebang of `path`; `Ok(None)` when the file has none.
pub fn read_shebang(path: &Path) -> Result<Option<Shebang>, ExecutionError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // Non-blocking, and only a regular file is read: opening a FIFO for reading would
    // otherwise wait for a writer for ever.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| ExecutionError::Io {
            context: format!("opening script '{}'", path.display()),
            source: e,
        })?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(ExecutionError::Io {
            context: format!("reading script '{}'", path.display()),
            source: std::io::Error::other("not a regular file"),
        });
    }
    let mut line = Vec::new();
    BufReader::new(file)
        .take(4096)
        .read_until(b'\n', &mut line)
        .map_err(|e| ExecutionError::Io {
            context: format!("reading script '{}'", path.display()),
            source: e,
        })?;
    let Some(rest) = line.strip_prefix(b"#!") else {
        return Ok(None);
    };
    let rest = String::from_utf8_lossy(rest);
    let rest = rest.trim();
    let (interp, arg) = match rest.split_once([' ', '\t']) {
        Some((i, a)) => (i, Some(a.trim().to_string()).filter(|a| !a.is_empty())),
        None => (rest, None),
    };
    if interp.is_empty() {
        return Ok(None);
    }
    Ok(Some(Shebang {
        interpreter: interp.to_string(),
        arg,
    }))
}

fn shell_flags(shell_path: &Path) -> Option<&'static [&'static str]> {
    let name = shell_path.file_name()?.to_str()?;
    cloudops_shells::engine_flags(name)
}

fn is_aws_word(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Checks a request and resolves it into a [`PreparedCommand`].
///
/// Errors: `Validation` for malformed input (empty or NUL-containing strings, a working
/// directory that is not a directory, an unknown shell, a script without shebang or
/// interpreter, an AWS service or operation that is not a plain word), `ProgramNotFound`
/// when the program, shell, interpreter or `aws` is not on `PATH`.
pub fn prepare(
    request: &ExecutionRequest,
    env_policy: &EnvPolicy,
) -> Result<PreparedCommand, ExecutionError> {
    prepare_in(request, &env_policy.base_env(std::env::vars()), &[])
}

/// Prepares requests as one engine does: with the base environment it computed at its
/// creation and the variables it sets after it. The gate gets it, so that a rewritten
/// request is checked and resolved exactly as the engine will run it.
#[derive(Debug, Clone)]
pub struct Preparer {
    base_env: Arc<[(String, String)]>,
    extra_env: Arc<[(String, String)]>,
}

impl Preparer {
    /// A preparer whose children get this process's environment, filtered by `env`, now,
    /// then `extra_env` (before each request's own variables).
    pub fn new(env: &EnvPolicy, extra_env: &[(String, String)]) -> Self {
        Preparer {
            base_env: env.base_env(std::env::vars()).into(),
            extra_env: extra_env.into(),
        }
    }

    /// A preparer with the default [`EnvPolicy`] and this process's environment as it
    /// was at the first call: what an engine with the default configuration uses.
    pub fn default_for_process() -> &'static Preparer {
        static DEFAULT: std::sync::OnceLock<Preparer> = std::sync::OnceLock::new();
        DEFAULT.get_or_init(|| Preparer::new(&EnvPolicy::default(), &[]))
    }

    /// [`prepare`] with this preparer's environment.
    pub fn prepare(&self, request: &ExecutionRequest) -> Result<PreparedCommand, ExecutionError> {
        prepare_in(request, &self.base_env, &self.extra_env)
    }
}

/// [`prepare`] with a base environment computed beforehand and variables set after it and
/// before the request's own.
pub fn prepare_in(
    request: &ExecutionRequest,
    base_env: &[(String, String)],
    extra_env: &[(String, String)],
) -> Result<PreparedCommand, ExecutionError> {
    check_env(request)?;
    let cwd = working_dir(request)?;
    let path = search_path(&request.env);
    let at = Lookup {
        path: &path,
        cwd: cwd.as_deref(),
    };
    let Resolved {
        program,
        name,
        args,
        resolved,
    } = match &request.command {
        Command::Shell { command, shell } => prepare_shell(command, shell, at)?,
        Command::Exec { program, args } => prepare_exec(program, args, at)?,
        Command::Script { path, interpreter } => prepare_script(path, interpreter.as_deref(), at)?,
        Command::AwsCli {
            service,
            operation,
            args,
            profile,
            region,
        } => {
            check_aws(
                service,
                operation,
                args,
                [("--profile", profile), ("--region", region)],
            )?;
            prepare_aws(&request.command, at)?
        }
    };
    Ok(PreparedCommand {
        program,
        name,
        args,
        resolved,
        env: child_env(base_env, extra_env, &request.env),
        cwd,
    })
}

/// Where programs are looked up for one request.
#[derive(Clone, Copy)]
struct Lookup<'a> {
    path: &'a str,
    cwd: Option<&'a Path>,
}

impl Lookup<'_> {
    fn resolve(&self, program: &str) -> Result<PathBuf, ExecutionError> {
        resolve_program(program, self.path, self.cwd)
    }
}

/// What one kind of command comes to.
struct Resolved {
    program: PathBuf,
    name: String,
    args: Vec<String>,
    resolved: Command,
}

fn check_env(request: &ExecutionRequest) -> Result<(), ExecutionError> {
    for (k, v) in &request.env {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            return Err(invalid(format!(
                "environment variable name {k:?} is not valid"
            )));
        }
        no_nul(&format!("environment variable {k}"), v)?;
    }
    Ok(())
}

/// The request's working directory, made absolute; it must exist.
fn working_dir(request: &ExecutionRequest) -> Result<Option<PathBuf>, ExecutionError> {
    let Some(dir) = &request.working_dir else {
        return Ok(None);
    };
    if dir.as_os_str().is_empty() {
        return Err(invalid("working_dir is empty"));
    }
    no_nul_path("working_dir", dir)?;
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(invalid(format!(
                "working_dir '{}' is not a directory",
                dir.display()
            )));
        }
        Err(_) => {
            return Err(invalid(format!(
                "working_dir '{}' does not exist",
                dir.display()
            )));
        }
    }
    Ok(Some(
        std::path::absolute(dir).unwrap_or_else(|_| dir.clone()),
    ))
}

/// The child's environment: the base, then the engine's extra variables, then the request's.
fn child_env(
    base_env: &[(String, String)],
    extra_env: &[(String, String)],
    request_env: &HashMap<String, String>,
) -> Vec<(String, String)> {
    let mut env = base_env.to_vec();
    for (k, v) in extra_env.iter().map(|(k, v)| (k, v)).chain(request_env) {
        match env.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v.clone(),
            None => env.push((k.clone(), v.clone())),
        }
    }
    env
}

fn prepare_shell(command: &str, shell: &str, at: Lookup<'_>) -> Result<Resolved, ExecutionError> {
    no_nul("shell command", command)?;
    no_nul("shell", shell)?;
    let shell_path = if Path::new(shell).is_absolute() {
        if !is_executable_file(Path::new(shell)) {
            return Err(invalid(format!(
                "shell '{shell}' is not an executable file"
            )));
        }
        PathBuf::from(shell)
    } else if cloudops_shells::engine_flags(shell).is_some() {
        at.resolve(shell)?
    } else {
        let known: Vec<_> = cloudops_shells::accepted_by_engine()
            .map(|s| s.name)
            .collect();
        return Err(invalid(format!(
            "unknown shell '{shell}': use one of {} or an absolute path",
            known.join(", ")
        )));
    };
    let mut args: Vec<String> = shell_flags(&shell_path)
        .unwrap_or(&[])
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push("-c".into());
    args.push(command.to_string());
    let resolved = Command::Shell {
        command: command.to_string(),
        shell: shell_path.to_string_lossy().into_owned(),
    };
    Ok(Resolved {
        program: shell_path,
        name: shell.to_string(),
        args,
        resolved,
    })
}

fn prepare_exec(
    program: &str,
    args: &[String],
    at: Lookup<'_>,
) -> Result<Resolved, ExecutionError> {
    for a in args {
        no_nul("argument", a)?;
    }
    let program_path = at.resolve(program)?;
    let resolved = Command::Exec {
        program: program_path.to_string_lossy().into_owned(),
        args: args.to_vec(),
    };
    Ok(Resolved {
        program: program_path,
        name: program.to_string(),
        args: args.to_vec(),
        resolved,
    })
}

fn prepare_script(
    script: &Path,
    interpreter: Option<&str>,
    at: Lookup<'_>,
) -> Result<Resolved, ExecutionError> {
    if script.as_os_str().is_empty() {
        return Err(invalid("script path is empty"));
    }
    no_nul_path("script path", script)?;
    let script_abs = script_path(script, at.cwd);
    // The interpreter gets the path as an argument, and arguments are UTF-8 here: refuse
    // rather than hand it a mangled path.
    let Some(script_arg) = script_abs.to_str().map(str::to_string) else {
        return Err(invalid(format!(
            "script path '{}' is not valid UTF-8",
            script_abs.display()
        )));
    };
    if !script_abs.is_file() {
        return Err(invalid(format!(
            "script '{}' does not exist or is not a file",
            script.display()
        )));
    }
    let (name, mut args) = match interpreter {
        Some(i) => (i.to_string(), Vec::new()),
        None => {
            let Some(sb) = read_shebang(&script_abs)? else {
                return Err(invalid(format!(
                    "script '{}' has no shebang line and no interpreter was given",
                    script.display()
                )));
            };
            (sb.interpreter, sb.arg.into_iter().collect::<Vec<_>>())
        }
    };
    let program = at.resolve(&name)?;
    let mut shown = program.to_string_lossy().into_owned();
    for a in &args {
        shown.push(' ');
        shown.push_str(a);
    }
    args.push(script_arg);
    Ok(Resolved {
        program,
        name,
        args,
        resolved: Command::Script {
            path: script_abs,
            interpreter: Some(shown),
        },
    })
}

/// A script's absolute path: relative to the working directory when it has one.
pub fn script_path(script: &Path, cwd: Option<&Path>) -> PathBuf {
    match cwd {
        Some(c) if script.is_relative() => c.join(script),
        _ => std::path::absolute(script).unwrap_or_else(|_| script.to_path_buf()),
    }
}

/// An AWS CLI call's words must be plain: no flag where the service or operation stands,
/// no flag as the value of `--profile` or `--region`.
fn check_aws(
    service: &str,
    operation: &str,
    args: &[String],
    options: [(&str, &Option<String>); 2],
) -> Result<(), ExecutionError> {
    for (what, word) in [("service", service), ("operation", operation)] {
        if !is_aws_word(word) {
            return Err(invalid(format!(
                "aws {what} {word:?} is not a plain lowercase word"
            )));
        }
    }
    for a in args {
        no_nul("argument", a)?;
    }
    for (flag, value) in options {
        if let Some(v) = value {
            if v.is_empty() || v.starts_with('-') {
                return Err(invalid(format!("aws {flag} value {v:?} is not valid")));
            }
            no_nul(flag, v)?;
        }
    }
    Ok(())
}

/// An AWS CLI call runs `aws` with the words of [`Command::argv`] after it.
fn prepare_aws(command: &Command, at: Lookup<'_>) -> Result<Resolved, ExecutionError> {
    let mut argv = command.argv();
    let name = argv.remove(0);
    Ok(Resolved {
        program: at.resolve(&name)?,
        name,
        args: argv,
        resolved: command.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ExecutionMetadata;
    use std::io::Write;

    fn req(command: Command) -> ExecutionRequest {
        ExecutionRequest {
            id: uuid::Uuid::new_v4(),
            command,
            env: HashMap::new(),
            working_dir: None,
            timeout_ms: None,
            metadata: ExecutionMetadata::default(),
        }
    }

    #[test]
    fn exec_resolves_on_the_requests_path() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("mytool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut r = req(Command::Exec {
            program: "mytool".into(),
            args: vec![],
        });
        r.env
            .insert("PATH".into(), dir.path().to_string_lossy().into_owned());
        let p = prepare(&r, &EnvPolicy::default()).unwrap();
        assert_eq!(p.program, tool);
    }

    #[test]
    fn missing_program_names_it() {
        let r = req(Command::Exec {
            program: "no-such-program-xyz".into(),
            args: vec![],
        });
        let err = prepare(&r, &EnvPolicy::default()).unwrap_err();
        assert!(err.to_string().contains("'no-such-program-xyz'"), "{err}");
        assert_eq!(err.exit_code(), 127);
    }

    #[test]
    fn shebang_with_env_and_with_flag() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.py");
        std::fs::File::create(&a)
            .unwrap()
            .write_all(b"#!/usr/bin/env python3\nprint(1)\n")
            .unwrap();
        assert_eq!(
            read_shebang(&a).unwrap(),
            Some(Shebang {
                interpreter: "/usr/bin/env".into(),
                arg: Some("python3".into())
            })
        );
        let b = dir.path().join("b.sh");
        std::fs::write(&b, "#!/bin/bash -e\necho\n").unwrap();
        let p = prepare(
            &req(Command::Script {
                path: b.clone(),
                interpreter: None,
            }),
            &EnvPolicy::default(),
        )
        .unwrap();
        assert_eq!(
            p.args,
            vec!["-e".to_string(), b.to_string_lossy().into_owned()]
        );
    }

    #[test]
    fn script_without_shebang_or_interpreter_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("s");
        std::fs::write(&s, "echo hi\n").unwrap();
        let err = prepare(
            &req(Command::Script {
                path: s,
                interpreter: None,
            }),
            &EnvPolicy::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, ExecutionError::Validation(ref m) if m.contains("no shebang")),
            "{err}"
        );
    }

    #[test]
    fn unknown_shell_and_bad_workdir_are_invalid() {
        let err = prepare(
            &req(Command::Shell {
                command: "true".into(),
                shell: "python".into(),
            }),
            &EnvPolicy::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, ExecutionError::Validation(ref m) if m.contains("unknown shell 'python'"))
        );
        let mut r = req(Command::Exec {
            program: "true".into(),
            args: vec![],
        });
        r.working_dir = Some("/no/such/dir".into());
        let err = prepare(&r, &EnvPolicy::default()).unwrap_err();
        assert!(matches!(err, ExecutionError::Validation(ref m) if m.contains("does not exist")));
    }

    #[test]
    fn bash_runs_without_profile_or_rc() {
        let p = prepare(
            &req(Command::Shell {
                command: "echo hi".into(),
                shell: "bash".into(),
            }),
            &EnvPolicy::default(),
        )
        .unwrap();
        assert!(p.program.is_absolute());
        assert_eq!(p.args, ["--noprofile", "--norc", "-c", "echo hi"]);
    }

    #[test]
    fn aws_argv_and_flag_injection() {
        let r = req(Command::AwsCli {
            service: "--endpoint-url".into(),
            operation: "x".into(),
            args: vec![],
            profile: None,
            region: None,
        });
        assert!(matches!(
            prepare(&r, &EnvPolicy::default()),
            Err(ExecutionError::Validation(_))
        ));
    }
}
