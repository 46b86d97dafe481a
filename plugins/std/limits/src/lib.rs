//! limits: clamps `timeout_ms` to a maximum and sets a default when it is missing (both
//! rewrites), and refuses oversized requests: command text length, argument count,
//! environment size. See README.md for the config.

use cloudops_plugin_sdk::{Command, Config, Plugin, Request, Verdict, register_plugin};
use serde::Deserialize;

/// The `config` table; every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Longest timeout a request may ask for; longer ones are clamped (rewrite).
    #[serde(default = "max_timeout")]
    pub max_timeout_ms: u64,
    /// Timeout set on requests that have none (rewrite); `0` leaves them alone.
    #[serde(default = "default_timeout")]
    pub default_timeout_ms: u64,
    /// Longest command text in bytes (script text, or program and arguments).
    #[serde(default = "max_command")]
    pub max_command_bytes: usize,
    /// Most arguments: of an exec or aws command, and of any one simple command.
    #[serde(default = "max_args")]
    pub max_args: usize,
    /// Most simple commands in one request.
    #[serde(default = "max_commands")]
    pub max_commands: usize,
    /// Most variables the request may add to the environment.
    #[serde(default = "max_env_vars")]
    pub max_env_vars: usize,
    /// Largest total size of those variables (`name=value` bytes).
    #[serde(default = "max_env_bytes")]
    pub max_env_bytes: usize,
}

fn max_timeout() -> u64 {
    3_600_000
}
fn default_timeout() -> u64 {
    600_000
}
fn max_command() -> usize {
    64 * 1024
}
fn max_args() -> usize {
    4096
}
fn max_commands() -> usize {
    1000
}
fn max_env_vars() -> usize {
    256
}
fn max_env_bytes() -> usize {
    64 * 1024
}

/// The plugin.
pub struct Limits(Settings);

impl Plugin for Limits {
    fn init(config: Config) -> Result<Self, String> {
        let s: Settings = config.parse()?;
        if s.max_timeout_ms == 0 {
            return Err("invalid plugin config: `max_timeout_ms` must be > 0".into());
        }
        if s.default_timeout_ms > s.max_timeout_ms {
            return Err(format!(
                "invalid plugin config: `default_timeout_ms` ({}) exceeds `max_timeout_ms` ({})",
                s.default_timeout_ms, s.max_timeout_ms
            ));
        }
        Ok(Limits(s))
    }

    fn check(&self, request: &Request) -> Verdict {
        let s = &self.0;
        let len = request.command.text_len();
        if len > s.max_command_bytes {
            return Verdict::deny(format!(
                "limits: the command is {len} bytes long; the limit is {}",
                s.max_command_bytes
            ));
        }
        let args = match &request.command {
            Command::Exec(e) => e.args.len(),
            Command::Aws(a) => a.args.len(),
            _ => 0,
        };
        let most = request
            .commands()
            .map(|c| c.argv.len().saturating_sub(1))
            .max()
            .unwrap_or(0)
            .max(args);
        if most > s.max_args {
            return Verdict::deny(format!(
                "limits: a command has {most} arguments; the limit is {}",
                s.max_args
            ));
        }
        let commands = request.normalized.commands.len();
        if commands > s.max_commands {
            return Verdict::deny(format!(
                "limits: the request holds {commands} commands; the limit is {}",
                s.max_commands
            ));
        }
        if request.env.len() > s.max_env_vars {
            return Verdict::deny(format!(
                "limits: the request sets {} environment variables; the limit is {}",
                request.env.len(),
                s.max_env_vars
            ));
        }
        let env_bytes: usize = request
            .env
            .iter()
            .map(|v| v.name.len() + v.value.len() + 1)
            .sum();
        if env_bytes > s.max_env_bytes {
            return Verdict::deny(format!(
                "limits: the request environment is {env_bytes} bytes; the limit is {}",
                s.max_env_bytes
            ));
        }
        match request.timeout_ms {
            Some(t) if t > s.max_timeout_ms => request
                .clone()
                .with_timeout_ms(Some(s.max_timeout_ms))
                .into_rewrite(format!(
                    "limits: timeout {t} ms clamped to {} ms",
                    s.max_timeout_ms
                )),
            None if s.default_timeout_ms > 0 => request
                .clone()
                .with_timeout_ms(Some(s.default_timeout_ms))
                .into_rewrite(format!(
                    "limits: no timeout given; set to {} ms",
                    s.default_timeout_ms
                )),
            _ => Verdict::Allow,
        }
    }
}

register_plugin!(Limits);

#[cfg(test)]
mod tests {
    use super::*;
    use cloudops_plugin_sdk::testing::{exec, load, shell};

    fn limits(json: &str) -> Limits {
        load::<Limits>(json).expect("config loads")
    }

    #[test]
    fn long_timeouts_are_clamped_and_missing_ones_defaulted() {
        let l = limits(r#"{"max_timeout_ms": 60000, "default_timeout_ms": 30000}"#);
        let v = l.check(&shell("sleep 1").with_timeout_ms(Some(999_999)));
        assert_eq!(v.rewritten().unwrap().timeout_ms, Some(60_000));
        assert!(v.reason().unwrap().contains("clamped"));
        let v = l.check(&shell("sleep 1"));
        assert_eq!(v.rewritten().unwrap().timeout_ms, Some(30_000));
        assert!(
            l.check(&shell("sleep 1").with_timeout_ms(Some(5_000)))
                .is_allow()
        );
        let keep = limits(r#"{"default_timeout_ms": 0}"#);
        assert!(keep.check(&shell("sleep 1")).is_allow());
    }

    #[test]
    fn oversized_requests_are_denied_with_the_limit_named() {
        let l = limits(
            r#"{"max_command_bytes": 100, "max_args": 3, "max_env_vars": 1, "max_env_bytes": 20}"#,
        );
        let v = l.check(&shell(&"echo x; ".repeat(20)));
        assert!(v.is_deny() && v.reason().unwrap().contains("100"), "{v:?}");
        let v = l.check(&exec("echo", &["a", "b", "c", "d"]));
        assert!(
            v.is_deny() && v.reason().unwrap().contains("arguments"),
            "{v:?}"
        );
        let v = l.check(&exec("echo", &[]).with_env("A", "1").with_env("B", "2"));
        assert!(
            v.is_deny() && v.reason().unwrap().contains("variables"),
            "{v:?}"
        );
        let v = l.check(&exec("echo", &[]).with_env("A", &"x".repeat(50)));
        assert!(
            v.is_deny() && v.reason().unwrap().contains("bytes"),
            "{v:?}"
        );
        let ok = l.check(&exec("echo", &["a"]).with_timeout_ms(Some(1000)));
        assert!(ok.is_allow(), "{ok:?}");
    }

    #[test]
    fn too_many_commands_are_denied_counting_nested_scripts() {
        let l = limits(r#"{"max_commands": 3}"#);
        let v = l.check(&shell("true; true; true; true"));
        assert!(
            v.is_deny() && v.reason().unwrap().contains("4 commands"),
            "{v:?}"
        );
        // The commands of a `bash -c` script count too (the host reports them).
        let v = l.check(&shell("bash -c 'true; true; true'"));
        assert!(v.is_deny(), "{v:?}");
        let v = l.check(&exec("bash", &["-c", "true; true; true"]));
        assert!(v.is_deny(), "{v:?}");
        let ok = l.check(&shell("true; true; true").with_timeout_ms(Some(1000)));
        assert!(ok.is_allow(), "{ok:?}");
    }

    #[test]
    fn inconsistent_config_is_refused() {
        let err = load::<Limits>(r#"{"max_timeout_ms": 10, "default_timeout_ms": 20}"#)
            .err()
            .unwrap();
        assert!(err.contains("default_timeout_ms"), "{err}");
        assert!(load::<Limits>(r#"{"max_timeout": 10}"#).is_err());
    }
}
