//! Plan files (TOML): description, strategy and steps with the fields of a request; parsed with spans.
//!
//! ```toml
//! description = "deploy"
//! strategy = "serial"          # or "parallel"
//! stop_on_error = true         # serial only (default true)
//! max_concurrency = 4          # parallel only (default: number of CPUs)
//!
//! [[steps]]
//! name = "build"               # optional, shown in progress and summary
//! exec = ["make", "-j4"]       # or shell = "...", script = "path", aws = ["s3", "ls"]
//! interpreter = "python3"      # script only
//! aws_profile = "prod"         # aws only
//! aws_region = "eu-west-1"     # aws only
//! source = "ci"
//! tags = { env = "prod" }
//! env = { RUST_LOG = "info" }
//! cwd = "subdir"               # relative to the plan file
//! timeout = "10m"
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use cloudops_execution_engine::{
    ExecutionMetadata, ExecutionPlan, ExecutionRequest, ExecutionStrategy,
};
use cloudops_policy::{CommandFields, Location, command_from_fields};
use serde::Deserialize;
use toml::Spanned;

use crate::render::UserError;
use crate::settings::Common;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    #[serde(default)]
    description: String,
    strategy: Spanned<String>,
    #[serde(default)]
    stop_on_error: Option<bool>,
    #[serde(default)]
    max_concurrency: Option<Spanned<i64>>,
    steps: Spanned<Vec<Spanned<RawStep>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    shell: Option<String>,
    #[serde(default)]
    exec: Option<Vec<String>>,
    #[serde(default)]
    script: Option<String>,
    #[serde(default)]
    interpreter: Option<String>,
    #[serde(default)]
    aws: Option<Vec<String>>,
    #[serde(default)]
    aws_profile: Option<String>,
    #[serde(default)]
    aws_region: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
}

/// A plan read from a file, with a display name per step.
#[derive(Debug)]
pub struct PlanFile {
    /// The plan to execute.
    pub plan: ExecutionPlan,
    /// One name per step (its `name`, else its command line).
    pub names: Vec<String>,
}

fn error(
    path: &Path,
    text: &str,
    span: std::ops::Range<usize>,
    message: &str,
    label: &str,
) -> anyhow::Error {
    let at = Location::from_span(path, text, span);
    UserError::new(format!("{message}\n{}", at.snippet(label)))
        .hint("see `cloudops plan --help` and the plan file format in the README")
        .into()
}

/// Largest plan file read (4 MiB): a path such as `/dev/zero` must not be read until
/// memory runs out.
const MAX_PLAN_BYTES: u64 = 4 << 20;

/// The text of the plan file: at most [`MAX_PLAN_BYTES`], UTF-8 (else an error at the
/// first byte that is not).
fn read_text(path: &Path) -> anyhow::Result<String> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| {
        anyhow::Error::new(e).context(UserError::new(format!(
            "could not read plan file '{}'",
            path.display()
        )))
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_PLAN_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(cannot(std::io::Error::other(format!(
            "the file is larger than the {} MiB a plan file may have",
            MAX_PLAN_BYTES >> 20
        ))));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
        error(
            path,
            &lossy,
            at..at + 1,
            "invalid UTF-8: a plan file must be UTF-8 text",
            "",
        )
    })
}

/// Reads and validates the plan at `path`; steps inherit `--source`, `--tag`, `--env`, `--timeout`.
pub fn load(path: &Path, common: &Common) -> anyhow::Result<PlanFile> {
    let text = read_text(path)?;
    let raw: RawPlan = toml::from_str(&text).map_err(|e| {
        error(
            path,
            &text,
            e.span().unwrap_or(0..0),
            e.message().trim_end(),
            "",
        )
    })?;
    let strategy = match raw.strategy.get_ref().as_str() {
        "serial" => ExecutionStrategy::Serial {
            stop_on_error: raw.stop_on_error.unwrap_or(true),
        },
        "parallel" => ExecutionStrategy::Parallel {
            max_concurrency: match &raw.max_concurrency {
                None => None,
                Some(n) => Some(
                    usize::try_from(*n.get_ref())
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            error(
                                path,
                                &text,
                                n.span(),
                                "invalid max_concurrency",
                                "expected a positive integer",
                            )
                        })?,
                ),
            },
        },
        _ => {
            return Err(error(
                path,
                &text,
                raw.strategy.span(),
                "invalid strategy",
                "expected \"serial\" or \"parallel\"",
            ));
        }
    };
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut commands = Vec::new();
    let mut names = Vec::new();
    if raw.steps.get_ref().is_empty() {
        return Err(error(
            path,
            &text,
            raw.steps.span(),
            "invalid steps",
            "expected at least one step",
        ));
    }
    for s in raw.steps.get_ref() {
        let span = s.span();
        let st = s.get_ref();
        let bad = |m: &str| error(path, &text, span.clone(), "invalid step", m);
        let fields = CommandFields {
            shell: st.shell.as_deref(),
            exec: st.exec.as_deref(),
            script: st.script.as_deref(),
            interpreter: st.interpreter.as_deref(),
            aws: st.aws.as_deref(),
            aws_profile: st.aws_profile.as_deref(),
            aws_region: st.aws_region.as_deref(),
        };
        let command = command_from_fields(&fields, dir).map_err(|e| bad(&e.to_string()))?;
        let timeout = match &st.timeout {
            None => common.timeout,
            Some(t) => {
                let bad = |m: &str| error(path, &text, t.span(), "invalid timeout", m);
                let d = cloudops_policy::parse_timeout(t.get_ref()).map_err(|e| match e {
                    cloudops_policy::TimeoutError::Syntax(e) => {
                        bad(&format!("{e}; expected a duration such as \"30s\""))
                    }
                    _ => bad(
                        "expected a positive duration (at least 1ms) of at most a few million \
                              years; leave `timeout` out for none",
                    ),
                })?;
                Some(d)
            }
        };
        let mut env: HashMap<String, String> = common.env.clone();
        env.extend(st.env.clone());
        let cwd: Option<PathBuf> = st
            .cwd
            .as_ref()
            .map(|c| dir.join(c))
            .or_else(|| common.working_dir());
        names.push(st.name.clone().unwrap_or_else(|| command.to_string()));
        commands.push(ExecutionRequest {
            id: uuid::Uuid::new_v4(),
            command,
            env,
            working_dir: cwd,
            timeout_ms: timeout.map(cloudops_session::millis),
            metadata: ExecutionMetadata {
                source: st.source.clone(),
                conversation_id: None,
                tags: st.tags.clone().into_iter().collect(),
            },
        });
    }
    Ok(PlanFile {
        plan: ExecutionPlan {
            id: uuid::Uuid::new_v4(),
            description: raw.description,
            strategy,
            commands,
            metadata: ExecutionMetadata {
                source: common.source.clone(),
                conversation_id: None,
                tags: common.tags.clone(),
            },
        },
        names,
    })
}
