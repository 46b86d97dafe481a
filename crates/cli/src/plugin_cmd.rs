//! `cloudops plugin build` and `cloudops plugin request`: thin wrappers over `cloudops-plugin-build` and the plugin host's request view.

use std::path::Path;

use cloudops_execution_engine::Command;
use cloudops_plugin_build::{BuildError, Project};
use serde_json::json;

use crate::render::UserError;
use crate::settings::Common;

/// Builds the plugin in `dir` and says where the component went.
pub fn build(common: &Common, dir: &Path) -> anyhow::Result<i32> {
    let project = Project::open(dir).map_err(build_error)?;
    if common.verbosity >= 0 && !common.json {
        eprintln!(
            "Building the {} plugin `{}` in {} ...",
            project.lang.name(),
            project.name,
            dir.display()
        );
    }
    let built = project.build().map_err(build_error)?;
    let mib = built.bytes as f64 / (1024.0 * 1024.0);
    if common.json {
        println!(
            "{}",
            json!({
                "name": project.name,
                "lang": project.lang.name(),
                "wasm": built.wasm.display().to_string(),
                "bytes": built.bytes,
                "elapsed_ms": built.elapsed.as_millis() as u64,
                "tool": built.tool,
            })
        );
    } else if common.verbosity >= 0 {
        println!(
            "Built {} ({mib:.1} MiB) with {} in {:.1} s\nNext: cloudops policy test {}",
            built.wasm.display(),
            built.tool,
            built.elapsed.as_secs_f64(),
            dir.join("policy.toml").display()
        );
    }
    Ok(0)
}

/// A build error for the renderer: its message, and the install command as the hint.
fn build_error(e: BuildError) -> anyhow::Error {
    match e.hint() {
        Some(hint) => anyhow::Error::new(e)
            .context(UserError::new("the plugin could not be built").hint(hint)),
        None => anyhow::Error::new(e),
    }
}

/// Prints the request a plugin would receive for `command` (with the common options).
pub fn request(common: &Common, command: Command) -> anyhow::Result<i32> {
    let req = crate::exec::request(common, command);
    let view = cloudops_plugin_host::request_view(&req, common.profile.as_deref(), None);
    println!("{view}");
    Ok(0)
}
