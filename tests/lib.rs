//! cloudops-e2e: no code of its own; `tests/` holds end-to-end tests of the whole chain (engine, host, policy files, built-in plugins).
