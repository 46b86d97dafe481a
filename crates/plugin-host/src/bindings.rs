//! Host bindings generated from the plugin WIT, one frozen module per released interface version.
//!
//! `v0_1_0` is generated from `wit/v0.1.0/plugin.wit`, `v0_2_0` from `wit/v0.2.0/plugin.wit`,
//! `v0_3_0` from `wit/v0.3.0/plugin.wit` (the current version). All are linked into one
//! linker (their interfaces have different package versions), and a component is matched
//! against the newest world first (see `plugin::detect`). The chain works on the current
//! version's types; `compat` converts them for older plugins, as zed's extension host does
//! for its frozen API versions.

/// Bindings for `cloudops:plugin@0.1.0` (world `plugin`). Frozen.
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

/// Bindings for `cloudops:plugin@0.2.0` (world `plugin`): 0.1.0 plus host-resolved paths. Frozen.
pub mod v0_2_0 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.2.0",
        world: "plugin",
        exports: { default: async },
        additional_derives: [PartialEq],
    });

    /// The WIT types of this version (`request`, `verdict`, `plugin-info`, ...).
    pub use self::cloudops::plugin::types;

    /// The fully qualified name of the interface version, as shown in errors.
    pub const PACKAGE: &str = "cloudops:plugin@0.2.0";
}

/// Bindings for `cloudops:plugin@0.3.0` (world `plugin`): 0.2.0 plus the request's sandbox,
/// the `answer` that may tighten it, and the known secrets of an output batch.
pub mod v0_3_0 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.3.0",
        world: "plugin",
        exports: { default: async },
        additional_derives: [PartialEq],
    });

    /// The WIT types of this version (`request`, `answer`, `plugin-info`, ...).
    pub use self::cloudops::plugin::types;

    /// The fully qualified name of the interface version, as shown in errors.
    pub const PACKAGE: &str = "cloudops:plugin@0.3.0";
}

/// The current interface version: what the chain works on and what the SDK builds.
pub use v0_3_0 as current;

/// Every interface version the host loads, newest first.
pub const SUPPORTED: &[&str] = &[v0_3_0::PACKAGE, v0_2_0::PACKAGE, v0_1_0::PACKAGE];
