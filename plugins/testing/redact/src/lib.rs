//! Test plugin: replaces AWS access key ids (`AKIA` + 16 of `[0-9A-Z]`) in output with
//! `[REDACTED]`, with a hand-written matcher: memmem (SIMD) finds `AKIA`, then the 16
//! characters after it are checked.

wit_bindgen::generate!({ path: "../../../wit/v0.1.0", world: "plugin" });

use cloudops::plugin::types::Hook;

const PREFIX: &[u8] = b"AKIA";
const KEY_LEN: usize = 20;

/// `b[i..]` starts with `AKIA`; is it followed by 16 of `[0-9A-Z]`?
fn is_key_at(b: &[u8], i: usize) -> bool {
    b.len() - i >= KEY_LEN
        && b[i + 4..i + KEY_LEN]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

/// The text with every key replaced, or `None` when it holds none.
fn redact(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let finder = memchr::memmem::Finder::new(PREFIX);
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + KEY_LEN <= b.len() {
        match finder.find(&b[i..]) {
            None => break,
            Some(off) => i += off,
        }
        if is_key_at(b, i) {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..i]);
            o.push_str("[REDACTED]");
            i += KEY_LEN;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.map(|mut o| {
        o.push_str(&text[copied..]);
        o
    })
}

struct Redact;

impl Guest for Redact {
    fn init(_config: String) -> Result<PluginInfo, String> {
        Ok(PluginInfo {
            name: "redact".into(),
            version: "0.1.0".into(),
            hooks: vec![Hook::Output],
        })
    }

    fn check(_request: Request) -> Verdict {
        Verdict::Allow
    }

    fn on_output(batch: OutputBatch) -> Vec<OutputChunk> {
        let mut chunks = batch.chunks;
        for c in &mut chunks {
            if let Some(t) = redact(&c.text) {
                c.text = t;
            }
        }
        chunks
    }
}

export!(Redact);
