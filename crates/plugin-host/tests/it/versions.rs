//! Interface versions: plugins built for the frozen `cloudops:plugin@0.1.0` and `@0.2.0`
//! keep loading and share a chain with plugins of 0.3.0 (0.2.0 and later also get the paths
//! the host resolved); a component of an unknown version is refused, naming the file and
//! the supported versions; the released WIT files are pinned, and no WIT comment holds a
//! backslash escape (componentize-py copies comments into Python docstrings).

use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;

use cloudops_execution_engine::Verdict;
use cloudops_plugin_host::{LoadError, LoadedPlugin, PACKAGE, PluginHost, SUPPORTED};

use crate::common::{decide, exec, gate, host, load, plugin_path, shell, spec};

/// The 0.2.0 test plugin, denying whatever resolves under `prefix` (and showing the view).
fn resolved_paths(prefix: &Path) -> Arc<LoadedPlugin> {
    load(&spec(
        "resolved-paths",
        &format!(r#"{{"deny_under": "{}"}}"#, prefix.display()),
    ))
}

fn canonical(p: &Path) -> String {
    std::fs::canonicalize(p).unwrap().display().to_string()
}

#[test]
fn each_plugin_reports_the_interface_version_it_was_built_for() {
    let t = tempfile::tempdir().unwrap();
    assert_eq!(PACKAGE, "cloudops:plugin@0.3.0");
    assert_eq!(
        SUPPORTED,
        [
            "cloudops:plugin@0.3.0",
            "cloudops:plugin@0.2.0",
            "cloudops:plugin@0.1.0"
        ]
    );
    assert_eq!(
        load(&spec("sandbox-tighten", "{}")).interface(),
        "cloudops:plugin@0.3.0"
    );
    assert_eq!(
        load(&spec("allow-all", "{}")).interface(),
        "cloudops:plugin@0.1.0"
    );
    assert_eq!(
        resolved_paths(t.path()).interface(),
        "cloudops:plugin@0.2.0"
    );
}

#[tokio::test]
async fn old_and_new_plugins_decide_in_one_chain() {
    let t = tempfile::tempdir().unwrap();
    let outside = t.path().join("outside");
    let work = t.path().join("work");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    symlink(&outside, work.join("link")).unwrap();
    // 0.1.0: rewrites (clamps the timeout), denies `shutdown`. 0.2.0: denies what resolves
    // into `outside`.
    let g = gate(vec![
        load(&spec("rewrite", r#"{"max_timeout_ms": 1000}"#)),
        load(&spec("deny-pattern", r#"{"programs":["shutdown"]}"#)),
        resolved_paths(&outside),
    ]);

    // Ordinary work passes all three; the old plugin's rewrite is kept (the resolved view
    // it cannot see is carried over, so the rewrite is not taken for a malformed one).
    let mut req = shell("ls ./sub");
    req.working_dir = Some(work.clone());
    req.timeout_ms = Some(60_000);
    let r = decide(&g, &req).await;
    assert!(r.allowed, "{r:?}");
    assert_eq!(r.verdict, Verdict::Rewrite, "{r:?}");
    assert_eq!(r.request.timeout_ms, Some(1000));
    assert!(r.steps.iter().all(|s| s.error.is_none()), "{r:?}");
    assert_eq!(r.steps.len(), 3);

    // The 0.1.0 plugin still denies what it should.
    let mut req = exec("shutdown", &["-h", "now"]);
    req.working_dir = Some(work.clone());
    let r = decide(&g, &req).await;
    assert!(!r.allowed);
    assert_eq!(r.plugin.as_deref(), Some("deny-pattern"));

    // The 0.2.0 plugin sees through the symlink, after the 0.1.0 plugins allowed.
    let mut req = shell("cat link/secret");
    req.working_dir = Some(work.clone());
    let r = decide(&g, &req).await;
    assert!(!r.allowed, "{r:?}");
    assert_eq!(r.plugin.as_deref(), Some("resolved-paths"));
    let reason = r.reason.unwrap();
    assert!(
        reason.contains(&format!("arg#1+0={}/secret(missing)", canonical(&outside))),
        "{reason}"
    );
}

#[tokio::test]
async fn the_host_resolves_a_symlinked_working_dir_and_path_arguments() {
    let t = tempfile::tempdir().unwrap();
    let etc = t.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("passwd"), "root:x:0:0").unwrap();
    let jail = t.path().join("jail");
    std::fs::create_dir_all(&jail).unwrap();
    symlink(&etc, jail.join("wd")).unwrap();
    let g = gate(vec![resolved_paths(&etc)]);

    // The working dir is a symlink into the denied tree: its canonical form tells.
    let mut req = shell("true");
    req.working_dir = Some(jail.join("wd"));
    let r = decide(&g, &req).await;
    assert!(!r.allowed);
    let reason = r.reason.unwrap();
    assert!(
        reason.contains(&format!("cwd={} complete=true", canonical(&etc))),
        "{reason}"
    );

    // Arguments, a bare word naming an entry, `--opt=PATH` and a redirection.
    let mut req = shell("cat wd/passwd --in=./wd > wd/out");
    req.working_dir = Some(jail.clone());
    let r = decide(&g, &req).await;
    let reason = r.reason.unwrap();
    let e = canonical(&etc);
    for part in [
        format!("arg#1+0={e}/passwd(exists)"),
        format!("arg#2+5={e}(exists)"),
        format!("redir#0+0={e}/out(missing)"),
    ] {
        assert!(reason.contains(&part), "{part} in {reason}");
    }

    // Ordinary paths inside are allowed.
    let mut req = shell("ls -la . && cat ./notes.txt > out.log");
    req.working_dir = Some(jail.clone());
    assert!(decide(&g, &req).await.allowed);
}

#[tokio::test]
async fn a_rewritten_request_is_resolved_again_for_the_next_plugin() {
    // After a (0.1.0) rewrite the host normalises and resolves the new request again:
    // the 0.2.0 plugin after it still sees the canonical working dir.
    let t = tempfile::tempdir().unwrap();
    let g = gate(vec![
        load(&spec("rewrite", r#"{"max_timeout_ms": 5}"#)),
        resolved_paths(t.path()),
    ]);
    let mut req = shell("true");
    req.working_dir = Some(t.path().to_path_buf());
    req.timeout_ms = Some(10);
    let r = decide(&g, &req).await;
    assert!(!r.allowed, "{r:?}");
    assert_eq!(r.plugin.as_deref(), Some("resolved-paths"));
    assert!(
        r.reason
            .unwrap()
            .contains(&format!("cwd={}", canonical(t.path())))
    );
}

#[test]
fn a_component_of_an_unknown_interface_version_is_refused() {
    let path = plugin_path("future-version");
    let err = host().load(&spec("future-version", "{}")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{msg}");
    for part in [
        path.display().to_string(),
        "cloudops:plugin@0.3.0".to_string(),
        "cloudops:plugin@0.2.0".to_string(),
        "cloudops:plugin@0.1.0".to_string(),
        "cloudops:plugin/types@0.99.0".to_string(),
    ] {
        assert!(msg.contains(&part), "{part:?} not in {msg}");
    }
    // The host keeps serving the versions it knows.
    let fresh = PluginHost::new(cloudops_plugin_host::HostConfig {
        cache_dir: Some(crate::common::shared_cache()),
        ..Default::default()
    })
    .unwrap();
    assert!(fresh.load(&spec("allow-all", "{}")).is_ok());
}

/// sha256 of each released `wit/vX.Y.Z/plugin.wit`. A released interface is frozen:
/// plugins were built against these exact bytes. Change the interface in a new version
/// directory instead.
const RELEASED: &[(&str, &str)] = &[
    (
        "v0.1.0",
        "5e3404d98f08fb42bf6600ea1e008d2e9bc60622aaad335b95c10c050f4757b4",
    ),
    (
        "v0.2.0",
        "511b6a49a01617176ec61f0a607b89221d096de24a1ead8a3306f4b021b0a58b",
    ),
];

fn wit_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit")
}

#[test]
fn the_released_wit_files_are_unchanged() {
    use sha2::{Digest, Sha256};
    for (version, sha) in RELEASED {
        let wit = wit_dir().join(version).join("plugin.wit");
        let bytes = std::fs::read(&wit).unwrap();
        let actual: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            actual,
            *sha,
            "{} was edited; released interfaces are frozen (add wit/vX.Y.Z/ instead)",
            wit.display()
        );
    }
}

/// The `//` comments of a WIT file (doc comments included), with their line numbers.
fn comments(wit: &str) -> Vec<(usize, &str)> {
    wit.lines()
        .enumerate()
        .filter_map(|(i, l)| l.find("//").map(|at| (i + 1, &l[at..])))
        .collect()
}

#[test]
fn no_comment_of_the_current_wit_holds_a_backslash_escape() {
    // componentize-py copies doc comments into Python docstrings, where `\u{1b}` is a
    // syntax error (0.2.0's `log` comment had one); no backslash at all is the simple rule.
    let wit = wit_dir().join("v0.3.0/plugin.wit");
    let text = std::fs::read_to_string(&wit).unwrap();
    let bad: Vec<_> = comments(&text)
        .into_iter()
        .filter(|(_, c)| c.contains('\\'))
        .collect();
    assert!(
        bad.is_empty(),
        "{}: backslashes in comments: {bad:?}",
        wit.display()
    );
    // The check does see the escape it is about.
    let old = std::fs::read_to_string(wit_dir().join("v0.2.0/plugin.wit")).unwrap();
    assert!(comments(&old).iter().any(|(_, c)| c.contains("\\u{1b}")));
}
