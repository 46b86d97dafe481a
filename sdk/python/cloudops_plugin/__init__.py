"""cloudops_plugin: write cloudops policy plugins in Python (built into WebAssembly components with componentize-py).

A plugin is a class with ``init(config)`` (a classmethod building it from its policy
``config`` table, a dict) and ``check(request)`` returning :func:`allow`, :func:`deny` or
:func:`ask`. ``app.py`` exports it with ``cloudops_plugin.guest.export``; the plugin's logic
never imports the generated bindings, so it runs natively under pytest with
:mod:`cloudops_plugin.testing`, against the host's own normalised view of a command line.

The request is the WIT ``request`` record of ``cloudops:plugin@0.3.0`` in one plain shape
(the same natively and in Wasm: see ``cloudops plugin request --help``), wrapped in
:class:`Request` and :class:`SimpleCommand` with the helpers of the Rust SDK: program
names, flags (``-rf`` = ``-r -f`` = ``--recursive --force``), paths, and the commands run
through wrappers (``sudo``, ``env``, ``timeout``, ``xargs``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

__all__ = [
    "INTERFACE",
    "ConfigError",
    "Plugin",
    "Request",
    "SimpleCommand",
    "Invocation",
    "Verdict",
    "allow",
    "deny",
    "ask",
    "basename",
    "is_under",
    "normalize_path",
    "flags",
    "WRAPPERS",
    "config_keys",
    "invocations",
]

#: The interface version plugins built with this SDK implement.
INTERFACE = "cloudops:plugin@0.3.0"


class ConfigError(Exception):
    """Raised by ``init`` to refuse its config: the policy does not load, with this message."""


@dataclass(frozen=True)
class Verdict:
    """A plugin's verdict: ``kind`` is ``allow``, ``deny`` or ``ask``; ``reason`` is what the user reads."""

    kind: str
    reason: Optional[str] = None

    @property
    def is_allow(self) -> bool:
        """True for :func:`allow`."""
        return self.kind == "allow"

    @property
    def is_deny(self) -> bool:
        """True for :func:`deny`."""
        return self.kind == "deny"

    @property
    def is_ask(self) -> bool:
        """True for :func:`ask`."""
        return self.kind == "ask"


def allow() -> Verdict:
    """Let the request go on to the next plugin."""
    return Verdict("allow")


def deny(reason: str) -> Verdict:
    """Refuse the request; ``reason`` is shown to whoever asked (an agent adapts to it)."""
    return Verdict("deny", str(reason))


def ask(reason: str) -> Verdict:
    """Ask the approver (a prompt on a terminal; elsewhere a denial with ``reason``)."""
    return Verdict("ask", str(reason))


class Plugin:
    """Base class of a plugin. Override :meth:`init` and :meth:`check`.

    ``hooks`` lists what the host calls; only ``"check"`` is supported by this SDK.
    """

    #: The plugin's name and version, as the host reports them.
    name: str = "python-plugin"
    version: str = "0.1.0"

    @classmethod
    def init(cls, config: dict) -> "Plugin":
        """Builds the plugin from its policy ``config`` table; raise :class:`ConfigError` to refuse it."""
        return cls()

    def check(self, request: "Request") -> Verdict:
        """Decides on one request. Default: allow."""
        return allow()


# --- paths -----------------------------------------------------------------------------


def basename(path: str) -> str:
    """The last component of ``path`` (``/usr/bin/rm`` -> ``rm``)."""
    return path.rstrip("/").rsplit("/", 1)[-1] if path.strip("/") else path


def normalize_path(path: str) -> str:
    """``path`` with ``.``, ``..`` and repeated ``/`` removed, lexically (no symlinks followed)."""
    absolute = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not absolute:
                parts.append("..")
            continue
        parts.append(part)
    text = "/".join(parts)
    return ("/" + text) if absolute else (text or ".")


def is_under(path: str, root: str) -> bool:
    """True when ``path`` is ``root`` or inside it (both normalised lexically first)."""
    p, r = normalize_path(path), normalize_path(root)
    return p == r or p.startswith(r.rstrip("/") + "/")


# --- flags -----------------------------------------------------------------------------


def flags(args: list[str], aliases: Optional[dict[str, str]] = None) -> tuple[set[str], set[str], list[str]]:
    """Scans ``args`` (without argv[0]) as getopt would: ``(shorts, longs, operands)``.

    ``-rf`` gives shorts ``{"r", "f"}``; ``--recursive=x`` gives long ``recursive``; ``--``
    ends the options. ``aliases`` maps a letter to a long name (``{"r": "recursive"}``):
    the long name is then added for that letter.
    """
    aliases = aliases or {}
    shorts: set[str] = set()
    longs: set[str] = set()
    operands: list[str] = []
    only_operands = False
    for arg in args:
        if only_operands:
            operands.append(arg)
        elif arg == "--":
            only_operands = True
        elif arg.startswith("--"):
            longs.add(arg[2:].split("=", 1)[0])
        elif len(arg) > 1 and arg.startswith("-"):
            for c in arg[1:]:
                shorts.add(c)
                if c in aliases:
                    longs.add(aliases[c])
        else:
            operands.append(arg)
    return shorts, longs, operands


def _has_flag(args: list[str], short: Optional[str], long: Optional[str]) -> bool:
    shorts, longs, _ = flags(args)
    if short and short in shorts:
        return True
    # A long option may be abbreviated (getopt accepts `--rec`): any prefix counts.
    return bool(long) and any(len(l) >= 2 and long.startswith(l) for l in longs)


# --- wrappers ----------------------------------------------------------------------------

#: Programs that run another program given in their arguments, with the options of each
#: that take a value (so that the value is not taken for the program).
WRAPPERS: dict[str, set[str]] = {
    "sudo": {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group"},
    "doas": {"-u", "-C"},
    "env": {"-u", "-C", "-S", "--unset", "--chdir", "--split-string"},
    "nice": {"-n", "--adjustment"},
    "nohup": set(),
    "setsid": set(),
    "time": {"-f", "-o", "--format", "--output"},
    "timeout": {"-s", "-k", "--signal", "--kill-after"},
    "stdbuf": {"-i", "-o", "-e", "--input", "--output", "--error"},
    "ionice": {"-c", "-n", "-p", "--class", "--classdata"},
    "xargs": {"-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", "--arg-file", "--delimiter",
              "--max-args", "--max-procs", "--max-chars", "--replace"},
    "command": set(),
    "exec": {"-a"},
    "chroot": set(),
}


@dataclass(frozen=True)
class Invocation:
    """A command that runs, found directly or inside wrappers.

    ``via`` lists the wrappers it was found through, outermost first (``["sudo", "env"]``),
    empty for the command itself; ``env`` the variables set on the way (``env A=1``).
    """

    argv: list[str]
    via: list[str] = field(default_factory=list)
    env: list[tuple[str, str]] = field(default_factory=list)

    @property
    def program_name(self) -> str:
        """argv[0] without its directory (``/usr/bin/curl`` -> ``curl``)."""
        return basename(self.argv[0]) if self.argv else ""

    def has_flag(self, short: Optional[str] = None, long: Optional[str] = None) -> bool:
        """True when a flag is given: ``has_flag("r", "recursive")`` matches ``-rf``, ``-r``, ``--recursive``, ``--rec``."""
        return _has_flag(self.argv[1:], short, long)


def _unwrap(argv: list[str]) -> Optional[tuple[list[str], list[tuple[str, str]]]]:
    """The argv a wrapper runs (and the variables it sets), or None when argv is no wrapper."""
    name = basename(argv[0]) if argv else ""
    if name not in WRAPPERS:
        return None
    takes_value = WRAPPERS[name]
    env: list[tuple[str, str]] = []
    i = 1
    # timeout and chroot take one operand (the duration, the new root) before the program.
    operand_first = name in ("timeout", "chroot")
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if arg.startswith("-") and len(arg) > 1:
            i += 2 if (arg in takes_value) else 1
            continue
        if name in ("env", "sudo") and "=" in arg and not arg.startswith("="):
            key, value = arg.split("=", 1)
            env.append((key, value))
            i += 1
            continue
        break
    if operand_first and i < len(argv):
        i += 1
    rest = argv[i:]
    return (rest, env) if rest else None


def invocations(argv: list[str], depth: int = 12) -> list[Invocation]:
    """``argv`` itself and every command found inside wrappers: ``sudo env A=1 timeout 5 rm -rf /``
    gives ``sudo ...``, ``env ...``, ``timeout ...`` and ``rm -rf /``."""
    found = [Invocation(list(argv))]
    via: list[str] = []
    env: list[tuple[str, str]] = []
    current = list(argv)
    for _ in range(depth):
        inner = _unwrap(current)
        if inner is None:
            break
        via.append(basename(current[0]))
        current, more = inner
        env = env + more
        found.append(Invocation(list(current), list(via), list(env)))
    return found


# --- the request -------------------------------------------------------------------------
#
# A request is read from either shape: the plain dicts `cloudops plugin request` prints
# (native tests), or, inside Wasm, the objects componentize-py generates, read in place
# (converting the whole record first cost about 1 ms per call there).


def _get(raw, name: str):
    """Field `name` of a record: a dict key, or an attribute of a generated dataclass."""
    if isinstance(raw, dict):
        return raw.get(name)
    return getattr(raw, name, None)


def _tag(variant) -> str:
    if isinstance(variant, dict):
        return variant["tag"]
    # `Command_Shell` -> "shell".
    return type(variant).__name__.rsplit("_", 1)[1].lower()


def _val(variant):
    if isinstance(variant, dict):
        return variant.get("val")
    from .guest import plain

    return plain(getattr(variant, "value", None))


class SimpleCommand:
    """One simple command the host found (``normalized.commands[i]`` of the WIT request)."""

    def __init__(self, raw):
        #: The WIT record (``argv``, ``program``, ``assignments``, ``redirections``,
        #: ``context``, ``dynamic``, ``paths``): a dict natively, the generated object in Wasm.
        self.raw = raw

    @property
    def argv(self) -> list[str]:
        """Words after quote removal; argv[0] as written."""
        return list(_get(self.raw, "argv"))

    @property
    def args(self) -> list[str]:
        """argv without argv[0]."""
        return list(_get(self.raw, "argv")[1:])

    @property
    def program(self) -> Optional[str]:
        """argv[0] resolved on the request's PATH by the host (an absolute path), when it could be."""
        return _get(self.raw, "program")

    @property
    def program_name(self) -> str:
        """The program's name: the resolved program's basename, else argv[0]'s (``/bin/rm`` -> ``rm``)."""
        argv = _get(self.raw, "argv")
        prog = self.program or (argv[0] if argv else "")
        return basename(prog)

    @property
    def dynamic(self) -> bool:
        """Some word depends on run-time expansion (``$VAR``, ``$(...)``, a glob)."""
        return bool(_get(self.raw, "dynamic"))

    @property
    def context(self) -> list[str]:
        """Where it sits, outermost first (``pipeline``, ``subshell``, ``command-substitution``, ...)."""
        return list(_get(self.raw, "context") or [])

    @property
    def assignments(self) -> dict[str, str]:
        """Leading ``NAME=value`` assignments."""
        return {_get(a, "name"): _get(a, "value") for a in _get(self.raw, "assignments") or []}

    def has_flag(self, short: Optional[str] = None, long: Optional[str] = None) -> bool:
        """True when a flag is given: ``has_flag("r", "recursive")`` matches ``-rf``, ``-Rr``'s ``r``, ``--recursive``."""
        return _has_flag(self.args, short, long)

    def resolved_paths(self) -> list[str]:
        """The canonical paths the host resolved for this command's path words (symlinks followed)."""
        return [_get(p, "canonical") for p in _get(self.raw, "paths") or []]

    def invocations(self) -> list[Invocation]:
        """This command and every command it runs through wrappers (see :func:`invocations`)."""
        found = invocations(self.argv)
        if self.program and found:
            found[0] = Invocation([self.program] + self.args)
        return found

    def display(self) -> str:
        """The command as a shell would read it (words quoted where needed)."""
        return " ".join(_quote(w) for w in self.argv)

    def __repr__(self) -> str:
        return f"SimpleCommand({self.argv!r})"


def _quote(word: str) -> str:
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    if word and all(c in safe for c in word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


class Request:
    """A request as a plugin sees it: the WIT ``request`` record in :attr:`raw`."""

    def __init__(self, raw):
        #: The whole record: ``id``, ``command``, ``normalized``, ``env``, ``working_dir``,
        #: ``canonical_working_dir``, ``paths_complete``, ``timeout_ms``, ``source``,
        #: ``conversation_id``, ``tags``, ``profile``, ``sandbox``: a dict natively, the
        #: generated object in Wasm (:func:`cloudops_plugin.guest.plain` turns it into the dict).
        self.raw = raw

    @property
    def kind(self) -> str:
        """``shell``, ``exec``, ``script`` or ``aws``."""
        return _tag(_get(self.raw, "command"))

    @property
    def command(self) -> dict:
        """The command as sent: ``{"command", "shell"}`` for shell, ``{"program", "args"}`` for exec, ..."""
        return _val(_get(self.raw, "command"))

    def commands(self) -> Iterator[SimpleCommand]:
        """Every simple command the host found, in source order (exactly one unless shell)."""
        return (SimpleCommand(c) for c in _get(_get(self.raw, "normalized"), "commands"))

    def invocations(self) -> Iterator[Invocation]:
        """Every command that runs, wrappers seen through (``sudo rm`` gives ``sudo`` and ``rm``)."""
        for cmd in self.commands():
            yield from cmd.invocations()

    @property
    def unanalyzable(self) -> list[str]:
        """Why the host could not analyse the request fully (empty when it could)."""
        return list(_get(_get(self.raw, "normalized"), "unanalyzable"))

    @property
    def is_fully_analyzed(self) -> bool:
        """True when the host understood every command (deny or ask otherwise)."""
        return not _get(_get(self.raw, "normalized"), "unanalyzable")

    @property
    def source(self) -> Optional[str]:
        """Who asked (``agent``, ``mcp``, ``ci``, ...)."""
        return _get(self.raw, "source")

    @property
    def working_dir(self) -> Optional[str]:
        """The working directory as given."""
        return _get(self.raw, "working_dir")

    @property
    def canonical_working_dir(self) -> Optional[str]:
        """The working directory, absolute with symlinks resolved by the host, when it exists."""
        return _get(self.raw, "canonical_working_dir")

    def env_var(self, name: str) -> Optional[str]:
        """A variable the request sets."""
        for e in _get(self.raw, "env") or []:
            if _get(e, "name") == name:
                return _get(e, "value")
        return None

    def tag(self, key: str) -> Optional[str]:
        """The value of a tag."""
        for k, v in _get(self.raw, "tags") or []:
            if k == key:
                return v
        return None

    def __repr__(self) -> str:
        return f"Request({self.kind}: {[c.argv for c in self.commands()]!r})"


def config_keys(config: dict, allowed: set[str]) -> None:
    """Refuses a config with keys other than ``allowed`` (a misspelt key is an error, not silence)."""
    for key in config:
        if key not in allowed:
            raise ConfigError(f"invalid plugin config: unknown field `{key}`, expected one of {sorted(allowed)}")
