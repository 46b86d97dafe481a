//! Unit tests of the settings-file edits: merge in key order, idempotence, round trips, refusals, backups and atomic writes.

use std::os::unix::fs::PermissionsExt;

use super::*;

const CMD: &str = "/opt/cloudops --policy /p/agent.toml hook";

fn command(agent: Agent) -> String {
    format!("{CMD} {}", agent.slug())
}

/// A settings file with keys before and after `hooks` and another hook on the same event.
fn existing(agent: Agent) -> String {
    let other = match agent {
        Agent::Cursor => r#"{"command": "./audit.sh"}"#.to_string(),
        Agent::Copilot => r#"{"type": "command", "bash": "./audit.sh"}"#.to_string(),
        _ => r#"{"matcher": "Write", "hooks": [{"type": "command", "command": "./audit.sh"}]}"#
            .to_string(),
    };
    let text = format!(
        r#"{{"zeta": true, "hooks": {{"Stop": [], "{}": [{other}]}}, "alpha": [1, 2.5]}}"#,
        agent.event()
    );
    json::to_pretty(&json::parse(&text).expect("json"))
}

#[test]
fn install_keeps_everything_in_order_twice_changes_nothing_and_uninstall_restores_the_bytes() {
    for agent in Agent::ALL {
        let before = existing(agent);
        let once = install_text(agent, Some(&before), &command(agent)).expect("install");
        let twice = install_text(agent, Some(&once), &command(agent)).expect("again");
        assert_eq!(once, twice, "{agent:?}");
        let keys: Vec<&str> = ["\"zeta\"", "\"hooks\"", "\"Stop\"", "./audit.sh", "hook "]
            .into_iter()
            .chain(["\"alpha\""])
            .collect();
        let at: Vec<usize> = keys
            .iter()
            .map(|k| once.find(k).unwrap_or_else(|| panic!("{k} in {once}")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{agent:?}: {once}");
        assert!(once.contains(&command(agent)), "{once}");
        let back = uninstall_text(agent, Some(&once)).expect("uninstall");
        assert_eq!(back.as_deref(), Some(before.as_str()), "{agent:?}");
    }
}

#[test]
fn a_new_file_gets_the_documented_snippet_and_uninstall_deletes_it() {
    let expected = [
        (
            Agent::ClaudeCode,
            r#"{"hooks":{"PreToolUse":[{"matcher":"Bash|PowerShell","hooks":[{"type":"command","command":"C"}]}]}}"#,
        ),
        (
            Agent::Codex,
            r#"{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"C"}]}]}}"#,
        ),
        (
            Agent::Gemini,
            r#"{"hooks":{"BeforeTool":[{"matcher":"run_shell_command","hooks":[{"type":"command","command":"C"}]}]}}"#,
        ),
        (
            Agent::Cursor,
            r#"{"version":1,"hooks":{"beforeShellExecution":[{"command":"C","failClosed":true}]}}"#,
        ),
        (
            Agent::Copilot,
            r#"{"version":1,"hooks":{"preToolUse":[{"type":"command","bash":"C"}]}}"#,
        ),
    ];
    for (agent, snippet) in expected {
        let c = command(agent);
        let text = install_text(agent, None, &c).expect("install");
        let compact = serde_json::to_string(&json::parse(&text).expect("json")).expect("text");
        assert_eq!(compact, snippet.replace("\"C\"", &format!("{c:?}")));
        assert!(text.ends_with("}\n") && text.contains("\n  \""), "{text}");
        assert_eq!(uninstall_text(agent, Some(&text)).expect("uninstall"), None);
        // A blank file is a new one.
        assert_eq!(install_text(agent, Some(" \n"), &c).expect("blank"), text);
    }
}

#[test]
fn another_install_updates_our_entry_in_place() {
    let agent = Agent::ClaudeCode;
    let once = install_text(agent, Some(&existing(agent)), &command(agent)).expect("install");
    let wrapped = "/opt/cloudops --profile ci hook claude-code --wrap";
    let again = install_text(agent, Some(&once), wrapped).expect("again");
    assert_eq!(again, once.replace(&command(agent), wrapped));
}

#[test]
fn a_file_already_holding_the_hook_is_left_as_written() {
    let agent = Agent::Cursor;
    let compact = format!(
        r#"{{"version":1,"hooks":{{"beforeShellExecution":[{{"command":"{}","failClosed":true}}]}}}}"#,
        command(agent)
    );
    assert_eq!(
        install_text(agent, Some(&compact), &command(agent)).expect("install"),
        compact
    );
}

#[test]
fn only_whole_words_hook_agent_are_ours() {
    assert!(is_ours(Agent::Codex, "/bin/cloudops hook codex"));
    assert!(is_ours(
        Agent::Codex,
        "cloudops --policy p hook codex --wrap"
    ));
    assert!(!is_ours(Agent::Codex, "cloudops hook codex2"));
    assert!(!is_ours(Agent::Codex, "cloudops hook claude-code"));
    assert!(!is_ours(Agent::Codex, "./audit.sh"));
}

#[test]
fn uninstall_without_our_hook_changes_nothing() {
    for agent in Agent::ALL {
        let text = existing(agent);
        assert_eq!(
            uninstall_text(agent, Some(&text)).expect("uninstall"),
            Some(text.clone())
        );
        let compact = "{\"a\":1}";
        assert_eq!(
            uninstall_text(agent, Some(compact))
                .expect("uninstall")
                .as_deref(),
            Some(compact)
        );
        assert_eq!(uninstall_text(agent, None).expect("uninstall"), None);
    }
}

#[test]
fn broken_json_and_wrong_shapes_are_refused_with_where() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("settings.json");
    fs::write(&path, "{\n  \"hooks\": {,\n}\n").expect("write");
    let e = plan_install(Agent::ClaudeCode, &path, "c").unwrap_err();
    assert!(
        matches!(
            e,
            InstallError::NotJson {
                line: 2,
                column: 13,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("{}:2:13: ", path.display())),
        "{e}"
    );
    let e = plan_uninstall(Agent::ClaudeCode, &path).unwrap_err();
    assert!(matches!(e, InstallError::NotJson { .. }), "{e:?}");
    for (text, at) in [
        ("[]", "the top level"),
        ("{\"hooks\": []}", "\"hooks\""),
        (
            "{\"hooks\": {\"PreToolUse\": {}}}",
            "\"hooks\".\"PreToolUse\"",
        ),
    ] {
        fs::write(&path, text).expect("write");
        let e = plan_install(Agent::ClaudeCode, &path, "c").unwrap_err();
        assert!(
            matches!(&e, InstallError::Shape { at: a, .. } if a == at),
            "{e:?}"
        );
    }
}

#[test]
fn apply_backs_up_once_keeps_permissions_and_drops_the_backup_when_the_file_is_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::Gemini;
    let path = dir.path().join(".gemini/settings.json");
    fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    let original = existing(agent);
    fs::write(&path, &original).expect("write");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    let backup = backup_path(&path);

    let edit = plan_install(agent, &path, &command(agent)).expect("plan");
    assert!(edit.diff().contains(&format!("+{:12}\"command\": ", "")));
    assert_eq!(edit.apply().expect("apply"), Backup::Made(backup.clone()));
    assert_eq!(fs::read_to_string(&backup).expect("backup"), original);
    let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!((mode(&path), mode(&backup)), (0o600, 0o600));

    let again = plan_install(agent, &path, "cloudops hook gemini --wrap").expect("plan");
    assert_eq!(again.apply().expect("apply"), Backup::Kept(backup.clone()));
    assert_eq!(fs::read_to_string(&backup).expect("backup"), original);

    let edit = plan_uninstall(agent, &path).expect("plan");
    assert_eq!(
        edit.apply().expect("apply"),
        Backup::Dropped(backup.clone())
    );
    assert_eq!(fs::read_to_string(&path).expect("file"), original);
    assert!(!backup.exists());
    let leftovers = fs::read_dir(path.parent().expect("dir"))
        .expect("ls")
        .count();
    assert_eq!(leftovers, 1, "no temporary file is left");
}

#[test]
fn apply_follows_a_symlink_and_refuses_a_file_changed_since_the_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = dir.path().join("dotfiles-hooks.json");
    fs::write(&real, "{}\n").expect("write");
    let link = dir.path().join("hooks.json");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let edit = plan_install(Agent::Cursor, &link, &command(Agent::Cursor)).expect("plan");
    fs::write(&real, "{\"x\": 1}\n").expect("write");
    assert!(matches!(
        edit.apply().unwrap_err(),
        InstallError::Changed { .. }
    ));
    let edit = plan_install(Agent::Cursor, &link, &command(Agent::Cursor)).expect("plan");
    edit.apply().expect("apply");
    assert!(
        fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert!(
        fs::read_to_string(&real)
            .expect("real")
            .contains("failClosed")
    );
}

#[test]
fn a_created_file_and_its_directories_come_and_go_with_no_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = settings_file(Agent::Copilot, Scope::Project, dir.path());
    assert!(path.ends_with(".github/hooks/cloudops.json"));
    let edit = plan_install(Agent::Copilot, &path, &command(Agent::Copilot)).expect("plan");
    assert!(
        edit.diff().starts_with("--- /dev/null\n"),
        "{}",
        edit.diff()
    );
    assert_eq!(edit.apply().expect("apply"), Backup::None);
    let edit = plan_uninstall(Agent::Copilot, &path).expect("plan");
    assert!(edit.diff().contains("+++ /dev/null"), "{}", edit.diff());
    assert_eq!(edit.apply().expect("apply"), Backup::None);
    assert!(!path.exists() && !backup_path(&path).exists());
}
