//! Fuzz target: arbitrary text analysed as a shell script (the `Shell` request path): no panic, no stack overflow, no hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// libfuzzer-sys aborts in its panic hook, even on a panic that is caught. The normaliser
/// catches panics inside brush-parser on purpose (the script is then unanalysable): put
/// the standard hook back, so only a panic that escapes the normaliser ends the run (the
/// harness aborts on it).
fn standard_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| drop(std::panic::take_hook()));
}

fuzz_target!(|script: &str| {
    standard_panic_hook();
    let n = cloudops_normalize::normalize_shell(
        script,
        "/usr/bin:/bin",
        Some(std::path::Path::new("/tmp")),
    );
    // What is reported comes from the script: a simple command has at least one word,
    // an assignment or a redirection.
    for c in &n.commands {
        assert!(
            !c.argv.is_empty() || !c.assignments.is_empty() || !c.redirections.is_empty(),
            "empty command {c:?} from {script:?}"
        );
        // A predicted program is an absolute path.
        if let Some(p) = &c.program {
            assert!(p.starts_with('/'), "{p:?} from {script:?}");
        }
    }
});
