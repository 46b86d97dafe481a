//! Builds the standard plugins for wasm32-wasip2 (work in progress).
fn main() {}
