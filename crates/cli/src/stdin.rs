//! What a command run by `cloudops` reads: our own stdin (a pipe or file as it is, a terminal through a pipe), or nothing with `--no-stdin`.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use cloudops_execution_engine::Stdin;

/// The command's stdin. A pipe or a file is handed over as it is: the command reads it
/// directly, with the kernel's backpressure and end of file. A terminal is read here and
/// copied into a pipe (see [`TerminalCopy`]): the command runs in a process group of its
/// own, which may not read the terminal itself. `/dev/null` when `no_stdin`, or when our
/// stdin is closed.
pub fn for_command(no_stdin: bool) -> (Stdin, Option<TerminalCopy>) {
    if no_stdin {
        return (Stdin::Null, None);
    }
    let ours = std::io::stdin();
    if nix::unistd::isatty(ours.as_fd()).unwrap_or(false) {
        return match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
            Ok((read, write)) => (Stdin::Fd(read), Some(TerminalCopy(write))),
            Err(_) => (Stdin::Null, None),
        };
    }
    let stdin = ours
        .as_fd()
        .try_clone_to_owned()
        .map_or(Stdin::Null, Stdin::Fd);
    (stdin, None)
}

/// The writing end of the pipe a command reads instead of our terminal.
pub struct TerminalCopy(OwnedFd);

impl TerminalCopy {
    /// Starts copying: what is typed goes to the command, Ctrl-D closes the pipe. Called
    /// once the command runs, so that a y/N prompt before it reads its own answer. The
    /// thread reads only while we are the terminal's foreground process group (it waits
    /// for input with `poll`, which does not stop a background job the way a read would),
    /// and ends with the pipe (the command gone) or with the process.
    pub fn start(self) {
        let mut write = std::fs::File::from(self.0);
        let spawned = std::thread::Builder::new()
            .name("cloudops-stdin".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                let mut buf = vec![0; 16 << 10];
                loop {
                    let mut fds = [nix::poll::PollFd::new(
                        stdin.as_fd(),
                        nix::poll::PollFlags::POLLIN,
                    )];
                    match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(200u16)) {
                        Ok(0) => continue,
                        Ok(_) => {}
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(_) => return,
                    }
                    let foreground = nix::unistd::tcgetpgrp(stdin.as_fd())
                        .is_ok_and(|pgrp| pgrp == nix::unistd::getpgrp());
                    if !foreground {
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                    match stdin.lock().read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            if write.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => return,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start copying the terminal to the command");
        }
    }
}
