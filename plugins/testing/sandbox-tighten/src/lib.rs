//! Test plugin of interface 0.3.0 (built with the SDK): answers with the tightening its
//! config names (`network`, `hide`, `protect`, `drop_write`) and the verdict it names:
//! `allow`, `deny`, or `show` (deny with a description of the sandbox it saw, so that a
//! test can tell what an earlier plugin's tightening did to the request).

use cloudops_plugin_sdk::serde::Deserialize;
use cloudops_plugin_sdk::{
    Answer, Config, NetworkAccess, Plugin, Request, Tightening, Verdict, register_plugin,
};

#[derive(Deserialize, Default)]
#[serde(crate = "cloudops_plugin_sdk::serde", deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    network: Option<String>,
    #[serde(default)]
    hide: Vec<String>,
    #[serde(default)]
    protect: Vec<String>,
    #[serde(default)]
    drop_write: Vec<String>,
    #[serde(default)]
    verdict: Option<String>,
}

/// The plugin: the tightening and the verdict it answers with.
pub struct SandboxTighten {
    tightening: Tightening,
    verdict: String,
}

fn network(name: &str) -> Result<NetworkAccess, String> {
    match name {
        "none" => Ok(NetworkAccess::None),
        "loopback" => Ok(NetworkAccess::Loopback),
        "all" => Ok(NetworkAccess::All),
        other => Err(format!("unknown network {other:?}")),
    }
}

/// `sandbox=none`, or `sandbox=NAME network=N write=[..] hidden=[..] protected=[..]`.
fn describe(req: &Request) -> String {
    match req.sandbox() {
        None => "sandbox=none".to_string(),
        Some(s) => format!(
            "sandbox={} network={} write=[{}] hidden=[{}] protected=[{}]",
            s.name,
            s.network.as_str(),
            s.write.join(","),
            s.hidden.join(","),
            s.protected.join(",")
        ),
    }
}

impl Plugin for SandboxTighten {
    fn init(config: Config) -> Result<Self, String> {
        let s: Settings = config.parse()?;
        let mut t = Tightening::new();
        if let Some(n) = &s.network {
            t = t.network(network(n)?);
        }
        t.hide = s.hide;
        t.protect = s.protect;
        t.drop_write = s.drop_write;
        Ok(SandboxTighten {
            tightening: t,
            verdict: s.verdict.unwrap_or_else(|| "allow".into()),
        })
    }

    fn answer(&self, req: &Request) -> Answer {
        let verdict = match self.verdict.as_str() {
            "deny" => Verdict::deny("denied by sandbox-tighten"),
            "show" => Verdict::deny(describe(req)),
            _ => Verdict::Allow,
        };
        verdict.tighten(self.tightening.clone())
    }
}

register_plugin!(SandboxTighten);
