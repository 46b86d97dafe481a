//! Output fidelity and stdin: what a command prints reaches our stdout byte for byte, to a file or a slow reader, with or without redaction; a closed stdout ends the command; stdin is the command's.
//!
//! Each output test runs both ways the output can go: with no output plugin, the command
//! writes to our stdout itself; under a policy with redact-secrets (which changes nothing
//! in these outputs), it goes through cloudops's pipes, the plugin and our writer.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::Dir;

/// A policy with only the built-in redaction plugin.
const REDACT: &str = r#"version = 1
[plugins.redact-secrets]
source = "builtin:redact-secrets"
[[rules]]
name = "all"
plugins = ["redact-secrets"]
"#;

/// The ways output can go: `[]` (the command's own descriptors) and a redacting policy (through cloudops).
fn ways(d: &Dir) -> [Vec<&'static str>; 2] {
    d.write("redact.toml", REDACT);
    [vec![], vec!["--policy", "redact.toml"]]
}

/// `base` after `way`'s options.
fn with<'a>(way: &[&'a str], base: &[&'a str]) -> Vec<&'a str> {
    way.iter().chain(base).copied().collect()
}

/// `n` bytes that look random (a fixed xorshift sequence).
fn noise(n: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// Runs `cloudops ARGS` with stdout to `out` (a file), returns the exit code.
fn to_file(d: &Dir, args: &[&str], out: &Path) -> i32 {
    let status = d
        .cmd(args)
        .stdout(std::fs::File::create(out).unwrap())
        .status()
        .unwrap();
    status.code().unwrap_or(-1)
}

#[test]
fn a_million_lines_written_to_a_file_all_arrive() {
    let d = Dir::new();
    let out = d.path().join("out.txt");
    assert_eq!(to_file(&d, &["sh", "seq 1 1000000"], &out), 0);
    let got = std::fs::read(&out).unwrap();
    let want: String = (1..=1_000_000).map(|i| format!("{i}\n")).collect();
    assert!(
        got == want.as_bytes(),
        "{} bytes, want {}",
        got.len(),
        want.len()
    );
}

#[test]
fn a_reader_that_sleeps_before_reading_still_gets_every_line() {
    let d = Dir::new();
    let mut child = d
        .cmd(&["sh", "seq 1 200000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(out.lines().count(), 200_000);
    assert_eq!(out.lines().last(), Some("200000"));
}

#[test]
fn binary_output_crlf_and_a_missing_final_newline_are_copied_as_they_are() {
    let d = Dir::new();
    let data = noise(100_000);
    std::fs::write(d.path().join("random.bin"), &data).unwrap();
    for way in ways(&d) {
        let out = d.path().join("copy");
        assert_eq!(to_file(&d, &with(&way, &["sh", "cat random.bin"]), &out), 0);
        assert!(
            std::fs::read(&out).unwrap() == data,
            "{way:?}: the copy differs"
        );

        let script = r"printf 'a\r\nb\r\nno newline'; printf 'e\r\nrr' >&2";
        let r = d.run(&with(&way, &["sh", script]));
        r.expect_code(0);
        assert_eq!(r.0.stdout, b"a\r\nb\r\nno newline", "{way:?}");
        assert_eq!(r.0.stderr, b"e\r\nrr", "{way:?}");
    }
}

#[test]
fn redaction_keeps_every_other_byte_and_line() {
    let d = Dir::new();
    d.write("p.toml", REDACT);
    // 1,000,000 lines, every tenth with a key; some with CR, invalid UTF-8, no final newline.
    let mut input = Vec::new();
    for i in 0..1_000_000u32 {
        match i % 10 {
            0 => writeln!(input, "line {i} key=AKIA{:016} end", i).unwrap(),
            3 => input.extend_from_slice(format!("crlf {i}\r\n").as_bytes()),
            7 => input.extend_from_slice(b"bytes \xff\xfe\x00 kept\n"),
            _ => writeln!(input, "plain line {i} with some text").unwrap(),
        }
    }
    input.extend_from_slice(b"last \xff AKIA2Q7XK4PLM9ZJ3T5V\r");
    std::fs::write(d.path().join("in.log"), &input).unwrap();
    let out = d.path().join("out.log");
    assert_eq!(
        to_file(&d, &["--policy", "p.toml", "sh", "cat in.log"], &out),
        0
    );
    let got = std::fs::read(&out).unwrap();
    let want_lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    let got_lines: Vec<&[u8]> = got.split(|b| *b == b'\n').collect();
    assert_eq!(got_lines.len(), want_lines.len(), "no line lost or added");
    for (i, (g, w)) in got_lines.iter().zip(&want_lines).enumerate() {
        if w.windows(4).any(|x| x == b"AKIA") {
            assert!(
                !g.windows(4).any(|x| x == b"AKIA"),
                "line {i} keeps its key"
            );
            assert!(g.starts_with(&w[..6]) && g.last() == w.last(), "line {i}");
        } else {
            assert_eq!(g, w, "line {i} changed");
        }
    }
}

#[test]
fn a_closed_stdout_ends_the_command_as_it_would_without_cloudops() {
    let d = Dir::new();
    let t = Instant::now();
    let mut child = d
        .cmd(&["sh", "seq 1 100000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 2];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    assert_eq!(&first, b"1\n");
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // seq died of SIGPIPE, and cloudops passes that on (128 + 13).
    assert_eq!(status.code(), Some(141));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(err, "", "a closed pipe is not an error");
}

#[test]
fn the_command_reads_our_stdin_unless_told_not_to() {
    let d = Dir::new();
    let lines: String = (1..=50_000).map(|i| format!("{i}\n")).collect();
    let feed = |args: &[&str]| {
        let mut child = d
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let text = lines.clone();
        let writer = std::thread::spawn(move || {
            // The command may not read it all (--no-stdin): a closed pipe is fine.
            let _ = stdin.write_all(text.as_bytes());
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(feed(&["run", "--", "wc", "-l"]).trim(), "50000");
    assert_eq!(feed(&["--no-stdin", "run", "--", "wc", "-l"]).trim(), "0");
}

#[test]
fn a_command_that_never_reads_its_stdin_or_closes_its_stdout_does_not_hang_us() {
    let d = Dir::new();
    let t = Instant::now();
    let mut child = d
        .cmd(&["sh", "exec 1>&-; sleep 0.2; echo done >&2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // An endless writer on our stdin, which nothing reads.
    let writer = std::thread::spawn(move || {
        let block = [b'y'; 4096];
        while stdin.write_all(&block).is_ok() {}
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"");
    assert_eq!(out.stderr, b"done\n");
}

/// Peak resident memory of `pid` so far (VmHWM), in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn two_gigabytes_without_a_newline_stream_through_in_bounded_memory() {
    let d = Dir::new();
    for way in ways(&d) {
        // Compile the plugins first (cached afterwards): the peak measured below is the
        // stream's, not the compiler's.
        let warm = d.cmd(&with(&way, &["sh", "true"])).output().unwrap();
        assert!(warm.status.success(), "{way:?}: {warm:?}");
        let mut child = d
            .cmd(&with(&way, &["sh", "head -c 2000000000 /dev/zero"]))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0; 1 << 20];
            let mut total = 0u64;
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => return total,
                    Ok(n) => total += n as u64,
                }
            }
        });
        let mut peak = 0;
        while child.try_wait().unwrap().is_none() {
            peak = peak.max(peak_kib(pid).unwrap_or(0));
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(reader.join().unwrap(), 2_000_000_000, "{way:?}");
        // The debug build's own footprint is a few tens of MB; a copy of the stream is GBs.
        assert!(peak < 100 << 10, "{way:?}: peak RSS {peak} KiB");
    }
}
