"""Native tests of a Python plugin: requests built by the real host (``cloudops plugin request``), no Wasm.

The ``cloudops`` binary is ``$CLOUDOPS`` when set, else ``cloudops`` on PATH. Each request
is what the host would send the plugin for that command line on this machine: programs
resolved on PATH, paths resolved, the working directory the current one (or ``cwd=``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Optional

from . import Plugin, Request


def _cloudops() -> str:
    found = os.environ.get("CLOUDOPS") or shutil.which("cloudops")
    if not found:
        raise RuntimeError(
            "the native tests need the cloudops binary: put it on PATH or set CLOUDOPS=/path/to/cloudops"
        )
    return found


def _request(args: list[str], source: Optional[str], cwd: Optional[str], env: Optional[dict]) -> Request:
    cmd = [_cloudops(), "plugin", "request"]
    if source:
        cmd += ["--source", source]
    if cwd:
        cmd += ["--cwd", cwd]
    for k, v in (env or {}).items():
        cmd += ["--env", f"{k}={v}"]
    out = subprocess.run(cmd + args, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd + args)}` failed ({out.returncode}): {out.stderr.strip()}")
    return Request(json.loads(out.stdout))


def shell(script: str, shell: str = "bash", source: Optional[str] = None, cwd: Optional[str] = None,
          env: Optional[dict] = None) -> Request:
    """The request for ``SHELL -c SCRIPT``, as the host normalises it."""
    return _request(["--shell", shell, "--", script], source, cwd, env)


def exec(program: str, *args: str, source: Optional[str] = None, cwd: Optional[str] = None,
         env: Optional[dict] = None) -> Request:
    """The request that runs ``program args...`` without a shell."""
    return _request(["--exec", "--", program, *args], source, cwd, env)


def load(plugin_class: type[Plugin], config: Optional[dict] = None) -> Plugin:
    """Builds the plugin as the host's ``init`` would (a round trip through JSON, as in Wasm)."""
    return plugin_class.init(json.loads(json.dumps(config or {})))
