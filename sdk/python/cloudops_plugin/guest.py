"""The Wasm side of a Python plugin: ``WitWorld = export(MyPlugin)`` in ``app.py`` wires a plugin class to the bindings componentize-py generates.

Only ``app.py`` imports this module (it needs the generated ``wit_world`` package, which
exists only inside ``componentize-py componentize``); the plugin's logic and its pytest
tests never do. The SDK's ``Request`` reads the generated objects in place, as it reads the
plain shape ``cloudops plugin request`` prints natively (``plain`` converts one into the
other), so the plugin sees the same thing in both worlds.

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


# Per generated class: ("record", field names) or ("case", tag, payload field or None).
_SHAPES: dict = {}


def _shape(cls):
    fields = [f.name for f in dataclasses.fields(cls)]
    if "_" in cls.__name__:
        return ("case", _case_name(cls.__name__), fields[0] if fields else None)
    return ("record", fields)


def plain(value):
    """A WIT value of componentize-py (dataclasses, enums, tuples) in the plain shape."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.name.lower().replace("_", "-")
    cls = type(value)
    shape = _SHAPES.get(cls)
    if shape is None:
        if not dataclasses.is_dataclass(value):
            return value
        shape = _SHAPES[cls] = _shape(cls)
    if shape[0] == "case":
        out = {"tag": shape[1]}
        if shape[2] is not None:
            out["val"] = plain(getattr(value, shape[2]))
        return out
    return {name: plain(getattr(value, name)) for name in shape[1]}


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
                return answer(WitWorld.instance.check(Request(request)))
            except Exception as e:
                return answer(_raised(e))

        def on_output(self, batch):
            return batch.chunks

    return WitWorld


def _raised(e: Exception):
    from . import deny

    return deny(f"check raised {type(e).__name__}: {e}")
