//! Known secrets: the exact values the host hands over (a command's secret-looking environment
//! variables), found in output as written, base64-encoded (at each of the three alignments,
//! as CI systems mask them) and URL-encoded.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What URL encoding escapes: all but RFC 3986's unreserved characters.
const URL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The forms of a set of known values, compiled for one scan.
#[derive(Debug)]
pub struct KnownValues {
    values: Vec<String>,
    matcher: Option<AhoCorasick>,
}

/// Values shorter than this are ignored (the host already drops them).
const MIN_LEN: usize = 8;

impl KnownValues {
    /// Compiles the forms of `values` (values shorter than 8 bytes are ignored).
    pub fn new(values: &[String]) -> Self {
        let mut forms: Vec<String> = Vec::new();
        for v in values.iter().filter(|v| v.len() >= MIN_LEN) {
            forms.push(v.clone());
            let url = utf8_percent_encode(v, URL).to_string();
            if url != *v {
                forms.push(url);
            }
            forms.extend(base64_forms(v.as_bytes()));
        }
        forms.retain(|f| f.len() >= 6);
        forms.sort();
        forms.dedup();
        let matcher = if forms.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&forms)
                .ok()
        };
        KnownValues {
            values: values.to_vec(),
            matcher,
        }
    }

    /// True when these are the forms of exactly `values`.
    pub fn is_for(&self, values: &[String]) -> bool {
        self.values == values
    }

    /// Byte spans of every form found in `text`.
    pub fn find(&self, text: &str) -> Vec<(usize, usize)> {
        let Some(m) = &self.matcher else {
            return Vec::new();
        };
        m.find_iter(text).map(|m| (m.start(), m.end())).collect()
    }

    /// No value to look for.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }
}

/// The base64 text that encodes `v` wherever it sits in a longer base64 string: for each of
/// the three offsets of `v` in a 3-byte group, the characters that depend on `v` alone.
fn base64_forms(v: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for offset in 0..3 {
        let mut buf = vec![0u8; offset];
        buf.extend_from_slice(v);
        let enc = STANDARD.encode(&buf);
        // Characters before `lead` mix in the padding bytes; after `tail`, the end padding.
        let lead = if offset == 0 {
            0
        } else {
            (offset * 8).div_ceil(6)
        };
        let total_bits = buf.len() * 8;
        let full = total_bits / 6; // characters fully determined by the bytes
        if full > lead + 4 {
            let s = &enc[lead..full];
            out.push(s.to_string());
            // The same in the URL-safe alphabet.
            let url: String = s
                .chars()
                .map(|c| match c {
                    '+' => '-',
                    '/' => '_',
                    c => c,
                })
                .collect();
            if url != s {
                out.push(url);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_found_plain_base64_encoded_at_any_offset_and_url_encoded() {
        let k = KnownValues::new(&["s3cr3t-v@lue/42".to_string()]);
        for prefix in ["", "a", "ab"] {
            let text = STANDARD.encode(format!("{prefix}s3cr3t-v@lue/42 and more"));
            assert!(!k.find(&text).is_empty(), "offset {}: {text}", prefix.len());
        }
        assert!(!k.find("x=s3cr3t-v%40lue%2F42&y").is_empty());
        assert!(!k.find("got s3cr3t-v@lue/42\n").is_empty());
        assert!(k.find("nothing here\n").is_empty());
        assert!(KnownValues::new(&["short".to_string()]).is_empty());
    }
}
