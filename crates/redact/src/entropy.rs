//! The opt-in entropy rule: on a line holding a secret-ish label, a long word that looks
//! random (mixed case and digits, high Shannon entropy) is taken for a secret. Off by
//! default; its false-positive rate is measured in `docs/redaction.md`.

/// Labels that make a line eligible (ASCII case ignored).
pub const LABELS: &[&str] = &["key", "token", "secret", "passw", "credential", "auth"];

/// Shortest word considered.
const MIN_LEN: usize = 20;
/// Bits per character a word must reach.
const MIN_BITS: f64 = 3.5;

/// The line holds one of [`LABELS`].
pub fn has_label(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    LABELS.iter().any(|l| lower.contains(l))
}

/// Spans of the random-looking words of `line`.
pub fn spans(line: &str) -> Vec<(usize, usize)> {
    let b = line.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || b"+/=_-.".contains(&c);
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !word(b[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && word(b[i]) {
            i += 1;
        }
        let w = line[s..i].trim_matches(|c| c == '.' || c == '-' || c == '/');
        if random_looking(w) {
            let off = line[s..i].find(w).unwrap_or(0);
            out.push((s + off, s + off + w.len()));
        }
    }
    out
}

/// Long, mixed upper, lower and digits, not hex, not a path, and of high entropy.
pub fn random_looking(w: &str) -> bool {
    if w.len() < MIN_LEN || w.contains("://") || w.matches('/').count() > 2 {
        return false;
    }
    let b = w.as_bytes();
    let (up, low, dig) = (
        b.iter().any(u8::is_ascii_uppercase),
        b.iter().any(u8::is_ascii_lowercase),
        b.iter().any(u8::is_ascii_digit),
    );
    up && low
        && dig
        && !b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-')
        && bits(b) >= MIN_BITS
}

fn bits(b: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &c in b {
        counts[c as usize] += 1;
    }
    let n = b.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_words_count_and_ordinary_ones_do_not() {
        assert!(random_looking("q8Vn3KzP0wLr7XbT2mYc5HdJ"));
        for w in [
            "0123456789abcdef0123456789abcdef01234567",
            "550e8400-e29b-41d4-a716-446655440000",
            "com.example.SomeLongClassName",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaA1",
            "short1A",
        ] {
            assert!(!random_looking(w), "{w}");
        }
    }
}
