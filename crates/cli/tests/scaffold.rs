//! `cloudops plugin new` end to end: scaffold a plugin, build it for wasm32-wasip2, run its
//! native tests, use the `.wasm` in a policy, and check commands through it.
//!
//! The nested cargo runs reuse what CI builds anyway. The wasm32-wasip2 build goes to
//! `$target/wasm-plugins`, where the built-in plugins are built
//! (crates/builtin-plugins/build.rs, when `CARGO_TARGET_DIR` is absolute as in CI), so
//! wit-bindgen's proc-macro stack is not rebuilt. The native `cargo test` goes to the
//! target dir itself (cargo releases its lock before running tests), where
//! `scripts/test.sh` then runs the standard plugins' native tests on the same dependency
//! builds. The scaffolded crate starts from a copy of `plugins/Cargo.lock`, so it resolves
//! to the versions the standard plugins are built and tested with.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cloudops");

/// `cloudops ARGS` in `dir`, with nothing inherited that could pick a policy.
fn cloudops(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("CLOUDOPS_POLICY")
        .env_remove("CLOUDOPS_PROFILE")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env(
            "XDG_CACHE_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("cloudops-cache"),
        )
        .stdin(std::process::Stdio::null())
        .output()
        .expect("spawn cloudops")
}

#[track_caller]
fn expect_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The target directory of this build.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target dir")
        .to_path_buf()
}

/// The target directory of the nested wasm32-wasip2 builds.
fn wasm_target_dir() -> PathBuf {
    target_dir().join("wasm-plugins")
}

/// `cargo ARGS` in the scaffolded crate with `target` as its target dir, and what the
/// outer cargo set for this test (host rustflags, the build's own variables) removed.
fn cargo(krate: &Path, target: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args).current_dir(krate);
    nested_cargo_env(&mut cmd, target);
    let started = Instant::now();
    let out = cmd.output().expect("run cargo");
    eprintln!("cargo {} took {:.1?}", args.join(" "), started.elapsed());
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        krate.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The environment of a nested cargo run: `target` as its target dir, and what the outer
/// cargo set for this test (host rustflags, the build's own variables) removed.
fn nested_cargo_env(cmd: &mut Command, target: &Path) {
    cmd.env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| {
            k.starts_with("CARGO_PKG_")
                || k.starts_with("CARGO_BIN_")
                || k.starts_with("CARGO_PRIMARY")
                || k.starts_with("CARGO_MANIFEST")
                || k.starts_with("CARGO_CRATE")
        }) {
            cmd.env_remove(key);
        }
    }
}

#[test]
fn a_scaffolded_plugin_builds_passes_its_tests_and_denies_through_a_policy() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let krate = dir.join("plugin");

    // Scaffold.
    let out = cloudops(
        dir,
        &["--json", "plugin", "new", "scaffold-ci", "--dir", "plugin"],
    );
    expect_code(&out, 0);
    let made: Value = serde_json::from_slice(&out.stdout).expect("--json output");
    assert_eq!(
        made["wasm"],
        "target/wasm32-wasip2/release/scaffold_ci.wasm"
    );
    for rel in [
        "Cargo.toml",
        "src/lib.rs",
        "tests/plugin.rs",
        "README.md",
        ".gitignore",
        ".cargo/config.toml",
        "policy.toml",
        "cloudops-plugin.toml",
    ] {
        assert!(krate.join(rel).is_file(), "{rel} was not written");
        assert!(
            made["files"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == rel)),
            "{rel} is not listed: {made}"
        );
    }
    // Built with WebAssembly SIMD, as the standard plugins are (plugins/.cargo/config.toml).
    let config = std::fs::read_to_string(krate.join(".cargo/config.toml")).expect("config");
    assert!(config.starts_with("# "), "a comment says why:\n{config}");
    let config: toml::Table = config.parse().expect("TOML");
    assert_eq!(
        config["target"]["wasm32-wasip2"]["rustflags"],
        toml::Value::Array(vec!["-C".into(), "target-feature=+simd128".into()]),
        "{config}"
    );
    let readme = std::fs::read_to_string(krate.join("README.md")).expect("README");
    assert!(readme.contains("cargo build --release --target wasm32-wasip2"));
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/Cargo.lock"),
        krate.join("Cargo.lock"),
    )
    .expect("seed Cargo.lock");

    // Build for wasm32-wasip2 (the crate's own .cargo/config.toml applies: it is compiled
    // with +simd128), and run the native tests it came with.
    let build = cargo(
        &krate,
        &wasm_target_dir(),
        &[
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--verbose",
        ],
    );
    let log = String::from_utf8_lossy(&build.stderr);
    assert!(
        log.lines().any(
            |l| l.contains("--crate-name scaffold_ci") && l.contains("target-feature=+simd128")
        ),
        "the plugin was not compiled with +simd128:\n{log}"
    );
    let tests = cargo(&krate, &target_dir(), &["test"]);
    let stdout = String::from_utf8_lossy(&tests.stdout);
    assert!(stdout.contains("test result: ok. 5 passed"), "{stdout}");

    // `cloudops plugin build` does the same build (up to date here) and puts the component
    // where the scaffolded policy.toml loads it; its [[tests]] pass through the real chain.
    let mut build = Command::new(BIN);
    build.args(["plugin", "build", "plugin"]).current_dir(dir);
    nested_cargo_env(&mut build, &wasm_target_dir());
    let built = build.output().expect("spawn cloudops");
    expect_code(&built, 0);
    assert!(krate.join("scaffold-ci.wasm").is_file());
    let tested = cloudops(dir, &["policy", "test", "plugin/policy.toml"]);
    expect_code(&tested, 0);
    assert!(
        String::from_utf8_lossy(&tested.stdout).contains("3 passed, 0 failed"),
        "{}",
        String::from_utf8_lossy(&tested.stdout)
    );

    // Use it in a policy, as its README says.
    let wasm = wasm_target_dir().join("wasm32-wasip2/release/scaffold_ci.wasm");
    std::fs::copy(&wasm, dir.join("scaffold_ci.wasm")).expect("copy the built plugin");
    std::fs::write(
        dir.join("policy.toml"),
        r#"version = 1

[plugins.scaffold-ci]
source = "scaffold_ci.wasm"
config = { programs = ["curl", "wget"], reason = "downloads go through the artifact proxy" }

[[rules]]
name = "no-downloads"
plugins = ["scaffold-ci"]

[[tests]]
exec = ["curl", "https://example.com"]
expect = "deny"
reason = "runs a denied program"

[[tests]]
shell = "git status && ls -la"
expect = "allow"
"#,
    )
    .expect("write the policy");
    expect_code(&cloudops(dir, &["policy", "validate", "policy.toml"]), 0);
    expect_code(&cloudops(dir, &["policy", "test", "policy.toml"]), 0);

    // A denied program: 126, the plugin's reason.
    let out = cloudops(
        dir,
        &[
            "--policy",
            "policy.toml",
            "--json",
            "run",
            "--check",
            "--",
            "wget",
            "https://example.com",
        ],
    );
    expect_code(&out, 126);
    let d: Value = serde_json::from_slice(&out.stdout).expect("--json decision");
    assert_eq!(d["verdict"], "deny", "{d}");
    assert_eq!(d["plugin"], "scaffold-ci", "{d}");
    let reason = d["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("scaffold-ci: `wget https://example.com` runs a denied program")
            && reason.ends_with("downloads go through the artifact proxy"),
        "{reason}"
    );

    // Hidden behind sudo in a shell line: still denied.
    let out = cloudops(
        dir,
        &[
            "--policy",
            "policy.toml",
            "sh",
            "--check",
            "cd /tmp && sudo curl -O https://example.com/x",
        ],
    );
    expect_code(&out, 126);

    // An allowed program: 0, and it really runs through the plugin.
    let out = cloudops(
        dir,
        &[
            "--policy",
            "policy.toml",
            "--json",
            "run",
            "--check",
            "--",
            "ls",
            "-la",
        ],
    );
    expect_code(&out, 0);
    let d: Value = serde_json::from_slice(&out.stdout).expect("--json decision");
    assert_eq!(d["verdict"], "allow", "{d}");
    let out = cloudops(
        dir,
        &["--policy", "policy.toml", "run", "--", "echo", "ran"],
    );
    expect_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
}

#[test]
fn bad_names_taken_directories_and_missing_sdks_are_refused_before_writing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();

    let out = cloudops(dir, &["plugin", "new", "My Plugin"]);
    expect_code(&out, 125);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "error: invalid plugin name \"My Plugin\": it must start with a lowercase letter"
        ),
        "{err}"
    );

    std::fs::create_dir(dir.join("taken")).expect("mkdir");
    std::fs::write(dir.join("taken/keep.txt"), "mine").expect("write");
    let out = cloudops(dir, &["plugin", "new", "taken"]);
    expect_code(&out, 125);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists and is not empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(dir.join("taken")).expect("read").count(),
        1,
        "the taken directory was touched"
    );

    let out = cloudops(dir, &["plugin", "new", "fine", "--sdk", "no/such/sdk"]);
    expect_code(&out, 125);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--sdk 'no/such/sdk': no such directory") && err.contains("hint: "),
        "{err}"
    );
    assert!(!dir.join("fine").exists());

    let help = cloudops(dir, &["plugin", "new", "--help"]);
    expect_code(&help, 0);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("cargo build --release --target wasm32-wasip2") && help.contains("--sdk"),
        "{help}"
    );
}
