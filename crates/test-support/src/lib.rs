//! Test helpers shared by cloudops's crates (a dev-dependency only): a moto server on loopback for the AWS CLI tests.

#![allow(
    clippy::unwrap_used,
    reason = "test support: a failed set-up is a failed test"
)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto server on loopback, with an AWS config whose profiles (`default`, `production`,
/// `sandbox`) all hold dummy credentials. Killed on drop.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Holds `config` and `credentials`.
    pub dir: tempfile::TempDir,
}

impl Moto {
    /// Starts `moto_server` on a free port and waits until it accepts connections. Panics
    /// with a clear message if moto is not installed (`scripts/setup.sh` installs it with
    /// awscli) or does not start within a minute.
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port on loopback")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "moto_server not found: run scripts/setup.sh (pip install awscli 'moto[server]')",
            );
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline || moto.child.try_wait().ok().flatten().is_some() {
                panic!("moto_server did not start on {}", moto.endpoint);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let write = |name: &str, text: &str| {
            std::fs::write(moto.dir.path().join(name), text).expect("write the aws config");
        };
        write(
            "config",
            "[default]\nregion = us-east-1\n[profile production]\nregion = us-west-2\n\
             [profile sandbox]\nregion = eu-west-1\n",
        );
        let keys = "aws_access_key_id = testing\naws_secret_access_key = testing\n";
        write(
            "credentials",
            &format!("[default]\n{keys}[production]\n{keys}[sandbox]\n{keys}"),
        );
        moto
    }

    /// The variables that point the aws CLI at this server and its config.
    pub fn env(&self) -> Vec<(String, String)> {
        let p = |f: &str| self.dir.path().join(f).to_string_lossy().into_owned();
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_CONFIG_FILE".into(), p("config")),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), p("credentials")),
            ("AWS_PAGER".into(), String::new()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
