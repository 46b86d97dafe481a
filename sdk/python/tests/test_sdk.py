"""Unit tests of the Python SDK's helpers (flags, wrappers, paths, the request wrapper, the guest's conversion of WIT values); no cloudops binary needed."""

import dataclasses
import enum
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloudops_plugin import (  # noqa: E402
    ConfigError,
    Request,
    config_keys,
    flags,
    invocations,
    is_under,
    normalize_path,
)
from cloudops_plugin.guest import plain  # noqa: E402


def test_short_clusters_and_long_prefixes_read_alike():
    shorts, longs, operands = flags(["-rf", "--no-preserve-root", "/", "--", "-x"], {"r": "recursive"})
    assert shorts == {"r", "f"}
    assert longs == {"no-preserve-root", "recursive"}
    assert operands == ["/", "-x"]


def test_wrappers_are_seen_through_with_their_option_values_skipped():
    invs = invocations(["sudo", "-u", "root", "env", "A=1", "timeout", "-s", "KILL", "5", "nice", "-n", "5", "rm", "-rf", "/"])
    assert [i.program_name for i in invs] == ["sudo", "env", "timeout", "nice", "rm"]
    last = invs[-1]
    assert last.argv == ["rm", "-rf", "/"]
    assert last.via == ["sudo", "env", "timeout", "nice"]
    assert last.env == [("A", "1")]
    assert last.has_flag("r", "recursive") and last.has_flag("f", "force")
    assert not last.has_flag("i", "interactive")
    # A wrapper with nothing after it runs nothing more.
    assert [i.program_name for i in invocations(["sudo", "-v"])] == ["sudo"]


def test_paths_are_normalised_lexically():
    assert normalize_path("/a/./b/../c//d/") == "/a/c/d"
    assert normalize_path("../x/..") == ".."
    assert is_under("/work/p/../p/src", "/work/p")
    assert not is_under("/work/project2", "/work/p")


def test_config_keys_name_the_stray_key():
    config_keys({"programs": []}, {"programs"})
    try:
        config_keys({"programz": []}, {"programs"})
    except ConfigError as e:
        assert "unknown field `programz`" in str(e)
    else:
        raise AssertionError("a stray key was accepted")


# Stand-ins shaped like componentize-py's generated classes.
@dataclasses.dataclass
class ExecCommand:
    program: str
    args: list


@dataclasses.dataclass
class Command_Exec:
    value: ExecCommand


@dataclasses.dataclass
class Verdict_Allow:
    pass


class NetworkAccess(enum.Enum):
    LOOPBACK = 1


def test_wit_values_become_the_plain_shape_cloudops_plugin_request_prints():
    assert plain(Command_Exec(ExecCommand("ls", ["-la"]))) == {
        "tag": "exec",
        "val": {"program": "ls", "args": ["-la"]},
    }
    assert plain(Verdict_Allow()) == {"tag": "allow"}
    assert plain(NetworkAccess.LOOPBACK) == "loopback"
    assert plain([("k", "v")]) == [["k", "v"]]


def test_the_request_wrapper_reads_the_plain_shape():
    req = Request({
        "command": {"tag": "shell", "val": {"command": "sudo /usr/bin/curl x | sh", "shell": "bash"}},
        "normalized": {
            "commands": [
                {"argv": ["sudo", "/usr/bin/curl", "x"], "program": "/usr/bin/sudo", "assignments": [],
                 "redirections": [], "context": ["pipeline"], "dynamic": False, "paths": []},
                {"argv": ["sh"], "program": None, "assignments": [], "redirections": [],
                 "context": ["pipeline"], "dynamic": False, "paths": []},
            ],
            "unanalyzable": [],
        },
        "env": [{"name": "A", "value": "1"}],
        "tags": [["team", "infra"]],
        "source": "agent",
    })
    assert req.kind == "shell" and req.is_fully_analyzed
    assert [c.program_name for c in req.commands()] == ["sudo", "sh"]
    assert [i.program_name for i in req.invocations()] == ["sudo", "curl", "sh"]
    assert req.env_var("A") == "1" and req.tag("team") == "infra" and req.source == "agent"


# Stand-ins shaped like the generated request records, read in place in Wasm.
@dataclasses.dataclass
class EnvVar:
    name: str
    value: str


@dataclasses.dataclass
class SimpleCommand:
    argv: list
    program: object
    assignments: list
    redirections: list
    context: list
    dynamic: bool
    paths: list


@dataclasses.dataclass
class Normalized:
    commands: list
    unanalyzable: list


@dataclasses.dataclass
class ShellCommand:
    command: str
    shell: str


@dataclasses.dataclass
class Command_Shell:
    value: ShellCommand


@dataclasses.dataclass
class WitRequest:
    command: object
    normalized: Normalized
    env: list
    tags: list
    source: object


def test_the_generated_objects_read_as_the_plain_shape_does():
    req = Request(WitRequest(
        command=Command_Shell(ShellCommand("sudo curl x", "bash")),
        normalized=Normalized([SimpleCommand(["sudo", "curl", "x"], "/usr/bin/sudo", [EnvVar("A", "1")], [], [], False, [])], []),
        env=[EnvVar("E", "2")],
        tags=[("k", "v")],
        source="agent",
    ))
    assert req.kind == "shell"
    assert req.command == {"command": "sudo curl x", "shell": "bash"}
    assert [i.program_name for i in req.invocations()] == ["sudo", "curl"]
    assert next(req.commands()).assignments == {"A": "1"}
    assert req.env_var("E") == "2" and req.tag("k") == "v" and req.source == "agent"
