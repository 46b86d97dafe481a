"""The Wasm side of a Python plugin: ``WitWorld = export(MyPlugin)`` in ``app.py`` wires a plugin class to the bindings componentize-py generates.

Only ``app.py`` imports this module (it needs the generated ``wit_world`` package, which
exists only inside ``componentize-py componentize``); the plugin's logic and its pytest
tests never do. The WIT values are converted into the plain shape that
``cloudops plugin request`` prints, so the plugin sees the same thing in both worlds.

An exception from ``check`` becomes a denial whose reason names it
(``check raised ValueError: ...``): the host cannot see a Python traceback, and a trap would
only say "unreachable". An exception from ``init`` refuses the config with its text.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re

from . import ConfigError, Plugin, Request


def _case_name(cls_name: str) -> str:
    # `Command_Shell` -> "shell"; `Foo_BarBaz` -> "bar-baz".
    case = cls_name.rsplit("_", 1)[1]
    return re.sub(r"(?<!^)([A-Z])", r"-\1", case).lower()


def plain(value):
    """A WIT value of componentize-py (dataclasses, enums, tuples) in the plain shape."""
    if isinstance(value, enum.Enum):
        return value.name.lower().replace("_", "-")
    if dataclasses.is_dataclass(value):
        name = type(value).__name__
        fields = dataclasses.fields(value)
        if "_" in name:
            out = {"tag": _case_name(name)}
            if fields:
                out["val"] = plain(getattr(value, fields[0].name))
            return out
        return {f.name: plain(getattr(value, f.name)) for f in fields}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def export(plugin_class: type[Plugin]):
    """The ``WitWorld`` class componentize-py exports, running ``plugin_class``."""
    import wit_world
    from wit_world.imports import types
    from componentize_py_types import Err

    def answer(verdict) -> "types.Answer":
        if verdict.kind == "deny":
            v = types.Verdict_Deny(verdict.reason or "denied")
        elif verdict.kind == "ask":
            v = types.Verdict_Ask(verdict.reason or "approval needed")
        elif verdict.kind == "allow":
            v = types.Verdict_Allow()
        else:
            v = types.Verdict_Deny(f"plugin answered an unknown verdict {verdict.kind!r}")
        return types.Answer(verdict=v, tighten=None)

    class WitWorld(wit_world.WitWorld):
        instance = None

        def init(self, config: str) -> "types.PluginInfo":
            try:
                parsed = json.loads(config) if config.strip() not in ("", "null") else {}
                plugin = plugin_class.init(parsed)
            except ConfigError as e:
                raise Err(str(e))
            except Exception as e:  # the config is refused with what went wrong
                raise Err(f"init raised {type(e).__name__}: {e}")
            WitWorld.instance = plugin
            return types.PluginInfo(
                name=plugin.name, version=plugin.version, hooks=[types.Hook.CHECK]
            )

        def check(self, request) -> "types.Answer":
            try:
                return answer(WitWorld.instance.check(Request(plain(request))))
            except Exception as e:
                return answer(_raised(e))

        def on_output(self, batch):
            return batch.chunks

    return WitWorld


def _raised(e: Exception):
    from . import deny

    return deny(f"check raised {type(e).__name__}: {e}")
