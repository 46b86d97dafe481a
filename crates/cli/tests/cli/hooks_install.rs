//! `cloudops hook install|uninstall AGENT`: each agent's settings file merged in its own order, idempotently; the installed command answers a fixture; uninstall gives the file back byte for byte; dry runs, broken files and missing files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::util::{Dir, Run};

const AGENTS: [&str; 5] = ["claude-code", "codex", "gemini", "cursor", "copilot"];

fn policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/agent.toml")
}

fn policy_arg() -> String {
    policy().to_str().expect("utf-8 path").to_string()
}

/// The settings file of `agent` under `base` (docs/hooks.md).
fn settings(agent: &str, project: bool) -> &'static str {
    match (agent, project) {
        ("claude-code", _) => ".claude/settings.json",
        ("codex", _) => ".codex/hooks.json",
        ("gemini", _) => ".gemini/settings.json",
        ("cursor", _) => ".cursor/hooks.json",
        (_, false) => ".copilot/hooks/cloudops.json",
        (_, true) => ".github/hooks/cloudops.json",
    }
}

/// The event the hook is listed under.
fn event(agent: &str) -> &'static str {
    match agent {
        "gemini" => "BeforeTool",
        "cursor" => "beforeShellExecution",
        "copilot" => "preToolUse",
        _ => "PreToolUse",
    }
}

/// A user's settings file: keys before and after `hooks`, another event, and another hook on
/// the same event; 2-space pretty JSON, as the agents' own editors write it.
fn existing(agent: &str) -> String {
    let other = match agent {
        "cursor" => r#"{"command": "./audit.sh"}"#,
        "copilot" => r#"{"type": "command", "bash": "./audit.sh"}"#,
        _ => r#"{"matcher": "Write", "hooks": [{"type": "command", "command": "./audit.sh"}]}"#,
    };
    let text = format!(
        r#"{{
  "zeta": true,
  "hooks": {{
    "Stop": [],
    "{}": [
      {other}
    ]
  }},
  "alpha": [
    1,
    2.5
  ]
}}
"#,
        event(agent)
    );
    // Re-indent the one-line `other` as a pretty printer would.
    let value: Value = serde_json::from_str(&text).expect("json");
    let pretty_other =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(other).expect("json"))
            .expect("pretty")
            .replace('\n', "\n      ");
    let text = text.replace(other, &pretty_other);
    assert_eq!(serde_json::from_str::<Value>(&text).expect("json"), value);
    text
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The commands of `agent`'s hooks in the settings text, in order.
fn commands(agent: &str, text: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(text).expect("json");
    let entries = v["hooks"][event(agent)]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let field = if agent == "copilot" {
        "bash"
    } else {
        "command"
    };
    let mut out = Vec::new();
    for e in entries {
        let hooks = match e.get("hooks").and_then(Value::as_array) {
            Some(h) => h.clone(),
            None => vec![e.clone()],
        };
        out.extend(
            hooks
                .iter()
                .filter_map(|h| h[field].as_str().map(String::from)),
        );
    }
    out
}

/// Runs the installed hook command as the agent would (`sh -c`), with `input` on stdin.
fn run_hook(d: &Dir, command: &str, input: &str) -> Run {
    let mut child = std::process::Command::new("sh")
        .args(["-c", command])
        .current_dir(d.path())
        .env_remove("CLOUDOPS_POLICY")
        .env_remove("CLOUDOPS_PROFILE")
        .env_remove("CLOUDOPS_SERVER")
        .env("HOME", d.path())
        .env(
            "XDG_CACHE_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("cloudops-cache"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write");
    drop(stdin);
    Run(child.wait_with_output().expect("wait"))
}

fn fixture(agent: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hooks")
        .join(agent)
        .join(format!("{name}.json"));
    read(&path)
}

#[test]
fn install_merges_in_order_twice_changes_nothing_answers_and_uninstall_restores_the_bytes() {
    for agent in AGENTS {
        let d = Dir::new();
        let original = existing(agent);
        let file = d.write(settings(agent, false), &original);
        let install = ["--policy", &policy_arg(), "hook", "install", agent];

        let r = d.run(&install);
        r.expect_code(0);
        assert!(r.stdout().contains("installed the"), "{}", r.stdout());
        let once = read(&file);
        let r = d.run(&install);
        r.expect_code(0);
        assert!(r.stdout().contains("nothing changed"), "{}", r.stdout());
        assert_eq!(
            read(&file),
            once,
            "{agent}: the second install changes nothing"
        );

        // Everything else is there, in its order; ours comes after the other hook.
        let at = |needle: &str| {
            once.find(needle)
                .unwrap_or_else(|| panic!("{agent}: {needle} in {once}"))
        };
        let order = [
            at("\"zeta\""),
            at("\"Stop\""),
            at("./audit.sh"),
            at(&format!(" hook {agent}")),
            at("\"alpha\""),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{agent}: {once}");
        let ours = commands(agent, &once);
        assert_eq!(ours.len(), 2, "{agent}: {once}");
        let exe = env!("CARGO_BIN_EXE_cloudops");
        assert_eq!(
            ours[1],
            format!(
                "{exe} --policy {} hook {agent}",
                std::path::absolute(policy()).expect("abs").display()
            ),
        );
        let mut without: Value = serde_json::from_str(&once).expect("json");
        let list = without["hooks"][event(agent)].as_array_mut().expect("list");
        list.pop();
        assert_eq!(
            without,
            serde_json::from_str::<Value>(&original).expect("json")
        );

        // The installed command answers the agent's call with the policy.
        let input =
            fixture(agent, "shell-denied").replace("/tmp/project", &d.path().to_string_lossy());
        let r = run_hook(&d, &ours[1], &input);
        r.expect_code(0);
        assert!(
            r.stdout().contains("recursive delete of /"),
            "{agent}: {}",
            r.stdout()
        );

        let r = d.run(&["hook", "uninstall", agent]);
        r.expect_code(0);
        assert_eq!(
            read(&file),
            original,
            "{agent}: uninstall gives the file back"
        );
        assert!(
            !file.with_extension("json.cloudops-backup").exists(),
            "{agent}"
        );
        let r = d.run(&["hook", "uninstall", agent]);
        r.expect_code(0);
        assert!(r.stdout().contains("nothing changed"), "{}", r.stdout());
        assert_eq!(read(&file), original);
    }
}

#[test]
fn install_into_a_missing_file_creates_it_and_uninstall_deletes_it() {
    let d = Dir::new();
    let project = d.path().join("proj");
    std::fs::create_dir(&project).expect("mkdir");
    let cwd = project.to_str().expect("utf-8");
    for agent in AGENTS {
        let file = project.join(settings(agent, true));
        let install = ["--cwd", cwd, "hook", "install", agent, "--scope", "project"];
        let r = d.run(&install);
        r.expect_code(0);
        assert!(r.stdout().contains("looks for one"), "{}", r.stdout());
        let text = read(&file);
        assert!(
            text.ends_with("\n") && text.starts_with("{\n  \""),
            "{text}"
        );
        let ours = commands(agent, &text);
        assert_eq!(
            ours,
            [format!("{} hook {agent}", env!("CARGO_BIN_EXE_cloudops"))]
        );
        if matches!(agent, "cursor" | "copilot") {
            let v: Value = serde_json::from_str(&text).expect("json");
            assert_eq!(v["version"], 1, "{text}");
        }
        assert!(
            !d.path().join(settings(agent, false)).exists(),
            "not the user's file"
        );
        let r = d.run(&[
            "--cwd",
            cwd,
            "hook",
            "uninstall",
            agent,
            "--scope",
            "project",
        ]);
        r.expect_code(0);
        assert!(!file.exists(), "{agent}: {}", r.stdout());
    }
}

#[test]
fn the_profile_and_wrap_go_into_the_command_and_replace_our_entry_in_place() {
    let d = Dir::new();
    let policies = d.path().join("policies");
    std::fs::create_dir(&policies).expect("mkdir");
    std::fs::copy(policy(), policies.join("agent.toml")).expect("copy");
    let file = d.write(settings("claude-code", false), &existing("claude-code"));
    d.run(&[
        "--policy",
        "policies/agent.toml",
        "hook",
        "install",
        "claude-code",
    ])
    .expect_code(0);
    let r = d.run(&[
        "--policy",
        "policies/agent.toml",
        "--profile",
        "a b",
        "hook",
        "install",
        "claude-code",
        "--wrap",
    ]);
    r.expect_code(0);
    let ours = commands("claude-code", &read(&file));
    assert_eq!(
        ours[1],
        format!(
            "{} --policy {} --profile 'a b' hook claude-code --wrap",
            env!("CARGO_BIN_EXE_cloudops"),
            policies.join("agent.toml").display()
        )
    );
    assert_eq!(ours.len(), 2, "replaced, not added");
    let r = d.run(&["hook", "install", "cursor", "--wrap"]);
    r.expect_code(125);
    assert!(r.stderr().contains("--wrap"), "{}", r.stderr());
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let d = Dir::new();
    let original = existing("gemini");
    let file = d.write(settings("gemini", false), &original);
    let r = d.run(&[
        "--policy",
        &policy_arg(),
        "hook",
        "install",
        "gemini",
        "--dry-run",
    ]);
    r.expect_code(0);
    let out = r.stdout();
    let name = file.display().to_string();
    assert!(
        out.starts_with(&format!("--- {name}\n+++ {name}\n@@ ")),
        "{out}"
    );
    assert!(
        out.contains("+        \"matcher\": \"run_shell_command\",\n"),
        "{out}"
    );
    assert!(out.contains("dry run"), "{out}");
    assert_eq!(read(&file), original);
    assert_eq!(
        std::fs::read_dir(file.parent().expect("dir"))
            .expect("ls")
            .count(),
        1
    );

    let r = d.run(&["hook", "install", "copilot", "--dry-run"]);
    r.expect_code(0);
    assert!(r.stdout().starts_with("--- /dev/null\n"), "{}", r.stdout());
    assert!(!d.path().join(".copilot").exists());

    d.run(&["hook", "install", "gemini"]).expect_code(0);
    let installed = read(&file);
    let r = d.run(&["hook", "uninstall", "gemini", "--dry-run"]);
    r.expect_code(0);
    assert!(
        r.stdout().contains("-            \"command\": "),
        "{}",
        r.stdout()
    );
    assert_eq!(read(&file), installed);
}

#[test]
fn a_file_that_is_not_json_is_refused_with_its_line_and_column_and_left_alone() {
    let d = Dir::new();
    let broken = "{\n  \"model\": \"x\",\n  \"hooks\": {\n}\n";
    let file = d.write(settings("codex", false), broken);
    for args in [
        &["hook", "install", "codex"][..],
        &["hook", "uninstall", "codex"],
    ] {
        let r = d.run(args);
        r.expect_code(125);
        assert!(
            r.stderr().contains(&format!(
                "error: {}:5:0: the file is not valid JSON",
                file.display()
            )),
            "{}",
            r.stderr()
        );
        assert_eq!(read(&file), broken);
        assert_eq!(
            std::fs::read_dir(file.parent().expect("dir"))
                .expect("ls")
                .count(),
            1
        );
    }
}

#[test]
fn hook_agent_still_answers_and_the_help_shows_both_forms() {
    let d = Dir::new();
    let r = d.run(&["hook", "--help"]);
    r.expect_code(0);
    let help = r.stdout();
    assert!(help.contains("cloudops hook [OPTIONS] <AGENT>"), "{help}");
    assert!(help.contains("cloudops hook <COMMAND>"), "{help}");
    assert!(help.contains("install"), "{help}");
    let r = d.run(&["hook", "install"]);
    r.expect_code(125);
    let r = d.run(&["hook", "vim"]);
    r.expect_code(125);
}

#[test]
fn a_file_laid_out_otherwise_comes_back_as_it_was_after_uninstall() {
    let d = Dir::new();
    // Four-space indents and an inline array: not how install writes JSON.
    let original =
        "{\n    \"model\": \"opus\",\n    \"permissions\": {\"allow\": [\"Bash(ls:*)\"]}\n}\n";
    let file = d.write(settings("claude-code", false), original);
    d.run(&["--policy", &policy_arg(), "hook", "install", "claude-code"])
        .expect_code(0);
    assert_ne!(read(&file), original);
    let r = d.run(&["hook", "uninstall", "claude-code"]);
    r.expect_code(0);
    assert_eq!(read(&file), original, "{}", r.stdout());
    assert!(
        !cloudops_hooks::install::backup_path(&file).exists(),
        "the backup, then redundant, is removed"
    );
}
