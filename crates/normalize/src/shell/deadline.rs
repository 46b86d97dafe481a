//! Analysis under a deadline: a script that needs brush-parser is analysed on a small pool of threads, and its caller waits at most `DEADLINE`.
//!
//! brush-parser 0.4 backtracks exponentially on some inputs (the fuzz targets keep finding
//! new ones: a few unclosed brackets or nested backticks take seconds, one more takes
//! minutes). The cheap checks in `limits` stop the known shapes; this bounds the rest.
//! A parse cannot be interrupted, so one that overruns keeps its thread until it ends;
//! at most `MAX_WORKERS` threads exist, and when all are busy a script waits its
//! deadline in the queue and is reported unanalysable (fail-closed). Scripts the fast
//! path handles (flat command lines) never come here.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use super::Analyzer;
use crate::model::Normalized;

/// How long a caller waits for the analysis of one script.
pub const DEADLINE: Duration = Duration::from_millis(250);
/// Most analyser threads (each stuck one keeps a core busy until its parse ends).
const MAX_WORKERS: usize = 4;

struct Job {
    work: Box<dyn FnOnce() -> Normalized + Send>,
    reply: mpsc::SyncSender<Normalized>,
}

struct Pool {
    jobs: Mutex<mpsc::Sender<Job>>,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    /// Threads started, and threads waiting for a job.
    workers: AtomicUsize,
    idle: Arc<AtomicUsize>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) = mpsc::channel();
        Pool {
            jobs: Mutex::new(jobs),
            queue: Arc::new(Mutex::new(queue)),
            workers: AtomicUsize::new(0),
            idle: Arc::new(AtomicUsize::new(0)),
        }
    })
}

impl Pool {
    /// Starts one more thread if none is idle and fewer than `MAX_WORKERS` exist.
    fn ensure_worker(&self) {
        if self.idle.load(Ordering::Acquire) > 0 {
            return;
        }
        let started = self
            .workers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_WORKERS).then_some(n + 1)
            });
        if started.is_err() {
            return;
        }
        let (queue, idle) = (self.queue.clone(), self.idle.clone());
        let spawned = std::thread::Builder::new()
            .name("cloudops-shell-analysis".into())
            .spawn(move || worker(&queue, &idle));
        if spawned.is_err() {
            self.workers.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn worker(queue: &Mutex<mpsc::Receiver<Job>>, idle: &AtomicUsize) {
    loop {
        idle.fetch_add(1, Ordering::AcqRel);
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        idle.fetch_sub(1, Ordering::AcqRel);
        let Ok(job) = job else { return };
        let n = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job.work))
            .unwrap_or_else(|_| unanalysable("the shell analyser failed on this input".into()));
        // The caller may have given up (deadline): then nobody wants the answer.
        let _ = job.reply.try_send(n);
    }
}

fn unanalysable(reason: String) -> Normalized {
    Normalized {
        commands: Vec::new(),
        unanalyzable: vec![reason],
    }
}

/// The full analysis of `script`, or an unanalysable result after [`DEADLINE`].
pub(crate) fn analyze(script: &str, path: &str, cwd: Option<&Path>) -> Normalized {
    let (script, path, cwd) = (script.to_string(), path.to_string(), cwd.map(PathBuf::from));
    bounded(move || {
        let mut a = Analyzer::new(true);
        a.place(&path, cwd.as_deref());
        a.script(&script);
        a.finish(&path, cwd.as_deref())
    })
}

/// The full analysis of an argv run without a shell (see `super::analyze_argv`), or an
/// unanalysable result after [`DEADLINE`].
pub(crate) fn analyze_argv(argv: &[String], path: &str, cwd: Option<&Path>) -> Normalized {
    let (argv, path, cwd) = (argv.to_vec(), path.to_string(), cwd.map(PathBuf::from));
    bounded(move || {
        let mut a = Analyzer::new(true);
        a.place(&path, cwd.as_deref());
        a.argv_command(&argv);
        a.finish(&path, cwd.as_deref())
    })
}

/// Runs `work` on the pool; its result, or an unanalysable one after [`DEADLINE`].
pub(crate) fn bounded(work: impl FnOnce() -> Normalized + Send + 'static) -> Normalized {
    let pool = pool();
    pool.ensure_worker();
    let (reply, answer) = mpsc::sync_channel(1);
    let job = Job {
        work: Box::new(work),
        reply,
    };
    let sent = pool
        .jobs
        .lock()
        .map_err(|_| ())
        .and_then(|jobs| jobs.send(job).map_err(|_| ()));
    if sent.is_err() {
        return unanalysable("the shell analyser could not be started".into());
    }
    answer.recv_timeout(DEADLINE).unwrap_or_else(|_| {
        unanalysable(format!(
            "analysing the script took longer than {} ms: not analysed",
            DEADLINE.as_millis()
        ))
    })
}
