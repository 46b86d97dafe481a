//! Every WIT version in `wit/` through the binding generators of componentize-py 0.25.1 and componentize-js 0.23.0: the interfaces plugin authors build against in Python and JavaScript stay buildable.
//!
//! Python: `componentize-py bindings` writes the `wit_world` package, then every module of
//! it is byte-compiled (`py_compile`, this machine's python3): that is where a WIT doc
//! comment that is not valid in a Python docstring fails. One failure is known and frozen:
//! `wit/v0.2.0` documents `host.log` with `\u{1b}`, which becomes a truncated `\uXXXX`
//! escape in `wit_world/imports/host.py` (a 0.2.0 plugin that never imports `host` still
//! builds). The test expects exactly that failure for v0.2.0 and none anywhere else.
//!
//! JavaScript: componentize-js has no bindings-only command, so a stub plugin importing
//! `host.log` is componentized against each version (each build takes ~5-10 s). The
//! tools: componentize-py on PATH (scripts/setup.sh installs it); componentize-js is
//! installed once by npm into `$CARGO_TARGET_TMPDIR/componentize-js`.

use std::path::{Path, PathBuf};
use std::process::Command;

use cloudops_plugin_build::{COMPONENTIZE_JS_VERSION, COMPONENTIZE_PY_VERSION, WORLD};

/// Versions whose Python bindings are known not to compile, and the error they give.
const PYTHON_KNOWN_FAILURES: &[(&str, &str, &str)] = &[(
    "v0.2.0",
    "wit_world/imports/host.py",
    "truncated \\uXXXX escape",
)];

/// Every `wit/vX.Y.Z` directory of the repository, oldest first.
fn wit_versions() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("wit/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("plugin.wit").is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 3,
        "expected wit/v0.1.0 .. v0.3.0, found {dirs:?}"
    );
    dirs
}

fn version_of(dir: &Path) -> String {
    dir.file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_wit_version_goes_through_componentize_pys_binding_generator() {
    let version = Command::new("componentize-py")
        .arg("--version")
        .output()
        .expect("componentize-py is on PATH (scripts/setup.sh installs it)");
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.contains(COMPONENTIZE_PY_VERSION),
        "componentize-py {COMPONENTIZE_PY_VERSION} expected, found {version}"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    for wit in wit_versions() {
        let v = version_of(&wit);
        let out = tmp.path().join(&v);
        let bindings = Command::new("componentize-py")
            .arg("-d")
            .arg(&wit)
            .args(["-w", WORLD, "bindings"])
            .arg(&out)
            .output()
            .expect("run componentize-py");
        assert!(
            bindings.status.success(),
            "{v}: componentize-py bindings failed:\n{}",
            String::from_utf8_lossy(&bindings.stderr)
        );
        // Byte-compile every generated module of the world (not componentize-py's own
        // support modules, written for its embedded Python).
        let compile = Command::new("python3")
            .current_dir(&out)
            .args([
                "-c",
                "import pathlib, py_compile, sys\n\
                 bad = []\n\
                 for f in sorted(pathlib.Path('wit_world').rglob('*.py')):\n\
                 \x20   try:\n\
                 \x20       py_compile.compile(str(f), doraise=True)\n\
                 \x20   except py_compile.PyCompileError as e:\n\
                 \x20       bad.append(f'{f}: ' + e.msg.strip().splitlines()[-1])\n\
                 print('\\n'.join(bad))\n",
            ])
            .output()
            .expect("run python3");
        assert!(compile.status.success(), "{v}: python3 failed");
        let failures = String::from_utf8_lossy(&compile.stdout).trim().to_string();
        match PYTHON_KNOWN_FAILURES.iter().find(|(kv, ..)| *kv == v) {
            Some((_, file, why)) => {
                assert!(
                    failures.starts_with(file)
                        && failures.contains(why)
                        && failures.lines().count() == 1,
                    "{v}: expected only the known failure ({file}: {why}), got:\n{failures}"
                );
            }
            None => assert!(
                failures.is_empty(),
                "{v}: the generated Python bindings do not compile:\n{failures}"
            ),
        }
    }
}

/// componentize-js at the pinned version, installed once per target dir.
fn componentize_js() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("componentize-js");
    let bin = dir.join("node_modules/.bin/componentize-js");
    let pinned = dir.join(format!("node_modules/.pinned-{COMPONENTIZE_JS_VERSION}"));
    if !pinned.is_file() {
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("package.json"), "{\"private\": true}\n").expect("write");
        let out = Command::new("npm")
            .current_dir(&dir)
            .args(["install", "--no-audit", "--no-fund", "--prefer-offline"])
            .arg(format!(
                "@bytecodealliance/componentize-js@{COMPONENTIZE_JS_VERSION}"
            ))
            .output()
            .expect("npm is on PATH (scripts/setup.sh checks it)");
        assert!(
            out.status.success(),
            "npm install failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&pinned, "").expect("write");
    }
    bin
}

#[test]
fn every_wit_version_goes_through_componentize_jss_binding_generator() {
    let tool = componentize_js();
    let tmp = tempfile::tempdir().expect("tempdir");
    for wit in wit_versions() {
        let v = version_of(&wit);
        let semver = v.trim_start_matches('v');
        let app = tmp.path().join(format!("{v}.js"));
        std::fs::write(
            &app,
            format!(
                "import {{ log }} from 'cloudops:plugin/host@{semver}';\n\
                 export function init(config) {{ log('info', config); return {{ name: 'stub', version: '0', hooks: ['check'] }}; }}\n\
                 export function check(request) {{ return {{ tag: 'allow' }}; }}\n\
                 export function onOutput(batch) {{ return batch.chunks; }}\n"
            ),
        )
        .expect("write");
        let wasm = tmp.path().join(format!("{v}.wasm"));
        let out = Command::new(&tool)
            .current_dir(tmp.path())
            .arg(&app)
            .arg("--wit")
            .arg(&wit)
            .args([
                "--world-name",
                WORLD,
                "--disable",
                "http",
                "fetch-event",
                "-o",
            ])
            .arg(&wasm)
            .output()
            .expect("run componentize-js");
        assert!(
            out.status.success(),
            "{v}: componentize-js failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let size = std::fs::metadata(&wasm).expect("the component").len();
        assert!(
            size > 1 << 20,
            "{v}: a {size}-byte component is no StarlingMonkey build"
        );
    }
}
