//! Output capture: lines, caps, truncation, invalid UTF-8, both pipes at once.

use cloudops_execution_engine::{ExecutionConfig, ExecutionEngine, ExecutionStatus};

use crate::support::sh;

#[tokio::test]
async fn the_result_keeps_a_last_line_without_newline_as_it_is() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let r = engine
        .wait(engine.execute(sh(r"printf 'a\r\nb\377c'")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        r.stdout, "a\r\nb\u{fffd}c",
        "invalid UTF-8 replaced, nothing added"
    );
    assert_eq!(r.stdout_bytes, 6);
}

#[tokio::test]
async fn long_lines_are_cut_and_flagged() {
    let engine = ExecutionEngine::new(ExecutionConfig {
        max_line_bytes: 100,
        ..Default::default()
    });
    let r = engine
        .wait(
            engine
                .execute(sh("head -c 5000 /dev/zero | tr '\\0' a; echo; echo short"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.stdout, format!("{}\nshort\n", "a".repeat(100)));
    assert_eq!(r.lines_truncated, 1);
    assert_eq!(r.stdout_bytes, 5007);
}

#[tokio::test]
async fn capture_is_capped_while_the_pipe_keeps_draining() {
    let engine = ExecutionEngine::new(ExecutionConfig {
        max_output_bytes: 1000,
        ..Default::default()
    });
    // 20 MB: far beyond the cap and any pipe buffer; the child must never block.
    let r = engine
        .wait(
            engine
                .execute(sh("yes 0123456789 | head -c 20000000"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed);
    assert!(r.stdout_truncated);
    assert!(
        r.stdout.len() <= 1000 && r.stdout.len() > 900,
        "{}",
        r.stdout.len()
    );
    assert!(r.stdout.ends_with('\n'), "cut at a line boundary");
    assert_eq!(r.stdout_bytes, 20_000_000);
    assert!(!r.stderr_truncated);
}

#[tokio::test]
async fn stdout_and_stderr_are_read_concurrently() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    // Writes 2 MB to stderr before anything to stdout: a sequential reader would deadlock.
    let r = engine
        .wait(
            engine
                .execute(sh("head -c 2000000 /dev/zero | tr '\\0' e >&2; echo done"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.stdout, "done\n");
    assert_eq!(r.stderr_bytes, 2_000_000);
}
