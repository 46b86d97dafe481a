//! The request of a TOML table (a policy's `[[tests]]`, a plan's `[[steps]]`): its fields, completed by the caller's defaults, made into one `ExecutionRequest`.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cloudops_execution_engine::{ExecutionMetadata, ExecutionRequest};
use toml::Spanned;

use crate::command_table::{CommandFields, command_from_fields};

/// The request fields of a `[[tests]]` or `[[steps]]` table, borrowed from the parsed TOML.
///
/// Each table keeps its own serde struct (so that `deny_unknown_fields` lists exactly its
/// keys, in its order) and lends its request fields through this one view.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestFields<'a> {
    /// `shell`, `exec`, `script`, `aws` and their options.
    pub command: CommandFields<'a>,
    /// `source = "..."`: who is asking.
    pub source: Option<&'a str>,
    /// `tags = { .. }`.
    pub tags: &'a BTreeMap<String, String>,
    /// `env = { .. }`: added to (and over) the default variables.
    pub env: &'a BTreeMap<String, String>,
    /// `cwd = "..."`: joined to [`RequestDefaults::cwd_base`].
    pub cwd: Option<&'a str>,
    /// `timeout = "..."` (plan steps only).
    pub timeout: Option<&'a Spanned<String>>,
}

/// The [`RequestFields`] of `$table`, a parsed `[[tests]]` or `[[steps]]` table: its fields
/// of the same names, borrowed, and `timeout: $timeout` (a test has none). A macro, as the
/// tables are different structs that only share these field names.
macro_rules! request_fields {
    ($table:expr, timeout: $timeout:expr) => {{
        let table = $table;
        $crate::request_table::RequestFields {
            command: $crate::command_table::CommandFields {
                shell: table.shell.as_deref(),
                exec: table.exec.as_deref(),
                script: table.script.as_deref(),
                interpreter: table.interpreter.as_deref(),
                aws: table.aws.as_deref(),
                aws_profile: table.aws_profile.as_deref(),
                aws_region: table.aws_region.as_deref(),
            },
            source: table.source.as_deref(),
            tags: &table.tags,
            env: &table.env,
            cwd: table.cwd.as_deref(),
            timeout: $timeout,
        }
    }};
}
pub(crate) use request_fields;

/// What a request gets where its table is silent, and where its relative paths start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestDefaults<'a> {
    /// The directory of the file the table is in: a `script` path is relative to it.
    pub dir: &'a Path,
    /// What a relative `cwd` is joined to: the file's directory for a plan step; the empty
    /// path for a policy test, whose `cwd` is taken as written.
    pub cwd_base: &'a Path,
    /// Variables every request gets, under its own `env`.
    pub env: &'a HashMap<String, String>,
    /// The timeout of a request that gives none.
    pub timeout: Option<Duration>,
    /// The working directory of a request that gives no `cwd`.
    pub working_dir: Option<&'a Path>,
}

/// A request field that is not acceptable: where it is written, what it is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// The byte range to point at (the whole table for a command mistake).
    pub span: Range<usize>,
    /// What is invalid (the table's kind, or `timeout`).
    pub what: &'static str,
    /// What was expected.
    pub message: String,
}

/// Makes the request a table describes (with a nil id: each use gives its own).
/// `table` is the table's span and `what` its kind (`test`, `step`), for errors about its
/// command.
pub(crate) fn request_from_fields(
    fields: &RequestFields<'_>,
    defaults: &RequestDefaults<'_>,
    table: Range<usize>,
    what: &'static str,
) -> Result<ExecutionRequest, FieldError> {
    let command = command_from_fields(&fields.command, defaults.dir).map_err(|e| FieldError {
        span: table,
        what,
        message: e.to_string(),
    })?;
    let timeout = match fields.timeout {
        None => defaults.timeout,
        Some(t) => Some(timeout(t)?),
    };
    let mut env = defaults.env.clone();
    env.extend(fields.env.clone());
    let working_dir: Option<PathBuf> = match fields.cwd {
        Some(c) => Some(defaults.cwd_base.join(c)),
        None => defaults.working_dir.map(Path::to_path_buf),
    };
    Ok(ExecutionRequest {
        id: uuid::Uuid::nil(),
        command,
        env,
        working_dir,
        timeout_ms: timeout.map(crate::millis),
        metadata: ExecutionMetadata {
            source: fields.source.map(str::to_string),
            conversation_id: None,
            tags: fields.tags.clone().into_iter().collect(),
        },
    })
}

/// A table's `timeout`, or an error at its value.
fn timeout(t: &Spanned<String>) -> Result<Duration, FieldError> {
    crate::parse_timeout(t.get_ref()).map_err(|e| FieldError {
        span: t.span(),
        what: "timeout",
        message: match e {
            crate::TimeoutError::Syntax(e) => format!("{e}; expected a duration such as \"30s\""),
            _ => "expected a positive duration (at least 1ms) of at most a few million \
                  years; leave `timeout` out for none"
                .to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudops_execution_engine::Command;

    #[test]
    fn defaults_fill_what_the_table_leaves_out_and_its_own_values_win() {
        let tags = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let env = BTreeMap::from([("A".to_string(), "table".to_string())]);
        let default_env = HashMap::from([
            ("A".to_string(), "default".to_string()),
            ("B".to_string(), "default".to_string()),
        ]);
        let fields = RequestFields {
            command: CommandFields {
                shell: Some("ls"),
                ..Default::default()
            },
            source: Some("ci"),
            tags: &tags,
            env: &env,
            cwd: Some("sub"),
            timeout: None,
        };
        let defaults = RequestDefaults {
            dir: Path::new("/plans"),
            cwd_base: Path::new("/plans"),
            env: &default_env,
            timeout: Some(Duration::from_secs(2)),
            working_dir: Some(Path::new("/elsewhere")),
        };
        let r = request_from_fields(&fields, &defaults, 0..1, "step").unwrap();
        assert!(matches!(r.command, Command::Shell { .. }));
        assert_eq!(r.env["A"], "table");
        assert_eq!(r.env["B"], "default");
        assert_eq!(r.working_dir, Some(PathBuf::from("/plans/sub")));
        assert_eq!(r.timeout_ms, Some(2000));
        assert_eq!(r.metadata.source.as_deref(), Some("ci"));
        assert_eq!(r.metadata.tags["env"], "prod");
        let r = request_from_fields(
            &RequestFields {
                cwd: None,
                ..fields
            },
            &defaults,
            0..1,
            "step",
        )
        .unwrap();
        assert_eq!(r.working_dir, Some(PathBuf::from("/elsewhere")));
    }

    #[test]
    fn a_bad_command_is_an_error_at_the_table() {
        let none = BTreeMap::new();
        let fields = RequestFields {
            command: CommandFields::default(),
            source: None,
            tags: &none,
            env: &none,
            cwd: None,
            timeout: None,
        };
        let defaults = RequestDefaults {
            dir: Path::new(""),
            cwd_base: Path::new(""),
            env: &HashMap::new(),
            timeout: None,
            working_dir: None,
        };
        let e = request_from_fields(&fields, &defaults, 3..9, "test").unwrap_err();
        assert_eq!((e.span, e.what), (3..9, "test"));
    }
}
