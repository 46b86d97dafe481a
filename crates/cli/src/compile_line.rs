//! The terminal line shown while a plugin compiles for its first use (name, size, elapsed), and the compiles of this run for `policy validate`.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cloudops_plugin_host::{CompileObserver, CompileReport};

/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// The observer this process installed (see [`install`]).
static PROGRESS: OnceLock<Arc<CompileProgress>> = OnceLock::new();

/// Installs the observer: a line on stderr while a plugin compiles when stderr is a
/// terminal and `show` (not `--quiet`, not `--json`); the reports are kept either way.
pub fn install(show: bool) {
    let progress = PROGRESS.get_or_init(|| {
        Arc::new(CompileProgress {
            tty: show && std::io::stderr().is_terminal(),
            state: Mutex::new(State::default()),
        })
    });
    cloudops_session::observe_compiles(progress.clone());
}

/// The compiles of this run so far, in the order they finished.
pub fn reports() -> Vec<CompileReport> {
    PROGRESS
        .get()
        .map(|p| p.lock().done.clone())
        .unwrap_or_default()
}

#[derive(Default)]
struct State {
    /// Compiles in progress: plugin, size, start.
    running: Vec<(String, usize, Instant)>,
    /// A ticker thread is drawing the line.
    ticking: bool,
    done: Vec<CompileReport>,
}

/// Draws the line and keeps the reports.
pub struct CompileProgress {
    tty: bool,
    state: Mutex<State>,
}

impl CompileProgress {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `12.7 MiB`.
pub fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The line for the compiles in progress (all written under the state lock).
fn draw(state: &State) {
    let now = Instant::now();
    let parts: Vec<String> = state
        .running
        .iter()
        .map(|(name, bytes, t0)| {
            format!(
                "plugin '{name}' ({}): {:.1} s",
                mib(*bytes),
                now.duration_since(*t0).as_secs_f64()
            )
        })
        .collect();
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r\x1b[2Kcompiling for its first use (cached afterwards): {}",
        parts.join("; ")
    );
    let _ = err.flush();
}

fn clear() {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

impl CompileObserver for CompileProgress {
    fn started(&self, plugin: &str, bytes: usize) {
        let mut state = self.lock();
        state
            .running
            .push((plugin.to_string(), bytes, Instant::now()));
        if !self.tty {
            return;
        }
        draw(&state);
        if !state.ticking {
            state.ticking = true;
            let Some(me) = PROGRESS.get().cloned() else {
                return;
            };
            let spawned = std::thread::Builder::new()
                .name("cloudops-compile-line".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(TICK);
                        let mut state = me.lock();
                        if state.running.is_empty() {
                            state.ticking = false;
                            return;
                        }
                        draw(&state);
                    }
                });
            if spawned.is_err() {
                state.ticking = false;
            }
        }
    }

    fn finished(&self, report: &CompileReport) {
        let mut state = self.lock();
        if let Some(i) = state.running.iter().position(|(n, ..)| *n == report.plugin) {
            state.running.remove(i);
        }
        state.done.push(report.clone());
        if self.tty {
            if state.running.is_empty() {
                clear();
            } else {
                draw(&state);
            }
        }
    }
}
