//! `cloudops hook install|uninstall AGENT`: the hook's command line built, the settings-file edit (crate cloudops-hooks) printed and applied.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cloudops_execution_engine::shell_quote;
use cloudops_hooks::Agent;
use cloudops_hooks::install::{Backup, matcher, plan_install, plan_uninstall};

use crate::settings::Common;

/// The settings file of one agent to edit, validated.
#[derive(Debug, Clone)]
pub struct HookFile {
    /// The agent.
    pub agent: Agent,
    /// Its settings file (absolute when HOME or the working directory is).
    pub path: PathBuf,
    /// Print the diff; write nothing.
    pub dry_run: bool,
}

/// `cloudops hook install`: adds (or updates) the hook in `file`.
pub fn install(common: &Common, file: &HookFile, wrap: bool) -> anyhow::Result<i32> {
    let agent = file.agent;
    let command = hook_command(common, agent, wrap)?;
    let edit = plan_install(agent, &file.path, &command)?;
    let path = file.path.display();
    let place = match matcher(agent) {
        Some(m) => format!("{}, matcher {m}", agent.event()),
        None => agent.event().to_string(),
    };
    if !edit.changes() {
        println!(
            "the {} hook is already in {path} as it would be written ({place}); nothing changed:\n  {command}",
            agent.slug()
        );
        return Ok(0);
    }
    if file.dry_run {
        print!("{}", edit.diff());
        println!("dry run: {path} was not written");
        return Ok(0);
    }
    let backup = edit.apply()?;
    println!(
        "installed the {} hook in {path} ({place}):\n  {command}",
        agent.slug()
    );
    match common.policy.path() {
        Some(p) => println!("policy: {}", absolute(p).display()),
        None => println!(
            "policy: none given, so the hook looks for one each time it runs (CLOUDOPS_POLICY, \
             ./cloudops.toml in the agent's directory, ~/.config/cloudops/policy.toml) and, \
             where it finds none, allows every command (pass --policy FILE to name one)"
        ),
    }
    print_backup(&backup);
    if agent == Agent::Codex {
        println!("Codex runs a new hook once you trust it: /hooks in Codex");
    }
    Ok(0)
}

/// `cloudops hook uninstall`: removes our hook from `file`.
pub fn uninstall(file: &HookFile) -> anyhow::Result<i32> {
    let agent = file.agent;
    let edit = plan_uninstall(agent, &file.path)?;
    let path = file.path.display();
    if !edit.changes() {
        match edit.before {
            None => println!("{path} does not exist; nothing changed"),
            Some(_) => println!(
                "{path} has no {} hook of cloudops; nothing changed",
                agent.slug()
            ),
        }
        return Ok(0);
    }
    if file.dry_run {
        print!("{}", edit.diff());
        println!("dry run: {path} was not written");
        return Ok(0);
    }
    let backup = edit.apply()?;
    match &edit.after {
        Some(_) => println!("removed the {} hook from {path}", agent.slug()),
        None => println!(
            "removed the {} hook: {path}, with nothing else in it, is deleted",
            agent.slug()
        ),
    }
    print_backup(&backup);
    Ok(0)
}

fn print_backup(backup: &Backup) {
    match backup {
        Backup::None => {}
        Backup::Made(b) => println!("the file as it was: {}", b.display()),
        Backup::Kept(b) => println!(
            "the file as it was before cloudops first changed it: {} (kept)",
            b.display()
        ),
        Backup::Dropped(b) => println!(
            "the file is as it was before cloudops changed it: {} is removed",
            b.display()
        ),
    }
}

/// `CLOUDOPS [--policy FILE] [--profile P] hook AGENT [--wrap]`, each word shell-quoted,
/// with the absolute paths of the running cloudops and of the policy.
fn hook_command(common: &Common, agent: Agent, wrap: bool) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("could not find the path of this cloudops")?;
    let mut words = vec![exe.to_string_lossy().into_owned()];
    if let Some(policy) = common.policy.path() {
        words.extend([
            "--policy".into(),
            absolute(policy).to_string_lossy().into_owned(),
        ]);
    }
    if let Some(profile) = &common.profile {
        words.extend(["--profile".into(), profile.clone()]);
    }
    words.extend(["hook".into(), agent.slug().into()]);
    if wrap {
        words.push("--wrap".into());
    }
    Ok(words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" "))
}

/// `p` made absolute against the current directory (as the agent's hook runs elsewhere).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
