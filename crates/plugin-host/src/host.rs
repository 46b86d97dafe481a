//! The plugin host: one wasmtime engine (pooling or on-demand allocation, epoch interruption), its epoch ticker, the linker and the compile cache.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings::{v0_1_0, v0_2_0, v0_3_0};
use crate::cache::{Cache, default_cache_dir};
use crate::error::{HostError, LoadError, wasm_error};
use crate::plugin::LoadedPlugin;
use crate::sandbox::PluginState;
use crate::spec::PluginSpec;

/// Settings of a [`PluginHost`].
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Where compiled plugins are cached; `None` = [`default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// Live instances the pooling allocator can hold, all plugins together (default 256).
    /// An instantiation beyond it fails, and the plugin's failure policy applies.
    pub max_instances: u32,
    /// Upper bound for any plugin's `Limits::memory_bytes` (default 256 MiB).
    pub max_memory_bytes: usize,
    /// Keep initialised instances alive between executions (default `true`, see the crate
    /// docs for what plugin authors may rely on). `false` = a fresh instance per execution.
    pub reuse_instances: bool,
    /// Idle instances kept per plugin when reusing (default 8).
    pub idle_per_plugin: usize,
    /// Take instances from a pooling allocator (default `true`): a little faster per
    /// instantiation, but setting the pool up reserves address space for `max_instances`
    /// memories (about 1 TiB with the defaults, which fails under `ulimit -v`) and costs a
    /// few milliseconds at start. `false` allocates each instance on demand (the memory cap
    /// still applies): the better choice for a short-lived process such as the CLI.
    pub pooling: bool,
    /// Told when a plugin is compiled rather than taken from the cache (default none).
    pub compile_observer: Option<crate::observe::CompileObserverRef>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            cache_dir: None,
            max_instances: 256,
            max_memory_bytes: 256 << 20,
            reuse_instances: true,
            idle_per_plugin: 8,
            pooling: true,
            compile_observer: None,
        }
    }
}

/// Epoch tick: the granularity of the CPU budget.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Loads plugins and runs them. Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct PluginHost {
    pub(crate) inner: Arc<HostInner>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

pub(crate) struct HostInner {
    pub(crate) engine: Engine,
    /// The WASI and plugin-interface linker, from `linker_job` (see [`HostInner::linker`]).
    linker: std::sync::OnceLock<Result<Linker<PluginState>, String>>,
    /// The thread building the linker, until a load takes its result.
    linker_job: std::sync::Mutex<Option<LinkerJob>>,
    pub(crate) cache: Cache,
    pub(crate) config: HostConfig,
    settings: String,
    /// Drives host futures (WASI clocks) for calls made outside any tokio runtime; started
    /// at the first such call (`None` if it could not be).
    runtime: std::sync::OnceLock<Option<tokio::runtime::Runtime>>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for HostInner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
        if let Some(Some(rt)) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

type LinkerJob = std::thread::JoinHandle<Result<Linker<PluginState>, String>>;

/// The linker plugins are instantiated with: WASI 0.2 (its context denies files, env and
/// network: see `sandbox`) and every supported version of the plugin interface.
fn build_linker(engine: &Engine) -> Result<Linker<PluginState>, String> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| e.to_string())?;
    // Every supported interface version, side by side (their packages differ).
    v0_3_0::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
        .map_err(|e| e.to_string())?;
    v0_2_0::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
        .map_err(|e| e.to_string())?;
    v0_1_0::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
        .map_err(|e| e.to_string())?;
    Ok(linker)
}

impl HostInner {
    /// The linker, once its thread has built it (built here if the thread could not start
    /// or died).
    pub(crate) fn linker(&self) -> Result<&Linker<PluginState>, wasmtime::Error> {
        self.linker
            .get_or_init(|| {
                let job = self
                    .linker_job
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                match job.map(std::thread::JoinHandle::join) {
                    Some(Ok(built)) => built,
                    _ => build_linker(&self.engine),
                }
            })
            .as_ref()
            .map_err(|e| wasmtime::Error::msg(format!("the plugin linker could not be built: {e}")))
    }

    /// The host's own single-threaded runtime, started on first use.
    pub(crate) fn runtime(&self) -> Option<&tokio::runtime::Runtime> {
        self.runtime
            .get_or_init(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()
            })
            .as_ref()
    }
}

impl PluginHost {
    /// Creates the engine, the epoch ticker thread and the cache directory, and starts
    /// building the linker on a thread (the first load waits for it).
    pub fn new(cfg: HostConfig) -> Result<Self, HostError> {
        let mut pool = PoolingAllocationConfig::default();
        let n = cfg.max_instances.max(1);
        pool.total_component_instances(n)
            .total_core_instances(n * 8)
            .total_memories(n)
            .total_tables(n * 8)
            .total_stacks(n)
            .max_memory_size(cfg.max_memory_bytes);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_opt_level(wasmtime::OptLevel::Speed)
            .max_wasm_stack(512 << 10);
        if cfg.pooling {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        // Everything above that can change compiled code goes into the cache key.
        let settings = "cloudops-plugin-host/1 component-model epoch-interruption opt=speed \
                        max-wasm-stack=524288 pooling"
            .to_string();
        let engine = Engine::new(&config).map_err(|e| HostError::Engine(wasm_error(e)))?;
        let settings = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            engine.precompile_compatibility_hash().hash(&mut h);
            format!("{settings} wasmtime-compat={:016x}", h.finish())
        };

        // The linker takes about as long as mapping a plugin: it is built beside the rest of
        // the start-up and the first loads, and waited for when a plugin is matched to it.
        let linking = engine.clone();
        let linker_job = std::thread::Builder::new()
            .name("cloudops-plugin-link".into())
            .spawn(move || build_linker(&linking))
            .ok();

        let dir = cfg.cache_dir.clone().unwrap_or_else(default_cache_dir);
        std::fs::create_dir_all(&dir).map_err(|source| HostError::CacheDir {
            path: dir.clone(),
            source,
        })?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (stop, ticking) = (stop_ticker.clone(), engine.clone());
        std::thread::Builder::new()
            .name("cloudops-plugin-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|source| HostError::Start {
                what: "epoch ticker thread",
                source,
            })?;

        Ok(PluginHost {
            inner: Arc::new(HostInner {
                engine,
                linker: std::sync::OnceLock::new(),
                linker_job: std::sync::Mutex::new(linker_job),
                cache: Cache::new(dir, settings.clone()),
                config: cfg,
                settings,
                runtime: std::sync::OnceLock::new(),
                stop_ticker,
            }),
        })
    }

    /// Loads a plugin: reads it, checks the pin, compiles it (or loads it from the cache),
    /// finds which interface version it implements (`cloudops:plugin@0.3.0`, else
    /// `@0.2.0`, else `@0.1.0`: see [`SUPPORTED`](crate::SUPPORTED)), and runs `init` with its config
    /// once, so a bad config is reported here.
    pub fn load(&self, spec: &PluginSpec) -> Result<Arc<LoadedPlugin>, LoadError> {
        LoadedPlugin::load(self, spec).map(|(p, _)| Arc::new(p))
    }

    /// [`PluginHost::load`] for each spec, side by side on up to one thread per core (this
    /// one included): each load maps or compiles its code, instantiates it and runs its
    /// `init` independently of the others. The results are in the order of `specs`.
    pub fn load_all(&self, specs: &[&PluginSpec]) -> Vec<Result<Arc<LoadedPlugin>, LoadError>> {
        let cores = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
            .map(|set| {
                (0..nix::sched::CpuSet::count())
                    .filter(|&c| set.is_set(c).unwrap_or(false))
                    .count()
            })
            .unwrap_or(1);
        let threads = cores.clamp(1, specs.len().max(1));
        if threads == 1 {
            return specs.iter().map(|spec| self.load(spec)).collect();
        }
        // The other threads run host futures as this one does: inside its runtime, if any.
        let ambient = tokio::runtime::Handle::try_current().ok();
        // Thread t loads specs t, t + threads, t + 2 * threads, ...; this thread is thread 0.
        let share = |t: usize| -> Vec<_> {
            let _runtime = ambient.as_ref().map(tokio::runtime::Handle::enter);
            specs
                .iter()
                .skip(t)
                .step_by(threads)
                .map(|spec| self.load(spec))
                .collect()
        };
        let shares: Vec<Vec<_>> = std::thread::scope(|scope| {
            let others: Vec<_> = (1..threads)
                .map(|t| {
                    std::thread::Builder::new()
                        .name("cloudops-plugin-load".into())
                        .spawn_scoped(scope, move || share(t))
                })
                .collect();
            let mut shares = vec![share(0)];
            for (t, handle) in (1..).zip(others) {
                shares.push(match handle {
                    Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                    // No thread to be had: its share is loaded here.
                    Err(_) => share(t),
                });
            }
            shares
        });
        let mut shares: Vec<_> = shares.into_iter().map(Vec::into_iter).collect();
        (0..specs.len())
            .filter_map(|i| shares[i % threads].next())
            .collect()
    }

    /// [`PluginHost::load`], also telling whether the compiled code came from the cache.
    pub fn load_reporting_cache(
        &self,
        spec: &PluginSpec,
    ) -> Result<(Arc<LoadedPlugin>, crate::cache::CacheOutcome), LoadError> {
        LoadedPlugin::load(self, spec).map(|(p, c)| (Arc::new(p), c))
    }

    /// The cache file a component with these bytes is (or would be) stored in.
    pub fn cache_entry_for(&self, bytes: &[u8]) -> PathBuf {
        self.inner.cache.entry(&crate::cache::sha256_hex(bytes))
    }
}
