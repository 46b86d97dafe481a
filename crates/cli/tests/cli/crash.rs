//! Crash consistency: `kill -9` of `cloudops plan` in the middle of a parallel plan leaves a decision log of whole JSON lines with a decision for every step that started, no command running, and nothing that stops the next run.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{Dir, MARKER_VAR, Marked};

const STEPS: usize = 8;

/// Every line of the log parsed; panics on a line that is not whole JSON.
fn parse_log(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("the decision log exists");
    assert!(text.ends_with('\n'), "the log ends inside a line: {text:?}");
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("line {} is not whole JSON ({e}): {l:?}", i + 1))
        })
        .collect()
}

fn started(d: &Dir) -> Vec<String> {
    (0..STEPS)
        .filter_map(|i| std::fs::read_to_string(d.path().join(format!("started-{i}"))).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn kill_9_mid_plan_leaves_whole_log_lines_no_running_commands_and_no_stale_state() {
    let d = Dir::new();
    let marked = Marked(uuid::Uuid::new_v4().to_string());
    d.write(
        "policy.toml",
        "version = 1\n\
         [plugins.deny-commands]\nsource = \"builtin:deny-commands\"\n\
         [plugins.env-guard]\nsource = \"builtin:env-guard\"\n\
         [[rules]]\nname = \"ci\"\nwhen = { source = \"ci\" }\n\
         plugins = [\"env-guard\", \"deny-commands\"]\n",
    );
    // Each step records its execution id, then (first run only) sleeps in place of its shell.
    let mut plan = String::from("strategy = \"parallel\"\nmax_concurrency = 4\n");
    for i in 0..STEPS {
        plan.push_str(&format!(
            "[[steps]]\nname = \"s{i}\"\n\
             shell = \"echo $CLOUDOPS_EXECUTION_ID > started-{i}; [ -e second-run ] || exec sleep 120\"\n\
             env = {{ {MARKER_VAR} = \"{}\" }}\n",
            marked.0
        ));
    }
    d.write("plan.toml", &plan);
    let args = [
        "--policy",
        "policy.toml",
        "--source",
        "ci",
        "--audit-log",
        "audit.jsonl",
        "plan",
        "plan.toml",
    ];

    let mut cli = d
        .cmd(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn cloudops");
    // Mid-plan: the first four steps are running, four wait for a slot.
    let deadline = Instant::now() + Duration::from_secs(60);
    while started(&d).len() < 4 {
        assert!(
            Instant::now() < deadline,
            "the steps did not start; cloudops: {:?}",
            cli.try_wait()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let running = marked.survivors();
    assert_eq!(running.len(), 4, "four steps running: {running:?}");
    cli.kill().expect("SIGKILL cloudops");
    let status = cli.wait().expect("reap cloudops");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );

    // The commands died with it (the engine's die_with_engine: PR_SET_PDEATHSIG).
    let left = marked.settle(Duration::from_secs(3));
    assert!(
        left.is_empty(),
        "still running after cloudops was killed: {left:?}"
    );

    // Whole JSON lines only; every step that started has its decision record, allowed.
    let log = d.path().join("audit.jsonl");
    let lines = parse_log(&log);
    let decisions: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["type"] == "decision").collect();
    assert_eq!(
        decisions.len(),
        STEPS,
        "every step is gated before any runs"
    );
    let ids = started(&d);
    assert_eq!(ids.len(), 4, "no step started after the kill: {ids:?}");
    for id in &ids {
        assert!(
            decisions
                .iter()
                .any(|l| l["execution_id"] == id.as_str() && l["allowed"] == true),
            "no decision record for started execution {id}"
        );
    }
    assert!(
        !lines.iter().any(|l| l["type"] == "completion"),
        "nothing completed before the kill"
    );

    // The same plan again: nothing stale blocks it; it runs to the end and logs it all.
    d.write("second-run", "");
    let r = d.run(&args);
    r.expect_code(0);
    let lines = parse_log(&log);
    let count = |t: &str| lines.iter().filter(|l| l["type"] == t).count();
    assert_eq!((count("decision"), count("completion")), (2 * STEPS, STEPS));
    assert_eq!(started(&d).len(), STEPS);
    assert!(marked.settle(Duration::from_secs(3)).is_empty());
}
