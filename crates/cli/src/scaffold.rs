//! `cloudops plugin new`: writes a plugin crate (Cargo.toml, src/lib.rs, a native test, a README, the guest build flags) from the templates in `templates/plugin`.
//!
//! The crate depends on `cloudops-plugin-sdk` by path (the SDK is not on crates.io): by
//! default `crates/plugin-sdk` of the source tree this binary was built from, else
//! `--sdk PATH`. The SDK generates its bindings from `wit/v0.3.0` of the same tree, so the
//! path must stay inside a whole cloudops source tree; both are checked before anything is
//! written. The files are written into a staging directory next to the destination, then
//! renamed into place: an error leaves nothing behind.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use cloudops_plugin_build::Lang;

use crate::cli::{PluginLang, PluginNewArgs};
use crate::render::UserError;
use crate::settings::Common;

/// `crates/plugin-sdk` of the source tree this binary was built from.
pub const DEFAULT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugin-sdk");

/// Where the SDK reads the plugin interface from, relative to the SDK crate.
const WIT_FROM_SDK: &str = "../../wit/v0.3.0/plugin.wit";

/// The WIT directory of the current interface, relative to the source tree.
const WIT_DIR: &str = "wit/v0.3.0";

const CARGO_TOML: &str = include_str!("../templates/plugin/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("../templates/plugin/lib.rs.tmpl");
const TEST_RS: &str = include_str!("../templates/plugin/test.rs.tmpl");
const README_MD: &str = include_str!("../templates/plugin/README.md.tmpl");
const GITIGNORE: &str = include_str!("../templates/plugin/gitignore.tmpl");
const CARGO_CONFIG: &str = include_str!("../templates/plugin/cargo-config.toml.tmpl");
const POLICY_TOML: &str = include_str!("../templates/common/policy.toml.tmpl");
const MANIFEST_TOML: &str = include_str!("../templates/common/manifest.toml.tmpl");
const PY_PLUGIN: &str = include_str!("../templates/python/plugin.py.tmpl");
const PY_APP: &str = include_str!("../templates/python/app.py.tmpl");
const PY_TEST: &str = include_str!("../templates/python/test_plugin.py.tmpl");
const PY_CONFTEST: &str = include_str!("../templates/python/conftest.py.tmpl");
const PY_REQUIREMENTS: &str = include_str!("../templates/python/requirements.txt.tmpl");
const PY_GITIGNORE: &str = include_str!("../templates/python/gitignore.tmpl");
const PY_README: &str = include_str!("../templates/python/README.md.tmpl");
const JS_PACKAGE: &str = include_str!("../templates/js/package.json.tmpl");
const JS_PLUGIN: &str = include_str!("../templates/js/plugin.js.tmpl");
const JS_APP: &str = include_str!("../templates/js/app.js.tmpl");
const JS_TEST: &str = include_str!("../templates/js/plugin.test.js.tmpl");
const JS_GITIGNORE: &str = include_str!("../templates/js/gitignore.tmpl");
const JS_README: &str = include_str!("../templates/js/README.md.tmpl");

/// Names a crate may not take: Rust keywords (cargo refuses them), names of the standard
/// library's crates and of cargo's own output directories, and the crates the plugin
/// depends on.
const RESERVED: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "build",
    "const",
    "continue",
    "core",
    "crate",
    "deps",
    "do",
    "dyn",
    "else",
    "enum",
    "examples",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "incremental",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc_macro",
    "pub",
    "ref",
    "return",
    "self",
    "serde",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "cloudops_plugin_sdk",
];

/// Type names the generated code already uses; a plugin type of that name gets a suffix.
const TAKEN_TYPES: &[&str] = &[
    "Box",
    "Config",
    "Deserialize",
    "Err",
    "Glob",
    "Invocation",
    "None",
    "Ok",
    "Option",
    "Plugin",
    "Request",
    "Result",
    "Settings",
    "Some",
    "String",
    "Vec",
    "Verdict",
];

/// `cloudops plugin new`, validated: a good name, an SDK that exists, a free directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlugin {
    /// The plugin's (and the crate's) name.
    pub name: String,
    /// The directory to create.
    pub dir: PathBuf,
    /// The SDK crate's directory, absolute.
    pub sdk: PathBuf,
    /// The plugin's language.
    pub lang: Lang,
}

impl NewPlugin {
    /// Checks the parsed flags: the name, the SDK (`--sdk`, else [`DEFAULT_SDK`]) and the
    /// destination (`--dir`, else `./NAME`), before anything is written.
    pub fn from_args(a: PluginNewArgs) -> anyhow::Result<Self> {
        check_name(&a.name)?;
        let sdk = find_sdk(a.sdk.as_deref())?;
        let dir = a.dir.unwrap_or_else(|| PathBuf::from(&a.name));
        check_free(&dir)?;
        let lang = match a.lang {
            PluginLang::Rust => Lang::Rust,
            PluginLang::Python => Lang::Python,
            PluginLang::Js => Lang::Js,
        };
        Ok(NewPlugin {
            name: a.name,
            dir,
            sdk,
            lang,
        })
    }
}

/// The name rules: what cargo accepts as a package name, minus uppercase (a policy's
/// `[plugins.NAME]` key and the `.wasm` file are derived from it).
fn check_name(name: &str) -> Result<(), UserError> {
    let bad = |why: &str| {
        UserError::new(format!("invalid plugin name {name:?}: {why}")).hint(
            "use lowercase ASCII letters, digits, '-' and '_', starting with a letter, e.g. `deny-downloads`",
        )
    };
    let Some(first) = name.chars().next() else {
        return Err(bad("it is empty"));
    };
    if !first.is_ascii_lowercase() {
        return Err(bad("it must start with a lowercase letter"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(bad(&format!("{c:?} is not allowed")));
    }
    if name.len() > 64 {
        return Err(bad("it is longer than 64 characters"));
    }
    let crate_name = name.replace('-', "_");
    if RESERVED.contains(&crate_name.as_str()) {
        return Err(bad(
            "it is reserved (a Rust keyword, a standard or dependency crate, or a cargo directory)",
        ));
    }
    Ok(())
}

/// The SDK crate's directory: `given` (the SDK crate, or a cloudops source tree holding
/// it in `crates/plugin-sdk`), else [`DEFAULT_SDK`]; absolute, with its WIT next to it.
fn find_sdk(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let hint = "pass --sdk PATH: crates/plugin-sdk of a cloudops source tree (the SDK is not on crates.io)";
    let candidate = match given {
        None => {
            let default = Path::new(DEFAULT_SDK);
            if !default.join("Cargo.toml").is_file() {
                return Err(UserError::new(format!(
                    "the cloudops plugin SDK is not at '{}', in the source tree this cloudops was built from",
                    default.display()
                ))
                .hint(hint)
                .into());
            }
            default.to_path_buf()
        }
        Some(p) => {
            if !p.is_dir() {
                return Err(
                    UserError::new(format!("--sdk '{}': no such directory", p.display()))
                        .hint(hint)
                        .into(),
                );
            }
            let nested = p.join("crates/plugin-sdk");
            if !is_sdk(p) && is_sdk(&nested) {
                nested
            } else {
                p.to_path_buf()
            }
        }
    };
    if !is_sdk(&candidate) {
        return Err(UserError::new(format!(
            "'{}' is not the cloudops plugin SDK: its Cargo.toml is not the package `cloudops-plugin-sdk`",
            candidate.display()
        ))
        .hint(hint)
        .into());
    }
    let sdk = candidate
        .canonicalize()
        .with_context(|| format!("could not resolve the SDK path '{}'", candidate.display()))?;
    let wit = sdk.join(WIT_FROM_SDK);
    if !wit.is_file() {
        return Err(UserError::new(format!(
            "the SDK at '{}' has no plugin interface at '{}'",
            sdk.display(),
            wit.display()
        ))
        .hint("the SDK builds from the WIT of its source tree: give crates/plugin-sdk of a whole cloudops checkout")
        .into());
    }
    Ok(sdk)
}

/// True when `dir/Cargo.toml` is the manifest of `cloudops-plugin-sdk`.
fn is_sdk(dir: &Path) -> bool {
    fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|t| {
            t.get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                == Some("cloudops-plugin-sdk")
        })
}

/// The destination must not exist, or be an empty directory.
fn check_free(dir: &Path) -> Result<(), UserError> {
    match fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if !dir.is_dir() => Err(UserError::new(format!(
            "'{}' exists and is not a directory",
            dir.display()
        ))
        .hint("choose another NAME or --dir")),
        Err(e) => Err(UserError::new(format!(
            "cannot read '{}': {e}",
            dir.display()
        ))),
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(UserError::new(format!(
                "'{}' already exists and is not empty; nothing was written",
                dir.display()
            ))
            .hint("choose another NAME or --dir; `cloudops plugin new` never overwrites files")),
        },
    }
}

/// The plugin's type (class) name: `deny-downloads` -> `DenyDownloads` (with a `Plugin`
/// suffix when that name is taken by the generated code).
fn type_name(name: &str) -> String {
    let mut type_name: String = name
        .split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    if TAKEN_TYPES.contains(&type_name.as_str()) {
        type_name.push_str("Plugin");
    }
    type_name
}

/// The Rust crate's files, rendered: (path relative to the crate, contents).
pub fn render(name: &str, sdk: &Path) -> Vec<(&'static str, String)> {
    let crate_name = name.replace('-', "_");
    let type_name = type_name(name);
    let sdk_display = sdk.display().to_string();
    // A TOML basic string: quotes and backslashes escaped.
    let sdk_path = toml::Value::String(sdk_display.clone()).to_string();
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate_name}}", &crate_name)
            .replace("{{type_name}}", &type_name)
            .replace("{{sdk_path}}", &sdk_path)
            .replace("{{sdk_display}}", &sdk_display)
    };
    vec![
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(LIB_RS)),
        ("tests/plugin.rs", fill(TEST_RS)),
        ("README.md", fill(README_MD)),
        (".gitignore", fill(GITIGNORE)),
        (".cargo/config.toml", fill(CARGO_CONFIG)),
    ]
}

/// A plugin's files in `lang`, rendered: the language's own, then `policy.toml` and the
/// manifest `cloudops plugin build` reads. `sdk` is the Rust SDK crate of a source tree;
/// the Python and JavaScript SDKs and the WIT are found beside it in that tree.
pub fn render_lang(name: &str, lang: Lang, sdk: &Path) -> Vec<(&'static str, String)> {
    let tree = sdk.join("../..");
    let tree = tree.canonicalize().unwrap_or(tree);
    let quoted = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    let lang_sdk = match lang {
        Lang::Rust => sdk.to_path_buf(),
        Lang::Python => tree.join("sdk/python"),
        Lang::Js => tree.join("sdk/js"),
    };
    let type_name = type_name(name);
    let sdk_display = lang_sdk.display().to_string();
    // JSON and Python string literals of the SDK path (TOML's escaping is JSON's for
    // quotes and backslashes; Python reads it too).
    let sdk_literal = serde_json::Value::String(sdk_display.clone()).to_string();
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{lang}}", lang.name())
            .replace("{{type_name}}", &type_name)
            .replace("{{wit_path}}", &quoted(&tree.join(WIT_DIR)))
            .replace("{{sdk_path}}", &quoted(&lang_sdk))
            .replace("{{sdk_py}}", &sdk_literal)
            .replace(
                "{{sdk_js_dep}}",
                &serde_json::Value::String(format!("file:{sdk_display}")).to_string(),
            )
            .replace("{{sdk_display}}", &sdk_display)
    };
    let mut files = match lang {
        Lang::Rust => render(name, sdk),
        Lang::Python => vec![
            ("plugin.py", fill(PY_PLUGIN)),
            ("app.py", fill(PY_APP)),
            ("test_plugin.py", fill(PY_TEST)),
            ("conftest.py", fill(PY_CONFTEST)),
            ("requirements.txt", fill(PY_REQUIREMENTS)),
            ("README.md", fill(PY_README)),
            (".gitignore", fill(PY_GITIGNORE)),
        ],
        Lang::Js => vec![
            ("plugin.js", fill(JS_PLUGIN)),
            ("app.js", fill(JS_APP)),
            ("plugin.test.js", fill(JS_TEST)),
            ("package.json", fill(JS_PACKAGE)),
            ("README.md", fill(JS_README)),
            (".gitignore", fill(JS_GITIGNORE)),
        ],
    };
    files.push(("policy.toml", fill(POLICY_TOML)));
    files.push((cloudops_plugin_build::MANIFEST, fill(MANIFEST_TOML)));
    files
}

/// A staging directory removed on drop unless it was moved into place.
struct Staging(Option<PathBuf>);

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

/// Writes the crate: into a staging directory beside `plugin.dir`, then renamed onto it.
/// Returns the files written, relative to the crate.
pub fn create(plugin: &NewPlugin) -> anyhow::Result<Vec<&'static str>> {
    let dest = &plugin.dir;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)
        .with_context(|| format!("could not create the directory '{}'", parent.display()))?;
    let staging_path = parent.join(format!(
        ".{}.cloudops-new-{}",
        plugin.name,
        std::process::id()
    ));
    fs::create_dir(&staging_path).with_context(|| {
        format!(
            "could not create the staging directory '{}'",
            staging_path.display()
        )
    })?;
    let mut staging = Staging(Some(staging_path.clone()));
    let files = render_lang(&plugin.name, plugin.lang, &plugin.sdk);
    for (rel, text) in &files {
        let path = staging_path.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .with_context(|| format!("could not create '{}'", dir.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("could not write '{}'", path.display()))?;
    }
    // Checked again: the directory may have been filled since the settings were made.
    check_free(dest)?;
    // rename(2) replaces an empty directory and fails on a non-empty one.
    fs::rename(&staging_path, dest).with_context(|| {
        format!(
            "could not move the new crate into '{}'; nothing was written there",
            dest.display()
        )
    })?;
    staging.0 = None;
    Ok(files.into_iter().map(|(rel, _)| rel).collect())
}

/// Runs `cloudops plugin new`: writes the plugin and says what to do next.
pub fn run(common: &Common, plugin: &NewPlugin) -> anyhow::Result<i32> {
    let files = create(plugin)?;
    let wasm = match plugin.lang {
        Lang::Rust => format!(
            "target/wasm32-wasip2/release/{}.wasm",
            plugin.name.replace('-', "_")
        ),
        Lang::Python | Lang::Js => format!("{}.wasm", plugin.name),
    };
    if common.json {
        println!(
            "{}",
            json!({
                "name": plugin.name,
                "lang": plugin.lang.name(),
                "dir": plugin.dir.display().to_string(),
                "sdk": plugin.sdk.display().to_string(),
                "files": files,
                "wasm": wasm,
            })
        );
    } else if common.verbosity >= 0 {
        let dir = plugin.dir.display();
        let name = &plugin.name;
        let files = files.join(", ");
        match plugin.lang {
            Lang::Rust => println!(
                "Created the plugin crate `{name}` in {dir}: {files}\n\
                 SDK: {sdk}\n\
                 \n\
                 Next:\n\
                 \x20 cd {dir}\n\
                 \x20 cargo test                                     # native tests, no Wasm\n\
                 \x20 rustup target add wasm32-wasip2                # once\n\
                 \x20 cargo build --release --target wasm32-wasip2   # builds {wasm}\n\
                 \x20 cloudops plugin build .                        # the same, copied to ./{name}.wasm\n\
                 \x20 cloudops policy test policy.toml               # the policy's [[tests]] through the real chain",
                sdk = plugin.sdk.display(),
            ),
            Lang::Python => println!(
                "Created the Python plugin `{name}` in {dir}: {files}\n\
                 \n\
                 Next:\n\
                 \x20 cd {dir}\n\
                 \x20 python3 -m pip install -r requirements.txt   # componentize-py {py}, pytest\n\
                 \x20 python3 -m pytest -q                         # native tests, no Wasm\n\
                 \x20 cloudops plugin build .                      # builds {wasm}\n\
                 \x20 cloudops policy test policy.toml             # the policy's [[tests]] through the real chain",
                py = cloudops_plugin_build::COMPONENTIZE_PY_VERSION,
            ),
            Lang::Js => println!(
                "Created the JavaScript plugin `{name}` in {dir}: {files}\n\
                 \n\
                 Next:\n\
                 \x20 cd {dir}\n\
                 \x20 npm install                        # componentize-js {js} and the SDK\n\
                 \x20 node --test                        # native tests, no Wasm\n\
                 \x20 cloudops plugin build .            # builds {wasm}\n\
                 \x20 cloudops policy test policy.toml   # the policy's [[tests]] through the real chain",
                js = cloudops_plugin_build::COMPONENTIZE_JS_VERSION,
            ),
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(name: &str, dir: &Path, sdk: Option<&Path>) -> PluginNewArgs {
        PluginNewArgs {
            name: name.to_string(),
            dir: Some(dir.to_path_buf()),
            sdk: sdk.map(Path::to_path_buf),
            lang: PluginLang::Rust,
        }
    }

    #[test]
    fn names_are_checked_with_a_reason() {
        for good in ["deny-downloads", "x", "a1_b-2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("", "it is empty"),
            ("Deny", "start with a lowercase letter"),
            ("1up", "start with a lowercase letter"),
            ("-x", "start with a lowercase letter"),
            ("deny downloads", "' ' is not allowed"),
            ("déni", "'é' is not allowed"),
            ("../evil", "start with a lowercase letter"),
            ("a/b", "'/' is not allowed"),
            ("test", "reserved"),
            ("self", "reserved"),
            ("cloudops-plugin-sdk", "reserved"),
            ("serde", "reserved"),
        ] {
            let e = check_name(bad).expect_err(bad).to_string();
            assert!(
                e.starts_with(&format!("invalid plugin name {bad:?}: ")),
                "{e}"
            );
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(check_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn the_default_sdk_is_this_source_tree_and_a_checkout_root_is_accepted() {
        let sdk = find_sdk(None).unwrap();
        assert!(sdk.is_absolute());
        assert!(is_sdk(&sdk));
        let root = sdk.join("../..");
        assert_eq!(find_sdk(Some(&root)).unwrap(), sdk);
        assert_eq!(find_sdk(Some(&sdk)).unwrap(), sdk);
    }

    #[test]
    fn a_wrong_sdk_path_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let e = find_sdk(Some(&missing)).unwrap_err().to_string();
        assert!(e.contains("no such directory"), "{e}");
        let e = find_sdk(Some(tmp.path())).unwrap_err().to_string();
        assert!(e.contains("is not the cloudops plugin SDK"), "{e}");
        // A copy of the SDK crate alone, away from its tree, lacks the WIT.
        fs::write(
            tmp.path().join("Cargo.toml"),
            "[package]\nname = \"cloudops-plugin-sdk\"\n",
        )
        .unwrap();
        let e = find_sdk(Some(tmp.path())).unwrap_err().to_string();
        assert!(e.contains("has no plugin interface"), "{e}");
    }

    #[test]
    fn every_placeholder_is_filled_and_the_sdk_path_is_toml_quoted() {
        let sdk = Path::new("/src/it's \"here\"\\crates/plugin-sdk");
        for (rel, text) in render("deny-downloads", sdk) {
            assert!(!text.contains("{{"), "{rel} keeps a placeholder:\n{text}");
        }
        let files = render("deny-downloads", sdk);
        let cargo: toml::Table = files[0].1.parse().unwrap();
        assert_eq!(cargo["package"]["name"].as_str(), Some("deny-downloads"));
        assert_eq!(
            cargo["dependencies"]["cloudops-plugin-sdk"]["path"].as_str(),
            Some(sdk.to_str().unwrap())
        );
        assert!(cargo["workspace"].as_table().unwrap().is_empty());
        assert!(files[1].1.contains("pub struct DenyDownloads {"));
        assert!(files[2].1.contains("use deny_downloads::DenyDownloads;"));
        // Built like cloudops's own plugins (plugins/.cargo/config.toml): with Wasm SIMD.
        let (rel, config) = &files[5];
        assert_eq!(*rel, ".cargo/config.toml");
        let config: toml::Table = config.parse().unwrap();
        assert_eq!(
            config["target"]["wasm32-wasip2"]["rustflags"],
            toml::Value::Array(vec!["-C".into(), "target-feature=+simd128".into()])
        );
        // A name whose type would shadow one the code uses gets a suffix.
        assert!(
            render("config", sdk)[1]
                .1
                .contains("pub struct ConfigPlugin {")
        );
    }

    #[test]
    fn python_and_js_plugins_get_every_placeholder_filled_and_a_manifest_build_reads() {
        let sdk = find_sdk(None).unwrap();
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            let files = render_lang("deny-downloads", lang, &sdk);
            for (rel, text) in &files {
                assert!(!text.contains("{{"), "{rel} keeps a placeholder:\n{text}");
            }
            let (_, manifest) = files
                .iter()
                .find(|(r, _)| *r == "cloudops-plugin.toml")
                .unwrap();
            let tmp = tempfile::tempdir().unwrap();
            fs::write(tmp.path().join("cloudops-plugin.toml"), manifest).unwrap();
            let project = cloudops_plugin_build::Project::open(tmp.path()).unwrap();
            assert_eq!(project.lang, lang);
            assert_eq!(project.name, "deny-downloads");
            assert!(project.wit.unwrap().join("plugin.wit").is_file());
            assert!(project.sdk.unwrap().is_dir());
            let (_, policy) = files.iter().find(|(r, _)| *r == "policy.toml").unwrap();
            assert!(
                policy.contains("source = \"deny-downloads.wasm\""),
                "{policy}"
            );
        }
        let js = render_lang("deny-downloads", Lang::Js, &sdk);
        let package: serde_json::Value =
            serde_json::from_str(&js.iter().find(|(r, _)| *r == "package.json").unwrap().1)
                .unwrap();
        assert_eq!(
            package["devDependencies"]["@bytecodealliance/componentize-js"],
            cloudops_plugin_build::COMPONENTIZE_JS_VERSION
        );
        let py = render_lang("deny-downloads", Lang::Python, &sdk);
        let pins = &py.iter().find(|(r, _)| *r == "requirements.txt").unwrap().1;
        assert!(pins.contains(&format!(
            "componentize-py=={}",
            cloudops_plugin_build::COMPONENTIZE_PY_VERSION
        )));
    }

    #[test]
    fn a_non_empty_directory_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("taken");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        let e = NewPlugin::from_args(args("taken", &dir, None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("already exists and is not empty"), "{e}");
        assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
        let file = tmp.path().join("file");
        fs::write(&file, "x").unwrap();
        let e = NewPlugin::from_args(args("file", &file, None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a directory"), "{e}");
    }

    #[test]
    fn creates_the_crate_in_an_empty_directory_without_leftovers() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("empty");
        fs::create_dir(&dir).unwrap();
        let plugin = NewPlugin::from_args(args("deny-downloads", &dir, None)).unwrap();
        let files = create(&plugin).unwrap();
        for rel in &files {
            assert!(dir.join(rel).is_file(), "{rel}");
        }
        let left: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("empty")]);
        // Once written, a second run is refused before anything is touched.
        assert!(NewPlugin::from_args(args("deny-downloads", &dir, None)).is_err());
        assert!(create(&plugin).is_err());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
