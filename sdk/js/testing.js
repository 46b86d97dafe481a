// Native tests of a JavaScript plugin: requests built by the real host (`cloudops plugin request`), no Wasm.
//
// The cloudops binary is $CLOUDOPS when set, else `cloudops` on PATH. Each request is what the
// host would send the plugin for that command line here: programs resolved on PATH, paths
// resolved, the working directory the current one (or `cwd`).
import { execFileSync } from 'node:child_process';
import { Request } from './index.js';

function request(args, { source, cwd, env } = {}) {
  const bin = process.env.CLOUDOPS || 'cloudops';
  const cmd = ['plugin', 'request'];
  if (source) cmd.push('--source', source);
  if (cwd) cmd.push('--cwd', cwd);
  for (const [k, v] of Object.entries(env ?? {})) cmd.push('--env', `${k}=${v}`);
  let out;
  try {
    out = execFileSync(bin, [...cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (e.code === 'ENOENT') {
      throw new Error('the native tests need the cloudops binary: put it on PATH or set CLOUDOPS=/path/to/cloudops');
    }
    throw new Error(`cloudops ${[...cmd, ...args].join(' ')} failed: ${e.stderr ?? e.message}`);
  }
  return new Request(JSON.parse(out));
}

/** The request for `SHELL -c SCRIPT` (options: shell, source, cwd, env). */
export function shell(script, options = {}) {
  return request(['--shell', options.shell ?? 'bash', '--', script], options);
}

/** The request that runs `program args...` without a shell. */
export function exec(program, ...args) {
  return request(['--exec', '--', program, ...args]);
}

/** Builds the plugin as the host's `init` would (a round trip through JSON, as in Wasm). */
export function load(PluginClass, config = {}) {
  return PluginClass.init(JSON.parse(JSON.stringify(config)));
}
