//! Masks secrets in what echoes a request: the decision log, `--check`, the MCP server's
//! results and the agents' hook answers all show a request through [`mask_record`] or
//! [`mask_command`], with the rules of the redact-secrets plugin (`cloudops-redact`) and the
//! request's known secrets (values of its secret-looking environment variables).
//!
//! A masked value keeps its place: an environment variable keeps its name, an argument its
//! position, a command its kind, so the record still says what happened.

use std::collections::HashMap;
use std::sync::OnceLock;

use cloudops_execution_engine::{Command, DecisionRecord, ExecutionRequest};
use cloudops_redact::{
    DEFAULT_SECRET_NAMES, KnownValues, Options, Redactor, known_secrets, name_matches,
};

/// The redactor with the built-in rules (compiled once per process, each rule on first use).
fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| {
        Redactor::new(Options {
            short_texts: true,
            ..Options::default()
        })
        .expect("the default options are valid")
    })
}

/// The known secrets of `envs`: values of variables named like [`DEFAULT_SECRET_NAMES`].
fn known_of<'a>(envs: impl IntoIterator<Item = &'a HashMap<String, String>>) -> KnownValues {
    let mut values: Vec<String> = envs
        .into_iter()
        .flat_map(|env| {
            known_secrets(
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                DEFAULT_SECRET_NAMES,
            )
        })
        .collect();
    values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    values.dedup();
    KnownValues::new(&values)
}

/// `text` with secrets replaced by `[REDACTED:<kind>]`.
fn text(s: &str, known: &KnownValues) -> String {
    redactor().redact(s, known).into_owned()
}

/// Argument words, each masked on its own and after the word before it (`--password X`,
/// `-H 'Authorization: Bearer …'`).
fn words(args: &[String], known: &KnownValues) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        let alone = text(a, known);
        let masked = match i.checked_sub(1).map(|p| &args[p]) {
            Some(prev) if alone == *a => {
                let pair = format!("{prev} {a}");
                let m = text(&pair, known);
                match m.strip_prefix(&format!("{prev} ")) {
                    Some(rest) if m != pair => rest.to_string(),
                    _ => alone,
                }
            }
            _ => alone,
        };
        out.push(masked);
    }
    out
}

fn command(c: &Command, known: &KnownValues) -> Command {
    match c {
        Command::Shell { command, shell } => Command::Shell {
            command: text(command, known),
            shell: shell.clone(),
        },
        Command::Exec { program, args } => Command::Exec {
            program: program.clone(),
            args: words(args, known),
        },
        Command::Script { .. } => c.clone(),
        Command::AwsCli {
            service,
            operation,
            args,
            profile,
            region,
        } => Command::AwsCli {
            service: service.clone(),
            operation: operation.clone(),
            args: words(args, known),
            profile: profile.clone(),
            region: region.clone(),
        },
    }
}

/// An environment value masked: by the rules (read as `NAME=value`), and whole when the
/// name says it is a secret.
fn env_value(name: &str, value: &str, known: &KnownValues) -> String {
    let line = format!("{name}={value}");
    let masked = text(&line, known);
    if masked != line {
        return masked
            .strip_prefix(&format!("{name}="))
            .map_or_else(|| redactor().marker("known-secret"), str::to_string);
    }
    if !value.is_empty()
        && !value.starts_with("[REDACTED:")
        && DEFAULT_SECRET_NAMES.iter().any(|p| name_matches(p, name))
    {
        return redactor().marker("known-secret");
    }
    value.to_string()
}

fn request(r: &ExecutionRequest, known: &KnownValues) -> ExecutionRequest {
    let mut out = r.clone();
    out.command = command(&r.command, known);
    out.env = r
        .env
        .iter()
        .map(|(k, v)| (k.clone(), env_value(k, v, known)))
        .collect();
    out
}

/// `command` as it may be shown, given the environment it runs with.
pub fn mask_command(c: &Command, env: &HashMap<String, String>) -> Command {
    command(c, &known_of([env]))
}

/// The record as it may be written or shown: commands, environment values, reasons and
/// diffs masked. Masking twice changes nothing more.
pub fn mask_record(r: &DecisionRecord) -> DecisionRecord {
    let known = known_of([&r.original.env, &r.request.env]);
    let mut out = r.clone();
    out.original = request(&r.original, &known);
    out.request = request(&r.request, &known);
    out.reason = r.reason.as_deref().map(|s| text(s, &known));
    for step in &mut out.steps {
        step.reason = step.reason.as_deref().map(|s| text(s, &known));
        step.diff = step.diff.iter().map(|d| text(d, &known)).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(command: Command, env: &[(&str, &str)]) -> ExecutionRequest {
        ExecutionRequest {
            id: uuid::Uuid::nil(),
            command,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            working_dir: None,
            timeout_ms: None,
            metadata: Default::default(),
        }
    }

    #[test]
    fn a_record_keeps_names_and_kinds_and_loses_the_secrets() {
        let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let original = req(
            Command::Shell {
                command: format!(
                    "curl -H \"Authorization: Bearer {token}\" https://api && echo {secret}"
                ),
                shell: "bash".into(),
            },
            &[("AWS_SECRET_ACCESS_KEY", secret), ("RUST_LOG", "debug")],
        );
        let mut record = DecisionRecord::allow_unchanged(&original);
        record.reason = Some(format!("saw {token}"));
        let masked = mask_record(&record);
        let shown = serde_json::to_string(&masked).expect("serialises");
        assert!(!shown.contains(token) && !shown.contains(secret), "{shown}");
        assert_eq!(masked.request.env["RUST_LOG"], "debug");
        assert!(masked.request.env["AWS_SECRET_ACCESS_KEY"].starts_with("[REDACTED:"));
        assert_eq!(masked.request.command.kind(), "shell");
        assert!(
            shown.contains("Authorization: Bearer [REDACTED:"),
            "{shown}"
        );
        assert_eq!(
            mask_record(&masked).request,
            masked.request,
            "masking twice changes nothing"
        );
    }

    #[test]
    fn exec_arguments_are_masked_in_place_also_after_their_flag() {
        let c = Command::Exec {
            program: "mysql".into(),
            args: vec![
                "--password".into(),
                "hunter2hunter2".into(),
                "-e".into(),
                "select 1".into(),
            ],
        };
        let Command::Exec { args, .. } = mask_command(&c, &HashMap::new()) else {
            panic!("still an exec");
        };
        assert_eq!(args[0], "--password");
        assert!(args[1].starts_with("[REDACTED:"), "{args:?}");
        assert_eq!(args[2..], ["-e", "select 1"]);
    }
}
