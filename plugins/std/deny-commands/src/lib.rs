//! deny-commands: denies (or asks about) dangerous programs and argv patterns.
//!
//! It reasons on the host's normalised view: every simple command, with argv after quote
//! removal and the program resolved. It sees through wrappers (`sudo`, `env`, `xargs`,
//! `find -exec`, `sh -c`, ... see `cloudops_plugin_sdk::wrappers`), reads flags the way
//! getopt does (`-rf` = `-r -f` = `--recursive --force`), flags interpreters run with inline
//! code, and never silently allows what it cannot analyse. See README.md for the config.

mod config;
mod defaults;
mod inline;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use cloudops_plugin_sdk::glob::Glob;
use cloudops_plugin_sdk::path::{join, normalize};
use cloudops_plugin_sdk::wrappers::{Invocation, SHELLS, command_invocations};
use cloudops_plugin_sdk::{
    Command, Config, FlagSet, Plugin, Request, SimpleCommand, Verdict, register_plugin,
};

use crate::config::{Action, Rule, Settings};

/// The plugin.
pub struct DenyCommands {
    programs: Vec<Glob>,
    rules: Vec<Rule>,
    /// Rules whose program is a literal basename, by that name (indexes into `rules`).
    rules_by_program: HashMap<String, Vec<usize>>,
    /// The other rules (program globs and paths), which every invocation is tried against.
    rules_any_program: Vec<usize>,
    redirect_targets: Vec<Glob>,
    fork_bombs: bool,
    on_inline_code: Action,
    allow_inline_code_in_sandbox: bool,
    allow_dynamic_operands_in_sandbox: bool,
    delete_outside_roots: Vec<String>,
    delete_outside_action: Action,
    on_unanalyzable: Action,
}

impl Plugin for DenyCommands {
    fn init(config: Config) -> Result<Self, String> {
        let settings: Settings = config.parse()?;
        DenyCommands::new(settings)
    }

    fn check(&self, request: &Request) -> Verdict {
        let mut findings = Findings::default();
        self.check_into(request, &mut findings);
        findings.verdict()
    }
}

register_plugin!(DenyCommands);

/// Asks collected while looking for a deny.
#[derive(Default)]
struct Findings {
    deny: Option<String>,
    /// A deny because something could not be analysed: reported only when no rule denies.
    generic_deny: Option<String>,
    asks: Vec<String>,
}

impl Findings {
    fn add_unanalyzable(&mut self, action: Action, reason: String) {
        if action == Action::Deny {
            if self.generic_deny.is_none() {
                self.generic_deny = Some(reason);
            }
        } else {
            self.add(action, reason);
        }
    }

    fn add(&mut self, action: Action, reason: String) {
        match action {
            Action::Deny => {
                if self.deny.is_none() {
                    self.deny = Some(reason);
                }
            }
            Action::Ask => {
                if !self.asks.contains(&reason) {
                    self.asks.push(reason);
                }
            }
        }
    }

    fn verdict(self) -> Verdict {
        if let Some(reason) = self.deny.or(self.generic_deny) {
            Verdict::deny(format!("deny-commands: {reason}"))
        } else if !self.asks.is_empty() {
            Verdict::ask(format!("deny-commands: {}", self.asks.join("; ")))
        } else {
            Verdict::Allow
        }
    }
}

/// Shortens a command for a message.
fn short(text: &str) -> String {
    const MAX: usize = 160;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

fn describe(cmd: &SimpleCommand, inv: &Invocation) -> String {
    if inv.is_wrapped() {
        format!(
            "`{}` runs `{}` (via {})",
            short(&cmd.display()),
            short(&inv.display()),
            inv.via.join(", ")
        )
    } else {
        format!("`{}`", short(&inv.display()))
    }
}

impl DenyCommands {
    /// Compiles the settings (built-in rules first when `defaults` is on).
    pub fn new(settings: Settings) -> Result<Self, String> {
        let mut rule_configs = Vec::new();
        let mut programs: Vec<String> = Vec::new();
        let mut redirects: Vec<String> = Vec::new();
        if settings.defaults {
            rule_configs.extend(defaults::rules());
            programs.extend(defaults::PROGRAMS.iter().map(|s| s.to_string()));
            redirects.extend(defaults::DEVICE_PATHS.iter().map(|s| s.to_string()));
            redirects.extend(defaults::SYSTEM_FILES.iter().map(|s| s.to_string()));
        }
        rule_configs.extend(settings.rules.iter().cloned());
        programs.extend(settings.programs.iter().cloned());
        redirects.extend(settings.redirect_targets.iter().cloned());
        if let Some(empty) = programs.iter().find(|p| p.trim().is_empty()) {
            return Err(format!(
                "invalid plugin config: `programs` holds an empty pattern {empty:?}"
            ));
        }
        let rules = rule_configs
            .iter()
            .enumerate()
            .map(|(i, r)| r.compile(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("invalid plugin config: {e}"))?;
        let mut rules_by_program: HashMap<String, Vec<usize>> = HashMap::new();
        let mut rules_any_program = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let p = r.program.as_str();
            if r.program.is_literal() && !p.contains('/') {
                rules_by_program.entry(p.to_string()).or_default().push(i);
            } else {
                rules_any_program.push(i);
            }
        }
        Ok(DenyCommands {
            programs: programs.iter().map(|p| Glob::new(p)).collect(),
            rules,
            rules_by_program,
            rules_any_program,
            redirect_targets: redirects.iter().map(|p| Glob::new(p)).collect(),
            fork_bombs: settings.defaults,
            on_inline_code: settings.on_inline_code,
            allow_inline_code_in_sandbox: settings.allow_inline_code_in_sandbox,
            allow_dynamic_operands_in_sandbox: settings.allow_dynamic_operands_in_sandbox,
            delete_outside_roots: settings.delete_outside_roots.clone(),
            delete_outside_action: settings.delete_outside_action,
            on_unanalyzable: settings.on_unanalyzable,
        })
    }

    fn check_into(&self, request: &Request, out: &mut Findings) {
        if self.fork_bombs {
            let texts: Vec<&str> = match &request.command {
                Command::Shell(s) => vec![s.command.as_str()],
                _ => vec![],
            };
            let words = request
                .commands()
                .flat_map(|c| c.argv.iter().map(String::as_str));
            if texts.into_iter().chain(words).any(is_fork_bomb) {
                out.add(
                    Action::Deny,
                    "a fork bomb (a function that pipes into itself in the background)".into(),
                );
            }
        }
        let loops = match &request.command {
            Command::Shell(s) => for_loops(&s.command),
            // An exec'd `bash -c '…'`: its script is one of the words.
            Command::Exec(e) => e.args.iter().flat_map(|a| for_loops(a)).collect(),
            _ => Vec::new(),
        };
        for cmd in request.commands() {
            if cmd.has_dynamic_name() {
                out.add_unanalyzable(
                    self.on_unanalyzable,
                    format!(
                        "`{}`: the command name is only known at run time",
                        short(&cmd.display())
                    ),
                );
            }
            for (i, r) in cmd.redirections.iter().enumerate() {
                let writes = r.op.contains('>');
                // As written, and where the host resolved it (after the script's `cd`s,
                // through symlinks): `cd /dev && cat x > sda`.
                let resolved = cmd.resolved_redirection(i).map(|p| p.canonical.as_str());
                let target = normalize(&r.target);
                let hit = [Some(target.as_str()), resolved]
                    .into_iter()
                    .flatten()
                    .find(|t| self.redirect_targets.iter().any(|g| g.matches(t)));
                if writes && let Some(t) = hit {
                    let shown = if t == target {
                        r.target.clone()
                    } else {
                        format!("{} (`{t}`)", r.target)
                    };
                    out.add(
                        Action::Deny,
                        format!(
                            "`{}` writes to the device or system file {shown} through a redirection",
                            short(&cmd.display()),
                        ),
                    );
                }
            }
            let heredoc = cmd.redirections.iter().any(|r| r.op.starts_with("<<"));
            let piped = cmd.in_context("pipeline");
            // The SDK leaves out only the `-c` scripts the host analysed itself (their
            // commands are in the request); every other opaque invocation counts.
            for inv in command_invocations(request, cmd) {
                if let Some(why) = &inv.opaque {
                    out.add_unanalyzable(
                        self.on_unanalyzable,
                        format!("`{}`: {why}", short(&cmd.display())),
                    );
                    continue;
                }
                if inv.argv.is_empty() {
                    continue;
                }
                if inv.is_wrapped() && inv.argv[0].contains(['$', '`']) {
                    out.add_unanalyzable(
                        self.on_unanalyzable,
                        format!(
                            "{}: the command name is only known at run time",
                            describe(cmd, &inv)
                        ),
                    );
                }
                let dynamic_ok =
                    self.allow_dynamic_operands_in_sandbox && request.sandbox().is_some();
                self.check_invocation(request, cmd, &inv, dynamic_ok, out);
                if dynamic_ok {
                    // `for d in / ; do rm -rf "$d"; done`: the loop's words are known.
                    for (var, words) in &loops {
                        if let Some(sub) = substitute_loop(&inv, var, words) {
                            for s in sub {
                                self.check_invocation(request, cmd, &s, true, out);
                            }
                        }
                    }
                }
                // A shell reading its script from a pipe or here-document is code we cannot see.
                let name = inv.program_name();
                if SHELLS.contains(&name)
                    && inv.args().is_empty()
                    && (heredoc || piped)
                    && !inv.is_wrapped()
                {
                    out.add_unanalyzable(
                        self.on_unanalyzable,
                        format!(
                            "`{}` reads its script from standard input",
                            short(&cmd.display())
                        ),
                    );
                }
                let sandboxed = self.allow_inline_code_in_sandbox && request.sandbox().is_some();
                if let Some(why) = inline::inline_code(&inv, heredoc, piped)
                    && !sandboxed
                {
                    out.add(
                        self.on_inline_code,
                        format!("{}: {why}", describe(cmd, &inv)),
                    );
                }
            }
        }
        // Last, so that a rule's specific reason wins over the generic one.
        if !request.is_fully_analyzed() {
            out.add_unanalyzable(
                self.on_unanalyzable,
                format!(
                    "the request cannot be fully analysed ({})",
                    request.unanalyzable().join("; ")
                ),
            );
        }
    }

    /// Why `inv` deletes recursively outside `delete_outside_roots`: `rm -r PATH` or
    /// `find PATH … -delete` with a static path (joined onto the working directory,
    /// `..` applied) under none of the roots. Operands known only at run time are left
    /// to the rules.
    fn deletes_outside(
        &self,
        inv: &Invocation,
        cwd: Option<&str>,
        home: Option<&str>,
    ) -> Option<String> {
        if self.delete_outside_roots.is_empty() {
            return None;
        }
        let paths: Vec<String> = match inv.program_name() {
            "rm" => {
                let set = inv.flags(
                    &cloudops_plugin_sdk::FlagAliases::none()
                        .with('r', "recursive")
                        .with('R', "recursive"),
                );
                if !(set.has_short('r') || set.has_short('R') || set.has_long("recursive")) {
                    return None;
                }
                set.operands().to_vec()
            }
            "find" if inv.args().iter().any(|a| a == "-delete") => {
                let starts: Vec<String> = inv
                    .args()
                    .iter()
                    .skip_while(|a| matches!(a.as_str(), "-L" | "-H" | "-P"))
                    .take_while(|a| !a.starts_with('-') && !matches!(a.as_str(), "(" | "!" | ","))
                    .cloned()
                    .collect();
                if starts.is_empty() {
                    vec![".".to_string()]
                } else {
                    starts
                }
            }
            _ => return None,
        };
        let under = |p: &str, root: &str| {
            p == root || p.starts_with(&format!("{}/", root.trim_end_matches('/')))
        };
        for op in paths {
            let op = op.trim_matches('"');
            if op.contains(['$', '`', '*', '?', '[', '{']) {
                continue;
            }
            let abs = if op.starts_with('/') {
                normalize(op)
            } else if op == "~" || op.starts_with("~/") {
                match home {
                    Some(h) => normalize(&format!("{h}{}", &op[1..])),
                    None => normalize(op),
                }
            } else if op.starts_with('~') {
                op.to_string()
            } else {
                match cwd {
                    Some(c) => join(c, op),
                    None => continue,
                }
            };
            let inside = self.delete_outside_roots.iter().any(|r| {
                let root = if r == "{cwd}" {
                    match cwd {
                        Some(c) => normalize(c),
                        None => return false,
                    }
                } else if let Some(rest) = r.strip_prefix("~") {
                    match home {
                        Some(h) => normalize(&format!("{h}{rest}")),
                        None => r.clone(),
                    }
                } else {
                    normalize(r)
                };
                under(&abs, &root)
            });
            if !inside {
                return Some(format!(
                    "deletes `{op}` recursively, outside the working directory and the temporary and cache directories"
                ));
            }
        }
        None
    }

    fn check_invocation(
        &self,
        request: &Request,
        cmd: &SimpleCommand,
        inv: &Invocation,
        dynamic_ok: bool,
        out: &mut Findings,
    ) {
        let cwd = request.working_dir.as_deref();
        let home = request.home();
        let name = inv.program_name();
        let path = inv.program.as_deref().unwrap_or(&inv.argv[0]);
        let program_matches = |g: &Glob| {
            if g.as_str().contains('/') {
                g.matches(path) || g.matches(&inv.argv[0])
            } else {
                g.matches(name)
            }
        };
        if self.fork_bombs && name == "kill" && kills_everyone(inv.args()) {
            out.add(
                Action::Deny,
                format!(
                    "{}: kill -1 signals every process the user can reach",
                    describe(cmd, inv)
                ),
            );
        }
        if let Some(why) = self.deletes_outside(inv, cwd, home) {
            out.add(
                self.delete_outside_action,
                format!("{}: {why}", describe(cmd, inv)),
            );
        }
        if let Some(g) = self.programs.iter().find(|g| program_matches(g)) {
            out.add(
                Action::Deny,
                format!(
                    "{}: the program `{}` is denied by policy",
                    describe(cmd, inv),
                    g.as_str()
                ),
            );
        }
        // Only the rules that can match this program, in the order they were written.
        let mut chosen: Vec<usize> = self.rules_any_program.clone();
        if let Some(named) = self.rules_by_program.get(name) {
            chosen.extend(named);
            chosen.sort_unstable();
        }
        // An operand's forms are the same for every rule: computed once.
        let mut forms: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
        for rule in chosen.iter().map(|&i| &self.rules[i]) {
            if !program_matches(&rule.program) || rule.except_programs.iter().any(program_matches) {
                continue;
            }
            let set = inv.flags(&rule.aliases);
            if !rule.flags.iter().all(|f| flag_present(&set, rule, f))
                || rule
                    .except_flags
                    .iter()
                    .any(|f| flag_present(&set, rule, f))
                || set.operands().len() < rule.min_operands
            {
                continue;
            }
            if !rule
                .words
                .iter()
                .all(|w| inv.args().iter().any(|a| w.matches(a)))
            {
                continue;
            }
            if rule
                .except_words
                .iter()
                .any(|w| inv.args().iter().any(|a| w.matches(a)))
            {
                continue;
            }
            if rule.args.is_empty() {
                out.add(
                    rule.action,
                    format!(
                        "{}: {} (rule {})",
                        describe(cmd, inv),
                        rule.reason,
                        rule.name
                    ),
                );
                continue;
            }
            let mut unknown = inv.stdin_operands && rule.dynamic_operands;
            let mut hit = None;
            let operands = set.operands();
            let operands = if rule.last_operand {
                operands
                    .get(operands.len().saturating_sub(1)..)
                    .unwrap_or(&[])
            } else if rule.except_last_operand && operands.len() > 1 {
                &operands[..operands.len() - 1]
            } else {
                operands
            };
            for op in operands {
                let (candidates, resolved) = forms
                    .entry(op.clone())
                    .or_insert_with(|| operand_forms(cmd, inv, op, cwd, home));
                // A relative word the host could not resolve, in a request it could not
                // fully resolve: it may be in a directory only known at run time
                // (`cd "$D" && rm -rf build`).
                let relative = !op.starts_with(['/', '~', '$', '-']);
                let unknown_dir = match &inv.chdir {
                    Some(d) => d.contains(['$', '`']),
                    None => {
                        resolved.is_empty()
                            && !request.paths_complete()
                            && request.canonical_working_dir().is_some()
                    }
                };
                if rule.dynamic_operands && relative && unknown_dir {
                    unknown = true;
                }
                let excepted = candidates
                    .iter()
                    .any(|c| rule.except_args.iter().any(|g| g.matches(c)));
                if excepted {
                    continue;
                }
                if let Some(c) = candidates
                    .iter()
                    .find(|c| rule.args.iter().any(|g| g.matches(c)))
                {
                    // Name what the word stands for when it is not what was written:
                    // `*` in `/`, `../etc` from `/usr`.
                    let shown = if resolved.contains(c) && c != op {
                        format!("{op}` = `{c}")
                    } else {
                        op.clone()
                    };
                    hit = Some(shown);
                    break;
                }
                if rule.dynamic_operands && (op.contains('$') || op.contains('`')) {
                    unknown = true;
                }
            }
            if let Some(op) = hit {
                out.add(
                    rule.action,
                    format!(
                        "{}: {} (`{}`, rule {})",
                        describe(cmd, inv),
                        rule.reason,
                        op,
                        rule.name
                    ),
                );
            } else if unknown && !dynamic_ok {
                out.add_unanalyzable(
                    self.on_unanalyzable,
                    format!(
                        "{}: its operands are only known at run time, and rule {} ({}) may apply",
                        describe(cmd, inv),
                        rule.name,
                        rule.reason
                    ),
                );
            }
        }
    }
}

fn flag_present(set: &FlagSet, rule: &Rule, flag: &(Option<char>, String)) -> bool {
    match flag {
        (Some(c), _) => set.has_short(*c) || rule.aliases.longs_for(*c).any(|l| set.has_long(l)),
        (None, long) => set.has_long(long),
    }
}

/// The forms the operand `op` of `cmd` is compared in, and where the host resolved it.
///
/// The host resolves a word in the command it belongs to: after the script's `cd`s,
/// through symlinks, and each file name a glob expands to. Only a word it did not
/// resolve is joined onto the request's directory. A glob of a directory's entries
/// (`cd ~ && rm -rf *`) is also that directory's `DIR/*`, as a rule would write it.
fn operand_forms(
    cmd: &SimpleCommand,
    inv: &Invocation,
    op: &str,
    cwd: Option<&str>,
    home: Option<&str>,
) -> (Vec<String>, Vec<String>) {
    // `env -C DIR rm -rf *`: relative operands are relative to DIR (the shell expanded
    // the glob where it stood; what is deleted is there).
    if let Some(dir) = &inv.chdir {
        let dir = if dir.starts_with('/') {
            dir.clone()
        } else {
            join(cwd.unwrap_or("/"), dir)
        };
        return (operand_candidates(op, Some(&dir), home), Vec::new());
    }
    let resolved: Vec<String> = cmd
        .paths
        .iter()
        .filter(|p| cmd.path_text(p) == Some(op))
        .map(|p| p.canonical.clone())
        .collect();
    let lexical_cwd = if resolved.is_empty() { cwd } else { None };
    let mut candidates = operand_candidates(op, lexical_cwd, home);
    for c in &resolved {
        candidates.extend(operand_candidates(c, None, home));
    }
    let pattern = op.trim_start_matches("./");
    if pattern.contains(['*', '?', '[']) && !pattern.contains('/') {
        for dir in resolved
            .iter()
            .filter_map(|c| c.rsplit_once('/').map(|(d, _)| d))
        {
            let whole = format!("{dir}/{pattern}");
            if !candidates.contains(&whole) {
                candidates.extend(operand_candidates(&whole, None, home));
            }
        }
    }
    (candidates, resolved)
}

/// The forms an operand is compared in: as written, normalised, joined onto the working
/// directory, and with the home directory written as `~`.
fn operand_candidates(op: &str, cwd: Option<&str>, home: Option<&str>) -> Vec<String> {
    let mut out = vec![op.to_string(), normalize(op)];
    // A dynamic word is kept as written, quotes included (`"$HOME"`).
    let unquoted = op.trim_matches('"');
    if unquoted != op && !unquoted.contains('"') {
        out.push(unquoted.to_string());
    }
    let relative = !op.starts_with('/') && !op.starts_with('~') && !op.starts_with('$');
    if relative && let Some(cwd) = cwd {
        out.push(join(cwd, op));
    }
    if let Some(home) = home.map(normalize).filter(|h| h != "/") {
        let absolute: Vec<String> = out.iter().filter(|c| c.starts_with('/')).cloned().collect();
        for c in absolute {
            if c == home {
                out.push("~".to_string());
            } else if let Some(rest) = c.strip_prefix(&format!("{home}/")) {
                out.push(format!("~/{rest}"));
            }
        }
    }
    out
}

/// The `for NAME in WORDS; do` loops of a script, as written: each name with its words
/// (quotes removed). A cheap scan, not a parse: it only widens what is checked.
fn for_loops(script: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = script;
    while let Some(at) = rest.find("for ") {
        let after = &rest[at + 4..];
        rest = after;
        let Some((name, tail)) = after.trim_start().split_once(char::is_whitespace) else {
            break;
        };
        let Some(list) = tail.trim_start().strip_prefix("in ") else {
            continue;
        };
        let end = list.find([';', '\n']).unwrap_or(list.len());
        let words = list[..end]
            .split_whitespace()
            .map(|w| w.trim_matches(['"', '\'']).to_string())
            .collect();
        out.push((name.to_string(), words));
    }
    out
}

/// `inv` with `$var` / `${var}` / `"$var"` replaced by each of `words`, when it uses `var`.
fn substitute_loop(inv: &Invocation, var: &str, words: &[String]) -> Option<Vec<Invocation>> {
    let forms = [format!("${{{var}}}"), format!("${var}")];
    let uses = |a: &str| forms.iter().any(|f| a.contains(f.as_str()));
    if !inv.argv.iter().any(|a| uses(a)) {
        return None;
    }
    Some(
        words
            .iter()
            .map(|w| {
                let mut s = inv.clone();
                s.argv = inv
                    .argv
                    .iter()
                    .map(|a| {
                        let a = a.trim_matches('"');
                        forms
                            .iter()
                            .fold(a.to_string(), |acc, f| acc.replace(f.as_str(), w))
                    })
                    .collect();
                s
            })
            .collect(),
    )
}

/// True when `kill ARGS` signals every process: a pid operand of -1 in any spelling
/// (`-1`, `-01`, `-0001`, after a signal `-9`, `-KILL`, `-s KILL`, `-n 9` or `--`), or
/// `kill -1` alone.
fn kills_everyone(args: &[String]) -> bool {
    let minus_one = |a: &str| {
        a.strip_prefix('-').is_some_and(|d| {
            !d.is_empty()
                && d.bytes().all(|b| b.is_ascii_digit())
                && d.trim_start_matches('0') == "1"
        })
    };
    if args.len() == 1 && minus_one(&args[0]) {
        return true;
    }
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            return args[i + 1..].iter().any(|a| minus_one(a));
        }
        if a == "-s" || a == "-n" || a == "--signal" {
            i += 2;
            continue;
        }
        if i == 0 && a.starts_with('-') {
            // The signal (`-9`, `-KILL`, `-SIGKILL`); what follows are pids.
            i += 1;
            continue;
        }
        if minus_one(a) {
            return true;
        }
        i += 1;
    }
    false
}

/// `:(){ :|:& };:` and its renamed forms: a function whose body pipes it into itself or
/// starts itself in the background (`b(){ b & b; }`), and a loop that starts shells in the
/// background forever (`while true; do bash & done`).
fn is_fork_bomb(text: &str) -> bool {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for lp in [
        "whiletrue;do",
        "while:;do",
        "until false;do",
        "for((;;));do",
    ] {
        if let Some(at) = t.find(lp) {
            let body = &t[at + lp.len()..];
            let body = body.split("done").next().unwrap_or("");
            if body.contains('&')
                && !body.contains("&&")
                && SHELLS.iter().any(|s| body.contains(&format!("{s}&")))
            {
                return true;
            }
        }
    }
    let mut from = 0;
    while let Some(pos) = t.get(from..).and_then(|s| s.find("(){")) {
        let at = from + pos;
        let start = t[..at]
            .rfind(|c: char| ";&|(){}".contains(c))
            .map_or(0, |i| i + 1);
        let name = t[start..at].trim_start_matches("function");
        let body = &t[at + 3..];
        let body = body.split('}').next().unwrap_or(body);
        if !name.is_empty()
            && (body.contains(&format!("{name}|{name}"))
                || body.contains(&format!("{name}&")) && body.matches(name).count() >= 2)
        {
            return true;
        }
        from = at + 3;
    }
    false
}
