//! A plugin's tightening applied to the sandbox of a decision: the sandbox crate takes away what it can, and this adds, for the trace, what was ignored and why.
//!
//! Every line goes into the plugin's [`DecisionStep::tightened`]
//! (`cloudops_execution_engine::DecisionStep`): first what changed (`network loopback ->
//! none`, `hide /p/.env`, `protect /p/Cargo.lock`, `no write to /tmp`, as
//! [`Sandbox::tighten`] words them), then one `ignored: ...` line per item that changed
//! nothing, with the reason (a wider network, a relative path, a path not writable anyway,
//! ...). In audit mode nothing is applied and every line starts `audit, not applied: `.
//! Without a sandbox there is nothing to tighten, and one line says so.

use std::path::{Component, Path, PathBuf};

use cloudops_execution_engine::sandbox::{Sandbox, Tightening};

/// The most paths of each list of a tightening that are considered; the rest are ignored
/// (with one line saying how many), so that an answer cannot swell the decision record.
pub const MAX_TIGHTENING_PATHS: usize = 64;

/// The longest path a tightening may name, in bytes.
const MAX_PATH_BYTES: usize = 4096;

/// Applies `t` to `sandbox` (unless `audit`) and returns the trace lines.
pub(crate) fn apply(sandbox: &mut Option<Sandbox>, t: &Tightening, audit: bool) -> Vec<String> {
    if t.is_empty() {
        return Vec::new();
    }
    let Some(sb) = sandbox.as_mut() else {
        return vec![
            "nothing to tighten: the policy chose no sandbox (the command runs unconfined)"
                .to_string(),
        ];
    };
    let mut ignored = Vec::new();
    let usable = screen(sb, t, &mut ignored);
    let mut lines = if audit {
        sb.clone().tighten(&usable)
    } else {
        sb.tighten(&usable)
    };
    lines.extend(ignored);
    if audit {
        for l in &mut lines {
            l.insert_str(0, "audit, not applied: ");
        }
    }
    lines
}

/// The part of `t` that can change `sb`; a line in `ignored` for everything else.
fn screen(sb: &Sandbox, t: &Tightening, ignored: &mut Vec<String>) -> Tightening {
    let mut usable = Tightening::default();
    if let Some(n) = t.network {
        if n < sb.network {
            usable.network = Some(n);
        } else if n == sb.network {
            ignored.push(format!("ignored: network {} (already so)", n.as_str()));
        } else {
            ignored.push(format!(
                "ignored: network {} (wider than {}: a plugin can only narrow the sandbox)",
                n.as_str(),
                sb.network.as_str()
            ));
        }
    }
    let lists: [(&str, &Vec<PathBuf>, &mut Vec<PathBuf>); 3] = [
        ("hide", &t.hide, &mut usable.hide),
        ("protect", &t.protect, &mut usable.protect),
        ("no write to", &t.drop_write, &mut usable.drop_write),
    ];
    for (what, asked, keep) in lists {
        for p in asked.iter().take(MAX_TIGHTENING_PATHS) {
            let why = if let Some(bad) = unusable(p) {
                Some(bad)
            } else {
                match what {
                    "hide" if sb.hidden.contains(p) => Some("already hidden"),
                    "protect" if sb.protected.contains(p) => Some("already protected"),
                    "protect" if !sb.is_writable(p) => Some("not writable anyway"),
                    "no write to" if !sb.write.iter().any(|w| w.starts_with(p)) => {
                        Some("no writable root at or under it")
                    }
                    _ => None,
                }
            };
            match why {
                Some(why) => ignored.push(format!("ignored: {what} {} ({why})", p.display())),
                None => keep.push(p.clone()),
            }
        }
        if asked.len() > MAX_TIGHTENING_PATHS {
            ignored.push(format!(
                "ignored: {} more {what} paths (at most {MAX_TIGHTENING_PATHS} are considered)",
                asked.len() - MAX_TIGHTENING_PATHS
            ));
        }
    }
    usable
}

/// Why `p` cannot be used in a tightening, if it cannot.
fn unusable(p: &Path) -> Option<&'static str> {
    if p.as_os_str().len() > MAX_PATH_BYTES {
        Some("longer than 4096 bytes")
    } else if !p.is_absolute() {
        Some("not an absolute path")
    } else if p.components().any(|c| c == Component::ParentDir) {
        Some("has a `..` component")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudops_execution_engine::sandbox::Network;

    fn sb() -> Sandbox {
        Sandbox {
            hidden: vec!["/home/u/.ssh".into()],
            network: Network::Loopback,
            ..Sandbox::new("agent", vec!["/w".into(), "/tmp".into()])
        }
    }

    #[test]
    fn what_would_loosen_or_change_nothing_is_ignored_and_said() {
        let mut s = Some(sb());
        let lines = apply(
            &mut s,
            &Tightening {
                network: Some(Network::All),
                hide: vec!["rel/x".into(), "/home/u/.ssh".into(), "/w/../etc".into()],
                protect: vec!["/etc/passwd".into()],
                drop_write: vec!["/opt".into()],
            },
            false,
        );
        assert_eq!(s, Some(sb()), "nothing changed");
        assert_eq!(
            lines,
            [
                "ignored: network all (wider than loopback: a plugin can only narrow the sandbox)",
                "ignored: hide rel/x (not an absolute path)",
                "ignored: hide /home/u/.ssh (already hidden)",
                "ignored: hide /w/../etc (has a `..` component)",
                "ignored: protect /etc/passwd (not writable anyway)",
                "ignored: no write to /opt (no writable root at or under it)",
            ]
        );
    }

    #[test]
    fn a_tightening_applies_and_lists_its_changes() {
        let mut s = Some(sb());
        let lines = apply(
            &mut s,
            &Tightening {
                network: Some(Network::None),
                hide: vec!["/w/.env".into()],
                protect: vec!["/w/Cargo.lock".into()],
                drop_write: vec!["/tmp".into()],
            },
            false,
        );
        assert_eq!(
            lines,
            [
                "network loopback -> none",
                "hide /w/.env",
                "protect /w/Cargo.lock",
                "no write to /tmp"
            ]
        );
        let s = s.unwrap();
        assert_eq!(s.network, Network::None);
        assert_eq!(s.write, [PathBuf::from("/w")]);
    }

    #[test]
    fn audit_records_without_applying_and_no_sandbox_is_said() {
        let t = Tightening {
            network: Some(Network::None),
            ..Tightening::default()
        };
        let mut s = Some(sb());
        assert_eq!(
            apply(&mut s, &t, true),
            ["audit, not applied: network loopback -> none"]
        );
        assert_eq!(s, Some(sb()));
        let mut none = None;
        let lines = apply(&mut none, &t, false);
        assert!(lines[0].starts_with("nothing to tighten"), "{lines:?}");
        assert!(apply(&mut Some(sb()), &Tightening::default(), false).is_empty());
    }

    #[test]
    fn at_most_64_paths_of_a_list_are_considered() {
        let mut s = Some(sb());
        let hide: Vec<PathBuf> = (0..70).map(|i| PathBuf::from(format!("/w/{i}"))).collect();
        let lines = apply(
            &mut s,
            &Tightening {
                hide,
                ..Tightening::default()
            },
            false,
        );
        assert_eq!(s.unwrap().hidden.len(), 1 + MAX_TIGHTENING_PATHS);
        assert_eq!(
            lines.last().unwrap(),
            "ignored: 6 more hide paths (at most 64 are considered)"
        );
    }
}
