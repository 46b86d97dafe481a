//! Turning raw pipe reads into whole lines (with a line cap) and keeping a bounded capture.

use memchr::memchr;

/// Splits a byte stream into whole lines, each ending in `\n`, cutting lines longer than a cap.
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
    max_line: usize,
    discarding: bool,
    /// Lines cut at the cap so far.
    pub(crate) lines_truncated: u64,
}

impl LineSplitter {
    pub(crate) fn new(max_line: usize) -> Self {
        LineSplitter {
            pending: Vec::new(),
            max_line: max_line.max(1),
            discarding: false,
            lines_truncated: 0,
        }
    }

    /// Appends the whole lines completed by `data` to `out`; keeps the unfinished tail.
    pub(crate) fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        // Fast path: no line in `pending + data` can exceed the cap, so whole lines are
        // copied in one go (a read is at most 64 KiB; the cap is usually far larger).
        if !self.discarding && self.pending.len() + data.len() <= self.max_line {
            match memchr::memrchr(b'\n', data) {
                Some(last) => {
                    out.reserve(self.pending.len() + last + 1);
                    out.append(&mut self.pending);
                    out.extend_from_slice(&data[..=last]);
                    self.pending.extend_from_slice(&data[last + 1..]);
                }
                None => self.pending.extend_from_slice(data),
            }
            return;
        }
        loop {
            if self.discarding {
                match memchr(b'\n', data) {
                    None => return,
                    Some(i) => {
                        data = &data[i + 1..];
                        self.discarding = false;
                    }
                }
            }
            match memchr(b'\n', data) {
                Some(i) => {
                    let line = &data[..i];
                    let room = self.max_line.saturating_sub(self.pending.len());
                    out.extend_from_slice(&self.pending);
                    self.pending.clear();
                    if line.len() > room {
                        out.extend_from_slice(&line[..room]);
                        self.lines_truncated += 1;
                    } else {
                        out.extend_from_slice(line);
                    }
                    out.push(b'\n');
                    data = &data[i + 1..];
                }
                None => {
                    let room = self.max_line.saturating_sub(self.pending.len());
                    if data.len() > room {
                        out.extend_from_slice(&self.pending);
                        self.pending.clear();
                        out.extend_from_slice(&data[..room]);
                        out.push(b'\n');
                        self.lines_truncated += 1;
                        self.discarding = true;
                    } else {
                        self.pending.extend_from_slice(data);
                    }
                    return;
                }
            }
        }
    }

    /// True when `data` is whole lines that [`LineSplitter::push`] would pass on unchanged
    /// (nothing pending, every line within the cap): the caller may use `data` as is.
    pub(crate) fn passes_whole(&self, data: &[u8]) -> bool {
        self.pending.is_empty()
            && !self.discarding
            && data.len() <= self.max_line
            && data.last() == Some(&b'\n')
    }

    /// At end of stream: a last line without newline is still a line.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            out.append(&mut self.pending);
            out.push(b'\n');
        }
        self.discarding = false;
    }
}

/// Bytes to text, invalid UTF-8 replaced by U+FFFD.
pub(crate) fn to_text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Smallest string a [`Capture`] takes over as a part of its own (smaller ones are copied).
const PART_MIN: usize = 64 << 10;

/// The head of a stream, up to a cap, cut at a line boundary when possible.
///
/// Kept as the chunks that came in (moved, not copied) and joined once at the end, so a
/// large capture costs one copy instead of a copy per chunk plus the copies of a growing
/// string.
#[derive(Default)]
pub(crate) struct Capture {
    parts: Vec<String>,
    len: usize,
    pub(crate) truncated: bool,
    cap: usize,
}

impl Capture {
    pub(crate) fn new(cap: usize) -> Self {
        Capture {
            parts: Vec::new(),
            len: 0,
            truncated: false,
            cap,
        }
    }

    /// Appends a copy of `s`.
    pub(crate) fn push(&mut self, s: &str) {
        if self.truncated || s.is_empty() {
            return;
        }
        if s.len() <= self.cap.saturating_sub(self.len) {
            self.append(s);
            return;
        }
        self.push_head(s);
    }

    /// Appends `s`: a large string that fits is moved in; a small one (or one with much
    /// unused capacity) is copied onto the last part, so the parts never hold much more
    /// memory than text.
    pub(crate) fn push_owned(&mut self, s: String) {
        if self.truncated || s.is_empty() {
            return;
        }
        if s.len() > self.cap.saturating_sub(self.len) {
            self.push_head(&s);
        } else if s.len() >= PART_MIN && s.capacity() <= 2 * s.len() {
            self.len += s.len();
            self.parts.push(s);
        } else {
            self.append(&s);
        }
    }

    fn append(&mut self, s: &str) {
        self.len += s.len();
        match self.parts.last_mut() {
            Some(last) if last.capacity() - last.len() >= s.len() => last.push_str(s),
            _ => {
                let mut part = String::with_capacity(s.len().max(PART_MIN));
                part.push_str(s);
                self.parts.push(part);
            }
        }
    }

    /// Keeps what fits of `s`, cut after its last whole line when there is one; marks the
    /// capture truncated.
    fn push_head(&mut self, s: &str) {
        let mut cut = self.cap.saturating_sub(self.len);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let head = &s[..cut];
        let head = match head.rfind('\n') {
            Some(i) => &head[..=i],
            None => head,
        };
        self.append(head);
        self.truncated = true;
    }

    /// The captured text (the capture is left empty).
    pub(crate) fn take_text(&mut self) -> String {
        self.len = 0;
        match self.parts.len() {
            0 => String::new(),
            1 => self.parts.pop().unwrap_or_default(),
            _ => {
                let text = self.parts.concat();
                self.parts = Vec::new();
                text
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, reads: &[&[u8]]) -> (String, u64) {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for r in reads {
            s.push(r, &mut out);
        }
        s.finish(&mut out);
        (to_text(out), s.lines_truncated)
    }

    /// The zero-copy path is taken only when pushing would pass the read on unchanged.
    #[test]
    fn whole_reads_pass_as_they_are_only_when_nothing_would_change() {
        let mut s = LineSplitter::new(8);
        assert!(s.passes_whole(b"ab\ncd\n"));
        assert!(!s.passes_whole(b"ab\ncd"), "an unfinished last line");
        assert!(!s.passes_whole(b"abcdefghij\n"), "a line over the cap");
        assert!(!s.passes_whole(b""));
        let mut out = Vec::new();
        s.push(b"ab", &mut out);
        assert!(!s.passes_whole(b"c\n"), "a line is pending");
        s.push(b"c\n", &mut out);
        assert!(s.passes_whole(b"d\n"));
        s.push(b"0123456789", &mut out);
        assert!(
            !s.passes_whole(b"x\n"),
            "the rest of a cut line is being discarded"
        );
    }

    #[test]
    fn lines_across_reads_and_last_line_without_newline() {
        assert_eq!(split(100, &[b"ab", b"c\nde", b"f\ng"]).0, "abc\ndef\ng\n");
    }

    #[test]
    fn long_lines_are_cut_and_counted() {
        let (text, cut) = split(4, &[b"abcdefgh\nxy\n123", b"456789", b"\nok"]);
        assert_eq!(text, "abcd\nxy\n1234\nok\n");
        assert_eq!(cut, 2);
    }

    #[test]
    fn fast_and_slow_paths_agree() {
        let text: Vec<u8> = (0..2000u32)
            .flat_map(|i| {
                let mut l = vec![b'a' + (i % 26) as u8; (i as usize * 7) % 300];
                l.push(b'\n');
                l
            })
            .collect();
        for max in [50, 299, 100_000] {
            for read in [1, 7, 64, 4096, 65536] {
                let reads: Vec<&[u8]> = text.chunks(read).collect();
                let (got, cut) = split(max, &reads);
                let want: String = String::from_utf8(text.clone())
                    .unwrap()
                    .lines()
                    .map(|l| format!("{}\n", &l[..l.len().min(max)]))
                    .collect();
                assert_eq!(got, want, "max {max} read {read}");
                let long = text
                    .split(|b| *b == b'\n')
                    .filter(|l| l.len() > max)
                    .count();
                assert_eq!(cut as usize, long);
            }
        }
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(split(100, &[b"a\xffb\n"]).0, "a\u{fffd}b\n");
    }

    #[test]
    fn capture_keeps_the_head_at_a_line_boundary() {
        let mut c = Capture::new(10);
        c.push("1234\n");
        c.push("5678\n90ab\n");
        c.push("more\n");
        assert!(c.truncated);
        assert_eq!(c.take_text(), "1234\n5678\n");
    }

    /// Big chunks are moved in; small ones (or ones with much spare capacity, such as a
    /// read buffer holding one line) are copied, so memory stays close to the text kept.
    #[test]
    fn capture_moves_big_chunks_and_copies_small_ones() {
        let mut c = Capture::new(1 << 30);
        let big = "x".repeat(PART_MIN - 1) + "\n";
        let big_ptr = big.as_ptr();
        c.push_owned(big);
        assert_eq!(c.parts.len(), 1);
        assert_eq!(c.parts[0].as_ptr(), big_ptr, "moved, not copied");
        for _ in 0..1000 {
            let mut line = String::with_capacity(256 << 10);
            line.push_str("one line\n");
            c.push_owned(line);
        }
        let held: usize = c.parts.iter().map(String::capacity).sum();
        assert!(
            held < 4 * PART_MIN,
            "{held} bytes held for {} of text",
            c.len
        );
        let text = c.take_text();
        assert_eq!(text.len(), PART_MIN + 9000);
        assert!(text.ends_with("one line\n"));
    }
}
