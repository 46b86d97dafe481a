//! Interpreters given code inline (`python -c`, `node -e`, `perl -e`, `ruby -e`, awk
//! `system()`, a here-document or a pipe into an interpreter): code the plugin cannot see
//! as commands.

use cloudops_plugin_sdk::glob::glob_match;
use cloudops_plugin_sdk::wrappers::Invocation;

/// Interpreter families and how each takes inline code.
enum Family {
    /// `-c CODE` (a letter in a short cluster), e.g. python.
    ShortC,
    /// `-e CODE` / `-E CODE` in a short cluster, e.g. perl, ruby.
    ShortE,
    /// node: `-e`, `--eval`, `-p`, `--print`.
    Node,
    /// php `-r`, lua/R/osascript `-e`.
    Letter(char),
    /// awk: the program text is the first operand.
    Awk,
    /// pwsh: `-c`, `-Command`, `-EncodedCommand`.
    PowerShell,
}

fn family(name: &str) -> Option<Family> {
    let f = if glob_match("python*", name) || glob_match("pypy*", name) {
        Family::ShortC
    } else if matches!(name, "perl" | "ruby") || glob_match("perl5*", name) {
        Family::ShortE
    } else if matches!(name, "node" | "nodejs" | "bun") {
        Family::Node
    } else if name == "php" || glob_match("php[0-9]*", name) {
        Family::Letter('r')
    } else if matches!(name, "lua" | "luajit" | "Rscript" | "osascript")
        || glob_match("lua5*", name)
    {
        Family::Letter('e')
    } else if matches!(name, "awk" | "gawk" | "mawk" | "nawk") {
        Family::Awk
    } else if matches!(name, "pwsh" | "powershell") {
        Family::PowerShell
    } else {
        return None;
    };
    Some(f)
}

/// `Some(description)` when `inv` runs inline code; `heredoc`/`piped` say whether the
/// command reads a here-document or sits in a pipeline (its stdin may be code).
pub fn inline_code(inv: &Invocation, heredoc: bool, piped: bool) -> Option<String> {
    let name = inv.program_name();
    if name == "deno" && inv.args().first().is_some_and(|a| a == "eval") {
        return Some("`deno eval` runs inline code".to_string());
    }
    let fam = family(name)?;
    let args = inv.args();
    let shorts_until_operand = || {
        args.iter()
            .take_while(|a| a.starts_with('-') && *a != "-" && *a != "--")
            .filter(|a| !a.starts_with("--"))
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
    };
    let has_operand = args.iter().any(|a| !a.starts_with('-') || a == "-");
    let found = match fam {
        Family::ShortC => shorts_until_operand().iter().any(|a| a.contains('c')),
        Family::ShortE => shorts_until_operand()
            .iter()
            .any(|a| a.contains('e') || a.contains('E')),
        Family::Node => args.iter().any(|a| {
            matches!(a.as_str(), "-e" | "-p" | "-pe" | "-ep")
                || a.starts_with("--eval")
                || a.starts_with("--print")
        }),
        Family::Letter(c) => shorts_until_operand().iter().any(|a| a.contains(c)),
        Family::PowerShell => args.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a == "-c"
                || a.starts_with("-command")
                || a.starts_with("-encodedcommand")
                || a == "-e"
                || a == "-ec"
        }),
        Family::Awk => return awk_inline(inv),
    };
    if found {
        return Some(format!("`{name}` is given inline code"));
    }
    let reads_stdin = args.iter().any(|a| a == "-") || !has_operand;
    if reads_stdin && (heredoc || piped) {
        return Some(format!("`{name}` reads its program from standard input"));
    }
    None
}

fn awk_inline(inv: &Invocation) -> Option<String> {
    let args = inv.args();
    let mut program: Option<&str> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "-f" || a.starts_with("--file") {
            return None; // program from a file
        }
        if a == "-e" || a == "--source" {
            program = args.get(i + 1).map(String::as_str);
            break;
        }
        if matches!(a, "-F" | "-v" | "-W") {
            i += 2;
            continue;
        }
        if a.starts_with('-') && a.len() > 1 {
            i += 1;
            continue;
        }
        program = Some(a);
        break;
    }
    let text = program?;
    let pipes = text
        .char_indices()
        .any(|(k, c)| c == '|' && !text[k + 1..].starts_with('|') && !text[..k].ends_with('|'));
    if text.contains("system") || pipes {
        Some(format!(
            "`{}` program runs commands (system() or a pipe)",
            inv.program_name()
        ))
    } else {
        None
    }
}
