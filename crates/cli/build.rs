//! Build script of the cloudops binary: packs its relative relocations (DT_RELR) when the toolchain and the C library can.
//!
//! The binary is a position-independent executable with some 39 000 relative relocations;
//! as `.rela.dyn` entries they take ~0.9 MB that the dynamic loader reads and applies at
//! every start. Packed (`-z pack-relative-relocs`, GNU ld >= 2.38 or lld, glibc >= 2.36)
//! they take ~10 KB, and `cloudops --version` starts ~0.5 ms sooner. Anywhere else (another
//! linker or C library, a cross build) the binary is linked as before.

use std::path::PathBuf;
use std::process::{Command, Stdio};

const FLAG: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let native = var("TARGET") == var("HOST");
    if !(native && var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu") {
        return;
    }
    if links_with_packed_relocations() {
        println!("cargo:rustc-link-arg-bins={FLAG}");
    }
}

/// Whether the C compiler driver (the linker rustc uses) links a program with packed
/// relocations without a warning. A linker that does not know the flag only warns, and a
/// glibc older than 2.36 lacks the `GLIBC_ABI_DT_RELR` version the packed binary needs:
/// `--fatal-warnings` and the link against the C library catch both.
fn links_with_packed_relocations() -> bool {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let (src, exe) = (out.join("relr-probe.c"), out.join("relr-probe"));
    if std::fs::write(&src, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let linked = Command::new(cc)
        .arg("-fPIE")
        .arg("-pie")
        .arg(FLAG)
        .arg("-Wl,--fatal-warnings")
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    // The probe must also run: the dynamic loader refuses a packed binary it cannot relocate.
    linked && Command::new(&exe).status().is_ok_and(|s| s.success())
}
