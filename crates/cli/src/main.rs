//! The `cloudops` binary: everything is in the library (`cloudops::main`).

fn main() -> std::process::ExitCode {
    let code = cloudops::main();
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
