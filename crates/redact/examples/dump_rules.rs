//! Prints every built-in rule as `kind<TAB>regex`, one a line (for comparing with other tools).

fn main() {
    for r in cloudops_redact::builtin() {
        println!("{}\t{}", r.kind, r.regex);
    }
}
