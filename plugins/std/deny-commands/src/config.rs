//! The plugin's configuration (the policy's `config` table) and its compiled form.

use std::collections::BTreeMap;

use cloudops_plugin_sdk::FlagAliases;
use cloudops_plugin_sdk::glob::Glob;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// What to answer for a class of requests. There is no "allow": inline code and what
/// cannot be analysed are never silently let through (issue 5).
pub use cloudops_plugin_sdk::DenyOrAsk as Action;

/// Reads the value of the action key `key`: `"deny"` or `"ask"`; anything else (notably
/// `"allow"`, accepted by earlier versions) is an error naming the key and the values.
fn action<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Action, D::Error> {
    let word = String::deserialize(d)?;
    match word.as_str() {
        "deny" => Ok(Action::Deny),
        "ask" => Ok(Action::Ask),
        other => Err(D::Error::custom(format!(
            "`{key}` must be \"deny\" or \"ask\", not {other:?}{}",
            if other == "allow" {
                " (deny-commands never silently allows; use \"ask\", and let the policy's approver decide)"
            } else {
                ""
            }
        ))),
    }
}

fn on_inline_code<'de, D: Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
    action(d, "on_inline_code")
}

fn on_unanalyzable<'de, D: Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
    action(d, "on_unanalyzable")
}

fn delete_outside_action<'de, D: Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
    action(d, "delete_outside_action")
}

fn rule_action<'de, D: Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
    action(d, "action")
}

/// The `config` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Keep the built-in rules, programs, device redirections and fork-bomb check.
    #[serde(default = "yes")]
    pub defaults: bool,
    /// Programs denied outright: globs on the basename, or on the path when the pattern
    /// holds a `/`.
    #[serde(default)]
    pub programs: Vec<String>,
    /// Argv rules.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Redirection targets denied (`> /dev/sda`), as globs.
    #[serde(default)]
    pub redirect_targets: Vec<String>,
    /// Interpreters given inline code (`python -c`, `node -e`, awk `system()`, ...).
    #[serde(default = "ask", deserialize_with = "on_inline_code")]
    pub on_inline_code: Action,
    /// Inline interpreter code is no finding when the request runs in a kernel sandbox
    /// (the host says so in the request): the sandbox holds what it does, as it holds a
    /// build script's. Without a sandbox `on_inline_code` applies.
    #[serde(default)]
    pub allow_inline_code_in_sandbox: bool,
    /// A rule's operands that are only known at run time (`rm -rf "$BUILD_DIR"`, `xargs
    /// rm -rf`) are no finding when the request runs in a kernel sandbox: the sandbox
    /// holds what the command may delete. Without a sandbox `on_unanalyzable` applies.
    /// Operands written as `$HOME` and the like are matched as written whatever this says.
    #[serde(default)]
    pub allow_dynamic_operands_in_sandbox: bool,
    /// Recursive deletes (`rm -r`, `find -delete`) of a path outside these roots are asked
    /// about or denied (`delete_outside_action`): `{cwd}` is the working directory,
    /// `~/…` the request's home. Empty (the default): no such check.
    #[serde(default)]
    pub delete_outside_roots: Vec<String>,
    /// `"ask"` (default) or `"deny"` for `delete_outside_roots`.
    #[serde(default = "ask", deserialize_with = "delete_outside_action")]
    pub delete_outside_action: Action,
    /// Requests the host could not fully analyse, dynamic command names, and shells
    /// whose script this plugin cannot see.
    #[serde(default, deserialize_with = "on_unanalyzable")]
    pub on_unanalyzable: Action,
}

fn yes() -> bool {
    true
}

fn ask() -> Action {
    Action::Ask
}

/// One argv rule: it matches an invocation when the program matches, every flag in
/// `flags` is present, every glob of `words` matches some argument, and (when `args` is
/// not empty) some operand matches one of `args` and none of `except_args`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Name shown in reasons.
    #[serde(default)]
    pub name: Option<String>,
    /// Program glob (basename, or path when it holds a `/`).
    pub program: String,
    /// Programs the rule never applies to (globs, as `program`): `program = "*"` except
    /// `ssh`, which uses a key and does not show it.
    #[serde(default)]
    pub except_programs: Vec<String>,
    /// Long flag names (or single letters) that must all be present.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Letter → long name aliases of the program (`R = "recursive"`).
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Globs over argument words (options included); each must match some word.
    #[serde(default)]
    pub words: Vec<String>,
    /// Globs over operands (paths normalised, relative ones also joined onto the working
    /// directory, the home directory written as `~`); one must match.
    #[serde(default)]
    pub args: Vec<String>,
    /// Operands that never count as a match of `args`.
    #[serde(default)]
    pub except_args: Vec<String>,
    /// Globs over argument words: the rule does not apply when any word matches one
    /// (`git restore` except `--staged`).
    #[serde(default)]
    pub except_words: Vec<String>,
    /// At least this many operands (the subcommand included): `git checkout REF PATH`.
    #[serde(default)]
    pub min_operands: usize,
    /// Flags (as `flags`) any of which makes the rule not apply (`git clean -n`).
    #[serde(default)]
    pub except_flags: Vec<String>,
    /// Only the last operand counts for `args` (the destination of `cp`, `ln`, `rsync`).
    #[serde(default)]
    pub last_operand: bool,
    /// The last operand never counts for `args` when there are several (`cp .env.example
    /// .env` writes `.env`, it does not read it).
    #[serde(default)]
    pub except_last_operand: bool,
    /// Operands known only at run time (`$X`, operands `xargs` appends) make the rule an
    /// unanalysable finding (`on_unanalyzable`); `false`: they are not matched at all
    /// (for rules over every program, such as secret files, where an unknown operand is
    /// the common case).
    #[serde(default = "yes")]
    pub dynamic_operands: bool,
    /// The reason given to the requester.
    pub reason: String,
    /// Deny (default) or ask.
    #[serde(default, deserialize_with = "rule_action")]
    pub action: Action,
}

impl Default for RuleConfig {
    fn default() -> Self {
        RuleConfig {
            name: None,
            program: String::new(),
            except_programs: Vec::new(),
            flags: Vec::new(),
            aliases: BTreeMap::new(),
            words: Vec::new(),
            args: Vec::new(),
            except_args: Vec::new(),
            except_words: Vec::new(),
            min_operands: 0,
            except_flags: Vec::new(),
            last_operand: false,
            except_last_operand: false,
            dynamic_operands: true,
            reason: String::new(),
            action: Action::default(),
        }
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub program: Glob,
    pub except_programs: Vec<Glob>,
    pub flags: Vec<(Option<char>, String)>,
    pub aliases: FlagAliases,
    pub words: Vec<Glob>,
    pub args: Vec<Glob>,
    pub except_args: Vec<Glob>,
    pub except_words: Vec<Glob>,
    pub min_operands: usize,
    pub except_flags: Vec<(Option<char>, String)>,
    pub last_operand: bool,
    pub except_last_operand: bool,
    pub dynamic_operands: bool,
    pub reason: String,
    pub action: Action,
}

impl RuleConfig {
    /// Validates and compiles; errors name the rule.
    pub fn compile(&self, index: usize) -> Result<Rule, String> {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("rules[{index}] ({})", self.program));
        if self.program.is_empty() {
            return Err(format!("rule {name}: `program` is empty"));
        }
        if self.reason.trim().is_empty() {
            return Err(format!("rule {name}: `reason` is empty"));
        }
        let mut aliases = FlagAliases::none();
        for (short, long) in &self.aliases {
            let mut chars = short.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => aliases = aliases.with(c, long),
                _ => {
                    return Err(format!(
                        "rule {name}: alias key {short:?} must be a single letter"
                    ));
                }
            }
        }
        let flag = |f: &String| {
            let f = f.trim_start_matches('-');
            let mut chars = f.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => (Some(c), String::new()),
                _ => (None, f.to_string()),
            }
        };
        let flags = self.flags.iter().map(flag).collect();
        let except_flags = self.except_flags.iter().map(flag).collect();
        Ok(Rule {
            name,
            program: Glob::new(&self.program),
            except_programs: self.except_programs.iter().map(|w| Glob::new(w)).collect(),
            flags,
            aliases,
            words: self.words.iter().map(|w| Glob::new(w)).collect(),
            args: self.args.iter().map(|w| Glob::new(w)).collect(),
            except_args: self.except_args.iter().map(|w| Glob::new(w)).collect(),
            except_words: self.except_words.iter().map(|w| Glob::new(w)).collect(),
            min_operands: self.min_operands,
            except_flags,
            last_operand: self.last_operand,
            except_last_operand: self.except_last_operand,
            dynamic_operands: self.dynamic_operands,
            reason: self.reason.clone(),
            action: self.action,
        })
    }
}
