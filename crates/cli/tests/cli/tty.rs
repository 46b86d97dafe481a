//! cloudops on a real pseudo-terminal (rexpect): the y/N prompt of an `ask` verdict, the
//! plan's progress bar, and Ctrl-C typed at the terminal.

use std::process::Stdio;
use std::time::Duration;

use rexpect::process::WaitStatus;
use rexpect::reader::Options;
use rexpect::session::{PtySession, spawn_with_options};

use crate::plugins::dir_with_plugins;
use crate::tree;
use crate::util::Dir;

/// A policy whose one plugin asks about every request, with the test plugin's reason.
const ASKS: &str = r#"version = 1
[plugins.human]
source = "ask.wasm"
[[rules]]
name = "everything asks"
plugins = ["human"]
"#;

/// `cloudops ARGS` in `d` with stdin, stdout and stderr on a new pseudo-terminal.
fn spawn_tty(d: &Dir, args: &[&str], marker: Option<&str>) -> PtySession {
    spawn_tty_with(d.cmd(args), marker)
}

/// [`spawn_tty`] of a command made by the caller.
fn spawn_tty_with(mut cmd: std::process::Command, marker: Option<&str>) -> PtySession {
    // The pty is installed as stdin, stdout and stderr before exec: keep it.
    cmd.stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .env("TERM", "xterm");
    if let Some(m) = marker {
        cmd.env(tree::VAR, m);
    }
    spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn cloudops on a pty")
}

/// Reads to the end of the output and returns it with the exit code.
fn finish(mut s: PtySession) -> (i32, String) {
    let rest = s.exp_eof().expect("cloudops ends");
    let code = match s.process().wait().expect("wait") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("cloudops did not exit normally: {other:?}\n{rest}"),
    };
    (code, rest.replace("\r\n", "\n"))
}

/// Waits for the y/N prompt and returns what was printed up to it.
fn prompt(s: &mut PtySession) -> String {
    let before = s.exp_string("run it? [y/N] ").expect("the y/N prompt");
    format!("{}run it? [y/N] ", before.replace("\r\n", "\n"))
}

#[test]
fn ask_on_a_terminal_shows_the_command_and_the_reason_and_y_runs_it() {
    let d = dir_with_plugins();
    d.write("p.toml", ASKS);
    let mut s = spawn_tty(
        &d,
        &["--policy", "p.toml", "sh", "touch ran; echo it ran"],
        None,
    );
    // (The prompt ends with "[y/N] ", the cursor after the space.)
    insta::assert_snapshot!(prompt(&mut s).trim_end(), @r"
    cloudops: human asks for approval: needs a human
      command: bash -c 'touch ran; echo it ran'
    run it? [y/N]
    ");
    assert!(
        !d.path().join("ran").exists(),
        "nothing runs before the answer"
    );
    s.send_line("y").expect("answer");
    let (code, out) = finish(s);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("it ran"), "{out}");
    assert!(d.path().join("ran").exists());
}

/// `cloudops run -- touch ran` under a policy that asks, answered `reply` at the prompt:
/// the exit code, what was shown, and whether the command ran.
fn answer_ask(reply: &str) -> (i32, String, bool) {
    let d = dir_with_plugins();
    d.write("p.toml", ASKS);
    let mut s = spawn_tty(
        &d,
        &["--policy", "p.toml", "run", "--", "touch", "ran"],
        None,
    );
    prompt(&mut s);
    s.send_line(reply).expect("answer");
    let (code, out) = finish(s);
    (code, out, d.path().join("ran").exists())
}

#[test]
fn ask_on_a_terminal_answered_n_is_declined_with_126() {
    let (code, out, ran) = answer_ask("n");
    assert_eq!(code, 126, "{out}");
    // The user's own no, not the policy's denial without a terminal
    // (`error: denied by human: needs a human`, plugins.rs).
    insta::assert_snapshot!(out, @"error: declined at the prompt: needs a human");
    assert!(!ran, "a declined command must not run");
}

#[test]
fn ask_on_a_terminal_answered_with_just_enter_is_denied() {
    let (code, out, ran) = answer_ask("");
    assert_eq!(code, 126, "{out}");
    assert_eq!(out.trim(), "error: declined at the prompt: needs a human");
    assert!(!ran, "N is the default");
}

#[test]
fn yes_skips_the_prompt_on_a_terminal() {
    let d = dir_with_plugins();
    d.write("p.toml", ASKS);
    let s = spawn_tty(
        &d,
        &["--policy", "p.toml", "--yes", "run", "--", "touch", "ran"],
        None,
    );
    let (code, out) = finish(s);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("[y/N]"), "{out}");
    assert!(d.path().join("ran").exists());
}

#[test]
fn a_plan_step_declined_at_the_prompt_is_named_and_nothing_in_the_plan_runs() {
    let d = dir_with_plugins();
    d.write("p.toml", ASKS);
    d.write(
        "plan.toml",
        "strategy = \"serial\"\n[[steps]]\nname = \"build\"\nshell = \"touch built\"\n\
         [[steps]]\nname = \"deploy\"\nshell = \"touch deployed\"\n",
    );
    let mut s = spawn_tty(&d, &["--policy", "p.toml", "plan", "plan.toml"], None);
    // Every step is asked about before any runs, with no progress bar drawn over the
    // questions: yes to the first, no to the second.
    insta::assert_snapshot!(prompt(&mut s).trim_end(), @r"
    cloudops: human asks for approval: needs a human
      command: bash -c 'touch built'
    run it? [y/N]
    ");
    s.send_line("y").expect("answer");
    assert_eq!(
        prompt(&mut s).trim(),
        "cloudops: human asks for approval: needs a human\n  command: bash -c 'touch deployed'\nrun it? [y/N]"
    );
    s.send_line("n").expect("answer");
    let (code, out) = finish(s);
    assert_eq!(code, 126, "{out}");
    // Not `error: denied by human: needs a human`, the denial of an ask without a
    // terminal, and no bar left behind.
    insta::assert_snapshot!(out.trim(), @r"
    error: step 2 (deploy): declined at the prompt: needs a human
    hint: every step is decided before any runs: nothing in the plan ran
    ");
    assert!(
        !d.path().join("built").exists() && !d.path().join("deployed").exists(),
        "nothing runs"
    );
}

const TWO_STEPS: &str = r#"description = "two steps"
strategy = "serial"
[[steps]]
name = "first"
shell = "sleep 0.6; echo one"
[[steps]]
name = "second"
exec = ["echo", "two"]
"#;

#[test]
fn plan_on_a_terminal_draws_a_progress_bar_and_ends_with_the_summary_table() {
    let d = Dir::new();
    d.write("plan.toml", TWO_STEPS);
    let s = spawn_tty(&d, &["plan", "plan.toml"], None);
    let (code, out) = finish(s);
    assert_eq!(code, 0, "{out}");
    // The bar: elapsed time and steps done out of the total, redrawn while the first step runs.
    let bar = regex_lite_find(&out, "[00:00:0", " 0/2");
    assert!(bar, "no progress bar on a terminal:\n{out}");
    assert!(
        !out.contains("[1/2] first: completed"),
        "plain lines on a terminal:\n{out}"
    );
    assert!(
        out.contains("[first] one\n") && out.contains("[second] two\n"),
        "{out}"
    );
    assert_summary(&out);
}

#[test]
fn plan_without_a_terminal_prints_plain_lines_and_the_summary_table() {
    let d = Dir::new();
    d.write("plan.toml", TWO_STEPS);
    let r = d.run(&["plan", "plan.toml"]);
    r.expect_code(0);
    let err = r.stderr();
    assert!(
        !err.contains("[00:00:0") && !err.contains('\x1b'),
        "a bar without a terminal:\n{err}"
    );
    assert!(
        err.contains("[1/2] first: completed\n[2/2] second: completed\n"),
        "{err}"
    );
    assert_summary(&err);
}

/// Whether `text` has a line containing both `a` and `b` (a drawn bar).
fn regex_lite_find(text: &str, a: &str, b: &str) -> bool {
    text.split(['\n', '\r'])
        .any(|l| l.contains(a) && l.contains(b))
}

/// The summary table: a header, one row per step, the totals.
#[track_caller]
fn assert_summary(out: &str) {
    let start = out
        .find("#   step")
        .unwrap_or_else(|| panic!("no summary table:\n{out}"));
    let table: Vec<&str> = out[start..].lines().collect();
    assert!(table.len() >= 4, "{out}");
    let cells = |l: &str| {
        l.split_whitespace()
            .take(4)
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(cells(table[0]), ["#", "step", "status", "exit"]);
    assert_eq!(cells(table[1]), ["1", "first", "completed", "0"]);
    assert_eq!(cells(table[2]), ["2", "second", "completed", "0"]);
    assert!(
        table[3].starts_with(
            "plan completed: 2 completed, 0 failed, 0 timed out, 0 cancelled, of 2 in "
        ),
        "{out}"
    );
}

#[test]
fn ctrl_c_typed_at_the_terminal_during_a_plan_stops_its_trees_and_exits_130() {
    let d = Dir::new();
    d.write(
        "plan.toml",
        "strategy = \"parallel\"\n[[steps]]\nname = \"a\"\nshell = \"sleep 351 & sleep 352; echo never\"\n[[steps]]\nname = \"b\"\nshell = \"(sleep 353 &); sleep 354\"\n",
    );
    let marker = tree::marker();
    let mut s = spawn_tty(&d, &["plan", "plan.toml"], Some(&marker));
    let up = tree::wait_marked(&marker, 0, Duration::from_secs(30), |p| {
        (1..=4).all(|i| tree::has(p, &format!("sleep 35{i}")))
    });
    assert!(
        tree::has(&up, "sleep 354"),
        "the steps did not start: {up:?}"
    );
    // ^C at the terminal: the kernel sends SIGINT to the foreground process group, which is
    // cloudops alone (each step leads its own group).
    s.send_control('c').expect("^C");
    let (code, out) = finish(s);
    assert_eq!(code, 130, "{out}");
    assert!(!out.contains("never"), "{out}");
    tree::assert_none_left(&marker);
}

#[test]
fn a_plugin_compiling_for_its_first_use_shows_a_line_with_its_name_and_size() {
    let d = Dir::new();
    d.write(
        "p.toml",
        "version = 1\n[plugins.guard]\nsource = \"builtin:deny-commands\"\n[[rules]]\nname = \"all\"\nplugins = [\"guard\"]\n",
    );
    // An empty compile cache of its own: the plugin is compiled.
    let mut cmd = d.cmd(&["policy", "validate", "p.toml"]);
    cmd.env("XDG_CACHE_HOME", d.path().join("cache"));
    let (code, out) = finish(spawn_tty_with(cmd, None));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("compiling for its first use (cached afterwards): plugin 'guard' ("),
        "{out}"
    );
    assert!(out.contains(" MiB): 0."), "the elapsed time: {out}");
    // Warm: no line.
    let mut cmd = d.cmd(&["policy", "validate", "p.toml"]);
    cmd.env("XDG_CACHE_HOME", d.path().join("cache"));
    let (code, out) = finish(spawn_tty_with(cmd, None));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("compiling"), "{out}");
}
