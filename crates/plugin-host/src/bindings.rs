//! Host bindings generated from the plugin WIT, one frozen module per released interface version.
//!
//! `v0_1_0` is generated from `wit/v0.1.0/plugin.wit`. A later interface goes into a new
//! module (`v0_2_0`) beside it, so the host can keep loading plugins built for 0.1.0.

/// Bindings for `cloudops:plugin@0.1.0` (world `plugin`).
pub mod v0_1_0 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "plugin",
        exports: { default: async },
        additional_derives: [PartialEq],
    });

    /// The WIT types of this version (`request`, `verdict`, `plugin-info`, ...).
    pub use self::cloudops::plugin::types;

    /// The fully qualified name of the interface version, as shown in errors.
    pub const PACKAGE: &str = "cloudops:plugin@0.1.0";
}
