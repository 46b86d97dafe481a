//! Times compiling every built-in rule's regex (what a chunk holding every keyword costs).
fn main() {
    let rules = cloudops_redact::builtin();
    let t = std::time::Instant::now();
    let mut times = Vec::new();
    for r in &rules {
        let s = std::time::Instant::now();
        let _ = regex::RegexBuilder::new(&r.regex)
            .size_limit(8 << 20)
            .build()
            .expect("a built-in rule compiles");
        times.push((s.elapsed(), r.kind));
    }
    println!("{} rules compiled in {:?}", rules.len(), t.elapsed());
    times.sort();
    for (e, k) in times.iter().rev().take(12) {
        println!("  {e:?} {k}");
    }
}
