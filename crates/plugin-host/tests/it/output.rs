//! The output chain on its own: redaction, chaining, line fix-up, and withholding on failure.

use std::sync::Arc;

use cloudops_execution_engine::{
    DenyApprover, Gate, GateContext, OutputChunk, OutputFilter, OutputStream,
};
use cloudops_plugin_host::{ChainGate, LoadedPlugin, StaticSelector};

use crate::common::{host, hostile, load, shell, spec};

async fn chain(plugins: Vec<Arc<LoadedPlugin>>) -> Box<dyn OutputFilter> {
    let g = ChainGate::new(host(), Arc::new(StaticSelector(plugins)));
    g.check(&shell("true"), &GateContext::unprepared(&DenyApprover))
        .await
        .unwrap()
        .output
        .expect("an output chain")
}

fn out(text: &str) -> Vec<OutputChunk> {
    vec![OutputChunk::text(OutputStream::Stdout, text)]
}

fn text(c: &OutputChunk) -> &str {
    std::str::from_utf8(&c.data).expect("utf-8")
}

#[tokio::test]
async fn no_output_plugin_means_no_filter() {
    let g = ChainGate::new(
        host(),
        Arc::new(StaticSelector(vec![load(&spec("allow-all", "{}"))])),
    );
    let o = g
        .check(&shell("true"), &GateContext::unprepared(&DenyApprover))
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
        text(&got[0]),
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
            text(&got[0]).starts_with("[cloudops: output withheld: plugin hostile-")
                && text(&got[0]).ends_with("]\n"),
            "{attack}: {}",
            text(&got[0])
        );
        assert!(!text(&got[0]).contains("AKIA"), "{attack}");
        assert!(
            f.filter(out("more AKIAABCDEFGHIJKLMNOP\n")).is_empty(),
            "{attack}"
        );
        let tail = f.finish();
        assert!(
            text(&tail[0]).contains("1 later output batches"),
            "{attack}"
        );
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
    assert_eq!(text(&got[0]), "a [REDACTED] / b\n");
}

#[tokio::test]
async fn a_plugin_changes_only_what_it_rewrites_whatever_the_bytes_around_it() {
    let mut f = chain(vec![load(&spec("redact", "{}"))]).await;
    let chunk = |data: &[u8]| OutputChunk {
        stream: OutputStream::Stderr,
        data: data.to_vec(),
    };
    let got = f.filter(vec![
        chunk(b"\xff\xfe key=AKIAABCDEFGHIJKLMNOP \x00\r\n\xf4\x8f\xbf\xbf\n"),
        chunk(b"last AKIAABCDEFGHIJKLMNOP\r"),
    ]);
    let joined: Vec<u8> = got.iter().flat_map(|c| c.data.clone()).collect();
    assert_eq!(
        joined, b"\xff\xfe key=[REDACTED] \x00\r\n\xf4\x8f\xbf\xbf\nlast [REDACTED]\r",
        "invalid UTF-8, NUL, CR and the raw range kept; no newline added to the partial line"
    );
    assert!(got.iter().all(|c| c.stream == OutputStream::Stderr));
}
