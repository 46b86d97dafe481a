//! Fuzz target: a policy file of arbitrary text is parsed, validated and compiled; errors render with their caret.
#![no_main]

use std::path::Path;

use cloudops_policy::{CompileOptions, compile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    // A directory that does not exist: file plugins are looked up (and not found), nothing is read.
    let path = Path::new("/nonexistent-cloudops-fuzz/policy.toml");
    let opts = CompileOptions {
        builtins: Some(vec!["deny-commands".into(), "limits".into()]),
    };
    match compile(path, text, &opts) {
        Ok(policy) => {
            // Every profile (and none) gives an effective policy.
            policy.effective(None).expect("no profile is always valid");
            for name in policy.profiles().keys() {
                policy.effective(Some(name)).expect("a declared profile");
            }
        }
        Err(e) => {
            // The rendering must not panic, and a located error points inside the text.
            let rendered = e.render();
            assert!(!rendered.is_empty());
            if let Some(at) = e.location() {
                assert!(at.line >= 1 && at.column >= 1);
                assert!(at.line <= text.lines().count().max(1) + 1, "{rendered}");
            }
        }
    }
});
