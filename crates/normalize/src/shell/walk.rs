//! The brush-parser path: parses a script and walks its syntax tree, emitting every
//! simple command with its context.

use std::io::BufReader;

use brush_parser::Parser;
use brush_parser::ast::{
    self, AssignmentName, AssignmentValue, Command, CommandPrefixOrSuffixItem, CompoundCommand,
    CompoundList, IoFileRedirectKind, IoFileRedirectTarget, IoRedirect, Pipeline,
    ProcessSubstitutionKind, RedirectList, SubshellCommand,
};

use super::words::{WordKind, clip};
use super::{Analyzer, Parts, PathOverride};
use crate::model::{Assignment, Redirection};

impl Analyzer {
    /// Parses `src` with brush-parser and walks the result.
    pub(crate) fn parse_and_walk(&mut self, src: &str) {
        match parse(src, &self.options) {
            Ok(program) => self.program(&program),
            Err(e) => {
                self.flag(format!("parse error: {}", clip(&e)));
                // Best effort: the lines that parse on their own.
                if src.contains('\n') {
                    for line in src.lines() {
                        if super::limits::precheck(line).is_some() {
                            continue;
                        }
                        if let Ok(p) = parse(line, &self.options) {
                            self.program(&p);
                        }
                    }
                }
            }
        }
    }

    fn program(&mut self, p: &ast::Program) {
        for cc in &p.complete_commands {
            self.list(cc);
        }
    }

    fn list(&mut self, list: &CompoundList) {
        for item in &list.0 {
            let and_or = |a: &mut Self| {
                a.pipeline(&item.0.first);
                for ao in &item.0.additional {
                    match ao {
                        ast::AndOr::And(p) | ast::AndOr::Or(p) => a.pipeline(p),
                    }
                }
            };
            if matches!(item.1, ast::SeparatorOperator::Async) {
                // A background job runs in a shell of its own.
                self.in_own_shell(and_or);
            } else {
                and_or(self);
            }
        }
    }

    fn pipeline(&mut self, p: &Pipeline) {
        let multi = p.seq.len() > 1;
        if multi {
            self.ctx.push("pipeline");
        }
        for c in &p.seq {
            if multi {
                // Each element of a pipeline runs in a subshell.
                self.in_own_shell(|a| a.command(c));
            } else {
                self.command(c);
            }
        }
        if multi {
            self.ctx.pop();
        }
    }

    fn nested(&mut self, ctx: &'static str, f: impl FnOnce(&mut Self)) {
        if !self.enter() {
            return;
        }
        self.ctx.push(ctx);
        f(self);
        self.ctx.pop();
        self.leave();
    }

    fn command(&mut self, c: &Command) {
        match c {
            Command::Simple(sc) => self.simple(sc),
            Command::Compound(cc, redirects) => {
                let name = compound_name(cc);
                self.compound_redirects(name, redirects.as_ref());
                self.compound(cc);
            }
            Command::Function(f) => {
                let name = self.word(&f.fname.value, WordKind::Normal).text;
                self.define_function(name.clone());
                // The body runs when the function is called: its directory changes are
                // applied there (as unknown), not here.
                let before = self.dirs.clone();
                self.nested("function", |a| {
                    let name = compound_name(&f.body.0);
                    a.compound_redirects(name, f.body.1.as_ref());
                    a.compound(&f.body.0);
                });
                if self.dirs != before && !self.dir_functions.contains(&name) {
                    self.dir_functions.push(name);
                }
                self.dirs = before;
            }
            Command::ExtendedTest(t, redirects) => {
                self.compound_redirects("", redirects.as_ref());
                self.test_expr(&t.expr);
            }
        }
    }

    fn test_expr(&mut self, e: &ast::ExtendedTestExpr) {
        use ast::ExtendedTestExpr as E;
        if !self.enter() {
            return;
        }
        match e {
            E::And(a, b) | E::Or(a, b) => {
                self.test_expr(a);
                self.test_expr(b);
            }
            E::Not(a) | E::Parenthesized(a) => self.test_expr(a),
            E::UnaryTest(_, w) => {
                self.word(&w.value, WordKind::Normal);
            }
            E::BinaryTest(_, a, b) => {
                self.word(&a.value, WordKind::Normal);
                self.word(&b.value, WordKind::Normal);
            }
        }
        self.leave();
    }

    /// The redirections of a compound command, reported as a command without words.
    fn compound_redirects(&mut self, ctx: &'static str, redirects: Option<&RedirectList>) {
        let Some(list) = redirects.filter(|l| !l.0.is_empty()) else {
            return;
        };
        let Some(slot) = self.reserve() else {
            return;
        };
        if !ctx.is_empty() {
            self.ctx.push(ctx);
        }
        let mut parts = Parts::default();
        for r in &list.0 {
            self.redirect(r, &mut parts);
        }
        self.fill(slot, parts);
        if !ctx.is_empty() {
            self.ctx.pop();
        }
    }

    fn compound(&mut self, cc: &CompoundCommand) {
        let name = compound_name(cc);
        match cc {
            CompoundCommand::BraceGroup(_) => self.compound_body(name, cc),
            CompoundCommand::Subshell(_) | CompoundCommand::Coprocess(_) => {
                self.in_own_shell(|a| a.compound_body(name, cc));
            }
            _ => self.maybe_run(name, |a| a.compound_body(name, cc)),
        }
    }

    fn compound_body(&mut self, name: &'static str, cc: &CompoundCommand) {
        self.nested(name, |a| match cc {
            CompoundCommand::Arithmetic(x) => a.arith_raw(&x.expr.value),
            CompoundCommand::ArithmeticForClause(x) => {
                for e in [&x.initializer, &x.condition, &x.updater]
                    .into_iter()
                    .flatten()
                {
                    a.arith(&e.value);
                }
                a.list(&x.body.list);
            }
            CompoundCommand::BraceGroup(b) => a.list(&b.list),
            CompoundCommand::Subshell(s) => a.list(&s.list),
            CompoundCommand::ForClause(f) => {
                for w in f.values.iter().flatten() {
                    a.word(&w.value, WordKind::Normal);
                }
                a.dirs.set_var(&f.variable_name, None);
                a.list(&f.body.list);
            }
            CompoundCommand::CaseClause(c) => {
                a.word(&c.value.value, WordKind::Normal);
                for item in &c.cases {
                    for p in &item.patterns {
                        a.word(&p.value, WordKind::Normal);
                    }
                    if let Some(l) = &item.cmd {
                        a.list(l);
                    }
                }
            }
            CompoundCommand::IfClause(i) => {
                a.list(&i.condition);
                a.list(&i.then);
                for e in i.elses.iter().flatten() {
                    if let Some(c) = &e.condition {
                        a.list(c);
                    }
                    a.list(&e.body);
                }
            }
            CompoundCommand::WhileClause(w) | CompoundCommand::UntilClause(w) => {
                a.list(&w.0);
                a.list(&w.1.list);
            }
            CompoundCommand::Coprocess(c) => a.command(&c.body),
        });
    }

    /// `(( expr ))`: the context `arithmetic` is already pushed.
    fn arith_raw(&mut self, text: &str) {
        if text.contains('=') {
            self.dirs.vars.clear();
        }
        if text.contains(['$', '`']) {
            self.scan_expanded(text, false);
        }
    }

    fn simple(&mut self, sc: &ast::SimpleCommand) {
        let Some(slot) = self.reserve() else {
            return;
        };
        let mut parts = Parts::default();
        let prefix = sc.prefix.iter().flat_map(|p| p.0.iter());
        for item in prefix {
            self.item(item, &mut parts, true);
        }
        if let Some(w) = &sc.word_or_name {
            let o = self.word(&w.value, WordKind::Normal);
            parts.push_arg(o.text, o.dynamic);
        }
        for item in sc.suffix.iter().flat_map(|s| s.0.iter()) {
            self.item(item, &mut parts, false);
        }
        self.fill(slot, parts);
    }

    fn item(&mut self, item: &CommandPrefixOrSuffixItem, parts: &mut Parts, prefix: bool) {
        match item {
            CommandPrefixOrSuffixItem::IoRedirect(r) => self.redirect(r, parts),
            CommandPrefixOrSuffixItem::Word(w) => {
                let o = self.word(&w.value, WordKind::Normal);
                parts.push_arg(o.text, o.dynamic);
            }
            CommandPrefixOrSuffixItem::AssignmentWord(a, w) => {
                if prefix {
                    self.assignment(a, &w.value, parts);
                } else {
                    // `export A=b`, `declare x=$(...)`: an argument.
                    let o = self.word(&w.value, WordKind::AssignmentValue);
                    parts.push_arg(o.text, o.dynamic);
                }
            }
            CommandPrefixOrSuffixItem::ProcessSubstitution(kind, sub) => {
                let first = self.emitted();
                let text = self.process_substitution(kind, sub);
                // What `<(echo …)` reads as, when it is one static `echo` or `printf`.
                let output = match kind {
                    ProcessSubstitutionKind::Read => self.static_output(first),
                    ProcessSubstitutionKind::Write => None,
                };
                parts.procsubs.push((parts.argv.len(), output));
                parts.push_arg(text, true);
            }
        }
    }

    fn process_substitution(
        &mut self,
        kind: &ProcessSubstitutionKind,
        sub: &SubshellCommand,
    ) -> String {
        self.in_own_shell(|a| a.nested("process-substitution", |a| a.list(&sub.list)));
        let op = match kind {
            ProcessSubstitutionKind::Read => '<',
            ProcessSubstitutionKind::Write => '>',
        };
        format!("{op}({})", sub.list)
    }

    fn assignment(&mut self, a: &ast::Assignment, raw: &str, parts: &mut Parts) {
        let mut name_dynamic = false;
        let name = match &a.name {
            AssignmentName::VariableName(n) => n.clone(),
            AssignmentName::ArrayElementName(n, idx) => {
                self.arith(idx);
                name_dynamic = idx.contains(['$', '`']);
                format!("{n}[{idx}]")
            }
        };
        let raw_value = raw.split_once('=').map_or("", |(_, v)| v);
        let (value, dynamic) = match &a.value {
            AssignmentValue::Scalar(w) => {
                let o = self.word(&w.value, WordKind::AssignmentValue);
                (o.text, o.dynamic || a.append)
            }
            AssignmentValue::Array(elems) => {
                let mut dynamic = a.append;
                for (k, v) in elems {
                    if let Some(k) = k {
                        dynamic |= self.word(&k.value, WordKind::Normal).dynamic;
                    }
                    dynamic |= self.word(&v.value, WordKind::AssignmentValue).dynamic;
                }
                (raw_value.to_string(), dynamic)
            }
        };
        let value = if dynamic {
            raw_value.to_string()
        } else {
            value
        };
        let dynamic = dynamic || name_dynamic;
        if name == "PATH" {
            parts.path = Some(if dynamic {
                PathOverride::Dynamic
            } else {
                PathOverride::Static(value.clone())
            });
        }
        parts.dynamic |= dynamic;
        parts.assignments.push(Assignment { name, value });
    }

    fn redirect(&mut self, r: &IoRedirect, parts: &mut Parts) {
        let (fd, op, target, dynamic) = match r {
            IoRedirect::File(fd, kind, target) => {
                let op = match kind {
                    IoFileRedirectKind::Read => "<",
                    IoFileRedirectKind::Write => ">",
                    IoFileRedirectKind::Append => ">>",
                    IoFileRedirectKind::ReadAndWrite => "<>",
                    IoFileRedirectKind::Clobber => ">|",
                    IoFileRedirectKind::DuplicateInput => "<&",
                    IoFileRedirectKind::DuplicateOutput => ">&",
                };
                let (t, d) = match target {
                    IoFileRedirectTarget::Filename(w) | IoFileRedirectTarget::Duplicate(w) => {
                        let o = self.word(&w.value, WordKind::Normal);
                        (o.text, o.dynamic)
                    }
                    IoFileRedirectTarget::Fd(n) => (n.to_string(), false),
                    IoFileRedirectTarget::ProcessSubstitution(kind, sub) => {
                        (self.process_substitution(kind, sub), true)
                    }
                };
                (*fd, op, t, d)
            }
            IoRedirect::HereDocument(fd, hd) => {
                let op = if hd.remove_tabs { "<<-" } else { "<<" };
                let delim = self.word(&hd.here_end.value, WordKind::Normal).text;
                if hd.requires_expansion {
                    self.nested("here-document", |a| a.scan_expanded(&hd.doc.value, true));
                }
                if fd.is_none_or(|f| f == 0)
                    && (!hd.requires_expansion || !hd.doc.value.contains(['$', '`', '\\']))
                {
                    parts.stdin_text = Some(hd.doc.value.clone());
                }
                (*fd, op, delim, false)
            }
            IoRedirect::HereString(fd, w) => {
                let o = self.word(&w.value, WordKind::Normal);
                if fd.is_none_or(|f| f == 0) && !o.dynamic {
                    // The shell appends a newline.
                    parts.stdin_text = Some(format!("{}\n", o.text));
                }
                (*fd, "<<<", o.text, o.dynamic)
            }
            IoRedirect::OutputAndError(w, append) => {
                let o = self.word(&w.value, WordKind::Normal);
                (None, if *append { "&>>" } else { "&>" }, o.text, o.dynamic)
            }
        };
        parts.dynamic |= dynamic;
        parts.redirections.push(Redirection {
            fd: fd.and_then(|f| u32::try_from(f).ok()),
            op: op.to_string(),
            target,
        });
    }
}

/// Parses `src`; a panic inside brush-parser (it has some on odd input) is a parse error,
/// never the caller's crash.
fn parse(src: &str, options: &brush_parser::ParserOptions) -> Result<ast::Program, String> {
    std::panic::catch_unwind(|| {
        Parser::new(BufReader::new(src.as_bytes()), options).parse_program()
    })
    .map_err(|_| "the parser failed on this input".to_string())?
    .map_err(|e| e.to_string())
}

/// The context name of a compound command.
fn compound_name(cc: &CompoundCommand) -> &'static str {
    match cc {
        CompoundCommand::Arithmetic(_) => "arithmetic",
        CompoundCommand::ArithmeticForClause(_) | CompoundCommand::ForClause(_) => "for",
        CompoundCommand::BraceGroup(_) => "brace-group",
        CompoundCommand::Subshell(_) | CompoundCommand::Coprocess(_) => "subshell",
        CompoundCommand::CaseClause(_) => "case",
        CompoundCommand::IfClause(_) => "if",
        CompoundCommand::WhileClause(_) => "while",
        CompoundCommand::UntilClause(_) => "until",
    }
}
