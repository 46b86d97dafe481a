//! The output chain on its own: redaction, chaining, line fix-up, and withholding on failure.

use std::sync::Arc;

use cloudops_execution_engine::{
    DenyApprover, Gate, GateContext, OutputChunk, OutputFilter, OutputStream,
};
use cloudops_plugin_host::{ChainGate, LoadedPlugin, StaticSelector};

use crate::common::{host, hostile, load, shell, spec};

async fn chain(plugins: Vec<Arc<LoadedPlugin>>) -> Box<dyn OutputFilter> {
    let g = ChainGate::new(host(), Arc::new(StaticSelector(plugins)));
    g.check(
        &shell("true"),
        &GateContext {
            approver: &DenyApprover,
        },
    )
    .await
    .unwrap()
    .output
    .expect("an output chain")
}

fn out(text: &str) -> Vec<OutputChunk> {
    vec![OutputChunk {
        stream: OutputStream::Stdout,
        text: text.into(),
    }]
}

#[tokio::test]
async fn no_output_plugin_means_no_filter() {
    let g = ChainGate::new(
        host(),
        Arc::new(StaticSelector(vec![load(&spec("allow-all", "{}"))])),
    );
    let o = g
        .check(
            &shell("true"),
            &GateContext {
                approver: &DenyApprover,
            },
        )
        .await
        .unwrap();
    assert!(o.output.is_none());
}

#[tokio::test]
async fn redact_replaces_access_key_ids_only() {
    let mut f = chain(vec![load(&spec("redact", "{}"))]).await;
    let got = f.filter(out(
        "key=AKIAABCDEFGHIJKLMNOP end\nAKIAabcdefghijklmnop stays\nAKIA123 short\nAKIAAKIAABCDEFGHIJKLMNOP\n",
    ));
    assert_eq!(
        got[0].text,
        "key=[REDACTED] end\nAKIAabcdefghijklmnop stays\nAKIA123 short\n[REDACTED]MNOP\n"
    );
    assert_eq!(got[0].stream, OutputStream::Stdout);
    assert!(f.finish().is_empty());
}

#[tokio::test]
async fn a_failing_output_plugin_withholds_the_batch_and_later_ones() {
    for attack in ["loop", "panic", "memory"] {
        let mut f = chain(vec![load(&hostile(attack, "output"))]).await;
        let got = f.filter(out("secret AKIAABCDEFGHIJKLMNOP\n"));
        assert_eq!(got.len(), 1, "{attack}");
        assert_eq!(got[0].stream, OutputStream::Stderr);
        assert!(
            got[0]
                .text
                .starts_with("[cloudops: output withheld: plugin hostile-")
                && got[0].text.ends_with("]\n"),
            "{attack}: {}",
            got[0].text
        );
        assert!(!got[0].text.contains("AKIA"), "{attack}");
        assert!(
            f.filter(out("more AKIAABCDEFGHIJKLMNOP\n")).is_empty(),
            "{attack}"
        );
        let tail = f.finish();
        assert!(tail[0].text.contains("1 later output batches"), "{attack}");
    }
}

#[tokio::test]
async fn returned_partial_lines_are_completed_and_chains_compose() {
    // hostile partial-lines joins the lines and drops the final newline; redact then runs on it.
    let mut f = chain(vec![
        load(&hostile("partial-lines", "output")),
        load(&spec("redact", "{}")),
    ])
    .await;
    let got = f.filter(out("a AKIAABCDEFGHIJKLMNOP\nb\n"));
    assert_eq!(got[0].text, "a [REDACTED] / b\n");
}
