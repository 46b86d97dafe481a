//! cloudops-plugin-build: builds a plugin that `cloudops plugin new` scaffolded (Rust with cargo, Python with componentize-py, JavaScript with componentize-js) into `DIR/NAME.wasm`, at the pinned tool versions.
//!
//! A scaffolded plugin has a [`MANIFEST`] (`cloudops-plugin.toml`: its name, language, and
//! for Python and JavaScript the WIT directory and SDK of the cloudops source tree that
//! made it). A Rust crate without one (scaffolded before the manifest existed) is taken
//! as Rust from its `Cargo.toml`. A tool that is missing or at another version is an
//! error whose [`BuildError::hint`] is the exact command that installs the pinned one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// The file `cloudops plugin new` writes into a plugin's directory.
pub const MANIFEST: &str = "cloudops-plugin.toml";
/// The componentize-py release Python plugins are built and tested with (PyPI).
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// The componentize-js release JavaScript plugins are built and tested with (npm
/// `@bytecodealliance/componentize-js`).
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";
/// Where a JavaScript plugin's bundle goes, relative to its directory.
pub const JS_BUNDLE: &str = ".cloudops-build/app.js";
/// The WIT world every plugin implements.
pub const WORLD: &str = "plugin";

/// A plugin's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// A cdylib crate on `cloudops-plugin-sdk`, built for wasm32-wasip2 by cargo.
    Rust,
    /// `app.py` on the Python SDK, built by componentize-py.
    Python,
    /// `app.js` on the JavaScript SDK, built by componentize-js.
    Js,
}

impl Lang {
    /// Reads `rust`, `python` (or `py`) and `js` (or `javascript`).
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "rust" => Some(Lang::Rust),
            "python" | "py" => Some(Lang::Python),
            "js" | "javascript" => Some(Lang::Js),
            _ => None,
        }
    }

    /// The name written in the manifest: `rust`, `python`, `js`.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }
}

/// Why a plugin could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The directory has neither a manifest nor a `Cargo.toml`.
    #[error(
        "'{dir}' is not a plugin made by `cloudops plugin new`: it has no {MANIFEST} (nor Cargo.toml)"
    )]
    NotAPlugin {
        /// The directory.
        dir: PathBuf,
    },
    /// The manifest could not be read or parsed.
    #[error("cannot read the plugin manifest '{path}'")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The manifest names a language this build does not know.
    #[error("'{path}': unknown lang {lang:?} (expected rust, python or js)")]
    UnknownLang {
        /// The manifest.
        path: PathBuf,
        /// The language as written.
        lang: String,
    },
    /// A tool is not installed.
    #[error("{tool} is not installed (needed to build {lang} plugins)")]
    MissingTool {
        /// The tool.
        tool: &'static str,
        /// The plugin's language.
        lang: &'static str,
        /// The command that installs it.
        install: String,
    },
    /// A tool is installed at another version than the pinned one.
    #[error("{tool} {found} found at '{path}', but {lang} plugins are built with {tool} {wanted}")]
    WrongVersion {
        /// The tool.
        tool: &'static str,
        /// Where it was found.
        path: PathBuf,
        /// Its version.
        found: String,
        /// The pinned version.
        wanted: &'static str,
        /// The plugin's language.
        lang: &'static str,
        /// The command that installs the pinned version.
        install: String,
    },
    /// The tool could not be started.
    #[error("could not run {tool} ('{path}')")]
    Spawn {
        /// The tool.
        tool: &'static str,
        /// Its path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The tool ran and failed (its own messages went to stderr).
    #[error("{tool} failed ({status}); its messages are above")]
    Failed {
        /// The tool.
        tool: &'static str,
        /// How it ended.
        status: std::process::ExitStatus,
    },
    /// The tool succeeded but its output is not where it should be.
    #[error("{tool} succeeded but wrote no '{path}'")]
    NoOutput {
        /// The tool.
        tool: &'static str,
        /// The expected file.
        path: PathBuf,
    },
    /// Copying the built component into place failed.
    #[error("could not copy '{from}' to '{to}'")]
    Copy {
        /// The build output.
        from: PathBuf,
        /// The destination.
        to: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl BuildError {
    /// What to do about it: the install command of a missing or wrong tool.
    pub fn hint(&self) -> Option<String> {
        match self {
            BuildError::MissingTool { install, .. } | BuildError::WrongVersion { install, .. } => {
                Some(install.clone())
            }
            BuildError::NotAPlugin { .. } => Some(
                "create one with `cloudops plugin new NAME --lang rust|python|js`, or pass its directory"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// The manifest's contents.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    name: String,
    lang: String,
    wit: Option<PathBuf>,
    sdk: Option<PathBuf>,
}

/// A plugin's directory, read.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory.
    pub dir: PathBuf,
    /// The plugin's name (the component is `dir/NAME.wasm`).
    pub name: String,
    /// Its language.
    pub lang: Lang,
    /// The WIT directory it is built against (Python, JavaScript).
    pub wit: Option<PathBuf>,
    /// The SDK directory (Python: put on componentize-py's path).
    pub sdk: Option<PathBuf>,
}

/// A successful build.
#[derive(Debug, Clone)]
pub struct Built {
    /// The component.
    pub wasm: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// How long the build took.
    pub elapsed: Duration,
    /// The tool and its version (`componentize-py 0.25.1`, `cargo`).
    pub tool: String,
}

impl Project {
    /// Reads `dir`'s manifest (or, without one, its `Cargo.toml` as a Rust plugin). The
    /// project's `dir` is made absolute: the tools run in it.
    pub fn open(dir: &Path) -> Result<Project, BuildError> {
        let dir = &std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let manifest = dir.join(MANIFEST);
        if manifest.is_file() {
            let text = std::fs::read_to_string(&manifest).map_err(|e| BuildError::Manifest {
                path: manifest.clone(),
                source: Box::new(e),
            })?;
            let m: Manifest = toml::from_str(&text).map_err(|e| BuildError::Manifest {
                path: manifest.clone(),
                source: Box::new(e),
            })?;
            let lang = Lang::parse(&m.lang).ok_or_else(|| BuildError::UnknownLang {
                path: manifest.clone(),
                lang: m.lang.clone(),
            })?;
            return Ok(Project {
                dir: dir.to_path_buf(),
                name: m.name,
                lang,
                wit: m.wit,
                sdk: m.sdk,
            });
        }
        let cargo = dir.join("Cargo.toml");
        if cargo.is_file() {
            let text = std::fs::read_to_string(&cargo).map_err(|e| BuildError::Manifest {
                path: cargo.clone(),
                source: Box::new(e),
            })?;
            let t: toml::Table = toml::from_str(&text).map_err(|e| BuildError::Manifest {
                path: cargo.clone(),
                source: Box::new(e),
            })?;
            let name = t
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or("plugin")
                .to_string();
            return Ok(Project {
                dir: dir.to_path_buf(),
                name,
                lang: Lang::Rust,
                wit: None,
                sdk: None,
            });
        }
        Err(BuildError::NotAPlugin {
            dir: dir.to_path_buf(),
        })
    }

    /// Where the component goes: `DIR/NAME.wasm` (what the scaffold's `policy.toml` loads).
    pub fn output(&self) -> PathBuf {
        self.dir.join(format!("{}.wasm", self.name))
    }

    /// Builds the component; the tool's own output goes to this process's stderr.
    pub fn build(&self) -> Result<Built, BuildError> {
        let t0 = Instant::now();
        let out = self.output();
        let tool = match self.lang {
            Lang::Rust => self.build_rust(&out)?,
            Lang::Python => self.build_python(&out)?,
            Lang::Js => self.build_js(&out)?,
        };
        let bytes = std::fs::metadata(&out)
            .map_err(|_| BuildError::NoOutput {
                tool: "the build",
                path: out.clone(),
            })?
            .len();
        Ok(Built {
            wasm: out,
            bytes,
            elapsed: t0.elapsed(),
            tool,
        })
    }

    fn build_rust(&self, out: &Path) -> Result<String, BuildError> {
        let cargo = find_on_path("cargo").ok_or_else(|| BuildError::MissingTool {
            tool: "cargo",
            lang: "rust",
            install: "install Rust with rustup (https://rustup.rs), then: rustup target add wasm32-wasip2".into(),
        })?;
        if let Some(rustup) = find_on_path("rustup") {
            let installed = Command::new(rustup)
                .args(["target", "list", "--installed"])
                .current_dir(&self.dir)
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .any(|l| l.trim() == "wasm32-wasip2")
                })
                .unwrap_or(true);
            if !installed {
                return Err(BuildError::MissingTool {
                    tool: "the wasm32-wasip2 target",
                    lang: "rust",
                    install: "rustup target add wasm32-wasip2".into(),
                });
            }
        }
        run(
            "cargo",
            Command::new(&cargo)
                .args(["build", "--release", "--target", "wasm32-wasip2"])
                .current_dir(&self.dir),
        )?;
        // Where cargo put it: $CARGO_TARGET_DIR (relative to the crate) or DIR/target.
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(|t| self.dir.join(t))
            .unwrap_or_else(|| self.dir.join("target"));
        let built = target.join(format!(
            "wasm32-wasip2/release/{}.wasm",
            self.name.replace('-', "_")
        ));
        if !built.is_file() {
            return Err(BuildError::NoOutput {
                tool: "cargo",
                path: built,
            });
        }
        std::fs::copy(&built, out).map_err(|source| BuildError::Copy {
            from: built.clone(),
            to: out.to_path_buf(),
            source,
        })?;
        Ok("cargo".into())
    }

    fn build_python(&self, out: &Path) -> Result<String, BuildError> {
        let install = format!("python3 -m pip install componentize-py=={COMPONENTIZE_PY_VERSION}");
        let candidates = [self.dir.join(".venv/bin/componentize-py")];
        let tool =
            find_tool(&candidates, "componentize-py").ok_or_else(|| BuildError::MissingTool {
                tool: "componentize-py",
                lang: "python",
                install: install.clone(),
            })?;
        check_version(
            &tool,
            "componentize-py",
            COMPONENTIZE_PY_VERSION,
            "python",
            &install,
        )?;
        let mut cmd = Command::new(&tool);
        cmd.current_dir(&self.dir);
        if let Some(wit) = &self.wit {
            cmd.arg("-d").arg(wit);
        }
        cmd.args(["-w", WORLD, "componentize"]);
        if let Some(sdk) = &self.sdk {
            cmd.arg("-p").arg(sdk);
        }
        cmd.args(["-p", ".", "app", "-o"]).arg(out);
        run("componentize-py", &mut cmd)?;
        Ok(format!("componentize-py {COMPONENTIZE_PY_VERSION}"))
    }

    fn build_js(&self, out: &Path) -> Result<String, BuildError> {
        let install = format!(
            "cd '{}' && npm install   # package.json pins @bytecodealliance/componentize-js {COMPONENTIZE_JS_VERSION} and links the SDK",
            self.dir.display()
        );
        let candidates = [self.dir.join("node_modules/.bin/componentize-js")];
        let tool =
            find_tool(&candidates, "componentize-js").ok_or_else(|| BuildError::MissingTool {
                tool: "componentize-js",
                lang: "js",
                install: install.clone(),
            })?;
        check_version(
            &tool,
            "componentize-js",
            COMPONENTIZE_JS_VERSION,
            "js",
            &install,
        )?;
        if !self.dir.join("node_modules/cloudops-plugin").exists() {
            return Err(BuildError::MissingTool {
                tool: "the cloudops-plugin SDK (node_modules/cloudops-plugin)",
                lang: "js",
                install,
            });
        }
        // componentize-js resolves relative imports only: app.js and what it imports (the
        // SDK from node_modules) are bundled into one module first, by the rolldown that
        // componentize-js 0.23.0 brings (through jco).
        let rolldown = self.dir.join("node_modules/.bin/rolldown");
        if !rolldown.is_file() {
            return Err(BuildError::MissingTool {
                tool: "rolldown (installed with componentize-js)",
                lang: "js",
                install,
            });
        }
        let bundle = Path::new(JS_BUNDLE);
        run(
            "rolldown",
            Command::new(&rolldown)
                .current_dir(&self.dir)
                .args(["app.js", "--format", "esm", "--file"])
                .arg(bundle),
        )?;
        let mut cmd = Command::new(&tool);
        cmd.current_dir(&self.dir).arg(bundle);
        if let Some(wit) = &self.wit {
            cmd.arg("--wit").arg(wit);
        }
        cmd.args([
            "--world-name",
            WORLD,
            "--disable",
            "http",
            "fetch-event",
            "-o",
        ])
        .arg(out);
        run("componentize-js", &mut cmd)?;
        Ok(format!("componentize-js {COMPONENTIZE_JS_VERSION}"))
    }
}

/// The first of `candidates` that exists, else `name` on PATH.
fn find_tool(candidates: &[PathBuf], name: &str) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|c| c.is_file())
        .cloned()
        .or_else(|| find_on_path(name))
}

/// `name` on `$PATH`, as a shell would find it.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Runs `tool --version` and compares its last word with `wanted`.
fn check_version(
    tool: &Path,
    name: &'static str,
    wanted: &'static str,
    lang: &'static str,
    install: &str,
) -> Result<(), BuildError> {
    let out = Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| BuildError::Spawn {
            tool: name,
            path: tool.to_path_buf(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let found = text.split_whitespace().last().unwrap_or("").to_string();
    if found != wanted {
        return Err(BuildError::WrongVersion {
            tool: name,
            path: tool.to_path_buf(),
            found: if found.is_empty() {
                "(no version)".into()
            } else {
                found
            },
            wanted,
            lang,
            install: install.to_string(),
        });
    }
    Ok(())
}

/// Runs a build tool with its output on our stderr (stdout stays for `--json`).
fn run(name: &'static str, cmd: &mut Command) -> Result<(), BuildError> {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(|source| BuildError::Spawn {
            tool: name,
            path: PathBuf::from(cmd.get_program()),
            source,
        })?;
    if !status.success() {
        return Err(BuildError::Failed { tool: name, status });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_without_a_manifest_or_crate_is_not_a_plugin() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Project::open(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("has no cloudops-plugin.toml"), "{e}");
        assert!(e.hint().unwrap().contains("plugin new"));
    }

    #[test]
    fn the_manifest_names_the_language_and_unknown_keys_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let m = tmp.path().join(MANIFEST);
        std::fs::write(&m, "name = \"x\"\nlang = \"python\"\nwit = \"/w\"\n").unwrap();
        let p = Project::open(tmp.path()).unwrap();
        assert_eq!(p.lang, Lang::Python);
        assert_eq!(p.output(), tmp.path().join("x.wasm"));
        std::fs::write(&m, "name = \"x\"\nlang = \"cobol\"\n").unwrap();
        let e = Project::open(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("unknown lang \"cobol\""), "{e}");
        std::fs::write(&m, "name = \"x\"\nlang = \"js\"\nlanguage = \"js\"\n").unwrap();
        assert!(matches!(
            Project::open(tmp.path()),
            Err(BuildError::Manifest { .. })
        ));
    }

    #[test]
    fn a_tool_at_another_version_is_refused_with_the_pinned_install_command() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(MANIFEST), "name = \"x\"\nlang = \"js\"\n").unwrap();
        let bin = tmp.path().join("node_modules/.bin");
        std::fs::create_dir_all(&bin).unwrap();
        let tool = bin.join("componentize-js");
        std::fs::write(&tool, "#!/bin/sh\necho 0.19.0\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = Project::open(tmp.path()).unwrap().build().unwrap_err();
        let text = e.to_string();
        assert!(text.contains("componentize-js 0.19.0 found"), "{text}");
        assert!(text.contains("built with componentize-js 0.23.0"), "{text}");
        let hint = e.hint().unwrap();
        assert!(hint.contains("npm install"), "{hint}");
        assert!(!tmp.path().join("x.wasm").exists());
    }
}
