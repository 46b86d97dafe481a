//! Starting a command's process without copying the engine's memory, and the handle its supervisor waits on.
//!
//! `std`'s `Command` has to `fork` whenever the child needs a step that `posix_spawn`
//! cannot do, and the engine needs one: `prctl(PR_SET_PDEATHSIG)`, so that a `kill -9` of
//! the engine's process takes its commands with it. A `fork` copies the page tables of a
//! process that holds a Wasm runtime, only for `execve` to throw the copy away, and the
//! engine then takes a copy-on-write fault on each page it writes next: about 0.6-1 ms on
//! every command. Here the child shares the engine's memory until `execve` (`CLONE_VM |
//! CLONE_VFORK`, what glibc's `posix_spawn` does), so it may only make system calls that
//! allocate nothing and take no lock, on data prepared beforehand, and report a failure
//! through memory the parent reads once the child has exec'd or exited.
//!
//! The child's set-up is that of `std` (stdin as given, else `/dev/null`; stdout and stderr piped,
//! its own process group, the working directory, `SIGPIPE` back to its default and an
//! empty signal mask) plus the parent-death signal and, when the execution has one, its
//! sandbox (`cloudops_sandbox::apply_in_child`: namespaces given to `clone`, mounts,
//! limits, Landlock, seccomp), applied before the `chdir` so that the working directory
//! is looked up under the sandbox's mounts. With a PID namespace, the clone is the
//! namespace's init instead, which runs the command as its child (`clone_init`). The exit
//! is awaited on a pidfd. Linux only, as the rest of the engine (`prctl`, `/proc`).

use std::ffi::CString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use cloudops_sandbox::{ChildFailure, Prepared};
use nix::libc;
use tokio::net::unix::pipe::Receiver;
use uuid::Uuid;

use crate::escapees::EXECUTION_ID_VAR;
use crate::resolve::PreparedCommand;

/// A started command: its process id, the read ends of its stdout and stderr, its exit.
pub(crate) struct Child {
    pid: u32,
    status: Option<ExitStatus>,
    /// The child's stdout, until the supervisor takes it.
    pub stdout: Option<Receiver>,
    /// The child's stderr, until the supervisor takes it.
    pub stderr: Option<Receiver>,
    exit: Exit,
    /// Pid 1's memory when the command runs under an init of ours (a PID namespace).
    init: Option<Box<Init>>,
    /// The command's mount namespace, held so that its teardown is not part of the exit.
    mount_ns: Option<OwnedFd>,
}

/// How the child's exit is awaited.
enum Exit {
    /// A pidfd, readable once the process has exited (Linux 5.3 and later).
    Pidfd(tokio::io::unix::AsyncFd<OwnedFd>),
    /// A blocking thread that reaps the child (no pidfds).
    Thread(Option<tokio::task::JoinHandle<io::Result<ExitStatus>>>),
}

impl Child {
    /// The process id (also its process group's), as `tokio::process::Child::id` gives it.
    pub fn id(&self) -> Option<u32> {
        Some(self.pid)
    }

    /// Waits for the child to exit and reaps it. Cancel-safe: a `select!` may drop it
    /// and call it again.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        let status = match &mut self.exit {
            Exit::Pidfd(fd) => loop {
                let mut ready = fd.readable().await?;
                match reap(self.pid, false)? {
                    Some(s) => break s,
                    None => ready.clear_ready(),
                }
            },
            Exit::Thread(Some(thread)) => thread.await.map_err(io::Error::other)??,
            Exit::Thread(None) => return Err(io::Error::other("the child was already reaped")),
        };
        // Under our init, the command's own status, which init copied before it exited
        // (init's is the command's exit code, or 128 + its signal); init killed before
        // the command ended (SIGKILL) has only its own to give.
        let status = match self.init.take() {
            Some(init) => match init.status.load(std::sync::atomic::Ordering::Acquire) {
                NO_STATUS => status,
                raw => ExitStatus::from_raw(raw),
            },
            None => status,
        };
        self.status = Some(status);
        release_later(self.mount_ns.take());
        Ok(status)
    }
}

/// Lets go of a command's mount namespace off the caller's path. The last reference to a
/// mount namespace unmounts its tree and then waits for an RCU grace period (about 0.3 ms
/// here); held by us, that wait is not part of the command's exit, and a blocking thread
/// pays it instead.
fn release_later(ns: Option<OwnedFd>) {
    if let Some(fd) = ns {
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(move || drop(fd))),
            Err(_) => drop(fd),
        }
    }
}

impl Drop for Child {
    /// A child dropped before its exit (its supervisor was abandoned, and killed its
    /// group) is reaped when it ends, so that it does not stay a zombie. (A waiting
    /// thread reaps its child by itself.)
    ///
    /// Pid 1's memory (its stack) is freed only once pid 1 is reaped: the reaping task
    /// takes it, and where nothing will reap, it is leaked rather than freed under a
    /// running process.
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        let init = self.init.take();
        release_later(self.mount_ns.take());
        if let Exit::Pidfd(_) = &self.exit {
            if matches!(reap(self.pid, false), Ok(Some(_))) {
                return;
            }
            if let Ok(rt) = tokio::runtime::Handle::try_current()
                && let Exit::Pidfd(fd) = std::mem::replace(&mut self.exit, Exit::Thread(None))
            {
                let pid = self.pid;
                rt.spawn(async move {
                    if fd.readable().await.is_ok() && matches!(reap(pid, false), Ok(Some(_))) {
                        drop(init);
                    } else {
                        std::mem::forget(init);
                    }
                });
                return;
            }
        }
        std::mem::forget(init);
    }
}

/// `waitpid` on our own child; `None` if it is still running (`block` false).
#[expect(
    unsafe_code,
    reason = "waitpid(2) on a child of ours, with a local status word"
)]
fn reap(pid: u32, block: bool) -> io::Result<Option<ExitStatus>> {
    let pid = pid.cast_signed();
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid, writable int.
        let r =
            unsafe { libc::waitpid(pid, &raw mut status, if block { 0 } else { libc::WNOHANG }) };
        match r {
            0 => return Ok(None),
            r if r == pid => return Ok(Some(ExitStatus::from_raw(status))),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

fn c_string(bytes: impl Into<Vec<u8>>) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "nul byte found in provided data",
        )
    })
}

/// Everything the child needs, built before it exists: it may not allocate.
struct Setup<'a> {
    program: CString,
    /// NUL-terminated pointers into `_strings`.
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    _strings: Vec<CString>,
    cwd: Option<CString>,
    /// The engine's process id, with the parent-death signal asked for.
    parent: Option<libc::pid_t>,
    /// A pidfd of the engine's process, to see whether it died before the parent-death
    /// signal was set, where `getppid` cannot tell (in a PID namespace it answers 0).
    parent_pidfd: Option<libc::c_int>,
    /// The sandbox, prepared.
    sandbox: Option<&'a Prepared>,
    /// Descriptors for the child's stdin, stdout and stderr.
    stdio: [libc::c_int; 3],
    /// Last signal number to reset.
    last_signal: libc::c_int,
}

impl<'a> Setup<'a> {
    fn new(
        id: Uuid,
        p: &PreparedCommand,
        die_with_engine: bool,
        sandbox: Option<&'a Prepared>,
        stdio: [libc::c_int; 3],
    ) -> io::Result<Self> {
        use std::os::unix::ffi::OsStrExt;
        let program = c_string(p.program.as_os_str().as_bytes())?;
        let mut strings = Vec::with_capacity(p.args.len() + p.env.len() + 2);
        strings.push(program.clone());
        for a in &p.args {
            strings.push(c_string(a.as_bytes())?);
        }
        let argc = strings.len();
        for (k, v) in p.env.iter().filter(|(k, _)| k != EXECUTION_ID_VAR) {
            strings.push(c_string(format!("{k}={v}"))?);
        }
        strings.push(c_string(format!("{EXECUTION_ID_VAR}={id}"))?);
        let pointers = |s: &[CString]| {
            let mut v: Vec<_> = s.iter().map(|c| c.as_ptr()).collect();
            v.push(std::ptr::null());
            v
        };
        let cwd = match &p.cwd {
            Some(dir) => Some(c_string(dir.as_os_str().as_bytes())?),
            None => None,
        };
        Ok(Setup {
            program,
            argv: pointers(&strings[..argc]),
            envp: pointers(&strings[argc..]),
            _strings: strings,
            cwd,
            parent: die_with_engine.then(|| std::process::id().cast_signed()),
            parent_pidfd: if die_with_engine && sandbox.is_some_and(Prepared::pid_namespace) {
                own_pidfd()
            } else {
                None
            },
            sandbox,
            stdio,
            last_signal: libc::SIGRTMAX(),
        })
    }
}

/// A pidfd of this process (made once, kept open, close-on-exec); `None` where the
/// kernel has no pidfds.
#[expect(
    unsafe_code,
    reason = "pidfd_open(2) of our own process; the descriptor is kept for the process's life"
)]
fn own_pidfd() -> Option<libc::c_int> {
    static FD: std::sync::OnceLock<Option<libc::c_int>> = std::sync::OnceLock::new();
    *FD.get_or_init(|| {
        // SAFETY: pidfd_open(2) of ourselves; the new descriptor is never closed.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
        libc::c_int::try_from(fd).ok().filter(|&fd| fd >= 0)
    })
}

/// Spawns the prepared command: its own process group, `stdin` as its standard input
/// (`None`: `/dev/null`), stdout and stderr piped unless `direct` gives a descriptor for
/// them; with `die_with_engine`, SIGKILLed by the kernel when the spawning thread exits;
/// confined by `sandbox` if given (keep it until the command ends: it holds the cgroup).
/// Must be called within a tokio runtime.
pub(crate) fn spawn(
    id: Uuid,
    p: &PreparedCommand,
    die_with_engine: bool,
    sandbox: Option<&Prepared>,
    stdin: Option<OwnedFd>,
    direct: [Option<OwnedFd>; 2],
) -> io::Result<Child> {
    let stdio = Stdio::new(stdin, direct)?;
    let setup = Setup::new(id, p, die_with_engine, sandbox, stdio.raw())?;
    let (pid, init) = if sandbox.is_some_and(Prepared::pid_namespace) {
        let (pid, init) = clone_init(&setup, stdio.child)?;
        (pid, Some(init))
    } else {
        (clone_child(&setup, stdio.child)?, None)
    };
    let mut child = attach(pid, stdio.read, init)?;
    if sandbox.is_some_and(|s| s.clone_flags() & libc::CLONE_NEWNS != 0) {
        // Gone already if the command ended at once: then its namespace went with it.
        child.mount_ns = std::fs::File::open(format!("/proc/{pid}/ns/mnt"))
            .ok()
            .map(OwnedFd::from);
    }
    Ok(child)
}

/// The descriptors of a child's stdin, stdout and stderr.
struct Stdio {
    /// What the child gets as its stdin, stdout and stderr.
    child: [OwnedFd; 3],
    /// The read ends of its stdout and stderr pipes (`None`: a descriptor was given).
    read: [Option<OwnedFd>; 2],
}

impl Stdio {
    /// `stdin` (`None`: `/dev/null`); each output stream a pipe we read, or the
    /// descriptor given in `direct`.
    fn new(stdin: Option<OwnedFd>, direct: [Option<OwnedFd>; 2]) -> io::Result<Self> {
        use nix::fcntl::OFlag;

        let input = match stdin {
            Some(fd) => fd,
            None => std::fs::File::open("/dev/null")?.into(),
        };
        let [out_direct, err_direct] = direct;
        let output = |direct: Option<OwnedFd>| -> io::Result<(Option<OwnedFd>, OwnedFd)> {
            match direct {
                Some(fd) => Ok((None, fd)),
                None => {
                    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
                    Ok((Some(r), w))
                }
            }
        };
        let (out_r, out_w) = output(out_direct)?;
        let (err_r, err_w) = output(err_direct)?;
        Ok(Stdio {
            child: [input, out_w, err_w],
            read: [out_r, err_r],
        })
    }

    /// The child's descriptors, as `Setup` takes them.
    fn raw(&self) -> [libc::c_int; 3] {
        use std::os::fd::AsRawFd;
        self.child.each_ref().map(AsRawFd::as_raw_fd)
    }
}

/// Starts the child as described by `setup`, sharing our memory until it execs, and
/// returns its process id once it has; our copies of its descriptors (`child_fds`) are
/// closed then. A child that failed before its exec is reaped and its errno returned.
#[expect(
    unsafe_code,
    reason = "clone(2) with CLONE_VM | CLONE_VFORK, and the child's side of it"
)]
fn clone_child(setup: &Setup, child_fds: [OwnedFd; 3]) -> io::Result<u32> {
    use nix::sched::CloneFlags;
    use std::sync::atomic::{AtomicI32, AtomicU64};

    // Set by the child when a step fails: the errno, and the sandbox's step if it was one.
    let failed = AtomicI32::new(0);
    let failed_step = AtomicU64::new(0);
    // The child runs on this stack, in our memory, until it execs.
    let mut stack = vec![0u8; STACK];

    let old = block_signals()?;
    // SAFETY: the child shares our memory and runs until it execs or exits, while this
    // thread waits (CLONE_VFORK). It only reads `setup` and stores into `failed`, and
    // `child` makes system calls only: no allocation, no lock, no unwinding.
    let cloned = unsafe {
        nix::sched::clone(
            Box::new(|| {
                let Err(failure) = child(setup);
                failure.store(&failed, &failed_step);
                crate::exit_code::NOT_FOUND as isize
            }),
            &mut stack,
            CloneFlags::CLONE_VM
                | CloneFlags::CLONE_VFORK
                | CloneFlags::from_bits_retain(setup.sandbox.map_or(0, Prepared::clone_flags)),
            Some(libc::SIGCHLD),
        )
    };
    restore_signals(&old);
    drop(child_fds);
    let pid = cloned?.as_raw().cast_unsigned();
    setup_failure(setup, pid, &failed, &failed_step)?;
    Ok(pid)
}

/// The child's failure before its exec, if it reported one (it is then reaped), as the
/// error the spawn returns: a sandbox step is named with its path.
fn setup_failure(
    setup: &Setup,
    pid: u32,
    failed: &std::sync::atomic::AtomicI32,
    failed_step: &std::sync::atomic::AtomicU64,
) -> io::Result<()> {
    use std::sync::atomic::Ordering;
    let errno = failed.load(Ordering::Acquire);
    if errno == 0 {
        return Ok(());
    }
    let _ = reap(pid, true);
    let os = io::Error::from_raw_os_error(errno);
    Err(
        match (
            ChildFailure::decode(failed_step.load(Ordering::Acquire)),
            setup.sandbox,
        ) {
            (Some(f), Some(sandbox)) => io::Error::new(
                os.kind(),
                format!(
                    "sandbox `{}`: {} failed: {os}",
                    sandbox.name(),
                    sandbox.describe(f.step)
                ),
            ),
            _ => os,
        },
    )
}

/// Stack of each clone of ours (pid 1's, and the command's until its exec).
const STACK: usize = 32 << 10;

/// The command's wait status before it has one.
const NO_STATUS: i32 = -1;

/// What pid 1 of a command's PID namespace uses for as long as it lives, in memory the
/// engine frees only once pid 1 is reaped: the two stacks (its own; the command's until
/// it execs) and the command's wait status, which pid 1 stores before it exits.
pub(crate) struct Init {
    stacks: Box<[u8]>,
    status: std::sync::atomic::AtomicI32,
}

/// What pid 1 reads from the engine's stack: only until it closes `ready`, when the
/// engine may return (`clone_init` waits for that).
struct InitArgs<'a> {
    setup: &'a Setup<'a>,
    failed: std::sync::atomic::AtomicI32,
    failed_step: std::sync::atomic::AtomicU64,
    /// The write end of the pipe whose end (EOF) tells the engine that the command has
    /// exec'd or that pid 1 has failed; close-on-exec.
    ready: libc::c_int,
    init: *const Init,
}

/// Starts the command under an init of ours: pid 1 of the new PID namespace is a clone
/// of this process that shares its memory (not its stack) and outlives the spawn. It
/// applies the set-up and the sandbox, starts the command as its child (pid 2, sharing
/// memory until its exec), then only reaps: orphans the namespace inherits, and the
/// command, whose status it stores in [`Init`] before it exits and thereby ends the
/// namespace. A command that is not pid 1 takes its signals as anywhere else: SIGPIPE,
/// the engine's SIGTERM (sent to the process group, which pid 1 leads and the command
/// stays in; pid 1 keeps every signal blocked), SIGXCPU. Returns pid 1's process id
/// once the command has exec'd, and the memory to keep until pid 1 is reaped.
#[expect(
    unsafe_code,
    reason = "clone(2) with CLONE_VM for pid 1, which runs on a stack of its own"
)]
fn clone_init(setup: &Setup, child_fds: [OwnedFd; 3]) -> io::Result<(u32, Box<Init>)> {
    use nix::fcntl::OFlag;
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicI32, AtomicU64};

    let init = Box::new(Init {
        stacks: vec![0u8; 2 * STACK].into_boxed_slice(),
        status: AtomicI32::new(NO_STATUS),
    });
    let (ready_r, ready_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let args = InitArgs {
        setup,
        failed: AtomicI32::new(0),
        failed_step: AtomicU64::new(0),
        ready: ready_w.as_raw_fd(),
        init: &raw const *init,
    };
    // Pid 1's stack is the first half; stacks grow down from the (16-aligned) top.
    let top = stack_top(&init.stacks[..STACK]);

    let old = block_signals()?;
    let flags = libc::CLONE_VM | setup.sandbox.map_or(0, Prepared::clone_flags) | libc::SIGCHLD;
    // SAFETY: pid 1 runs `init_main` on its own stack in `init`, which lives until pid 1
    // is reaped; it reads `args` only until it closes its copy of `ready`, and we do not
    // return before the pipe's end (EOF) says so. Signals stay blocked in it.
    let pid = unsafe { libc::clone(init_main, top, flags, (&raw const args).cast_mut().cast()) };
    let cloned = if pid < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(pid.cast_unsigned())
    };
    restore_signals(&old);
    drop(child_fds);
    drop(ready_w);
    let pid = cloned?;
    // EOF once pid 1 has closed its copy (the command has exec'd, or it failed) and the
    // command's copy went with its exec. A read that fails otherwise cannot tell us
    // when `args` is free: wait for pid 1 itself.
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(&ready_r, &mut byte) {
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid.cast_signed()),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = reap(pid, true);
                return Err(io::Error::other("lost track of the command's init"));
            }
        }
    }
    setup_failure(setup, pid, &args.failed, &args.failed_step)?;
    Ok((pid, init))
}

/// The top of `stack` for `clone`, aligned down to 16 bytes.
fn stack_top(stack: &[u8]) -> *mut libc::c_void {
    let end = stack.as_ptr_range().end as usize;
    (end & !15) as *mut libc::c_void
}

/// Pid 1's side (see [`clone_init`]).
#[expect(
    unsafe_code,
    reason = "pid 1 of a clone(2) with CLONE_VM: raw system calls, and a vfork-style clone of the command"
)]
extern "C" fn init_main(arg: *mut libc::c_void) -> libc::c_int {
    use std::sync::atomic::Ordering;
    // SAFETY: `clone_init` passes a pointer to its `InitArgs`, valid until we close `ready`.
    let args = unsafe { &*arg.cast::<InitArgs>() };
    // SAFETY: `Init` outlives us (freed once we are reaped).
    let init = unsafe { &*args.init };
    let report = |failure: Failure| {
        failure.store(&args.failed, &args.failed_step);
        crate::exit_code::NOT_FOUND as libc::c_int
    };
    if let Err(f) = child_setup(args.setup) {
        return report(f);
    }
    // SAFETY: the command shares our memory and runs on the second stack until it execs
    // or exits, while we wait (CLONE_VFORK); it reads `args` and stores into its atomics.
    let command = unsafe {
        libc::clone(
            command_main,
            stack_top(&init.stacks[STACK..]),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            arg,
        )
    };
    if command < 0 {
        return report(Failure::Errno(errno_now()));
    }
    if args.failed.load(Ordering::Acquire) != 0 {
        // The engine reaps us, not the command: do it here.
        let _ = rustix::process::waitpid(
            rustix::process::Pid::from_raw(command),
            rustix::process::WaitOptions::empty(),
        );
        return crate::exit_code::NOT_FOUND as libc::c_int;
    }
    // We hold a copy of every descriptor the engine had at the clone (we never exec, so
    // close-on-exec does not close them): the read ends of the command's pipes among them,
    // which would keep a writer whose reader went away from its SIGPIPE. All go; `ready`
    // last, which tells the engine, and `args` is not ours any more.
    let ready = args.ready.cast_unsigned();
    close_range(0, ready.saturating_sub(1));
    close_range(ready + 1, u32::MAX);
    // SAFETY: closing a descriptor of this process (its own table: no CLONE_FILES).
    unsafe {
        libc::close(args.ready);
    }
    // Only reaping from here on, with system calls that leave `errno` alone (it is the
    // engine thread's: a clone without CLONE_SETTLS shares its thread pointer).
    loop {
        match rustix::process::wait(rustix::process::WaitOptions::empty()) {
            Ok(Some((pid, status))) if pid.as_raw_nonzero().get() == command => {
                let raw = status.as_raw();
                init.status.store(raw, Ordering::Release);
                return if libc::WIFSIGNALED(raw) {
                    128 + libc::WTERMSIG(raw)
                } else {
                    libc::WEXITSTATUS(raw)
                };
            }
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            // No child left: the command was reaped already (cannot happen: only we reap).
            Err(_) => return crate::exit_code::NOT_FOUND as libc::c_int,
        }
    }
}

/// The command's side under our init: exec, or store why not and exit.
#[expect(
    unsafe_code,
    reason = "the command's side of a vfork-style clone, reading pid 1's arguments"
)]
extern "C" fn command_main(arg: *mut libc::c_void) -> libc::c_int {
    use std::sync::atomic::Ordering;
    // SAFETY: pid 1 passes its pointer to `InitArgs`, valid while pid 1 waits for our exec.
    let args = unsafe { &*arg.cast::<InitArgs>() };
    args.failed.store(child_exec(args.setup), Ordering::Release);
    crate::exit_code::NOT_FOUND as libc::c_int
}

/// Closes the descriptors `first..=last` of this process: `close_range(2)` (Linux 5.9),
/// else one by one up to the descriptor limit.
#[expect(
    unsafe_code,
    reason = "close_range(2) and close(2) on our own descriptors"
)]
fn close_range(first: u32, last: u32) {
    if first > last {
        return;
    }
    // SAFETY: closing descriptors of this process only; nothing here uses them.
    unsafe {
        if libc::syscall(libc::SYS_close_range, first, last, 0) == 0 {
            return;
        }
        let mut limit: libc::rlimit = std::mem::zeroed();
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) == 0 {
            u32::try_from(limit.rlim_cur)
                .unwrap_or(u32::MAX)
                .min(1 << 20)
        } else {
            1024
        };
        for fd in first..=last.min(max.saturating_sub(1)) {
            libc::close(fd.cast_signed());
        }
    }
}

fn errno_now() -> libc::c_int {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EINVAL)
}

/// The parent's side of a running command: the read ends of its pipes, then the waiter
/// for its exit. Anything that fails here must not leave the command behind: it is killed
/// and reaped.
fn attach(
    pid: u32,
    [out_r, err_r]: [Option<OwnedFd>; 2],
    init: Option<Box<Init>>,
) -> io::Result<Child> {
    // The exit's waiter comes last: once it exists, it is the one to reap the child.
    let handles = || -> io::Result<(Exit, Option<Receiver>, Option<Receiver>)> {
        let (stdout, stderr) = (
            out_r.map(Receiver::from_owned_fd).transpose()?,
            err_r.map(Receiver::from_owned_fd).transpose()?,
        );
        Ok((exit_waiter(pid)?, stdout, stderr))
    };
    match handles() {
        Ok((exit, stdout, stderr)) => Ok(Child {
            pid,
            status: None,
            stdout,
            stderr,
            exit,
            init,
            mount_ns: None,
        }),
        Err(e) => {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid.cast_signed()),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = reap(pid, true);
            Err(e)
        }
    }
}

/// How the exit of our unreaped child `pid` is awaited: a pidfd where the kernel has them,
/// else a thread that blocks in `waitpid`.
#[expect(
    unsafe_code,
    reason = "pidfd_open(2) on our unreaped child, and an OwnedFd for the descriptor it returns"
)]
fn exit_waiter(pid: u32) -> io::Result<Exit> {
    // SAFETY: pidfd_open(2) with a pid we have not reaped, so it is still ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let exit = if fd >= 0 {
        // SAFETY: a new descriptor that nothing else owns; the `OwnedFd` keeps it open,
        // unchanged, for as long as the `AsyncFd` holds it.
        let registered = unsafe {
            let fd = <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as libc::c_int);
            tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
        };
        Exit::Pidfd(registered.map_err(|e| e.into_parts().1)?)
    } else {
        Exit::Thread(Some(tokio::task::spawn_blocking(move || {
            reap(pid, true)?.ok_or_else(|| io::Error::other("waitpid returned without a status"))
        })))
    };
    Ok(exit)
}

/// Why the child did not reach its exec.
enum Failure {
    /// A step of its own, with the errno.
    Errno(libc::c_int),
    /// A step of the sandbox.
    Sandbox(ChildFailure),
}

impl Failure {
    /// Stores the failure where the parent reads it: the errno, and the sandbox's step.
    fn store(
        self,
        failed: &std::sync::atomic::AtomicI32,
        failed_step: &std::sync::atomic::AtomicU64,
    ) {
        use std::sync::atomic::Ordering;
        let errno = match self {
            Failure::Errno(errno) => errno,
            Failure::Sandbox(f) => {
                failed_step.store(f.encode(), Ordering::Release);
                f.errno
            }
        };
        failed.store(errno, Ordering::Release);
    }
}

/// Blocks every signal of the calling thread and returns the mask to restore: no signal
/// handler of ours may run in a clone that shares our memory (it would run there) before
/// the clone has set the dispositions back to their defaults.
fn block_signals() -> io::Result<nix::sys::signal::SigSet> {
    let mut old = nix::sys::signal::SigSet::empty();
    nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::all()),
        Some(&mut old),
    )?;
    Ok(old)
}

/// Puts back the mask [`block_signals`] returned.
fn restore_signals(old: &nix::sys::signal::SigSet) {
    let _ = nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(old),
        None,
    );
}

/// The child's side, in the parent's memory: set up, then exec. Returns the step that
/// failed (it returns only on failure).
fn child(s: &Setup) -> Result<std::convert::Infallible, Failure> {
    child_setup(s)?;
    Err(Failure::Errno(child_exec(s)))
}

/// The child's set-up before its exec: stdio, process group, parent-death signal, the
/// sandbox, the working directory.
#[expect(
    unsafe_code,
    reason = "raw system calls in the child of a vfork-style clone"
)]
fn child_setup(s: &Setup) -> Result<(), Failure> {
    let errno = || {
        Failure::Errno(
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL),
        )
    };
    // SAFETY: each call is a system call wrapper on descriptors, strings and structs that
    // `s` and this frame own; none allocates or takes a lock.
    unsafe {
        for (target, &fd) in s.stdio.iter().enumerate() {
            let target = target as libc::c_int;
            // dup2 onto itself would keep close-on-exec: clear the flag instead.
            let r = if fd == target {
                libc::fcntl(fd, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, target)
            };
            if r < 0 {
                return Err(errno());
            }
        }
        if libc::setpgid(0, 0) < 0 {
            return Err(errno());
        }
        if let Some(parent) = s.parent {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) < 0 {
                return Err(errno());
            }
            // The engine died between the clone and the prctl: nobody would kill us. In a
            // PID namespace `getppid` is 0 (the parent is outside): its pidfd tells.
            let died = match s.parent_pidfd {
                Some(fd) => {
                    let mut pfd = libc::pollfd {
                        fd,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    libc::poll(&raw mut pfd, 1, 0) > 0
                }
                None => s.sandbox.is_none_or(|p| !p.pid_namespace()) && libc::getppid() != parent,
            };
            if died {
                return Err(Failure::Errno(libc::ESRCH));
            }
        }
        // The sandbox before the chdir: the working directory is looked up under its mounts.
        if let Some(p) = s.sandbox {
            cloudops_sandbox::apply_in_child(p).map_err(Failure::Sandbox)?;
        }
        if let Some(dir) = &s.cwd
            && libc::chdir(dir.as_ptr()) < 0
        {
            return Err(errno());
        }
    }
    Ok(())
}

/// The child's last steps: signal dispositions and mask back to the defaults, then
/// `execve`; returns why it failed (the errno).
#[expect(
    unsafe_code,
    reason = "raw system calls in the child of a vfork-style clone"
)]
fn child_exec(s: &Setup) -> libc::c_int {
    // SAFETY: as in `child_setup`.
    unsafe {
        // Handlers are the parent's code: back to the defaults (exec would do it, but a
        // signal may come before). SIGPIPE, which Rust ignores, is the child's to take.
        for sig in 1..=s.last_signal {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &raw mut old) < 0 {
                continue;
            }
            let handler = old.sa_sigaction;
            if handler == libc::SIG_DFL || (handler == libc::SIG_IGN && sig != libc::SIGPIPE) {
                continue;
            }
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &raw const default, std::ptr::null_mut());
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &raw const none, std::ptr::null_mut());
        libc::execve(s.program.as_ptr(), s.argv.as_ptr(), s.envp.as_ptr());
    }
    errno_now()
}
