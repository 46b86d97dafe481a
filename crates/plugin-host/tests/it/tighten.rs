//! Kernel sandbox tightenings (interface 0.3.0): a plugin's answer narrows the sandbox in the
//! decision record, each step lists what it took away (and what it asked for that was
//! ignored), later plugins see the narrowed sandbox, audit mode only records, a denial stays
//! a denial, and plugins of older interfaces neither see nor change the sandbox.

use std::path::PathBuf;
use std::sync::Arc;

use cloudops_execution_engine::sandbox::{Network, Sandbox};
use cloudops_execution_engine::{ExecutionRequest, Verdict};
use cloudops_normalize::Normalized;
use cloudops_plugin_host::{ChainGate, LoadedPlugin, Mode, PluginSelector, Selection};

use crate::common::{decide, host, load, shell, spec};

/// Every request gets these plugins and this sandbox.
struct InSandbox(Vec<Arc<LoadedPlugin>>, Option<Sandbox>);

impl PluginSelector for InSandbox {
    fn select(&self, _: &ExecutionRequest, _: &Normalized) -> Selection {
        Selection {
            plugins: self.0.clone(),
            sandbox: self.1.clone(),
            ..Selection::default()
        }
    }
}

fn agent_sandbox() -> Sandbox {
    Sandbox {
        hidden: vec!["/home/u/.ssh".into()],
        protected: vec!["/w/.git/hooks".into()],
        network: Network::Loopback,
        max_processes: Some(512),
        ..Sandbox::new("agent", vec!["/w".into(), "/tmp".into()])
    }
}

fn gate(plugins: Vec<Arc<LoadedPlugin>>, sandbox: Option<Sandbox>) -> ChainGate {
    ChainGate::new(host(), Arc::new(InSandbox(plugins, sandbox)))
}

fn tighten(config: &str) -> Arc<LoadedPlugin> {
    load(&spec("sandbox-tighten", config))
}

/// A plugin that denies with a description of the sandbox it was sent.
fn show() -> Arc<LoadedPlugin> {
    let mut s = spec("sandbox-tighten", r#"{"verdict":"show"}"#);
    s.name = "show".into();
    load(&s)
}

#[tokio::test]
async fn a_tightening_narrows_the_record_and_the_next_plugin_sees_it() {
    let narrow = tighten(r#"{"network":"none","hide":["/w/.env"],"drop_write":["/tmp"]}"#);
    assert_eq!(narrow.interface(), "cloudops:plugin@0.3.0");

    // Alone: allowed, in the narrowed sandbox, and the step says what it took away.
    let r = decide(
        &gate(vec![narrow.clone()], Some(agent_sandbox())),
        &shell("npm test"),
    )
    .await;
    assert!(r.allowed, "{r:?}");
    assert_eq!(r.verdict, Verdict::Allow);
    assert_eq!(
        r.steps[0].tightened,
        [
            "network loopback -> none",
            "hide /w/.env",
            "no write to /tmp"
        ]
    );
    let sb = r.sandbox.unwrap();
    assert_eq!(sb.network, Network::None);
    assert_eq!(sb.write, [PathBuf::from("/w")]);
    assert!(sb.hidden.contains(&PathBuf::from("/w/.env")));
    assert_eq!(sb.max_processes, Some(512), "the rest is the policy's");

    // The next plugin of the chain is sent the narrowed sandbox.
    let r = decide(
        &gate(vec![narrow, show()], Some(agent_sandbox())),
        &shell("npm test"),
    )
    .await;
    assert_eq!(r.plugin.as_deref(), Some("show"));
    assert_eq!(
        r.reason.as_deref(),
        Some(
            "sandbox=agent network=none write=[/w] hidden=[/home/u/.ssh,/w/.env] protected=[/w/.git/hooks]"
        )
    );
    assert!(r.steps[1].tightened.is_empty(), "{r:?}");
}

#[tokio::test]
async fn a_tightening_that_would_loosen_is_ignored_and_the_trace_says_so() {
    let loosen = tighten(
        r#"{"network":"all","protect":["/etc/passwd"],"drop_write":["/opt"],"hide":["relative/x"]}"#,
    );
    let r = decide(
        &gate(vec![loosen, show()], Some(agent_sandbox())),
        &shell("curl https://example.invalid"),
    )
    .await;
    assert_eq!(
        r.steps[0].tightened,
        [
            "ignored: network all (wider than loopback: a plugin can only narrow the sandbox)",
            "ignored: hide relative/x (not an absolute path)",
            "ignored: protect /etc/passwd (not writable anyway)",
            "ignored: no write to /opt (no writable root at or under it)",
        ]
    );
    assert_eq!(r.sandbox, Some(agent_sandbox()), "unchanged");
    assert!(
        r.reason.unwrap().contains("network=loopback"),
        "the next plugin saw the sandbox unchanged"
    );
}

#[tokio::test]
async fn without_a_sandbox_there_is_nothing_to_tighten() {
    let r = decide(
        &gate(vec![tighten(r#"{"network":"none"}"#), show()], None),
        &shell("ls"),
    )
    .await;
    assert_eq!(
        r.steps[0].tightened,
        ["nothing to tighten: the policy chose no sandbox (the command runs unconfined)"]
    );
    assert_eq!(r.sandbox, None);
    assert_eq!(r.reason.as_deref(), Some("sandbox=none"));
}

#[tokio::test]
async fn audit_mode_records_a_tightening_without_applying_it() {
    let mut s = spec(
        "sandbox-tighten",
        r#"{"network":"none","hide":["/w/.env"]}"#,
    );
    s.mode = Mode::Audit;
    let r = decide(
        &gate(vec![load(&s), show()], Some(agent_sandbox())),
        &shell("npm test"),
    )
    .await;
    assert_eq!(
        r.steps[0].tightened,
        [
            "audit, not applied: network loopback -> none",
            "audit, not applied: hide /w/.env"
        ]
    );
    assert!(!r.steps[0].enforced);
    assert_eq!(r.sandbox, Some(agent_sandbox()));
    assert!(r.reason.unwrap().contains("network=loopback"));
}

#[tokio::test]
async fn a_denial_that_tightens_stays_a_denial() {
    let deny = tighten(r#"{"network":"none","verdict":"deny"}"#);
    let after = tighten(r#"{"hide":["/w/secret"]}"#);
    let r = decide(
        &gate(vec![deny, after], Some(agent_sandbox())),
        &shell("ls"),
    )
    .await;
    assert!(!r.allowed);
    assert_eq!(r.verdict, Verdict::Deny);
    assert_eq!(r.reason.as_deref(), Some("denied by sandbox-tighten"));
    assert_eq!(r.steps.len(), 1, "the chain stopped");
}

#[tokio::test]
async fn a_rewrite_keeps_the_tightened_sandbox_and_old_plugins_leave_it_alone() {
    // 0.3.0 narrows, 0.1.0 rewrites (clamps the timeout) and 0.2.0 allows: neither older
    // plugin sees or changes the sandbox, and the plugin after the rewrite still sees it
    // narrowed.
    let t = tempfile::tempdir().unwrap();
    let resolved = load(&spec(
        "resolved-paths",
        &format!(r#"{{"deny_under": "{}/nothing-here"}}"#, t.path().display()),
    ));
    let g = gate(
        vec![
            tighten(r#"{"network":"none"}"#),
            load(&spec("rewrite", r#"{"max_timeout_ms": 1000}"#)),
            resolved,
            show(),
        ],
        Some(agent_sandbox()),
    );
    let mut req = shell("make");
    req.timeout_ms = Some(60_000);
    let r = decide(&g, &req).await;
    assert_eq!(r.plugin.as_deref(), Some("show"), "{r:?}");
    assert!(r.reason.as_deref().unwrap().contains("network=none"));
    assert_eq!(r.steps[1].verdict, Verdict::Rewrite);
    assert_eq!(r.request.timeout_ms, Some(1000));
    assert!(r.steps[1..].iter().all(|s| s.tightened.is_empty()));
    assert!(r.steps.iter().all(|s| s.error.is_none()), "{r:?}");
    assert_eq!(r.sandbox.unwrap().network, Network::None);
}
