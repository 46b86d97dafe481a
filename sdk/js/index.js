// cloudops-plugin: write cloudops policy plugins in JavaScript: typed request wrappers, verdicts, flags, paths, wrappers seen through.
//
// A plugin is a class with `static init(config)` (builds it from its policy `config` table;
// throw ConfigError to refuse it) and `check(request)` returning allow(), deny(reason) or
// ask(reason). `app.js` exports it with `exportPlugin` of `cloudops-plugin/guest`; the
// logic never imports the generated bindings, so it runs under `node --test` with
// `cloudops-plugin/testing`, on the host's own normalised view of a command line.

/** The interface version plugins built with this SDK implement. */
export const INTERFACE = 'cloudops:plugin@0.3.0';

/** Thrown by `init` to refuse its config: the policy does not load, with this message. */
export class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A verdict: `kind` is 'allow', 'deny' or 'ask'; `reason` is what the user reads. */
export class Verdict {
  constructor(kind, reason = null) {
    this.kind = kind;
    this.reason = reason;
  }
  get isAllow() { return this.kind === 'allow'; }
  get isDeny() { return this.kind === 'deny'; }
  get isAsk() { return this.kind === 'ask'; }
}

/** Let the request go on to the next plugin. */
export const allow = () => new Verdict('allow');
/** Refuse the request; `reason` is shown to whoever asked. */
export const deny = (reason) => new Verdict('deny', String(reason));
/** Ask the approver (a prompt on a terminal; elsewhere a denial with `reason`). */
export const ask = (reason) => new Verdict('ask', String(reason));

/** Refuses a config with keys other than `allowed` (a misspelt key is an error, not silence). */
export function configKeys(config, allowed) {
  for (const key of Object.keys(config ?? {})) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`invalid plugin config: unknown field \`${key}\`, expected one of ${JSON.stringify(allowed)}`);
    }
  }
}

// --- paths ------------------------------------------------------------------------------

/** The last component of `path` (`/usr/bin/rm` -> `rm`). */
export function basename(path) {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return path;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** `path` with `.`, `..` and repeated `/` removed, lexically (no symlinks followed). */
export function normalizePath(path) {
  const absolute = path.startsWith('/');
  const parts = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length && parts[parts.length - 1] !== '..') parts.pop();
      else if (!absolute) parts.push('..');
      continue;
    }
    parts.push(part);
  }
  const text = parts.join('/');
  return absolute ? '/' + text : (text || '.');
}

/** True when `path` is `root` or inside it (both normalised lexically first). */
export function isUnder(path, root) {
  const p = normalizePath(path);
  const r = normalizePath(root).replace(/\/+$/, '');
  return p === r || p.startsWith(r + '/') || r === '';
}

// --- flags ------------------------------------------------------------------------------

/**
 * Scans `args` (without argv[0]) as getopt would: `{shorts, longs, operands}`. `-rf` gives
 * shorts r and f; `--recursive=x` long `recursive`; `--` ends the options. `aliases` maps a
 * letter to a long name (`{r: 'recursive'}`).
 */
export function flags(args, aliases = {}) {
  const shorts = new Set();
  const longs = new Set();
  const operands = [];
  let onlyOperands = false;
  for (const arg of args) {
    if (onlyOperands) operands.push(arg);
    else if (arg === '--') onlyOperands = true;
    else if (arg.startsWith('--')) longs.add(arg.slice(2).split('=')[0]);
    else if (arg.length > 1 && arg.startsWith('-')) {
      for (const c of arg.slice(1)) {
        shorts.add(c);
        if (aliases[c]) longs.add(aliases[c]);
      }
    } else operands.push(arg);
  }
  return { shorts, longs, operands };
}

function hasFlag(args, short, long) {
  const { shorts, longs } = flags(args);
  if (short && shorts.has(short)) return true;
  // A long option may be abbreviated (getopt accepts `--rec`): any prefix counts.
  return Boolean(long) && [...longs].some((l) => l.length >= 2 && long.startsWith(l));
}

// --- wrappers ---------------------------------------------------------------------------

/** Programs that run another program given in their arguments, with their options that take a value. */
export const WRAPPERS = {
  sudo: ['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T', '--user', '--group'],
  doas: ['-u', '-C'],
  env: ['-u', '-C', '-S', '--unset', '--chdir', '--split-string'],
  nice: ['-n', '--adjustment'],
  nohup: [],
  setsid: [],
  time: ['-f', '-o', '--format', '--output'],
  timeout: ['-s', '-k', '--signal', '--kill-after'],
  stdbuf: ['-i', '-o', '-e', '--input', '--output', '--error'],
  ionice: ['-c', '-n', '-p', '--class', '--classdata'],
  xargs: ['-a', '-d', '-E', '-I', '-L', '-n', '-P', '-s', '--arg-file', '--delimiter',
    '--max-args', '--max-procs', '--max-chars', '--replace'],
  command: [],
  exec: ['-a'],
  chroot: [],
};

/** A command that runs, found directly or inside wrappers (`via`: the wrappers, outermost first). */
export class Invocation {
  constructor(argv, via = [], env = []) {
    this.argv = argv;
    this.via = via;
    this.env = env;
  }
  /** argv[0] without its directory. */
  get programName() { return this.argv.length ? basename(this.argv[0]) : ''; }
  /** True when a flag is given: hasFlag('r', 'recursive') matches -rf, -r, --recursive, --rec. */
  hasFlag(short, long) { return hasFlag(this.argv.slice(1), short, long); }
}

function unwrap(argv) {
  const name = argv.length ? basename(argv[0]) : '';
  if (!Object.hasOwn(WRAPPERS, name)) return null;
  const takesValue = WRAPPERS[name];
  const env = [];
  let i = 1;
  while (i < argv.length) {
    const arg = argv[i];
    if (arg === '--') { i += 1; break; }
    if (arg.startsWith('-') && arg.length > 1) { i += takesValue.includes(arg) ? 2 : 1; continue; }
    if ((name === 'env' || name === 'sudo') && arg.includes('=') && !arg.startsWith('=')) {
      const at = arg.indexOf('=');
      env.push([arg.slice(0, at), arg.slice(at + 1)]);
      i += 1;
      continue;
    }
    break;
  }
  // timeout and chroot take one operand (the duration, the new root) before the program.
  if ((name === 'timeout' || name === 'chroot') && i < argv.length) i += 1;
  const rest = argv.slice(i);
  return rest.length ? { rest, env } : null;
}

/** `argv` itself and every command found inside wrappers (`sudo env A=1 rm -rf /` gives sudo, env and rm). */
export function invocations(argv, depth = 12) {
  const found = [new Invocation([...argv])];
  const via = [];
  let env = [];
  let current = [...argv];
  for (let d = 0; d < depth; d += 1) {
    const inner = unwrap(current);
    if (!inner) break;
    via.push(basename(current[0]));
    current = inner.rest;
    env = env.concat(inner.env);
    found.push(new Invocation([...current], [...via], [...env]));
  }
  return found;
}

// --- the request ------------------------------------------------------------------------
//
// A request is read from either shape: the plain objects `cloudops plugin request` prints
// (native tests, snake_case keys), or, inside Wasm, the values componentize-js passes
// (camelCase keys), read in place rather than converted first.

/** Field `name` (snake_case) of a record in either shape. */
function field(raw, name) {
  if (raw == null) return null;
  if (name in raw) return raw[name];
  const camel = name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  return raw[camel] ?? null;
}

/** One simple command the host found (`normalized.commands[i]` of the WIT request; `raw` is the record). */
export class SimpleCommand {
  constructor(raw) { this.raw = raw; }
  /** Words after quote removal; argv[0] as written. */
  get argv() { return [...field(this.raw, 'argv')]; }
  /** argv without argv[0]. */
  get args() { return field(this.raw, 'argv').slice(1); }
  /** argv[0] resolved on the request's PATH by the host, when it could be. */
  get program() { return field(this.raw, 'program'); }
  /** The program's name: the resolved program's basename, else argv[0]'s. */
  get programName() { return basename(this.program ?? field(this.raw, 'argv')[0] ?? ''); }
  /** Some word depends on run-time expansion. */
  get dynamic() { return Boolean(field(this.raw, 'dynamic')); }
  /** Where it sits, outermost first (`pipeline`, `subshell`, `command-substitution`, ...). */
  get context() { return [...(field(this.raw, 'context') ?? [])]; }
  /** Leading NAME=value assignments, as an object. */
  get assignments() { return Object.fromEntries((field(this.raw, 'assignments') ?? []).map((a) => [a.name, a.value])); }
  /** True when a flag is given (see Invocation.hasFlag). */
  hasFlag(short, long) { return hasFlag(this.args, short, long); }
  /** The canonical paths the host resolved for this command's path words (symlinks followed). */
  resolvedPaths() { return (field(this.raw, 'paths') ?? []).map((p) => p.canonical); }
  /** This command and every command it runs through wrappers. */
  invocations() {
    const found = invocations(this.argv);
    if (this.program) found[0] = new Invocation([this.program, ...this.args]);
    return found;
  }
}

/** A request as a plugin sees it: the WIT `request` record in `raw` (plain natively, componentize-js's value in Wasm). */
export class Request {
  constructor(raw) { this.raw = raw; }
  /** 'shell', 'exec', 'script' or 'aws'. */
  get kind() { return this.raw.command.tag; }
  /** The command as sent (`{command, shell}` for shell, `{program, args}` for exec, ...). */
  get command() { return this.raw.command.val; }
  /** Every simple command the host found, in source order. */
  commands() { return field(this.raw, 'normalized').commands.map((c) => new SimpleCommand(c)); }
  /** Every command that runs, wrappers seen through. */
  invocations() { return this.commands().flatMap((c) => c.invocations()); }
  /** Why the host could not analyse the request fully (empty when it could). */
  get unanalyzable() { return [...field(this.raw, 'normalized').unanalyzable]; }
  /** True when the host understood every command. */
  get isFullyAnalyzed() { return field(this.raw, 'normalized').unanalyzable.length === 0; }
  /** Who asked (agent, mcp, ci, ...). */
  get source() { return field(this.raw, 'source'); }
  /** The working directory, absolute with symlinks resolved by the host, when it exists. */
  get canonicalWorkingDir() { return field(this.raw, 'canonical_working_dir'); }
  /** A variable the request sets. */
  envVar(name) { return (field(this.raw, 'env') ?? []).find((e) => e.name === name)?.value ?? null; }
  /** The value of a tag. */
  tag(key) { return (field(this.raw, 'tags') ?? []).find(([k]) => k === key)?.[1] ?? null; }
}
