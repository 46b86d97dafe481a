//! The built-in workdir-jail through the whole chain (engine, normaliser, host-side path
//! resolution, Wasm host, policy file): symlinks out of the root are denied, whether the
//! working directory or a path argument goes through them, and ordinary work inside runs.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::HashMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use cloudops_execution_engine::{
    Command, ExecutionEngine, ExecutionMetadata, ExecutionRequest, ExecutionStatus,
};
use support::denied_by;
use uuid::Uuid;

#[path = "support/mod.rs"]
mod support;

/// A project root with `notes.txt`, a symlink `link -> ../outside` and `passwd ->
/// ../outside/secret`, next to `outside/secret`; all paths canonical.
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(dir.path()).unwrap();
    let root = base.join("root");
    let outside = base.join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("notes.txt"), "inside\n").unwrap();
    std::fs::write(outside.join("secret"), "top secret\n").unwrap();
    symlink(&outside, root.join("link")).unwrap();
    symlink("../outside/secret", root.join("passwd")).unwrap();
    Tree {
        _dir: dir,
        root,
        outside,
    }
}

/// An engine whose policy jails agents in `root` (written next to the cache).
fn engine(root: &Path, cache: &tempfile::TempDir) -> ExecutionEngine {
    let policy_file = cache.path().join("jail.toml");
    std::fs::write(
        &policy_file,
        format!(
            r#"version = 1

[defaults]
unmatched = "deny"

[plugins.workdir-jail]
source = "builtin:workdir-jail"
config = {{ roots = ["{}"] }}

[[rules]]
name = "agents stay in the root"
when = {{ source = "agent" }}
plugins = ["workdir-jail"]
"#,
            root.display()
        ),
    )
    .unwrap();
    support::gated_engine(
        &policy_file,
        None,
        &cache.path().join("plugins"),
        Vec::new(),
    )
}

fn sh_in(dir: &Path, script: &str) -> ExecutionRequest {
    ExecutionRequest {
        id: Uuid::new_v4(),
        command: Command::Shell {
            command: script.into(),
            shell: "bash".into(),
        },
        env: HashMap::new(),
        working_dir: Some(dir.to_path_buf()),
        timeout_ms: None,
        metadata: ExecutionMetadata {
            source: Some("agent".into()),
            ..Default::default()
        },
    }
}

#[tokio::test]
async fn a_working_dir_that_is_a_symlink_out_of_the_root_is_denied() {
    let t = tree();
    let cache = tempfile::tempdir().unwrap();
    let engine = engine(&t.root, &cache);
    let marker = t.outside.join("ran");
    let req = sh_in(&t.root.join("link"), "touch ran");
    let (plugin, reason) = denied_by(engine.execute(req).await.unwrap_err());
    assert_eq!(plugin, "workdir-jail");
    assert!(
        reason.contains(&format!("resolves to {}", t.outside.display())),
        "{reason}"
    );
    assert!(!marker.exists(), "the command ran");
}

#[tokio::test]
async fn path_arguments_through_symlinks_are_denied_and_nothing_runs() {
    let t = tree();
    let cache = tempfile::tempdir().unwrap();
    let engine = engine(&t.root, &cache);
    for (script, planted) in [
        ("cat link/secret > copy.txt", "copy.txt"),
        ("cp passwd stolen.txt", "stolen.txt"),
        ("echo pwned > link/planted", "planted"),
        ("sudo tee ./link/planted2 < notes.txt", "planted2"),
    ] {
        let req = sh_in(&t.root, script);
        let (plugin, reason) = denied_by(engine.execute(req).await.unwrap_err());
        assert_eq!(plugin, "workdir-jail", "{script}");
        assert!(
            reason.contains(&t.outside.display().to_string()),
            "{script}: {reason}"
        );
        assert!(!t.root.join(planted).exists(), "{script} ran");
        assert!(!t.outside.join(planted).exists(), "{script} ran");
    }
}

#[tokio::test]
async fn ordinary_work_inside_the_root_runs() {
    let t = tree();
    let cache = tempfile::tempdir().unwrap();
    let engine = engine(&t.root, &cache);
    let req = sh_in(
        &t.root,
        "mkdir -p build && cat ./notes.txt > build/copy.txt && ls -la .",
    );
    let id = engine.execute(req).await.unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    assert_eq!(
        std::fs::read_to_string(t.root.join("build/copy.txt")).unwrap(),
        "inside\n"
    );
}
