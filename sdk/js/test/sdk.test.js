// Unit tests of the JavaScript SDK's helpers (flags, wrappers, paths, the request wrapper, the guest's conversion of WIT values); no cloudops binary needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, Request, configKeys, flags, invocations, isUnder, normalizePath } from '../index.js';
import { exportPlugin, plain } from '../guest.js';

test('short clusters and long prefixes read alike', () => {
  const { shorts, longs, operands } = flags(['-rf', '--no-preserve-root', '/', '--', '-x'], { r: 'recursive' });
  assert.deepEqual([...shorts].sort(), ['f', 'r']);
  assert.deepEqual([...longs].sort(), ['no-preserve-root', 'recursive']);
  assert.deepEqual(operands, ['/', '-x']);
});

test('wrappers are seen through with their option values skipped', () => {
  const invs = invocations(['sudo', '-u', 'root', 'env', 'A=1', 'timeout', '-s', 'KILL', '5', 'nice', '-n', '5', 'rm', '-rf', '/']);
  assert.deepEqual(invs.map((i) => i.programName), ['sudo', 'env', 'timeout', 'nice', 'rm']);
  const last = invs[invs.length - 1];
  assert.deepEqual(last.argv, ['rm', '-rf', '/']);
  assert.deepEqual(last.via, ['sudo', 'env', 'timeout', 'nice']);
  assert.deepEqual(last.env, [['A', '1']]);
  assert.ok(last.hasFlag('r', 'recursive') && last.hasFlag('f', 'force'));
  assert.ok(!last.hasFlag('i', 'interactive'));
  assert.deepEqual(invocations(['sudo', '-v']).map((i) => i.programName), ['sudo']);
});

test('paths are normalised lexically', () => {
  assert.equal(normalizePath('/a/./b/../c//d/'), '/a/c/d');
  assert.equal(normalizePath('../x/..'), '..');
  assert.ok(isUnder('/work/p/../p/src', '/work/p'));
  assert.ok(!isUnder('/work/project2', '/work/p'));
});

test('configKeys names the stray key', () => {
  configKeys({ programs: [] }, ['programs']);
  assert.throws(() => configKeys({ programz: [] }, ['programs']), (e) => e instanceof ConfigError && e.message.includes('unknown field `programz`'));
});

test('WIT values of componentize-js become the plain shape', () => {
  assert.deepEqual(
    plain({ canonicalWorkingDir: undefined, timeoutMs: 5000n, command: { tag: 'exec', val: { program: 'ls', args: ['-la'] } } }),
    { canonical_working_dir: null, timeout_ms: 5000, command: { tag: 'exec', val: { program: 'ls', args: ['-la'] } } },
  );
});

test('the guest turns an exception in check into a denial naming it, and a refused config into a thrown message', () => {
  class Boom {
    static init(config) {
      if (config.bad) throw new ConfigError('bad config');
      return new Boom();
    }
    check() { throw new TypeError('no rules'); }
  }
  const g = exportPlugin(Boom);
  assert.throws(() => g.init('{"bad": true}'), (e) => e === 'bad config');
  assert.deepEqual(g.init('{}').hooks, ['check']);
  const req = { command: { tag: 'shell', val: { command: 'ls', shell: 'bash' } }, normalized: { commands: [], unanalyzable: [] } };
  assert.deepEqual(g.check(req), { verdict: { tag: 'deny', val: 'check raised TypeError: no rules' } });
});

test('the request wrapper reads the plain shape', () => {
  const req = new Request({
    command: { tag: 'shell', val: { command: 'sudo /usr/bin/curl x | sh', shell: 'bash' } },
    normalized: {
      commands: [
        { argv: ['sudo', '/usr/bin/curl', 'x'], program: '/usr/bin/sudo', assignments: [], redirections: [], context: ['pipeline'], dynamic: false, paths: [] },
        { argv: ['sh'], program: null, assignments: [], redirections: [], context: ['pipeline'], dynamic: false, paths: [] },
      ],
      unanalyzable: [],
    },
    env: [{ name: 'A', value: '1' }],
    tags: [['team', 'infra']],
    source: 'agent',
  });
  assert.equal(req.kind, 'shell');
  assert.ok(req.isFullyAnalyzed);
  assert.deepEqual(req.invocations().map((i) => i.programName), ['sudo', 'curl', 'sh']);
  assert.equal(req.envVar('A'), '1');
  assert.equal(req.tag('team'), 'infra');
});

test('componentize-js values (camelCase keys) read as the plain shape does', () => {
  const req = new Request({
    command: { tag: 'shell', val: { command: 'ls', shell: 'bash' } },
    normalized: { commands: [{ argv: ['/usr/bin/wget', 'x'], program: '/usr/bin/wget', assignments: [], redirections: [], context: [], dynamic: false, paths: [] }], unanalyzable: [] },
    canonicalWorkingDir: '/work',
    env: [],
    tags: [],
  });
  assert.equal(req.canonicalWorkingDir, '/work');
  assert.deepEqual(req.invocations().map((i) => i.programName), ['wget']);
});
