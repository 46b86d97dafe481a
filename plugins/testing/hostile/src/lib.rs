//! Test plugin: misbehaves on purpose, to show the host contains it.
//!
//! Config: `{"attack": "<name>", "hook": "check"|"output"|"init", "port": 0}`. Attacks:
//! `loop` (spins forever), `memory` (allocates without end), `panic`, `stack` (unbounded
//! recursion), `fs` / `env` / `net` (probe the filesystem, the environment, a TCP port on
//! 127.0.0.1 and report what they found in the verdict reason), `rewrite-id` (a rewrite
//! that changes the request id), `rewrite-empty` (a rewrite to an empty program),
//! `bad-init` (init returns an error), `partial-lines` (output chunks without a final newline),
//! `sleep` (sleeps 10 s in the hook), `poison` (on a shell command holding "poison": marks
//! the instance, then panics; an instance that finds its mark denies "reused: ..."; other
//! requests are allowed), `log` (calls the host's `log` import at warn level, then allows),
//! `log-flood` (logs [`FORGED_LOG`] with a newline and ANSI escapes, then one 3 MiB
//! message of `€`, then [`FLOOD_COUNT`] short ones, then allows),
//! `stdio` (writes [`STDIO_MARKER`] to stdout and stderr, reads stdin to its end, and
//! reports what happened in the verdict reason).

wit_bindgen::generate!({ path: "../../../wit/v0.1.0", world: "plugin" });

use std::io::{Read, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use cloudops::plugin::types::{Command, ExecCommand, Hook, Rewrite};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    attack: String,
    #[serde(default = "default_hook")]
    hook: String,
    #[serde(default)]
    port: u16,
}

fn default_hook() -> String {
    "check".into()
}

static CONFIG: OnceLock<Config> = OnceLock::new();

fn config() -> &'static Config {
    CONFIG.get().expect("initialised")
}

#[inline(never)]
#[expect(unconditional_recursion, reason = "the stack overflow is the point")]
fn recurse(depth: u64, buf: &mut [u8; 64]) -> u64 {
    let mut local = [0u8; 256];
    local[(depth % 256) as usize] = buf[(depth % 64) as usize];
    buf[0] = local[3];
    recurse(depth + 1, buf) + u64::from(local[(depth % 7) as usize])
}

/// Set by `poison` just before it panics: only an instance reused after its trap sees it.
static POISONED: AtomicBool = AtomicBool::new(false);

/// What `stdio` writes to stdout and stderr (nothing of it may reach the host's).
const STDIO_MARKER: &str = "HOSTILE-STDIO-MARKER";

/// What `log` logs.
const LOG_MESSAGE: &str = "hostile plugin logs through the host";

/// The first message of `log-flood`: tries to start a log line of its own, in red.
const FORGED_LOG: &str = "flood begins\nERROR cloudops: forged line \x1b[31mred\x1b[0m";

/// How many short messages `log-flood` sends after its first two.
const FLOOD_COUNT: usize = 1000;

fn probe_stdio() -> String {
    let out = std::io::stdout()
        .write_all(format!("{STDIO_MARKER} on stdout\n").as_bytes())
        .and_then(|()| std::io::stdout().flush());
    let err = std::io::stderr().write_all(format!("{STDIO_MARKER} on stderr\n").as_bytes());
    let mut input = Vec::new();
    let read = std::io::stdin().read_to_end(&mut input);
    let shown = |r: std::io::Result<()>| match r {
        Ok(()) => "written".to_string(),
        Err(e) => format!("error ({e})"),
    };
    let stdin = match read {
        Ok(n) => format!("{n} bytes {:?}", String::from_utf8_lossy(&input)),
        Err(e) => format!("error ({e})"),
    };
    format!(
        "stdout: {}; stderr: {}; stdin: {stdin}",
        shown(out),
        shown(err)
    )
}

fn probe_fs() -> String {
    let passwd = match std::fs::read_to_string("/etc/passwd") {
        Ok(s) => format!("read /etc/passwd: {} bytes", s.len()),
        Err(e) => format!("no /etc/passwd ({e})"),
    };
    let root = match std::fs::read_dir("/") {
        Ok(d) => format!("listed /: {} entries", d.count()),
        Err(e) => format!("no / ({e})"),
    };
    let cwd = match std::fs::read_dir(".") {
        Ok(d) => format!("listed .: {} entries", d.count()),
        Err(e) => format!("no . ({e})"),
    };
    format!("{passwd}; {root}; {cwd}")
}

/// Runs the configured attack; returns a finding for the probes.
fn attack() -> Option<String> {
    let cfg = config();
    match cfg.attack.as_str() {
        "loop" => {
            let mut x: u64 = 1;
            loop {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        "memory" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                let mut v = Vec::<u8>::with_capacity(8 << 20);
                v.push(7);
                hoard.push(v);
                std::hint::black_box(&hoard);
            }
        }
        "panic" => panic!("hostile plugin panics on purpose"),
        "stack" => {
            let mut buf = [1u8; 64];
            Some(format!("{}", recurse(0, &mut buf)))
        }
        "sleep" => {
            std::thread::sleep(std::time::Duration::from_secs(10));
            Some("slept".into())
        }
        "fs" => Some(probe_fs()),
        "stdio" => Some(probe_stdio()),
        "log" => {
            cloudops::plugin::host::log(cloudops::plugin::host::LogLevel::Warn, LOG_MESSAGE);
            None
        }
        "log-flood" => {
            use cloudops::plugin::host::{LogLevel, log};
            log(LogLevel::Warn, FORGED_LOG);
            log(LogLevel::Warn, &"€".repeat(1 << 20));
            for i in 0..FLOOD_COUNT {
                log(LogLevel::Info, &format!("flood {i}"));
            }
            None
        }
        "env" => {
            let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
            let args: Vec<String> = std::env::args().collect();
            Some(format!("env: {} vars {vars:?}; args: {args:?}", vars.len()))
        }
        "net" => {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], cfg.port));
            Some(match std::net::TcpStream::connect(addr) {
                Ok(_) => format!("connected to {addr}"),
                Err(e) => format!("no connection to {addr} ({e})"),
            })
        }
        _ => None,
    }
}

struct Hostile;

impl Guest for Hostile {
    fn init(config: String) -> Result<PluginInfo, String> {
        let cfg: Config = serde_json::from_str(&config).map_err(|e| format!("bad config: {e}"))?;
        let in_init = cfg.hook == "init";
        if cfg.attack == "bad-init" {
            return Err("hostile plugin refuses its config".into());
        }
        let _ = CONFIG.set(cfg);
        if in_init {
            attack();
        }
        Ok(PluginInfo {
            name: "hostile".into(),
            version: "0.1.0".into(),
            hooks: vec![Hook::Check, Hook::Output],
        })
    }

    fn check(mut request: Request) -> Verdict {
        let cfg = config();
        if cfg.hook != "check" {
            return Verdict::Allow;
        }
        match cfg.attack.as_str() {
            "rewrite-id" => {
                request.id = "00000000-0000-0000-0000-000000000000".into();
                Verdict::Rewrite(Rewrite {
                    request,
                    reason: "new id".into(),
                })
            }
            "rewrite-empty" => {
                request.command = Command::Exec(ExecCommand {
                    program: String::new(),
                    args: vec![],
                });
                Verdict::Rewrite(Rewrite {
                    request,
                    reason: "empty program".into(),
                })
            }
            "rewrite-tags" => {
                request.tags.push(("sneaky".into(), "yes".into()));
                Verdict::Rewrite(Rewrite {
                    request,
                    reason: "extra tag".into(),
                })
            }
            "poison" => {
                if POISONED.load(Ordering::SeqCst) {
                    return Verdict::Deny("reused: this instance trapped before".into());
                }
                let poison = match &request.command {
                    Command::Shell(s) => s.command.contains("poison"),
                    _ => false,
                };
                if poison {
                    POISONED.store(true, Ordering::SeqCst);
                    panic!("hostile plugin poisons its instance and panics");
                }
                Verdict::Allow
            }
            _ => match attack() {
                Some(found) => Verdict::Deny(found),
                None => Verdict::Allow,
            },
        }
    }

    fn on_output(batch: OutputBatch) -> Vec<OutputChunk> {
        let cfg = config();
        if cfg.hook != "output" {
            return batch.chunks;
        }
        if cfg.attack == "partial-lines" {
            return batch
                .chunks
                .into_iter()
                .map(|mut c| {
                    c.text = c.text.trim_end_matches('\n').replace('\n', " / ");
                    c
                })
                .collect();
        }
        attack();
        batch.chunks
    }
}

export!(Hostile);
