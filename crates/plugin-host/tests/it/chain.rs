//! The chain: order, rewrites seen by later plugins, deny stops it, ask and the approver, audit, failure policies, containment of hostile plugins.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use cloudops_execution_engine::{Approval, Approver, ExecutionRequest, Gate, GateContext, Verdict};
use cloudops_plugin_host::{
    ChainGate, FailurePolicy, LoadedPlugin, Mode, PluginSelector, Selection,
};

use crate::common::{decide, exec, gate, host, hostile, load, shell, spec};

fn deny_rm() -> Arc<LoadedPlugin> {
    load(&spec(
        "deny-pattern",
        r#"{"substrings":["rm -rf"],"programs":["shutdown"]}"#,
    ))
}

#[tokio::test]
async fn allowed_chain_records_every_step() {
    let g = gate(vec![load(&spec("allow-all", "{}")), deny_rm()]);
    let req = shell("ls -la");
    let r = decide(&g, &req).await;
    assert!(r.allowed);
    assert_eq!(r.verdict, Verdict::Allow);
    assert_eq!(r.request, req);
    let names: Vec<_> = r.steps.iter().map(|s| s.plugin.as_str()).collect();
    assert_eq!(names, ["allow-all", "deny-pattern"]);
    assert!(
        r.steps
            .iter()
            .all(|s| s.enforced && s.verdict == Verdict::Allow)
    );
}

#[tokio::test]
async fn first_deny_stops_the_chain_and_names_plugin_and_reason() {
    let g = gate(vec![deny_rm(), load(&spec("allow-all", "{}"))]);
    let r = decide(&g, &shell("rm -rf /tmp/x")).await;
    assert!(!r.allowed);
    assert_eq!(r.verdict, Verdict::Deny);
    assert_eq!(r.plugin.as_deref(), Some("deny-pattern"));
    assert!(r.reason.as_deref().unwrap().contains("rm -rf"));
    assert_eq!(r.steps.len(), 1, "the second plugin must not run");
    // Program names match on exec requests too.
    let r = decide(&g, &exec("/sbin/shutdown", &["-h", "now"])).await;
    assert!(!r.allowed && r.reason.unwrap().contains("shutdown"));
}

#[tokio::test]
async fn a_rewrite_is_what_the_next_plugin_sees_and_is_diffed() {
    let clamp = load(&spec(
        "rewrite",
        r#"{"max_timeout_ms":1000,"strip_env":["SECRET"]}"#,
    ));
    // Denies only a 5000 ms timeout would trip? No: deny-pattern sees the command; use a
    // second rewrite plugin to show it sees the clamped timeout and has nothing to do.
    let again = load(&spec("rewrite", r#"{"max_timeout_ms":1000}"#));
    let g = gate(vec![clamp, again]);
    let mut req = shell("echo hi");
    req.timeout_ms = Some(5000);
    req.env.insert("SECRET".into(), "s3cr3t".into());
    req.env.insert("KEEP".into(), "1".into());
    let r = decide(&g, &req).await;
    assert!(r.allowed);
    assert_eq!(r.verdict, Verdict::Rewrite);
    assert_eq!(r.request.timeout_ms, Some(1000));
    assert!(!r.request.env.contains_key("SECRET") && r.request.env.contains_key("KEEP"));
    assert_eq!(r.original, req);
    assert_eq!(r.steps[0].verdict, Verdict::Rewrite);
    assert_eq!(
        r.steps[0].diff,
        [
            "-env.SECRET: s3cr3t",
            "-timeout_ms: 5000",
            "+timeout_ms: 1000"
        ]
    );
    assert_eq!(
        r.steps[1].verdict,
        Verdict::Allow,
        "second plugin saw the rewrite"
    );
}

struct Counting(AtomicUsize, bool);

#[async_trait]
impl Approver for Counting {
    async fn approve(&self, _: &ExecutionRequest, plugin: &str, reason: &str) -> Approval {
        assert_eq!(plugin, "ask");
        assert_eq!(reason, "prod change");
        self.0.fetch_add(1, Ordering::SeqCst);
        if self.1 {
            Approval::granted("test")
        } else {
            Approval::refused("test")
        }
    }
}

#[tokio::test]
async fn ask_goes_to_the_approver_and_continues_only_if_approved() {
    let g = gate(vec![load(&spec("ask", "prod change")), deny_rm()]);
    let yes = Counting(AtomicUsize::new(0), true);
    let r = g
        .check(&shell("ls"), &GateContext::unprepared(&yes))
        .await
        .unwrap()
        .record;
    assert!(r.allowed);
    assert_eq!(r.verdict, Verdict::Ask);
    assert_eq!(r.steps[0].approval, Some(Approval::granted("test")));
    assert_eq!(r.steps.len(), 2, "the chain continued");
    assert_eq!(yes.0.load(Ordering::SeqCst), 1);

    let r = decide(&g, &shell("ls")).await; // default approver says no
    assert!(!r.allowed);
    assert_eq!(r.plugin.as_deref(), Some("ask"));
    assert_eq!(r.reason.as_deref(), Some("prod change"));
    let answer = r.steps[0]
        .approval
        .as_ref()
        .expect("the approver's answer is recorded");
    assert!(!answer.granted);
    assert_eq!(answer.by, "nobody");
}

#[tokio::test]
async fn audit_mode_records_a_would_deny_and_allows() {
    let mut s = spec("deny-pattern", r#"{"substrings":["rm -rf"]}"#);
    s.mode = Mode::Audit;
    let g = gate(vec![load(&s), load(&spec("allow-all", "{}"))]);
    let r = decide(&g, &shell("rm -rf /tmp/nothing-here")).await;
    assert!(r.allowed);
    assert_eq!(r.steps[0].verdict, Verdict::Deny);
    assert!(!r.steps[0].enforced);
    assert_eq!(r.steps.len(), 2);

    struct AuditAll(Vec<Arc<LoadedPlugin>>);
    impl PluginSelector for AuditAll {
        fn select(&self, _: &ExecutionRequest, _: &cloudops_normalize::Normalized) -> Selection {
            Selection {
                plugins: self.0.clone(),
                audit: true,
                rules: vec!["audit-everything".into()],
                profile: Some("staging".into()),
                deny: None,
                sandbox: None,
            }
        }
    }
    let g = ChainGate::new(host(), Arc::new(AuditAll(vec![deny_rm()])));
    let r = decide(&g, &shell("rm -rf /tmp/nothing-here")).await;
    assert!(r.allowed && !r.steps[0].enforced && r.steps[0].verdict == Verdict::Deny);
    assert_eq!(r.rules, ["audit-everything"]);
    assert_eq!(r.profile.as_deref(), Some("staging"));
}

#[tokio::test]
async fn a_selection_deny_refuses_before_any_plugin() {
    struct Unmatched;
    impl PluginSelector for Unmatched {
        fn select(&self, _: &ExecutionRequest, _: &cloudops_normalize::Normalized) -> Selection {
            Selection {
                deny: Some("no rule matches".into()),
                ..Selection::default()
            }
        }
    }
    let g = ChainGate::new(host(), Arc::new(Unmatched));
    let r = decide(&g, &shell("ls")).await;
    assert!(!r.allowed && r.steps.is_empty());
    assert_eq!(r.reason.as_deref(), Some("no rule matches"));
}

/// Each hostile plugin is contained: the request is denied with an error naming the
/// plugin, and a normal request right after goes through.
#[tokio::test]
async fn hostile_plugins_are_denied_with_a_clear_error_and_the_host_keeps_serving() {
    let cases = [
        ("loop", "cpu budget of 50 ms"),
        ("memory", "memory limit of 33554432 bytes"),
        ("panic", "trapped"),
        // A Rust guest overflows its shadow stack in linear memory first: an out-of-bounds trap.
        ("stack", "trapped"),
        ("rewrite-id", "it changed id"),
        ("rewrite-tags", "it changed tags"),
        ("rewrite-empty", "not valid"),
        ("sleep", "cpu budget"),
    ];
    let ok = gate(vec![load(&spec("allow-all", "{}"))]);
    for (attack, expect) in cases {
        let plugin = load(&hostile(attack, "check"));
        let g = gate(vec![plugin.clone()]);
        let t = std::time::Instant::now();
        let r = decide(&g, &shell("echo hi")).await;
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "{attack} took {:?}",
            t.elapsed()
        );
        assert!(!r.allowed, "{attack}");
        assert_eq!(
            r.plugin.as_deref(),
            Some(format!("hostile-{attack}").as_str())
        );
        let err = r.steps[0].error.clone().unwrap();
        assert!(err.contains(expect), "{attack}: {err}");
        assert!(r.reason.unwrap().contains("plugin failed"), "{attack}");
        // The same plugin fails the same way again (a fresh instance, not a wedged one).
        let again = decide(&g, &shell("echo hi")).await;
        assert!(!again.allowed, "{attack} (second time)");
        // And the host still serves everyone else.
        assert!(
            decide(&ok, &shell("echo hi")).await.allowed,
            "after {attack}"
        );
    }
}

#[tokio::test]
async fn failure_policy_allow_skips_a_failing_plugin_and_records_it() {
    let mut s = hostile("loop", "check");
    s.on_error = FailurePolicy::Allow;
    s.limits.cpu_ms = 20;
    let g = gate(vec![load(&s), deny_rm()]);
    let r = decide(&g, &shell("echo hi")).await;
    assert!(r.allowed);
    assert!(r.steps[0].error.as_deref().unwrap().contains("20 ms"));
    assert_eq!(r.steps.len(), 2);
    // ...but the next plugin still denies.
    assert!(!decide(&g, &shell("rm -rf /x")).await.allowed);
}

#[tokio::test]
async fn hostile_init_fails_the_load() {
    let msg = host()
        .load(&hostile("loop", "init"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("hostile-loop") && msg.contains("init failed"),
        "{msg}"
    );
    let msg = host()
        .load(&hostile("bad-init", "check"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("refuses its config"), "{msg}");
}

/// A rewrite that replaces the command goes out with the `normalized` view of the old one
/// (a plugin may not change it): the next plugin must see the new command normalised again,
/// so a program-name rule matches the program the rewrite brought in.
#[tokio::test]
async fn a_rewritten_command_is_normalised_again_before_the_next_plugin() {
    let to_rm = load(&spec("rewrite", r#"{"command":{"shell":"rm -rf /tmp/x"}}"#));
    // Programs only: deny-pattern looks at the normalised commands of a shell request.
    let no_rm = load(&spec("deny-pattern", r#"{"programs":["rm"]}"#));
    let g = gate(vec![to_rm, no_rm]);
    let req = shell("echo hi");
    let r = decide(&g, &req).await;
    assert!(!r.allowed, "{r:?}");
    assert_eq!(r.plugin.as_deref(), Some("deny-pattern"));
    assert_eq!(r.reason.as_deref(), Some(r#"program "rm" is not allowed"#));
    assert_eq!(r.steps.len(), 2);
    assert_eq!(r.steps[0].verdict, Verdict::Rewrite);
    assert_eq!(r.steps[0].reason.as_deref(), Some("command replaced"));
    assert_eq!(
        r.steps[0].diff,
        [
            "-command: bash -c 'echo hi'",
            "+command: bash -c 'rm -rf /tmp/x'"
        ]
    );
    assert_eq!(r.original, req);
    assert_eq!(r.request.command.to_string(), "bash -c 'rm -rf /tmp/x'");
}

/// A rewrite to a request that fails validation (an empty program) is malformed: under the
/// default failure policy the request is denied by that plugin; under `allow` the rewrite is
/// dropped and the rest of the chain sees the request as it was.
#[tokio::test]
async fn a_rewrite_to_an_invalid_request_is_malformed_and_never_applied() {
    let empty = r#"{"command":{"exec":{"program":""}}}"#;
    let no_rm = || load(&spec("deny-pattern", r#"{"programs":["rm"]}"#));
    let req = exec("/bin/ls", &["-l"]);

    let g = gate(vec![load(&spec("rewrite", empty)), no_rm()]);
    let r = decide(&g, &req).await;
    assert!(!r.allowed);
    assert_eq!(r.plugin.as_deref(), Some("rewrite"));
    let err = r.steps[0].error.as_deref().unwrap();
    assert!(err.contains("not valid"), "{err}");
    assert!(r.reason.as_deref().unwrap().starts_with("plugin failed"));
    assert_eq!(r.steps.len(), 1, "the chain stopped");

    let mut lenient = spec("rewrite", empty);
    lenient.on_error = FailurePolicy::Allow;
    let g = gate(vec![load(&lenient), no_rm()]);
    let r = decide(&g, &req).await;
    assert!(r.allowed, "{r:?}");
    assert_eq!(r.verdict, Verdict::Allow, "no rewrite was applied");
    assert!(r.steps[0].error.as_deref().unwrap().contains("not valid"));
    assert!(r.steps[0].diff.is_empty());
    assert_eq!(r.steps[1].verdict, Verdict::Allow);
    assert_eq!(r.request, req);
    // And the next plugin still judges the original request.
    let r = decide(&g, &exec("/bin/rm", &["-rf", "/tmp/x"])).await;
    assert!(!r.allowed);
    assert_eq!(r.plugin.as_deref(), Some("deny-pattern"));
}

/// A trapped instance is dropped, never handed out again. The default host keeps live
/// instances between requests, so reuse would show here, in two ways: wasmtime refuses to
/// enter a trapped instance again (a "cannot enter component instance" trap), and should it
/// ever let the call in, the `poison` attack's mark (set before it panics) makes the
/// instance deny "reused".
#[tokio::test]
async fn a_trapped_instance_is_never_reused() {
    let plugin = load(&hostile("poison", "check"));
    let g = gate(vec![plugin]);
    let ok = gate(vec![load(&spec("allow-all", "{}"))]);
    // Healthy calls first, so the pool holds an instance that has served.
    assert!(decide(&g, &shell("echo hi")).await.allowed);
    for round in 0..3 {
        let r = decide(&g, &shell("echo poison")).await;
        assert!(!r.allowed, "round {round}");
        let err = r.steps[0].error.as_deref().unwrap();
        assert!(err.contains("trapped"), "round {round}: {err}");
        for _ in 0..3 {
            let r = decide(&g, &shell("echo hi")).await;
            assert_eq!(
                (r.allowed, r.steps[0].error.as_deref(), r.reason.as_deref()),
                (true, None, None),
                "round {round}: the next call must get a fresh (or healthy) instance"
            );
        }
        assert!(decide(&ok, &shell("echo hi")).await.allowed);
    }
}
