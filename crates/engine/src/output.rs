//! What becomes of a stream's bytes: chunks of whole lines for an output filter, the bounded capture kept in a result, and the lines of observers' events.
//!
//! The stream itself (what an [`crate::OutputSink`] receives) is never cut or re-encoded:
//! these types only decide how an output filter is fed and what is kept in memory.

use memchr::{memchr, memrchr};

/// Cuts a stream into the chunks an output filter takes: runs of whole lines (each
/// ending in `\n`) and, alone in their chunk, partial lines (no `\n`): the pieces of a
/// line longer than the line cap, `max_line` bytes each, and a last line without newline.
/// Nothing is dropped or changed: the chunks joined are the stream.
pub(crate) struct Chunker {
    pending: Vec<u8>,
    max_line: usize,
}

impl Chunker {
    pub(crate) fn new(max_line: usize) -> Self {
        Chunker {
            pending: Vec::new(),
            max_line: max_line.max(1),
        }
    }

    /// Cuts what was read (`data`, taken) and appends the chunks to `out`.
    pub(crate) fn push(&mut self, data: Vec<u8>, out: &mut Vec<Vec<u8>>) {
        // Fast path: whole lines, none over the cap, nothing pending: the read itself.
        if self.pending.is_empty() && data.len() <= self.max_line && data.last() == Some(&b'\n') {
            out.push(data);
            return;
        }
        let mut lines: Vec<u8> = Vec::new();
        let mut rest = &data[..];
        while !rest.is_empty() {
            match memchr(b'\n', rest) {
                Some(i) if self.pending.len() + i < self.max_line => {
                    // A whole line within the cap (pending holds its start).
                    lines.append(&mut self.pending);
                    lines.extend_from_slice(&rest[..=i]);
                    rest = &rest[i + 1..];
                }
                _ => {
                    // No newline, or a line at or over the cap: fill pending up to it.
                    let room = self.max_line - self.pending.len();
                    let end = memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
                    let take = end.min(room);
                    self.pending.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    if self.pending.last() == Some(&b'\n') || self.pending.len() == self.max_line {
                        if !lines.is_empty() {
                            out.push(std::mem::take(&mut lines));
                        }
                        out.push(std::mem::take(&mut self.pending));
                    }
                }
            }
        }
        if !lines.is_empty() {
            out.push(lines);
        }
    }

    /// At end of stream: a last line without newline is a chunk of its own.
    pub(crate) fn finish(&mut self, out: &mut Vec<Vec<u8>>) {
        if !self.pending.is_empty() {
            out.push(std::mem::take(&mut self.pending));
        }
    }
}

/// The head of a stream kept for the result: up to `cap` bytes, cut after a whole line
/// when possible, lines longer than `max_line` cut at it (and ended with a `\n`). Every
/// other byte is kept as it came; the text is made (invalid UTF-8 replaced) at the end.
pub(crate) struct Capture {
    buf: Vec<u8>,
    cap: usize,
    max_line: usize,
    /// Length of the current (unfinished) line in `buf`.
    line: usize,
    /// The current line was cut: skip to its end.
    discarding: bool,
    /// The cap was reached: nothing more is kept.
    pub(crate) truncated: bool,
    /// Lines cut at `max_line`.
    pub(crate) lines_cut: u64,
}

impl Capture {
    pub(crate) fn new(cap: usize, max_line: usize) -> Self {
        Capture {
            buf: Vec::new(),
            cap,
            max_line: max_line.max(1),
            line: 0,
            discarding: false,
            truncated: false,
            lines_cut: 0,
        }
    }

    /// Keeps what fits of `data`.
    pub(crate) fn push(&mut self, mut data: &[u8]) {
        if self.truncated || data.is_empty() {
            return;
        }
        if !self.discarding && self.line + data.len() <= self.max_line {
            // No line can reach the cap within `data`.
            self.line = match memrchr(b'\n', data) {
                Some(i) => data.len() - i - 1,
                None => self.line + data.len(),
            };
            self.keep(data);
            return;
        }
        while !data.is_empty() && !self.truncated {
            let nl = memchr(b'\n', data);
            if self.discarding {
                match nl {
                    Some(i) => {
                        data = &data[i + 1..];
                        self.discarding = false;
                        self.line = 0;
                    }
                    None => return,
                }
                continue;
            }
            let end = nl.map_or(data.len(), |i| i + 1);
            let room = self.max_line - self.line;
            if nl.map_or(data.len(), |i| i) > room {
                // The line goes past the cap: keep its head, end it, skip the rest.
                self.keep(&data[..room]);
                self.keep(b"\n");
                self.lines_cut += 1;
                self.discarding = true;
                data = &data[room..];
                continue;
            }
            self.keep(&data[..end]);
            self.line = if nl.is_some() { 0 } else { self.line + end };
            data = &data[end..];
        }
    }

    fn keep(&mut self, data: &[u8]) {
        if self.truncated {
            return;
        }
        let room = self.cap - self.buf.len();
        if data.len() <= room {
            if self.buf.capacity() - self.buf.len() < data.len() {
                // Double, but never past the cap.
                let want =
                    (self.buf.len() + data.len()).max((2 * self.buf.capacity()).min(self.cap));
                self.buf.reserve_exact(want - self.buf.len());
            }
            self.buf.extend_from_slice(data);
            return;
        }
        let head = &data[..room];
        let head = match memrchr(b'\n', head) {
            Some(i) => &head[..=i],
            None => head,
        };
        self.buf.extend_from_slice(head);
        self.truncated = true;
    }

    /// The captured text, invalid UTF-8 replaced (the capture is left empty).
    pub(crate) fn take_text(&mut self) -> String {
        let bytes = std::mem::take(&mut self.buf);
        match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }
}

/// Lines for observers' events: without their newline, invalid UTF-8 replaced, cut at the
/// line cap; a last line without newline still comes out at the end.
pub(crate) struct LineEvents {
    pending: Vec<u8>,
    max_line: usize,
    discarding: bool,
}

impl LineEvents {
    pub(crate) fn new(max_line: usize) -> Self {
        LineEvents {
            pending: Vec::new(),
            max_line: max_line.max(1),
            discarding: false,
        }
    }

    /// The lines that `data` completes.
    pub(crate) fn push(&mut self, mut data: &[u8], out: &mut Vec<String>) {
        while !data.is_empty() {
            let nl = memchr(b'\n', data);
            let end = nl.unwrap_or(data.len());
            if !self.discarding {
                let take = end.min(self.max_line - self.pending.len());
                self.pending.extend_from_slice(&data[..take]);
                if take < end {
                    out.push(text(std::mem::take(&mut self.pending)));
                    self.discarding = true;
                }
            }
            match nl {
                Some(i) => {
                    if !self.discarding {
                        out.push(text(std::mem::take(&mut self.pending)));
                    }
                    self.discarding = false;
                    data = &data[i + 1..];
                }
                None => return,
            }
        }
    }

    /// At end of stream: the unfinished last line, if any.
    pub(crate) fn finish(&mut self, out: &mut Vec<String>) {
        if !self.pending.is_empty() {
            out.push(text(std::mem::take(&mut self.pending)));
        }
        self.discarding = false;
    }
}

fn text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(max: usize, reads: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut c = Chunker::new(max);
        let mut out = Vec::new();
        for r in reads {
            c.push(r.to_vec(), &mut out);
        }
        c.finish(&mut out);
        out
    }

    #[test]
    fn chunks_are_whole_lines_or_lone_partial_lines_and_join_to_the_stream() {
        let out = chunks(4, &[b"ab", b"c\nde", b"fghij\nxy\n", b"tail"]);
        let shown: Vec<&[u8]> = out.iter().map(Vec::as_slice).collect();
        assert_eq!(
            shown,
            [&b"abc\n"[..], b"defg", b"hij\nxy\n", b"tail"],
            "a line of 4 or more bytes before its newline is cut into pieces of 4"
        );
        for c in &out {
            let nl = c.iter().filter(|b| **b == b'\n').count();
            assert!(
                c.ends_with(b"\n") || nl == 0,
                "a partial line is alone: {c:?}"
            );
        }
    }

    #[test]
    fn chunker_keeps_every_byte_whatever_the_reads_and_the_cap() {
        let text: Vec<u8> = (0..3000u32)
            .flat_map(|i| {
                let mut l = vec![b'a' + (i % 26) as u8; (i as usize * 7) % 300];
                if i % 3 == 0 {
                    l.push(b'\r');
                    l.push(0xff);
                }
                l.push(b'\n');
                l
            })
            .chain(*b"no newline")
            .collect();
        for max in [1, 50, 299, 100_000] {
            for read in [1, 7, 64, 4096, 65536] {
                let reads: Vec<&[u8]> = text.chunks(read).collect();
                let out = chunks(max, &reads);
                assert_eq!(out.concat(), text, "max {max} read {read}");
                assert!(out.iter().all(|c| !c.is_empty()));
                assert!(out.iter().all(|c| c.len() <= max || c.ends_with(b"\n")));
            }
        }
    }

    fn capture(cap: usize, max: usize, reads: &[&[u8]]) -> (String, bool, u64) {
        let mut c = Capture::new(cap, max);
        for r in reads {
            c.push(r);
        }
        (c.take_text(), c.truncated, c.lines_cut)
    }

    #[test]
    fn capture_keeps_bytes_as_they_came() {
        let (text, cut, lines) = capture(100, 100, &[b"a\r\n", b"b\0c", b"\nno newline"]);
        assert_eq!(text, "a\r\nb\0c\nno newline");
        assert!(!cut);
        assert_eq!(lines, 0);
    }

    #[test]
    fn capture_cuts_long_lines_and_keeps_the_head_at_a_line_boundary() {
        let (text, _, lines) = capture(100, 4, &[b"abcdefgh\nxy\n123", b"456789", b"\nok"]);
        assert_eq!(text, "abcd\nxy\n1234\nok");
        assert_eq!(lines, 2);
        let (text, truncated, _) = capture(10, 100, &[b"1234\n", b"5678\n90ab\n", b"more\n"]);
        assert!(truncated);
        assert_eq!(text, "1234\n5678\n");
    }

    #[test]
    fn capture_never_holds_much_more_than_its_cap() {
        let mut c = Capture::new(1000, 1 << 20);
        for _ in 0..10_000 {
            c.push(b"0123456789\n");
        }
        assert!(c.truncated);
        assert!(c.buf.capacity() <= 1000, "{}", c.buf.capacity());
    }

    #[test]
    fn line_events_drop_the_newline_only_and_cut_long_lines() {
        let mut l = LineEvents::new(4);
        let mut out = Vec::new();
        for r in [&b"a\r\nbc"[..], b"d\nabcdefg\n", b"x\xffy\nlast"] {
            l.push(r, &mut out);
        }
        l.finish(&mut out);
        assert_eq!(out, ["a\r", "bcd", "abcd", "x\u{fffd}y", "last"]);
    }
}
