//! What a policy layer does with a plugin's answer before trusting it: a rewrite checked into the request that will run, the diff the decision record shows, output chunks made whole lines.
//!
//! These take values a plugin produced (untrusted) and never panic on them; the plugin host
//! converts its wire types into these and calls them, and the fuzz target `plugin_answer`
//! (`fuzz/`) drives them with arbitrary answers.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::error::ExecutionError;
use crate::resolve::{PreparedCommand, Preparer};
use crate::types::{Command, ExecutionRequest};

/// The fields of a request that a rewrite may change, as a plugin answered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteAnswer {
    /// The new command.
    pub command: Command,
    /// The whole new environment of the request, in the plugin's order (a name given twice
    /// is an error, not a silent choice).
    pub env: Vec<(String, String)>,
    /// The new working directory.
    pub working_dir: Option<PathBuf>,
    /// The new timeout (`Some(0)` is an error: it would make the request fail at once).
    pub timeout_ms: Option<u64>,
}

impl RewriteAnswer {
    /// The request that `current` becomes: its id and metadata kept, the rest taken from the
    /// answer, validated and prepared as the engine will before running it (by
    /// `preparer`, the engine's). The error says what makes the rewrite malformed.
    pub fn apply(
        self,
        current: &ExecutionRequest,
        preparer: &Preparer,
    ) -> Result<(ExecutionRequest, PreparedCommand), ExecutionError> {
        let mut env = HashMap::with_capacity(self.env.len());
        for (name, value) in self.env {
            if env.contains_key(&name) {
                return Err(ExecutionError::Validation(format!(
                    "the rewrite sets env var {name:?} twice"
                )));
            }
            env.insert(name, value);
        }
        if self.timeout_ms == Some(0) {
            return Err(ExecutionError::Validation(
                "the rewrite sets a timeout of 0 ms".into(),
            ));
        }
        let next = ExecutionRequest {
            id: current.id,
            command: self.command,
            env,
            working_dir: self.working_dir,
            timeout_ms: self.timeout_ms,
            metadata: current.metadata.clone(),
        };
        let prepared = preparer.prepare(&next)?;
        Ok((next, prepared))
    }
}

/// What changed from `old` to `new` (the `diff` of a decision step): `-field: old` /
/// `+field: new` lines for the command, each env var, the working dir and the timeout, in
/// that order (env vars by name).
pub fn request_diff(old: &ExecutionRequest, new: &ExecutionRequest) -> Vec<String> {
    let mut out = Vec::new();
    let pair = |out: &mut Vec<String>, field: &str, a: String, b: String| {
        out.push(format!("-{field}: {a}"));
        out.push(format!("+{field}: {b}"));
    };
    if old.command != new.command {
        pair(
            &mut out,
            "command",
            old.command.to_string(),
            new.command.to_string(),
        );
    }
    let mut names: Vec<&String> = old.env.keys().chain(new.env.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        match (old.env.get(name), new.env.get(name)) {
            (Some(a), Some(b)) if a != b => {
                pair(&mut out, &format!("env.{name}"), a.clone(), b.clone())
            }
            (Some(a), None) => out.push(format!("-env.{name}: {a}")),
            (None, Some(b)) => out.push(format!("+env.{name}: {b}")),
            _ => {}
        }
    }
    let show_dir = |d: &Option<PathBuf>| {
        d.as_ref()
            .map_or_else(|| "none".to_string(), |p| p.display().to_string())
    };
    if old.working_dir != new.working_dir {
        pair(
            &mut out,
            "working_dir",
            show_dir(&old.working_dir),
            show_dir(&new.working_dir),
        );
    }
    let show_ms = |t: Option<u64>| t.map_or_else(|| "none".to_string(), |t| t.to_string());
    if old.timeout_ms != new.timeout_ms {
        pair(
            &mut out,
            "timeout_ms",
            show_ms(old.timeout_ms),
            show_ms(new.timeout_ms),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> ExecutionRequest {
        ExecutionRequest {
            id: uuid::Uuid::new_v4(),
            command: Command::Exec {
                program: "true".into(),
                args: vec![],
            },
            env: HashMap::from([("A".into(), "1".into()), ("B".into(), "2".into())]),
            working_dir: None,
            timeout_ms: Some(5000),
            metadata: Default::default(),
        }
    }

    fn preparer() -> Preparer {
        Preparer::new(&crate::EnvPolicy::default(), &[])
    }

    fn answer(r: &ExecutionRequest) -> RewriteAnswer {
        RewriteAnswer {
            command: r.command.clone(),
            env: r.env.clone().into_iter().collect(),
            working_dir: r.working_dir.clone(),
            timeout_ms: r.timeout_ms,
        }
    }

    #[test]
    fn diff_names_each_changed_field() {
        let old = req();
        let mut new = old.clone();
        new.env.remove("B");
        new.timeout_ms = Some(100);
        assert_eq!(
            request_diff(&old, &new),
            ["-env.B: 2", "-timeout_ms: 5000", "+timeout_ms: 100"]
        );
        assert!(request_diff(&old, &old).is_empty());
    }

    #[test]
    fn rewrite_keeps_id_and_metadata_and_takes_the_rest() {
        let cur = req();
        let mut a = answer(&cur);
        a.timeout_ms = Some(10);
        a.env.push(("C".into(), "3".into()));
        let next = a.apply(&cur, &preparer()).unwrap().0;
        assert_eq!(next.id, cur.id);
        assert_eq!(next.timeout_ms, Some(10));
        assert_eq!(next.env.get("C").map(String::as_str), Some("3"));
    }

    #[test]
    fn rewrite_setting_a_var_twice_or_a_zero_timeout_is_malformed() {
        let cur = req();
        let mut a = answer(&cur);
        a.env.push(("A".into(), "other".into()));
        let err = a.apply(&cur, &preparer()).unwrap_err();
        assert!(err.to_string().contains("\"A\" twice"), "{err}");

        let mut a = answer(&cur);
        a.timeout_ms = Some(0);
        let err = a.apply(&cur, &preparer()).unwrap_err();
        assert!(err.to_string().contains("timeout of 0 ms"), "{err}");
    }

    #[test]
    fn rewrite_to_an_empty_program_fails_validation() {
        let cur = req();
        let mut a = answer(&cur);
        a.command = Command::Exec {
            program: String::new(),
            args: vec![],
        };
        assert!(a.apply(&cur, &preparer()).is_err());
    }
}
