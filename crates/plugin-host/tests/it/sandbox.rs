//! The sandbox grants nothing: probes of the filesystem, environment and network find nothing.

use std::sync::Arc;

use cloudops_execution_engine::{DenyApprover, Gate, GateContext};
use cloudops_plugin_host::{ChainGate, Sandbox, StaticSelector};

use crate::common::{host, hostile, load, shell, spec};

/// Runs the probe plugin with `attack` and returns what it reported (its deny reason).
async fn probe(attack: &str, port: Option<u16>) -> String {
    let mut s = hostile(attack, "check");
    if let Some(port) = port {
        s.config_json = format!(r#"{{"attack":"{attack}","port":{port}}}"#);
    }
    let g = ChainGate::new(host(), Arc::new(StaticSelector(vec![load(&s)])));
    let r = g
        .check(
            &shell("true"),
            &GateContext {
                approver: &DenyApprover,
            },
        )
        .await
        .unwrap()
        .record;
    assert!(
        r.steps[0].error.is_none(),
        "the probe itself must run: {:?}",
        r.steps[0]
    );
    r.reason.unwrap()
}

#[tokio::test]
async fn filesystem_probe_finds_nothing() {
    let found = probe("fs", None).await;
    assert!(found.contains("no /etc/passwd"), "{found}");
    assert!(found.contains("no / ("), "{found}");
    assert!(found.contains("no . ("), "{found}");
}

#[tokio::test]
async fn environment_probe_finds_nothing() {
    // SAFETY-free: the test process certainly has variables to leak.
    assert!(std::env::vars().count() > 0);
    let found = probe("env", None).await;
    assert!(found.starts_with("env: 0 vars []; args: []"), "{found}");
}

#[tokio::test]
async fn network_probe_cannot_reach_a_listening_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let found = probe("net", Some(port)).await;
    assert!(found.starts_with("no connection to 127.0.0.1:"), "{found}");
    assert!(found.contains(&port.to_string()), "{found}");
    assert!(listener.accept().is_err(), "nothing connected");
}

#[test]
fn sandbox_limits_cap_memory_and_the_wasi_context_builds() {
    let sb = Sandbox {
        memory_bytes: 1 << 20,
    };
    let _ = Sandbox::wasi_ctx();
    let _ = sb.limits();
    // The cap is enforced: see the memory bomb in chain.rs; here a plugin that needs little
    // memory still loads under a tight cap.
    let mut s = spec("allow-all", "{}");
    s.limits.memory_bytes = 2 << 20;
    assert_eq!(load(&s).info().name, "allow-all");
    s.limits.memory_bytes = 64 << 10;
    let msg = host().load(&s).unwrap_err().to_string();
    assert!(msg.contains("init failed"), "{msg}");
}
