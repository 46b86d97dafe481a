//! Rule conditions (`when = { .. }`) and how a request is matched against them.

use std::path::Path;

use cloudops_execution_engine::{Command, ExecutionRequest};
use cloudops_normalize::Normalized;
use globset::GlobMatcher;

/// One glob, with the pattern as written.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The pattern as written.
    pub glob: String,
    matcher: GlobMatcher,
}

impl Pattern {
    /// Compiles `glob` (`*`, `?`, `[..]`, `{a,b}`; `*` also matches `/`).
    pub fn new(glob: &str) -> Result<Self, globset::Error> {
        Ok(Pattern {
            glob: glob.to_string(),
            matcher: globset::Glob::new(glob)?.compile_matcher(),
        })
    }
    fn matches(&self, s: &str) -> bool {
        self.matcher.is_match(s)
    }
}

fn any(patterns: &[Pattern], s: &str) -> bool {
    patterns.iter().any(|p| p.matches(s))
}

/// A rule's `when`: every condition given must hold; an empty condition matches every request.
#[derive(Debug, Clone, Default)]
pub struct Condition {
    /// `source`: the request's `metadata.source` matches one of the globs.
    pub source: Option<Vec<Pattern>>,
    /// `tags`: every listed tag is present and matches one of its globs.
    pub tags: Vec<(String, Vec<Pattern>)>,
    /// `profile`: the active profile's name matches one of the globs.
    pub profile: Option<Vec<Pattern>>,
    /// `kind`: the command's kind is one of these (`shell`, `exec`, `script`, `aws`).
    pub kind: Option<Vec<String>>,
    /// `aws_profile`: some AWS profile the request would use matches.
    pub aws_profile: Option<Vec<Pattern>>,
    /// `aws_region`: some AWS region the request names matches.
    pub aws_region: Option<Vec<Pattern>>,
    /// `program`: some simple command's program matches (path or basename).
    pub program: Option<Vec<Pattern>>,
}

/// The facts of one request that conditions look at.
pub(crate) struct Facts<'a> {
    pub request: &'a ExecutionRequest,
    pub normalized: &'a Normalized,
    pub profile: Option<&'a str>,
}

impl Condition {
    /// True when every condition given holds for the request.
    pub(crate) fn matches(&self, f: &Facts<'_>) -> bool {
        let meta = &f.request.metadata;
        if let Some(p) = &self.source
            && !meta.source.as_deref().is_some_and(|s| any(p, s))
        {
            return false;
        }
        for (key, p) in &self.tags {
            if !meta.tags.get(key).is_some_and(|v| any(p, v)) {
                return false;
            }
        }
        if let Some(p) = &self.profile
            && !f.profile.is_some_and(|s| any(p, s))
        {
            return false;
        }
        if let Some(kinds) = &self.kind
            && !kinds.iter().any(|k| k == f.request.command.kind())
        {
            return false;
        }
        if let Some(p) = &self.aws_profile
            && !aws_values(
                f,
                "--profile",
                &["AWS_PROFILE", "AWS_DEFAULT_PROFILE"],
                true,
            )
            .iter()
            .any(|v| any(p, v))
        {
            return false;
        }
        if let Some(p) = &self.aws_region
            && !aws_values(f, "--region", &["AWS_REGION", "AWS_DEFAULT_REGION"], false)
                .iter()
                .any(|v| any(p, v))
        {
            return false;
        }
        if let Some(p) = &self.program
            && !program_matches(p, f)
        {
            return false;
        }
        true
    }
}

fn basename(s: &str) -> &str {
    Path::new(s)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(s)
}

/// Fail closed: when the normalised view is incomplete, or a command name is dynamic, the
/// program cannot be known, so a `program` condition holds.
fn program_matches(p: &[Pattern], f: &Facts<'_>) -> bool {
    if !f.normalized.is_fully_analyzed() {
        return true;
    }
    let mut names: Vec<&str> = Vec::new();
    match &f.request.command {
        Command::Exec { program, .. } => names.push(program),
        Command::Script { interpreter, path } => {
            names.extend(interpreter.as_deref());
            names.extend(path.to_str());
        }
        Command::AwsCli { .. } => names.push("aws"),
        Command::Shell { .. } => {}
    }
    for c in &f.normalized.commands {
        if c.dynamic
            && c.argv
                .first()
                .is_none_or(|a| a.contains('$') || a.contains('`'))
        {
            return true;
        }
        names.extend(c.program.as_deref());
        names.extend(c.argv.first().map(String::as_str));
    }
    names.iter().any(|n| any(p, n) || any(p, basename(n)))
}

/// Every value the request gives for an AWS option: the `aws` command's field, `--opt V`
/// or `--opt=V` in the argv of any `aws` simple command, and the environment variables.
/// With `default_profile`, an AWS call that names no profile counts as profile `default`.
fn aws_values(f: &Facts<'_>, opt: &str, env: &[&str], default_profile: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut aws_calls = 0;
    if let Command::AwsCli {
        profile, region, ..
    } = &f.request.command
    {
        aws_calls += 1;
        let field = if opt == "--profile" { profile } else { region };
        out.extend(field.clone());
    }
    let argvs = f
        .normalized
        .commands
        .iter()
        .filter(|c| {
            c.program
                .as_deref()
                .or(c.argv.first().map(String::as_str))
                .is_some_and(|p| basename(p) == "aws")
        })
        .map(|c| c.argv.as_slice());
    let own;
    let argvs: Vec<&[String]> = match &f.request.command {
        Command::AwsCli { args, .. } => {
            own = args.clone();
            vec![own.as_slice()]
        }
        _ => argvs.collect(),
    };
    for argv in argvs {
        aws_calls += 1;
        let mut it = argv.iter();
        while let Some(a) = it.next() {
            if a == opt {
                out.extend(it.next().cloned());
            } else if let Some(v) = a.strip_prefix(opt).and_then(|r| r.strip_prefix('=')) {
                out.push(v.to_string());
            }
        }
    }
    for name in env {
        out.extend(f.request.env.get(*name).cloned());
    }
    if default_profile && out.is_empty() && aws_calls > 0 {
        out.push("default".into());
    }
    out
}
