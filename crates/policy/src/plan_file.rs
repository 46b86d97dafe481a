//! Plan files (TOML): description, strategy and steps with the request fields of a policy test, parsed with spans.
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

use std::collections::BTreeMap;
use std::path::Path;

use cloudops_execution_engine::{
    ExecutionMetadata, ExecutionPlan, ExecutionRequest, ExecutionStrategy,
};
use serde::Deserialize;
use toml::Spanned;

use crate::error::PlanError;
use crate::request_table::{RequestDefaults, RequestFields, request_fields, request_from_fields};
use crate::template::RequestTemplate;
use crate::text_file::read_text;

/// The whole file.
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

/// `[[steps]]`: a name and the request fields of a policy's `[[tests]]`, plus `timeout`.
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

impl RawStep {
    /// Its request fields, for the conversion shared with policy tests.
    fn request_fields(&self) -> RequestFields<'_> {
        request_fields!(self, timeout: self.timeout.as_ref())
    }
}

/// A plan read from a file, with a display name per step.
#[derive(Debug)]
pub struct PlanFile {
    /// The plan to execute.
    pub plan: ExecutionPlan,
    /// One name per step (its `name`, else its command line).
    pub names: Vec<String>,
}

/// Reads and validates the plan at `path`; its steps get `defaults` (the command line's
/// flags) where they are silent: its source and tags are the plan's, a step's own
/// `source` and `tags` are its request's.
pub fn load_plan(path: &Path, defaults: &RequestTemplate) -> Result<PlanFile, PlanError> {
    let text = read_text(path, "plan", |source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let cx = Cx::new(path, &text);
    let raw: RawPlan = cx.parse()?;
    let strategy = cx.strategy(&raw)?;
    let (commands, names) = cx.steps(&raw.steps, defaults)?;
    Ok(PlanFile {
        plan: ExecutionPlan {
            id: uuid::Uuid::new_v4(),
            description: raw.description,
            strategy,
            commands,
            metadata: ExecutionMetadata {
                source: defaults.source.clone(),
                conversation_id: None,
                tags: defaults.tags.clone(),
            },
        },
        names,
    })
}

/// The plan file being read.
type Cx<'a> = crate::text_file::Cx<'a, PlanError>;

impl Cx<'_> {
    /// `strategy` with `stop_on_error` or `max_concurrency`.
    fn strategy(&self, raw: &RawPlan) -> Result<ExecutionStrategy, PlanError> {
        match raw.strategy.get_ref().as_str() {
            "serial" => Ok(ExecutionStrategy::Serial {
                stop_on_error: raw.stop_on_error.unwrap_or(true),
            }),
            "parallel" => Ok(ExecutionStrategy::Parallel {
                max_concurrency: raw
                    .max_concurrency
                    .as_ref()
                    .map(|n| self.max_concurrency(n))
                    .transpose()?,
            }),
            _ => Err(self.invalid(
                raw.strategy.span(),
                "strategy",
                "expected \"serial\" or \"parallel\"",
            )),
        }
    }

    fn max_concurrency(&self, n: &Spanned<i64>) -> Result<usize, PlanError> {
        usize::try_from(*n.get_ref())
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| self.invalid(n.span(), "max_concurrency", "expected a positive integer"))
    }

    /// The steps' requests (each with a fresh id) and display names; at least one step.
    fn steps(
        &self,
        steps: &Spanned<Vec<Spanned<RawStep>>>,
        defaults: &RequestTemplate,
    ) -> Result<(Vec<ExecutionRequest>, Vec<String>), PlanError> {
        if steps.get_ref().is_empty() {
            return Err(self.invalid(steps.span(), "steps", "expected at least one step"));
        }
        let dir = self.path.parent().unwrap_or(Path::new(""));
        let defaults = RequestDefaults {
            dir,
            cwd_base: dir,
            env: &defaults.env,
            timeout: defaults.timeout,
            working_dir: defaults.working_dir.as_deref(),
        };
        let mut commands = Vec::new();
        let mut names = Vec::new();
        for step in steps.get_ref() {
            let raw = step.get_ref();
            let request =
                request_from_fields(&raw.request_fields(), &defaults, step.span(), "step")
                    .map_err(|e| self.invalid(e.span, e.what, e.message))?;
            names.push(
                raw.name
                    .clone()
                    .unwrap_or_else(|| request.command.to_string()),
            );
            commands.push(ExecutionRequest {
                id: uuid::Uuid::new_v4(),
                ..request
            });
        }
        Ok((commands, names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::time::Duration;

    fn load(text: &str, defaults: &RequestTemplate) -> Result<PlanFile, PlanError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.toml");
        std::fs::write(&path, text).unwrap();
        load_plan(&path, defaults)
    }

    #[test]
    fn steps_get_the_defaults_where_they_are_silent() {
        let defaults = RequestTemplate {
            source: Some("cli".into()),
            env: HashMap::from([("A".to_string(), "cli".to_string())]),
            timeout: Some(Duration::from_secs(3)),
            working_dir: Some("/work".into()),
            ..Default::default()
        };
        let f = load(
            "strategy = \"serial\"\n[[steps]]\nshell = \"ls\"\n\
             [[steps]]\nname = \"two\"\nexec = [\"true\"]\ntimeout = \"1s\"\ncwd = \"/tmp\"\n",
            &defaults,
        )
        .unwrap();
        assert_eq!(f.names, ["bash -c ls", "two"]);
        let [one, two] = &f.plan.commands[..] else {
            panic!("{:?}", f.plan.commands)
        };
        assert_eq!(one.env["A"], "cli");
        assert_eq!(one.timeout_ms, Some(3000));
        assert_eq!(one.working_dir, Some(PathBuf::from("/work")));
        assert_eq!(
            (two.timeout_ms, two.working_dir.clone()),
            (Some(1000), Some("/tmp".into()))
        );
        assert_ne!(one.id, two.id);
        assert_eq!(f.plan.metadata.source.as_deref(), Some("cli"));
    }

    #[test]
    fn a_bad_timeout_is_located_at_its_value() {
        let e = load(
            "strategy = \"serial\"\n[[steps]]\nshell = \"ls\"\ntimeout = \"0s\"\n",
            &RequestTemplate::default(),
        )
        .unwrap_err();
        let at = e.location().unwrap();
        assert_eq!((at.line, at.column), (4, 11));
        assert!(
            e.render().starts_with("invalid timeout\n"),
            "{}",
            e.render()
        );
    }
}
