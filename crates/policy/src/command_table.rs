//! The command of a TOML table (a policy's `[[tests]]`, a plan's `[[steps]]`): exactly one of `shell`, `exec`, `script` or `aws`, with their options.

use std::path::Path;

use cloudops_execution_engine::Command;

/// The command fields of a `[[tests]]` or `[[steps]]` table, borrowed from the parsed TOML.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommandFields<'a> {
    /// `shell = "..."`: a `bash -c` command line.
    pub shell: Option<&'a str>,
    /// `exec = ["program", "arg", ...]`: a program run without a shell.
    pub exec: Option<&'a [String]>,
    /// `script = "path"`: a script file, relative to the file the table is in.
    pub script: Option<&'a str>,
    /// `interpreter = "..."`: the script's interpreter (else its shebang).
    pub interpreter: Option<&'a str>,
    /// `aws = ["service", "operation", "arg", ...]`: an AWS CLI call.
    pub aws: Option<&'a [String]>,
    /// `aws_profile = "..."`: `--profile` of the AWS call.
    pub aws_profile: Option<&'a str>,
    /// `aws_region = "..."`: `--region` of the AWS call.
    pub aws_region: Option<&'a str>,
}

/// Why a table's command fields do not make a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandFieldsError {
    /// None, or more than one, of `shell`, `exec`, `script`, `aws`.
    #[error("expected exactly one of `shell`, `exec`, `script` or `aws`")]
    NotExactlyOne,
    /// `exec = []`.
    #[error("expected `exec` to hold at least the program")]
    EmptyExec,
    /// `aws` with fewer than two words.
    #[error("expected `aws` to hold at least SERVICE and OPERATION")]
    ShortAws,
}

/// The command the fields describe. A `script` path is joined to `base_dir` (the
/// directory of the file the table is in); a shell command runs with `bash`.
pub fn command_from_fields(
    fields: &CommandFields<'_>,
    base_dir: &Path,
) -> Result<Command, CommandFieldsError> {
    let given = [
        fields.shell.is_some(),
        fields.exec.is_some(),
        fields.script.is_some(),
        fields.aws.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(CommandFieldsError::NotExactlyOne);
    }
    Ok(if let Some(command) = fields.shell {
        Command::Shell {
            command: command.to_string(),
            shell: "bash".into(),
        }
    } else if let Some(argv) = fields.exec {
        let (program, args) = argv.split_first().ok_or(CommandFieldsError::EmptyExec)?;
        Command::Exec {
            program: program.clone(),
            args: args.to_vec(),
        }
    } else if let Some(path) = fields.script {
        Command::Script {
            path: base_dir.join(path),
            interpreter: fields.interpreter.map(str::to_string),
        }
    } else {
        let argv = fields.aws.unwrap_or_default();
        let [service, operation, args @ ..] = argv else {
            return Err(CommandFieldsError::ShortAws);
        };
        Command::AwsCli {
            service: service.clone(),
            operation: operation.clone(),
            args: args.to_vec(),
            profile: fields.aws_profile.map(str::to_string),
            region: fields.aws_region.map(str::to_string),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_kind_is_built_and_a_script_is_relative_to_the_file() {
        let dir = Path::new("/etc/cloudops");
        let f = |fields| command_from_fields(&fields, dir).unwrap();
        assert_eq!(
            f(CommandFields {
                shell: Some("ls | wc -l"),
                ..Default::default()
            }),
            Command::Shell {
                command: "ls | wc -l".into(),
                shell: "bash".into()
            }
        );
        let exec = words(&["ls", "-la"]);
        assert_eq!(
            f(CommandFields {
                exec: Some(&exec),
                ..Default::default()
            }),
            Command::Exec {
                program: "ls".into(),
                args: words(&["-la"])
            }
        );
        assert_eq!(
            f(CommandFields {
                script: Some("deploy.sh"),
                interpreter: Some("sh"),
                ..Default::default()
            }),
            Command::Script {
                path: dir.join("deploy.sh"),
                interpreter: Some("sh".into())
            }
        );
        let aws = words(&["s3", "ls", "s3://b"]);
        assert_eq!(
            f(CommandFields {
                aws: Some(&aws),
                aws_region: Some("eu-west-1"),
                ..Default::default()
            }),
            Command::AwsCli {
                service: "s3".into(),
                operation: "ls".into(),
                args: words(&["s3://b"]),
                profile: None,
                region: Some("eu-west-1".into())
            }
        );
    }

    #[test]
    fn missing_doubled_and_short_commands_are_refused() {
        let dir = Path::new("");
        let exec = words(&["ls"]);
        let empty: Vec<String> = Vec::new();
        let one = words(&["s3"]);
        for (fields, want) in [
            (CommandFields::default(), CommandFieldsError::NotExactlyOne),
            (
                CommandFields {
                    shell: Some("ls"),
                    exec: Some(&exec),
                    ..Default::default()
                },
                CommandFieldsError::NotExactlyOne,
            ),
            (
                CommandFields {
                    exec: Some(&empty),
                    ..Default::default()
                },
                CommandFieldsError::EmptyExec,
            ),
            (
                CommandFields {
                    aws: Some(&one),
                    ..Default::default()
                },
                CommandFieldsError::ShortAws,
            ),
        ] {
            assert_eq!(command_from_fields(&fields, dir), Err(want));
        }
    }
}
