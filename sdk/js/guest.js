// The Wasm side of a JavaScript plugin: `exportPlugin(MyPlugin)` in app.js gives the exports componentize-js wires to the WIT world.
//
// The SDK's Request reads the values componentize-js passes (camelCase keys, BigInt for u64)
// in place, as it reads the plain shape `cloudops plugin request` prints natively (`plain`
// converts one into the other), so a plugin sees the same request in both. An exception from `check` becomes a denial
// naming it (`check raised TypeError: ...`); one from `init` refuses the config.
import { ConfigError, Request, deny } from './index.js';

function snake(key) {
  return key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

/** A WIT value of componentize-js in the plain shape. */
export function plain(value) {
  if (typeof value === 'bigint') return Number(value);
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k === 'tag' || k === 'val' ? k : snake(k)] = plain(v);
    return out;
  }
  return value;
}

function answer(verdict) {
  switch (verdict?.kind) {
    case 'allow': return { verdict: { tag: 'allow' } };
    case 'deny': return { verdict: { tag: 'deny', val: verdict.reason ?? 'denied' } };
    case 'ask': return { verdict: { tag: 'ask', val: verdict.reason ?? 'approval needed' } };
    default: return { verdict: { tag: 'deny', val: `plugin answered an unknown verdict ${JSON.stringify(verdict)}` } };
  }
}

/** The `init`, `check` and `onOutput` exports for `PluginClass`. */
export function exportPlugin(PluginClass) {
  let instance = null;
  return {
    init(config) {
      try {
        const parsed = config.trim() === '' || config.trim() === 'null' ? {} : JSON.parse(config);
        instance = PluginClass.init(parsed);
      } catch (e) {
        // componentize-js turns a thrown value into the `err` of `result<plugin-info, string>`.
        throw e instanceof ConfigError ? e.message : `init raised ${e?.name ?? 'error'}: ${e?.message ?? e}`;
      }
      return {
        name: PluginClass.pluginName ?? 'js-plugin',
        version: PluginClass.version ?? '0.1.0',
        hooks: ['check'],
      };
    },
    check(request) {
      try {
        return answer(instance.check(new Request(request)));
      } catch (e) {
        return answer(deny(`check raised ${e?.name ?? 'error'}: ${e?.message ?? e}`));
      }
    },
    onOutput(batch) {
      return batch.chunks;
    },
  };
}
