//! Parse → validate → compile: from policy text to an immutable [`Policy`], every error with its span.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::error::PolicyError;
use crate::matcher::{Condition, Pattern};
use crate::model::{RawDefaults, RawPolicy, RawRule, RawTest, RawWhen};
use crate::policy::{DecisionLogConfig, Defaults, PluginDecl, PluginOrigin, Policy, Profile, Rule};
use crate::request_table::{RequestDefaults, request_from_fields};
use crate::test_case::{Expect, PolicyTest};
use crate::text_file::read_text;

/// What the compiler needs to know besides the file.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Names of the built-in plugins (`builtin:NAME`); `None` = do not check them here.
    pub builtins: Option<Vec<String>>,
}

impl CompileOptions {
    /// Options that check `builtin:NAME` against these names (for a binary that embeds
    /// plugins: `cloudops_builtin_plugins::names()`).
    pub fn with_builtins(names: &[&str]) -> Self {
        CompileOptions {
            builtins: Some(names.iter().map(|s| s.to_string()).collect()),
        }
    }
}

/// Reads and compiles the policy file at `path`.
pub fn load_file(path: &Path, opts: &CompileOptions) -> Result<Policy, PolicyError> {
    let text = read_text(path, "policy", |source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    compile(path, &text, opts)
}

/// Compiles policy `text`, read from `path` (relative plugin paths resolve against its directory).
pub fn compile(path: &Path, text: &str, opts: &CompileOptions) -> Result<Policy, PolicyError> {
    let cx = Cx::new(path, text);
    let raw: RawPolicy = cx.parse()?;
    if *raw.version.get_ref() != 1 {
        return Err(cx.invalid(raw.version.span(), "version", "expected `version = 1`"));
    }
    let mut sandboxes = BTreeMap::new();
    for (name, sb) in &raw.sandboxes {
        sandboxes.insert(name.get_ref().clone(), cx.sandbox(name, sb.get_ref())?);
    }
    let boxes: Vec<String> = sandboxes.keys().cloned().collect();
    let defaults = cx.defaults(&raw.defaults, &Defaults::default(), &boxes)?;
    let decision_log = match &raw.decision_log {
        None => None,
        Some(d) => {
            let d = d.get_ref();
            Some(DecisionLogConfig {
                path: cx.relative(d.path.get_ref()),
                required: d.required.unwrap_or(true),
                fsync: d.fsync.unwrap_or_default(),
            })
        }
    };
    let mut plugins = BTreeMap::new();
    for (name, p) in &raw.plugins {
        let decl = cx.plugin(name, p, opts)?;
        plugins.insert(name.get_ref().clone(), decl);
    }
    let known: Vec<String> = plugins.keys().cloned().collect();
    cx.unique_rule_names(&raw.rules, &[])?;
    let rules = raw
        .rules
        .iter()
        .map(|r| cx.rule(r, &known, &boxes))
        .collect::<Result<Vec<_>, _>>()?;
    let mut profiles = BTreeMap::new();
    for (name, p) in &raw.profiles {
        let pr = p.get_ref();
        cx.unique_rule_names(&pr.rules, &raw.rules)?;
        let profile = Profile {
            name: name.get_ref().clone(),
            description: pr.description.clone(),
            defaults: cx.defaults(&pr.defaults, &defaults, &boxes)?,
            rules: pr
                .rules
                .iter()
                .map(|r| cx.rule(r, &known, &boxes))
                .collect::<Result<_, _>>()?,
        };
        profiles.insert(name.get_ref().clone(), profile);
    }
    let tests = raw
        .tests
        .iter()
        .enumerate()
        .map(|(i, t)| cx.test(i, t, &profiles))
        .collect::<Result<_, _>>()?;
    let absolute = |p: &Path| {
        std::fs::canonicalize(p).unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or_else(|_| p.to_path_buf())
        })
    };
    let own_paths = crate::PolicyPaths {
        policy: Some(absolute(path)),
        decision_log: decision_log.as_ref().map(|d| absolute(&d.path)),
    };
    Ok(Policy {
        own_paths,
        path: path.to_path_buf(),
        defaults,
        decision_log,
        plugins,
        rules,
        profiles,
        sandboxes,
        tests,
    })
}

/// The policy file being compiled.
type Cx<'a> = crate::text_file::Cx<'a, PolicyError>;

impl Cx<'_> {
    fn relative(&self, p: &str) -> PathBuf {
        let dir = self.path.parent().unwrap_or(Path::new(""));
        dir.join(p)
    }

    fn defaults(
        &self,
        raw: &RawDefaults,
        base: &Defaults,
        sandboxes: &[String],
    ) -> Result<Defaults, PolicyError> {
        let mut d = base.clone();
        if let Some(v) = &raw.sandbox {
            d.sandbox = self.sandbox_ref(v, sandboxes)?;
        }
        d.mode = raw.mode.unwrap_or(d.mode);
        d.on_plugin_error = raw.on_plugin_error.unwrap_or(d.on_plugin_error);
        d.unmatched = raw.unmatched.unwrap_or(d.unmatched);
        d.ask_without_tty = raw.ask_without_tty.unwrap_or(d.ask_without_tty);
        if let Some(t) = &raw.timeout {
            let v = crate::parse_timeout(t.get_ref()).map_err(|e| {
                let why = match e {
                    crate::TimeoutError::Syntax(e) => {
                        format!("{e}; expected a duration such as \"30s\", \"5m\" or \"1h 30m\"")
                    }
                    _ => "expected a positive duration (at least 1ms) of at most a few million \
                          years; leave `timeout` out for none"
                        .to_string(),
                };
                self.invalid(t.span(), "timeout", why)
            })?;
            d.timeout = Some(v);
        }
        if let Some(v) = &raw.max_output_bytes {
            d.max_output_bytes = Some(self.positive(v, "max_output_bytes")? as usize);
        }
        if let Some(v) = &raw.max_line_bytes {
            d.max_line_bytes = Some(self.positive(v, "max_line_bytes")? as usize);
        }
        Ok(d)
    }

    pub(crate) fn positive(
        &self,
        v: &Spanned<i64>,
        what: &'static str,
    ) -> Result<u64, PolicyError> {
        u64::try_from(*v.get_ref())
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| self.invalid(v.span(), what, "expected a positive integer"))
    }

    fn plugin(
        &self,
        name: &Spanned<String>,
        p: &Spanned<crate::model::RawPlugin>,
        opts: &CompileOptions,
    ) -> Result<PluginDecl, PolicyError> {
        let pname = name.get_ref().clone();
        let p = p.get_ref();
        let source_at = self.at(p.source.span());
        let src = p.source.get_ref();
        let origin = if let Some(b) = src.strip_prefix("builtin:") {
            if let Some(known) = &opts.builtins
                && !known.iter().any(|k| k == b)
            {
                return Err(PolicyError::UnknownBuiltin {
                    at: source_at.clone(),
                    plugin: pname,
                    builtin: b.to_string(),
                    known: known.clone(),
                });
            }
            PluginOrigin::Builtin(b.to_string())
        } else {
            let file = self.relative(src);
            if let Err(source) = std::fs::metadata(&file).and_then(|m| {
                if m.is_file() {
                    Ok(())
                } else {
                    Err(std::io::Error::other("not a regular file"))
                }
            }) {
                return Err(PolicyError::MissingPluginFile {
                    at: source_at.clone(),
                    plugin: pname,
                    file,
                    source,
                });
            }
            PluginOrigin::File(file)
        };
        let sha256 = match &p.sha256 {
            None => None,
            Some(s) => {
                let v = s.get_ref().to_ascii_lowercase();
                if v.len() != 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(self.invalid(
                        s.span(),
                        "sha256",
                        "expected 64 hexadecimal digits (the output of `sha256sum FILE`)",
                    ));
                }
                Some(v)
            }
        };
        let (mut cpu_ms, mut memory_bytes) = (None, None);
        if let Some(l) = &p.limits {
            let l = l.get_ref();
            if let Some(c) = &l.cpu_ms {
                cpu_ms = Some(self.positive(c, "cpu_ms")?);
            }
            if let Some(m) = &l.memory_mb {
                let mb = self.positive(m, "memory_mb")?;
                if mb > 4096 {
                    return Err(self.invalid(m.span(), "memory_mb", "expected at most 4096"));
                }
                memory_bytes = Some(mb as usize * 1024 * 1024);
            }
        }
        let config_json = match &p.config {
            None => "{}".to_string(),
            Some(c) => serde_json::to_string(c.get_ref()).map_err(|e| {
                self.invalid(
                    c.span(),
                    "config",
                    format!("cannot be turned into JSON: {e}"),
                )
            })?,
        };
        Ok(PluginDecl {
            name: pname,
            origin,
            sha256_at: p
                .sha256
                .as_ref()
                .map_or_else(|| source_at.clone(), |s| self.at(s.span())),
            config_at: p
                .config
                .as_ref()
                .map_or_else(|| source_at.clone(), |c| self.at(c.span())),
            limits_at: p
                .limits
                .as_ref()
                .map_or_else(|| source_at.clone(), |l| self.at(l.span())),
            source_at,
            sha256,
            cpu_ms,
            memory_bytes,
            on_error: p.on_error,
            mode: p.mode,
            config_json,
        })
    }

    /// Rule names are not empty and name one rule: `rules`, and `also` (the top-level
    /// rules, which apply together with a profile's).
    fn unique_rule_names(
        &self,
        rules: &[Spanned<RawRule>],
        also: &[Spanned<RawRule>],
    ) -> Result<(), PolicyError> {
        for (i, r) in rules.iter().enumerate() {
            let name = &r.get_ref().name;
            if name.get_ref().trim().is_empty() {
                return Err(self.invalid(name.span(), "rule name", "expected a non-empty name"));
            }
            let earlier = also
                .iter()
                .chain(&rules[..i])
                .find(|o| o.get_ref().name.get_ref() == name.get_ref());
            if let Some(o) = earlier {
                let line = self.at(o.get_ref().name.span()).line;
                return Err(self.invalid(
                    name.span(),
                    "rule name",
                    format!(
                        "rule '{}' is already defined on line {line}; decision records name rules, so each needs its own name",
                        name.get_ref()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn rule(
        &self,
        r: &Spanned<RawRule>,
        known: &[String],
        sandboxes: &[String],
    ) -> Result<Rule, PolicyError> {
        let raw = r.get_ref();
        let name = raw.name.get_ref().clone();
        let mut plugins: Vec<String> = Vec::new();
        for p in &raw.plugins {
            if !known.contains(p.get_ref()) {
                return Err(PolicyError::UnknownPlugin {
                    at: self.at(p.span()),
                    rule: name,
                    plugin: p.get_ref().clone(),
                    known: known.to_vec(),
                });
            }
            if plugins.contains(p.get_ref()) {
                return Err(self.invalid(
                    p.span(),
                    "plugins",
                    format!(
                        "plugin '{}' is listed twice in rule '{name}'; a plugin runs once",
                        p.get_ref()
                    ),
                ));
            }
            plugins.push(p.get_ref().clone());
        }
        let when = match &raw.when {
            None => Condition::default(),
            Some(w) => self.when(w)?,
        };
        Ok(Rule {
            name,
            when,
            plugins,
            mode: raw.mode,
            sandbox: raw
                .sandbox
                .as_ref()
                .map(|v| self.sandbox_ref(v, sandboxes))
                .transpose()?,
        })
    }

    fn strings(
        &self,
        v: &Spanned<toml::Value>,
        what: &'static str,
    ) -> Result<Vec<String>, PolicyError> {
        let bad = || self.invalid(v.span(), what, "expected a string or an array of strings");
        match v.get_ref() {
            toml::Value::String(s) => Ok(vec![s.clone()]),
            toml::Value::Array(a) if !a.is_empty() => a
                .iter()
                .map(|x| x.as_str().map(str::to_string).ok_or_else(bad))
                .collect(),
            _ => Err(bad()),
        }
    }

    fn globs(
        &self,
        v: &Spanned<toml::Value>,
        what: &'static str,
    ) -> Result<Vec<Pattern>, PolicyError> {
        self.strings(v, what)?
            .iter()
            .map(|g| {
                Pattern::new(g).map_err(|e| {
                    self.invalid(v.span(), what, format!("bad glob {g:?}: {}", e.kind()))
                })
            })
            .collect()
    }

    fn when(&self, w: &RawWhen) -> Result<Condition, PolicyError> {
        let opt = |v: &Option<Spanned<toml::Value>>, what| {
            v.as_ref().map(|v| self.globs(v, what)).transpose()
        };
        let kind = match &w.kind {
            None => None,
            Some(v) => {
                let kinds = self.strings(v, "kind")?;
                if let Some(k) = kinds
                    .iter()
                    .find(|k| !["shell", "exec", "script", "aws"].contains(&k.as_str()))
                {
                    return Err(self.invalid(
                        v.span(),
                        "kind",
                        format!("unknown kind {k:?}; expected \"shell\", \"exec\", \"script\" or \"aws\""),
                    ));
                }
                Some(kinds)
            }
        };
        let mut tags = Vec::new();
        for (k, v) in w.tags.iter().flatten() {
            tags.push((k.clone(), self.globs(v, "tag")?));
        }
        Ok(Condition {
            source: opt(&w.source, "source")?,
            tags,
            profile: opt(&w.profile, "profile")?,
            kind,
            aws_profile: opt(&w.aws_profile, "aws_profile")?,
            aws_region: opt(&w.aws_region, "aws_region")?,
            program: opt(&w.program, "program")?,
        })
    }

    fn test(
        &self,
        i: usize,
        t: &Spanned<RawTest>,
        profiles: &BTreeMap<String, Profile>,
    ) -> Result<PolicyTest, PolicyError> {
        let at = self.at(t.span());
        let raw = t.get_ref();
        let bad = |msg: &str| self.invalid(t.span(), "test", msg);
        let dir = self.path.parent().unwrap_or(Path::new(""));
        let defaults = RequestDefaults {
            dir,
            // A test's `cwd` is taken as written, not relative to the policy file.
            cwd_base: Path::new(""),
            env: &HashMap::new(),
            timeout: None,
            working_dir: None,
        };
        let request = request_from_fields(&raw.request_fields(), &defaults, t.span(), "test")
            .map_err(|e| self.invalid(e.span, e.what, e.message))?;
        let expect = Expect::parse(raw.expect.get_ref()).ok_or_else(|| {
            self.invalid(
                raw.expect.span(),
                "expect",
                "expected \"allow\", \"deny\", \"rewrite\" or \"ask\"",
            )
        })?;
        if let Some(p) = &raw.profile
            && !profiles.contains_key(p)
        {
            return Err(bad(&format!("unknown profile {p:?}")));
        }
        Ok(PolicyTest {
            name: raw
                .name
                .clone()
                .unwrap_or_else(|| format!("test {}", i + 1)),
            request,
            profile: raw.profile.clone(),
            expect,
            reason: raw.reason.clone(),
            argv: raw.argv.clone(),
            at,
        })
    }
}
