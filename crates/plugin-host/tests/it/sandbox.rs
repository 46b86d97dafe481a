//! The sandbox grants nothing: probes of the filesystem, environment, network and stdio find nothing; the `log` import is the way out.

use std::io::Write;
use std::sync::{Arc, Mutex};

use cloudops_execution_engine::{DecisionRecord, DenyApprover, Gate, GateContext};
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
        .check(&shell("true"), &GateContext::unprepared(&DenyApprover))
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
    // The real cause, with both sizes (it used to read as a failed init).
    assert!(
        msg.contains("of memory (")
            && msg.contains("above its memory limit of 0.1 MiB (65536 bytes)"),
        "{msg}"
    );
}

/// Set in the child process that [`a_plugins_stdio_is_cut_off_from_the_host`] runs.
const STDIO_CHILD: &str = "CLOUDOPS_TEST_STDIO_PROBE_CHILD";

/// What the child prints before the probe's finding (proves its stdout is seen).
const CHILD_SAYS: &str = "stdio probe found: ";

/// The `stdio` attack writes a marker to its stdout and stderr and reads its stdin. Run in a
/// child process whose stdio are pipes (libtest's capture would not see raw writes to fd 1
/// and 2): nothing of the marker may come out of the child, and the data waiting on the
/// child's stdin must not reach the plugin.
#[tokio::test]
async fn a_plugins_stdio_is_cut_off_from_the_host() {
    if std::env::var_os(STDIO_CHILD).is_some() {
        let found = probe("stdio", None).await;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{CHILD_SAYS}{found}").unwrap();
        out.flush().unwrap();
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sandbox::a_plugins_stdio_is_cut_off_from_the_host",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(STDIO_CHILD, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Small enough for the pipe's buffer: written before the child reads anything.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"host stdin, not for plugins\n").unwrap();
    drop(stdin);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child: {stdout}\n{stderr}");
    let found = stdout
        .lines()
        .find_map(|l| l.split_once(CHILD_SAYS).map(|(_, found)| found))
        .unwrap_or_else(|| panic!("the child ran no probe: {stdout}\n{stderr}"));
    assert!(
        found.starts_with("stdout: written; stderr: written; stdin: 0 bytes \"\""),
        "{found}"
    );
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(
            !text.contains("HOSTILE-STDIO-MARKER"),
            "the plugin's output reached the host's {name}: {text}"
        );
    }
}

/// One captured `tracing` event: its level and fields.
#[derive(Debug, Clone)]
struct Event {
    level: tracing::Level,
    fields: Vec<(String, String)>,
}

impl Event {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A subscriber that keeps every event (no spans).
#[derive(Default, Clone)]
struct Capture(Arc<Mutex<Vec<Event>>>);

impl tracing::field::Visit for Event {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.fields.push((field.name().into(), value.into()));
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.fields
            .push((field.name().into(), format!("{value:?}")));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut e = Event {
            level: *event.metadata().level(),
            fields: Vec::new(),
        };
        event.record(&mut e);
        self.0.lock().unwrap().push(e);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// Checks `cmd` through `gate`, capturing the `tracing` events emitted meanwhile.
async fn check_capturing(gate: &ChainGate, cmd: &str) -> (DecisionRecord, Vec<Event>) {
    use tracing::instrument::WithSubscriber;

    let capture = Capture::default();
    let r = async {
        gate.check(&shell(cmd), &GateContext::unprepared(&DenyApprover))
            .await
    }
    .with_subscriber(capture.clone())
    .await
    .unwrap()
    .record;
    let events = capture.0.lock().unwrap().clone();
    (r, events)
}

/// A plugin's call to the host's `log` import comes out as a `tracing` event at the level
/// it asked for, with its message and a `plugin` field holding the name the policy gave it.
#[tokio::test]
async fn the_log_import_is_routed_to_tracing_under_the_plugins_name() {
    let g = ChainGate::new(
        host(),
        Arc::new(StaticSelector(vec![load(&hostile("log", "check"))])),
    );
    let (r, events) = check_capturing(&g, "true").await;
    assert!(r.allowed && r.steps[0].error.is_none(), "{r:?}");
    let logged: Vec<&Event> = events
        .iter()
        .filter(|e| e.field("message") == Some("hostile plugin logs through the host"))
        .collect();
    assert_eq!(logged.len(), 1, "{events:?}");
    assert_eq!(logged[0].level, tracing::Level::WARN);
    assert_eq!(logged[0].field("plugin"), Some("hostile-log"), "{events:?}");
}

/// A plugin that floods the `log` import (a forged line with a newline and ANSI escapes,
/// a 3 MiB message, then 1000 more) gets at most `LOG_EVENTS_PER_CALL` events per call,
/// each at most `LOG_MESSAGE_BYTES` and on one line, then one summary of what was dropped;
/// the next request gets a fresh quota, and both get their verdict.
#[tokio::test]
async fn a_log_flood_is_capped_per_call_and_cannot_forge_lines() {
    let cap = usize::try_from(Sandbox::LOG_EVENTS_PER_CALL).unwrap();
    let sent = 2 + 1000;
    let g = ChainGate::new(
        host(),
        Arc::new(StaticSelector(vec![load(&hostile("log-flood", "check"))])),
    );
    for _ in 0..2 {
        let (r, events) = check_capturing(&g, "ls -la").await;
        assert!(r.allowed && r.steps[0].error.is_none(), "{r:?}");
        let ours: Vec<&Event> = events
            .iter()
            .filter(|e| e.field("plugin") == Some("hostile-log-flood"))
            .collect();
        let message = |e: &Event| e.field("message").unwrap_or_default().to_string();
        assert_eq!(ours.len(), cap + 1, "{} events", ours.len());
        let summary = ours.last().unwrap();
        assert_eq!(
            message(summary),
            format!("plugin logged {} more messages; dropped", sent - cap)
        );
        assert_eq!(summary.field("dropped"), Some(&*(sent - cap).to_string()));
        assert_eq!(summary.level, tracing::Level::WARN);
        for e in &ours {
            let m = message(e);
            assert!(!m.contains(['\n', '\r', '\x1b']), "{m:?}");
            assert!(
                m.len() <= Sandbox::LOG_MESSAGE_BYTES + 40,
                "{} bytes",
                m.len()
            );
        }
        assert_eq!(
            message(ours[0]),
            r"flood begins\nERROR cloudops: forged line \u{1b}[31mred\u{1b}[0m"
        );
        let huge = message(ours[1]);
        assert!(
            huge.ends_with("… [truncated, 3145728 bytes]"),
            "{}",
            &huge[huge.len() - 60..]
        );
        assert!(
            huge.len() > Sandbox::LOG_MESSAGE_BYTES - 3,
            "{}",
            huge.len()
        );
        assert_eq!(message(ours[2]), "flood 0");
        assert_eq!(message(ours[cap - 1]), format!("flood {}", cap - 3));
    }
}

/// The quota is per call for output too: each batch through a flooding output plugin gets
/// at most `LOG_EVENTS_PER_CALL` events and one summary, and its output passes.
#[tokio::test]
async fn a_log_flood_in_on_output_is_capped_per_batch() {
    use cloudops_execution_engine::{OutputChunk, OutputStream};

    let cap = usize::try_from(Sandbox::LOG_EVENTS_PER_CALL).unwrap();
    let g = ChainGate::new(
        host(),
        Arc::new(StaticSelector(vec![load(&hostile("log-flood", "output"))])),
    );
    let mut filter = g
        .check(&shell("ls -la"), &GateContext::unprepared(&DenyApprover))
        .await
        .unwrap()
        .output
        .expect("an output chain");
    for batch in ["one\n", "two\n"] {
        let capture = Capture::default();
        let got = tracing::subscriber::with_default(capture.clone(), || {
            filter.filter(vec![OutputChunk::text(OutputStream::Stdout, batch)])
        });
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, batch.as_bytes());
        let events = capture.0.lock().unwrap().clone();
        let ours: Vec<&Event> = events
            .iter()
            .filter(|e| e.field("plugin") == Some("hostile-log-flood"))
            .collect();
        assert_eq!(ours.len(), cap + 1, "{} events", ours.len());
        assert_eq!(
            ours.last().unwrap().field("dropped"),
            Some(&*(1002 - cap).to_string())
        );
    }
}
