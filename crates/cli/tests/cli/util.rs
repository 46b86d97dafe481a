//! Test helpers: run the `cloudops` binary in a scratch directory with a clean environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A scratch directory (also `HOME` and `XDG_CONFIG_HOME`) to run cloudops in.
pub struct Dir {
    pub tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Self {
        Dir {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `text` to `name` under the directory; returns the full path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }

    /// `cloudops ARGS` in this directory, nothing inherited that could pick a policy.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cloudops"));
        c.args(args)
            .current_dir(self.path())
            .env_remove("CLOUDOPS_POLICY")
            .env_remove("CLOUDOPS_PROFILE")
            .env_remove("CLOUDOPS_SERVER")
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            // One compile cache for every test: plugins are compiled once per test run.
            .env(
                "XDG_CACHE_HOME",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("cloudops-cache"),
            )
            .stdin(std::process::Stdio::null());
        c
    }

    /// Runs `cloudops ARGS` to the end.
    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.cmd(args).output().expect("spawn cloudops"))
    }
}

/// A finished run.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// The variable that marks the processes of one test.
pub const MARKER_VAR: &str = "CLOUDOPS_CRASH_MARKER";

/// A marker for the processes of one test: kills every process that carries it when
/// dropped (on every path of the test).
pub struct Marked(pub String);

impl Marked {
    /// Live (non-zombie) processes whose environment holds the marker.
    pub fn survivors(&self) -> Vec<u32> {
        let needle = format!("{MARKER_VAR}={}\0", self.0);
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(env) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            let zombie = std::fs::read_to_string(entry.path().join("stat"))
                .map(|s| {
                    s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
                .unwrap_or(true);
            if !zombie && env.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                out.push(pid);
            }
        }
        out
    }

    pub fn settle(&self, limit: Duration) -> Vec<u32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && !self.survivors().is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.survivors()
    }
}

impl Drop for Marked {
    fn drop(&mut self) {
        for pid in self.survivors() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}
