//! A loaded plugin: its compiled, pre-linked component (of whichever interface version it implements), its limits, and its live instances; every call into the guest goes through here.

use std::borrow::Cow;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline};

use crate::bindings::current::types as wit;
use crate::bindings::{SUPPORTED, v0_1_0, v0_2_0, v0_3_0};
use crate::cache::{CacheOutcome, sha256_hex};
use crate::error::{CallError, LoadError, wasm_error};
use crate::host::{EPOCH_TICK, HostInner, PluginHost};
use crate::sandbox::{PluginState, Sandbox};
use crate::spec::{FailurePolicy, Hook, Limits, Mode, PluginInfo, PluginSource, PluginSpec};

/// CPU budget of an instantiation and of `init` (which may compile a plugin's patterns).
const INSTANTIATE_CPU: Duration = Duration::from_secs(1);

/// Wall-clock limit of a call beyond its CPU budget: what a busy machine may add (time
/// spent waiting for a core is not charged to the budget), and the bound for a guest
/// blocked in a host call (a WASI sleep), which no epoch check interrupts.
const WALL_SLACK: Duration = Duration::from_secs(1);

/// A plugin ready to run. Shared (`Arc`) between the chains that select it.
pub struct LoadedPlugin {
    name: Arc<str>,
    info: PluginInfo,
    limits: Limits,
    on_error: FailurePolicy,
    mode: Mode,
    config_json: String,
    pre: Pre,
    host: Arc<HostInner>,
    idle: Mutex<Vec<Instance>>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("info", &self.info)
            .field("limits", &self.limits)
            .field("on_error", &self.on_error)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// The pre-linked component, by the interface version it implements.
enum Pre {
    V0_3_0(v0_3_0::PluginPre<PluginState>),
    V0_2_0(v0_2_0::PluginPre<PluginState>),
    V0_1_0(v0_1_0::PluginPre<PluginState>),
}

/// The bindings of one instance, by interface version.
enum Bindings {
    V0_3_0(v0_3_0::Plugin),
    V0_2_0(v0_2_0::Plugin),
    V0_1_0(v0_1_0::Plugin),
}

/// A request as the chain sends it: the current interface's record, and its views for
/// older versions, converted on first use and shared by every plugin of that version that
/// sees the same request.
pub(crate) struct Sent {
    /// The record of the current interface.
    pub(crate) request: wit::Request,
    v0_2_0: std::sync::OnceLock<v0_2_0::types::Request>,
    v0_1_0: std::sync::OnceLock<v0_1_0::types::Request>,
}

impl Sent {
    pub(crate) fn new(request: wit::Request) -> Self {
        Sent {
            request,
            v0_2_0: std::sync::OnceLock::new(),
            v0_1_0: std::sync::OnceLock::new(),
        }
    }

    /// Replaces the sandbox the next plugin sees. The older views have no sandbox, so
    /// they stay as they are.
    pub(crate) fn set_sandbox(&mut self, sandbox: Option<wit::Sandbox>) {
        self.request.sandbox = sandbox;
    }

    fn v0_2_0(&self) -> &v0_2_0::types::Request {
        self.v0_2_0
            .get_or_init(|| crate::compat::v0_2_0::request_to_v0_2_0(&self.request))
    }

    fn v0_1_0(&self) -> &v0_1_0::types::Request {
        self.v0_1_0
            .get_or_init(|| crate::compat::v0_1_0::request_to_v0_1_0(self.v0_2_0()))
    }
}

/// One live, initialised instance with its own store. Dropped, never reused, after any failure.
pub(crate) struct Instance {
    store: Store<PluginState>,
    bindings: Bindings,
}

impl LoadedPlugin {
    /// The name the policy gave the plugin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the plugin said about itself at load time.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Its limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Its failure policy.
    pub fn on_error(&self) -> FailurePolicy {
        self.on_error
    }

    /// Enforce or audit.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The interface version the component implements (`cloudops:plugin@0.3.0`, ...).
    pub fn interface(&self) -> &'static str {
        match self.pre {
            Pre::V0_3_0(_) => v0_3_0::PACKAGE,
            Pre::V0_2_0(_) => v0_2_0::PACKAGE,
            Pre::V0_1_0(_) => v0_1_0::PACKAGE,
        }
    }

    /// True when the plugin's interface carries the host-resolved paths (0.2.0 and later).
    pub(crate) fn sees_resolved_paths(&self) -> bool {
        matches!(self.pre, Pre::V0_3_0(_) | Pre::V0_2_0(_))
    }

    pub(crate) fn load(
        host: &PluginHost,
        spec: &PluginSpec,
    ) -> Result<(Self, CacheOutcome), LoadError> {
        let plugin = spec.name.clone();
        let label = spec.source.label();
        if spec.limits.cpu_ms == 0 || spec.limits.memory_bytes == 0 {
            return Err(LoadError::Limits {
                plugin,
                message: format!("limits must be above zero, got {:?}", spec.limits),
            });
        }
        if spec.limits.memory_bytes > host.inner.config.max_memory_bytes {
            return Err(LoadError::Limits {
                plugin,
                message: format!(
                    "memory limit {} bytes is above the host maximum of {} bytes",
                    spec.limits.memory_bytes, host.inner.config.max_memory_bytes
                ),
            });
        }
        let inner = &host.inner;
        // A warm start: the content hash is known without reading the plugin (built in, or
        // a file unchanged since it was hashed), it is the pinned one, and its compiled
        // code is in the cache. Anything else takes the full path, which reports errors.
        let fast = known_sha256(inner, &spec.source)
            .filter(|sha| {
                spec.sha256
                    .as_ref()
                    .is_none_or(|pin| pin.trim().eq_ignore_ascii_case(sha))
            })
            .and_then(|sha| inner.cache.load_cached(&inner.engine, &sha));
        let (component, outcome) = match fast {
            Some(component) => (component, CacheOutcome::Hit),
            None => Self::compile(host, spec)?,
        };
        let pre = detect(inner, &component).map_err(|(found, e)| LoadError::WrongWorld {
            plugin: plugin.clone(),
            source_label: label.clone(),
            expected: SUPPORTED.join(", "),
            found,
            source: wasm_error(e),
        })?;
        let mut loaded = LoadedPlugin {
            name: spec.name.as_str().into(),
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                hooks: Vec::new(),
            },
            limits: spec.limits,
            on_error: spec.on_error,
            mode: spec.mode,
            config_json: spec.config_json.clone(),
            pre,
            host: inner.clone(),
            idle: Mutex::new(Vec::new()),
        };
        let (instance, info) = drive(inner, loaded.wall_instantiate(), loaded.instantiate())
            .unwrap_or(Err(InitError::Call(CallError::Timeout {
                ms: loaded.limits.cpu_ms,
            })))
            .map_err(|e| match e {
                InitError::Call(source) => match source.memory_request() {
                    Some(requested) => LoadError::Memory {
                        plugin: plugin.clone(),
                        requested,
                        limit: loaded.limits.memory_bytes,
                    },
                    None => LoadError::Init {
                        plugin: plugin.clone(),
                        source,
                    },
                },
                InitError::Refused(message) => LoadError::Config {
                    plugin: plugin.clone(),
                    message,
                },
            })?;
        loaded.info = info;
        loaded.release(instance);
        Ok((loaded, outcome))
    }

    /// Reads the plugin, checks its pin and that it is a component, and loads its compiled
    /// code from the cache or compiles it; remembers a file's hash for the next start.
    fn compile(
        host: &PluginHost,
        spec: &PluginSpec,
    ) -> Result<(wasmtime::component::Component, CacheOutcome), LoadError> {
        let plugin = spec.name.clone();
        let label = spec.source.label();
        let bytes: Cow<'_, [u8]> = match &spec.source {
            PluginSource::Path(path) => {
                Cow::Owned(std::fs::read(path).map_err(|source| LoadError::Read {
                    plugin: plugin.clone(),
                    path: path.clone(),
                    source,
                })?)
            }
            PluginSource::Bytes { bytes, .. } => Cow::Borrowed(bytes),
            PluginSource::Static { bytes, .. } => Cow::Borrowed(bytes),
        };
        let actual = sha256_hex(&bytes);
        if let Some(pin) = &spec.sha256 {
            let pin_lc = pin.trim().to_ascii_lowercase();
            if pin_lc.len() != 64 || !pin_lc.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(LoadError::BadPin {
                    plugin,
                    pin: pin.clone(),
                });
            }
            if pin_lc != actual {
                return Err(LoadError::HashMismatch {
                    plugin,
                    source_label: label,
                    expected: pin_lc,
                    actual,
                });
            }
        }
        if let Some(what) = not_a_component(&bytes) {
            return Err(LoadError::NotAComponent {
                plugin,
                source_label: label,
                what,
            });
        }
        let inner = &host.inner;
        let observer = inner.config.compile_observer.as_ref();
        let started = std::time::Instant::now();
        let mut compiling = false;
        let compiled = inner
            .cache
            .load_or_compile(&inner.engine, &bytes, &actual, &mut || {
                compiling = true;
                if let Some(o) = observer {
                    o.0.started(&plugin, bytes.len());
                }
            });
        if compiling && let Some(o) = observer {
            let written = matches!(compiled, Ok((_, CacheOutcome::Compiled)));
            o.0.finished(&crate::observe::CompileReport {
                plugin: plugin.clone(),
                bytes: bytes.len(),
                elapsed: started.elapsed(),
                entry: written.then(|| inner.cache.fresh_entry(&actual)),
                ok: compiled.is_ok(),
            });
        }
        let compiled = compiled.map_err(|e| LoadError::Compile {
            plugin: plugin.clone(),
            source_label: label.clone(),
            source: wasm_error(e),
        })?;
        if let PluginSource::Path(path) = &spec.source {
            inner.cache.remember_sha256(path, bytes.len(), &actual);
        }
        Ok(compiled)
    }

    fn wall(&self) -> Duration {
        Duration::from_millis(self.limits.cpu_ms) + WALL_SLACK
    }

    fn wall_instantiate(&self) -> Duration {
        self.wall() + 2 * INSTANTIATE_CPU
    }

    /// Starts the budget of one call: `cpu` of CPU time on this thread, `wall` at most.
    fn arm_for(store: &mut Store<PluginState>, cpu: Duration, wall: Duration) {
        let clock = crate::sandbox::CallClock::start(cpu, wall);
        let first = clock.first_deadline(EPOCH_TICK);
        store.data_mut().begin_call(clock);
        store.set_epoch_deadline(first);
    }

    fn arm(&self, store: &mut Store<PluginState>) {
        Self::arm_for(
            store,
            Duration::from_millis(self.limits.cpu_ms),
            self.wall(),
        );
    }

    /// A new instance, with `init` run on it.
    async fn instantiate(&self) -> Result<(Instance, PluginInfo), InitError> {
        let sandbox = Sandbox {
            memory_bytes: self.limits.memory_bytes,
        };
        let mut store = Store::new(&self.host.engine, sandbox.state(self.name.clone()));
        store.limiter(|s| &mut s.limits);
        // At each deadline: over budget traps (as an interrupt), else the deadline moves
        // by what is left of the budget (see `CallClock`).
        store.epoch_deadline_callback(|mut ctx| {
            match ctx.data_mut().clock.remaining_ticks(EPOCH_TICK) {
                Some(ticks) => Ok(UpdateDeadline::Continue(ticks)),
                None => Err(Trap::Interrupt.into()),
            }
        });
        // Instantiation runs no plugin code of interest (start functions only), and
        // `init` runs once per instance (compiling a plugin's patterns, say): both get a
        // fixed, generous budget; calls get the plugin's.
        let wall = self.wall_instantiate();
        Self::arm_for(&mut store, INSTANTIATE_CPU, wall);
        let instantiate_error = |e: wasmtime::Error| {
            InitError::Call(if e.downcast_ref::<Trap>().is_some() {
                self.classify(e)
            } else {
                CallError::Instantiate(wasm_error(e))
            })
        };
        let bindings = match &self.pre {
            Pre::V0_3_0(pre) => Bindings::V0_3_0(
                pre.instantiate_async(&mut store)
                    .await
                    .map_err(instantiate_error)?,
            ),
            Pre::V0_2_0(pre) => Bindings::V0_2_0(
                pre.instantiate_async(&mut store)
                    .await
                    .map_err(instantiate_error)?,
            ),
            Pre::V0_1_0(pre) => Bindings::V0_1_0(
                pre.instantiate_async(&mut store)
                    .await
                    .map_err(instantiate_error)?,
            ),
        };
        Self::arm_for(&mut store, INSTANTIATE_CPU, wall);
        let info = match &bindings {
            Bindings::V0_3_0(b) => b.call_init(&mut store, &self.config_json).await,
            Bindings::V0_2_0(b) => b
                .call_init(&mut store, &self.config_json)
                .await
                .map(|r| r.map(crate::compat::v0_2_0::plugin_info_from_v0_2_0)),
            Bindings::V0_1_0(b) => b.call_init(&mut store, &self.config_json).await.map(|r| {
                r.map(|i| {
                    crate::compat::v0_2_0::plugin_info_from_v0_2_0(
                        crate::bindings::v0_2_0::types::PluginInfo {
                            name: i.name,
                            version: i.version,
                            hooks: i
                                .hooks
                                .into_iter()
                                .map(crate::compat::v0_1_0::hook_up)
                                .collect(),
                        },
                    )
                })
            }),
        };
        store.data_mut().end_call();
        let info = info
            .map_err(|e| InitError::Call(self.classify(e)))?
            .map_err(InitError::Refused)?;
        let info = PluginInfo {
            name: info.name,
            version: info.version,
            hooks: info
                .hooks
                .into_iter()
                .map(|h| match h {
                    wit::Hook::Check => Hook::Check,
                    wit::Hook::Output => Hook::Output,
                })
                .collect(),
        };
        Ok((Instance { store, bindings }, info))
    }

    /// An initialised instance: an idle one when reusing, else a fresh one.
    pub(crate) async fn acquire(&self) -> Result<Instance, CallError> {
        if self.host.config.reuse_instances
            && let Some(i) = self.idle.lock().ok().and_then(|mut v| v.pop())
        {
            return Ok(i);
        }
        let fresh = tokio::time::timeout(self.wall_instantiate(), self.instantiate()).await;
        match fresh {
            Err(_) => Err(CallError::Timeout {
                ms: self.limits.cpu_ms,
            }),
            Ok(Err(InitError::Call(e))) => Err(e),
            Ok(Err(InitError::Refused(m))) => Err(CallError::Malformed(format!(
                "init refused its config: {m}"
            ))),
            Ok(Ok((i, _))) => Ok(i),
        }
    }

    /// Gives back a healthy instance (kept when reusing, else dropped).
    pub(crate) fn release(&self, instance: Instance) {
        if !self.host.config.reuse_instances {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.host.config.idle_per_plugin
        {
            idle.push(instance);
        }
    }

    /// Runs `check`; the instance is returned to the pool only if the call succeeded.
    pub(crate) async fn check(&self, sent: &Sent) -> Result<wit::Answer, CallError> {
        let request = &sent.request;
        let mut i = self.acquire().await?;
        self.arm(&mut i.store);
        let Instance { store, bindings } = &mut i;
        let call = async {
            let v = match bindings {
                Bindings::V0_3_0(b) => b.call_check(&mut *store, request).await,
                Bindings::V0_2_0(b) => {
                    let old = sent.v0_2_0();
                    b.call_check(&mut *store, old)
                        .await
                        .map(|v| crate::compat::v0_2_0::answer_from_v0_2_0(v, request, old))
                }
                Bindings::V0_1_0(b) => {
                    let (mid, old) = (sent.v0_2_0(), sent.v0_1_0());
                    b.call_check(&mut *store, old).await.map(|v| {
                        let v = crate::compat::v0_1_0::verdict_from_v0_1_0(v, mid, old);
                        crate::compat::v0_2_0::answer_from_v0_2_0(v, request, mid)
                    })
                }
            };
            store.data_mut().end_call();
            v
        };
        let v = match tokio::time::timeout(self.wall(), call).await {
            Ok(r) => r.map_err(|e| self.classify(e))?,
            Err(_) => {
                return Err(CallError::Timeout {
                    ms: self.limits.cpu_ms,
                });
            }
        };
        self.release(i);
        Ok(v)
    }

    /// Runs `on-output` on `instance`, blocking the calling thread (at most the wall deadline).
    /// On `Err` the instance must be dropped.
    pub(crate) fn on_output_blocking(
        &self,
        instance: &mut Instance,
        batch: &wit::OutputBatch,
    ) -> Result<Vec<wit::OutputChunk>, CallError> {
        self.arm(&mut instance.store);
        let Instance { store, bindings } = instance;
        let call = async {
            let chunks = match bindings {
                Bindings::V0_3_0(b) => b.call_on_output(&mut *store, batch).await,
                Bindings::V0_2_0(b) => b
                    .call_on_output(&mut *store, &crate::compat::v0_2_0::batch_to_v0_2_0(batch))
                    .await
                    .map(crate::compat::v0_2_0::chunks_from_v0_2_0),
                Bindings::V0_1_0(b) => b
                    .call_on_output(&mut *store, &crate::compat::v0_1_0::batch_to_v0_1_0(batch))
                    .await
                    .map(crate::compat::v0_1_0::chunks_from_v0_1_0),
            };
            store.data_mut().end_call();
            chunks
        };
        match drive(&self.host, self.wall(), call) {
            Some(r) => r.map_err(|e| self.classify(e)),
            None => Err(CallError::Timeout {
                ms: self.limits.cpu_ms,
            }),
        }
    }

    fn classify(&self, e: wasmtime::Error) -> CallError {
        let trap = e.downcast_ref::<Trap>().copied();
        if trap == Some(Trap::Interrupt) {
            return CallError::Timeout {
                ms: self.limits.cpu_ms,
            };
        }
        let debug = format!("{e:?}");
        if debug.contains("forcing trap when growing memory") {
            return CallError::OutOfMemory {
                bytes: self.limits.memory_bytes,
                requested: crate::error::grow_request(&debug),
            };
        }
        let message = match trap {
            Some(t) => t.to_string(),
            None => e.to_string(),
        };
        CallError::Trap {
            message,
            source: wasm_error(e),
        }
    }

    /// An instance for the output hook of one execution, obtained without an async context.
    pub(crate) fn acquire_blocking(&self) -> Result<Instance, CallError> {
        drive(&self.host, self.wall_instantiate(), self.acquire()).unwrap_or(Err(
            CallError::Timeout {
                ms: self.limits.cpu_ms,
            },
        ))
    }
}

enum InitError {
    Call(CallError),
    Refused(String),
}

/// The SHA-256 of a plugin's bytes when it is known without reading them: computed when
/// the binary was built, or remembered for a file that has not changed since.
fn known_sha256(host: &HostInner, source: &PluginSource) -> Option<String> {
    match source {
        PluginSource::Static { sha256, .. } => Some((*sha256).to_string()),
        PluginSource::Path(path) => host.cache.remembered_sha256(path),
        PluginSource::Bytes { .. } => None,
    }
}

/// Finds the interface version `component` implements, newest first (as zed's extension
/// host keeps one binding per frozen API version). On failure: what the component imports
/// and exports, and the error of the newest version it was matched against (or of the
/// linking, when it imports what the host does not offer).
fn detect(
    host: &HostInner,
    component: &wasmtime::component::Component,
) -> Result<Pre, (String, wasmtime::Error)> {
    let found = || describe(host, component);
    let pre = host
        .linker()
        .and_then(|linker| linker.instantiate_pre(component))
        .map_err(|e| (found(), e))?;
    let newest = match v0_3_0::PluginPre::new(pre.clone()) {
        Ok(p) => return Ok(Pre::V0_3_0(p)),
        Err(e) => e,
    };
    if let Ok(p) = v0_2_0::PluginPre::new(pre.clone()) {
        return Ok(Pre::V0_2_0(p));
    }
    match v0_1_0::PluginPre::new(pre) {
        Ok(p) => Ok(Pre::V0_1_0(p)),
        Err(_) => Err((found(), newest)),
    }
}

/// `imports A, B and exports C, D` (the cloudops and non-WASI names), for errors.
fn describe(host: &HostInner, component: &wasmtime::component::Component) -> String {
    let ty = component.component_type();
    let imports: Vec<&str> = ty
        .imports(&host.engine)
        .map(|(name, _)| name)
        .filter(|n| !n.starts_with("wasi:"))
        .collect();
    let exports: Vec<&str> = ty.exports(&host.engine).map(|(name, _)| name).collect();
    let list = |v: &[&str]| {
        if v.is_empty() {
            "nothing".to_string()
        } else {
            v.join(", ")
        }
    };
    format!(
        "imports {} (besides WASI) and exports {}",
        list(&imports),
        list(&exports)
    )
}

/// Why `bytes` is not a component, or `None` if it is one (by its header).
fn not_a_component(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Some("no WebAssembly header".into());
    }
    match (bytes[4..6] == [0x0d, 0x00], &bytes[6..8]) {
        (_, [1, 0]) => None,
        (_, [0, 0]) => Some("a core WebAssembly module".into()),
        (_, layer) => Some(format!("unknown WebAssembly layer {layer:?}")),
    }
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `fut` to completion on this thread, giving up after `wall`.
///
/// Outside any tokio runtime the host's own runtime drives it (so WASI clocks work);
/// inside one (the engine calls output filters from a task) it is polled here and the
/// thread parked between wake-ups.
pub(crate) fn drive<F: Future>(host: &HostInner, wall: Duration, fut: F) -> Option<F::Output> {
    if tokio::runtime::Handle::try_current().is_err()
        && let Some(rt) = host.runtime()
    {
        return rt.block_on(async { tokio::time::timeout(wall, fut).await.ok() });
    }
    let deadline = Instant::now() + wall;
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::park_timeout(deadline - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_tell_components_from_modules() {
        assert_eq!(not_a_component(b"\0asm\x0d\0\x01\0"), None);
        assert!(
            not_a_component(b"\0asm\x01\0\0\0")
                .unwrap()
                .contains("core")
        );
        assert!(not_a_component(b"\x7fELF....").unwrap().contains("header"));
    }
}
