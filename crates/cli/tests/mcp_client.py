#!/usr/bin/env python3
"""Drives `cloudops mcp` with the official MCP Python SDK (PyPI `mcp`), a client we did not write.

Usage: mcp_client.py CLOUDOPS_BINARY POLICY_FILE [--redaction] [--audit-log PATH]
       mcp_client.py CLOUDOPS_BINARY ASK_POLICY_FILE --ask

Checks, in order: the tool list and its schemas; an allowed shell command and an
allowed program; `check_command` and `run_command` on `rm -rf /` (denied, naming the
plugin and its reason; the check comes first, so nothing runs if the policy were to
allow it); with --redaction, an AWS access key redacted from the output; a timeout; long
output cut with a marker; concurrent calls served concurrently; progress notifications
while `echo $$; exec sleep 60` runs, then a client cancellation, after which that process
is gone. With --audit-log, the server writes its decision log there and the script checks
every request's source, tags and conversation id. With --ask (a policy whose plugin answers
`ask` to everything), checks that the question reaches the user as an elicitation (approved:
the command runs; declined: a denial saying so) and that a client without elicitation
support gets a denial that says it cannot ask. Prints `ok: ...` per check; on the first
failure prints `FAILED: ...` and exits 1.
"""

import asyncio
import json
import os
import re
import sys
import time

try:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"FAILED: the MCP Python SDK is not installed ({e}); pip install -r scripts/requirements-test.txt")
    sys.exit(2)

AWS_KEY = "AKIAABCDEFGHIJKLMNOP"


def field(obj, name):
    """`obj.name` in mcp 2.x (snake_case), `obj.nameCamel` in mcp 1.x."""
    if hasattr(obj, name):
        return getattr(obj, name)
    camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
    return getattr(obj, camel)


def sc(result):
    return field(result, "structured_content") or {}


def is_error(result):
    return field(result, "is_error")


class Failure(Exception):
    pass


def check(cond, what, detail=""):
    if not cond:
        raise Failure(f"{what}\n{detail}" if detail else what)
    print(f"ok: {what}", flush=True)


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", None) == "text")


def show(result):
    return f"isError={is_error(result)}\ntext:\n{text_of(result)}\nstructured: {json.dumps(sc(result), indent=1)}"


def find_pid(argv):
    """The pid of a live process whose command line is `argv`, or None."""
    want = ("\0".join(argv) + "\0").encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read() == want and pid_alive(int(entry)):
                    return int(entry)
        except OSError:
            continue
    return None


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:  # gone (ENOENT, or ESRCH while it was being reaped)
        return False


async def run(binary, policy, redaction, audit_log):
    args = ["mcp", "--policy", policy, "--tag", "suite=mcp-python", "--progress-interval", "200ms"]
    if audit_log:
        args = ["--audit-log", audit_log] + args
    params = StdioServerParameters(command=binary, args=args)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check(field(init, "server_info").name == "cloudops", "the server introduces itself as cloudops", repr(init))

            # --- the tools and their schemas
            tools = {t.name: t for t in (await session.list_tools()).tools}
            check(set(tools) == {"run_command", "run_program", "check_command"}, "three tools are listed", repr(sorted(tools)))
            for name, tool in tools.items():
                props = field(tool, "input_schema").get("properties", {})
                check(bool(tool.description) and all(p.get("description") for p in props.values()),
                      f"{name}: the tool and every argument are described", json.dumps(field(tool, "input_schema"), indent=1))
            check(field(tools["run_command"], "input_schema").get("required") == ["command"], "run_command requires `command`",
                  json.dumps(field(tools["run_command"], "input_schema")))
            check(set(field(tools["run_program"], "input_schema")["properties"]) >= {"program", "args", "cwd", "timeout_ms", "env"},
                  "run_program takes program, args, cwd, timeout_ms and env")

            # --- allowed commands
            r = await session.call_tool("run_command", {"command": "echo hello; echo oops >&2; exit 3"})
            s = sc(r)
            check(not is_error(r) and s.get("exit_code") == 3 and s.get("stdout") == "hello\n" and s.get("stderr") == "oops\n"
                  and s.get("status") == "failed" and isinstance(s.get("duration_ms"), int),
                  "run_command returns exit code, stdout, stderr, status and duration", show(r))
            check("exit code 3" in text_of(r) and "hello" in text_of(r) and "oops" in text_of(r),
                  "run_command also returns a readable text", show(r))
            r = await session.call_tool("run_program", {"program": "printf", "args": ["%s|", "a b", "$HOME"], "env": {"X": "1"}})
            check(not is_error(r) and sc(r).get("stdout") == "a b|$HOME|",
                  "run_program passes arguments as they are (no shell), and its output too (no newline added)", show(r))
            r = await session.call_tool("run_command", {"command": "pwd; echo $GREETING", "cwd": "/tmp", "env": {"GREETING": "hi"}})
            check(sc(r).get("stdout") == "/tmp\nhi\n", "cwd and env are applied", show(r))

            # --- the denial (checked before anything could run)
            c = await session.call_tool("check_command", {"command": "rm -rf /"})
            cs = sc(c)
            if cs.get("verdict") != "deny" or cs.get("allowed") is not False:
                raise Failure(f"check_command does not say deny for `rm -rf /`; refusing to go on\n{show(c)}")
            check(not is_error(c) and cs.get("plugin") and cs.get("reason"), "check_command reports deny, the plugin and its reason", show(c))
            r = await session.call_tool("run_command", {"command": "rm -rf /"})
            s = sc(r)
            check(is_error(r) is True, "a denied command is a tool error (isError), not a protocol error", show(r))
            check(s.get("status") == "denied" and s.get("plugin") == cs.get("plugin") and s.get("reason") == cs.get("reason"),
                  "the denial names the plugin and gives its reason", show(r))
            check(f"'{s.get('plugin')}'" in text_of(r) and s.get("reason", "") in text_of(r) and "Nothing was run" in text_of(r),
                  "the denial text says which plugin, why, and that nothing ran", show(r))
            c = await session.call_tool("check_command", {"program": "echo", "args": ["fine"]})
            check(sc(c).get("verdict") in ("allow", "rewrite") and "decision:" in text_of(c),
                  "check_command allows an allowed program and prints the trace", show(c))

            # --- redaction by the output plugins
            if redaction:
                r = await session.call_tool("run_command", {"command": f"echo key={AWS_KEY} done"})
                out = sc(r).get("stdout", "")
                check(not is_error(r) and AWS_KEY not in out and AWS_KEY not in text_of(r) and "done" in out,
                      "an AWS access key is redacted from the output", show(r))

            # --- timeout and caps
            t0 = time.monotonic()
            r = await session.call_tool("run_command", {"command": "sleep 30", "timeout_ms": 300})
            s = sc(r)
            check(is_error(r) is True and s.get("status") == "timeout" and s.get("exit_code") == 124 and time.monotonic() - t0 < 10,
                  "timeout_ms stops a command (status timeout, exit 124)", show(r))
            r = await session.call_tool("run_command", {"command": "seq 1 100000"})
            s = sc(r)
            out = s.get("stdout", "")
            check(s.get("stdout_truncated") is True and "[cloudops: output truncated:" in out and out.startswith("1\n")
                  and out.endswith("100000\n") and len(out) < 70000,
                  "long output keeps head and tail around a truncation marker",
                  f"len={len(out)} truncated={s.get('stdout_truncated')} head={out[:40]!r} tail={out[-40:]!r}")

            # --- concurrency
            t0 = time.monotonic()
            rs = await asyncio.gather(*[session.call_tool("run_command", {"command": "sleep 1; echo done"}) for _ in range(4)])
            took = time.monotonic() - t0
            check(all(sc(x).get("stdout") == "done\n" for x in rs) and took < 3.5,
                  f"four 1 s calls are served concurrently ({took:.2f} s)")

            # --- progress, then cancellation kills the process
            seen = []
            got_pid = asyncio.Event()

            async def on_progress(progress, total, message):
                seen.append((progress, message))
                if message and re.search(r"last line: \d+$", message):
                    got_pid.set()

            # The command's pid as this machine sees it: under a sandbox with a PID
            # namespace `$$` is 1, so the process is found by its unique argument.
            token = f"60.{os.getpid()}{int(time.monotonic() * 1000) % 100000}"
            call = asyncio.create_task(session.call_tool(
                "run_command", {"command": f"echo $$; exec sleep {token}"}, progress_callback=on_progress))
            try:
                await asyncio.wait_for(got_pid.wait(), timeout=15)
            except asyncio.TimeoutError:
                raise Failure(f"no progress notification with the command's pid within 15 s; seen: {seen}")
            pid = None
            for _ in range(100):
                pid = find_pid(["sleep", token])
                if pid:
                    break
                await asyncio.sleep(0.05)
            check(pid is not None, f"the command `sleep {token}` runs")
            check(pid_alive(pid), f"progress reports lines so far and elapsed time ({seen[-1][1]!r}); pid {pid} runs")
            check(all(b[0] > a[0] for a, b in zip(seen, seen[1:])), "progress increases with every notification", repr(seen))
            call.cancel()
            try:
                await call
            except asyncio.CancelledError:
                pass
            deadline = time.monotonic() + 10
            while pid_alive(pid) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            check(not pid_alive(pid), f"cancelling the call killed the command (pid {pid} is gone)")

            # --- the server still serves after the cancellation
            r = await session.call_tool("run_command", {"command": "echo still here"})
            check(sc(r).get("stdout") == "still here\n", "the server goes on serving after a cancellation", show(r))

    if audit_log:
        records = [json.loads(line) for line in open(audit_log) if line.strip()]
        records = [r for r in records if r.get("type") == "decision"]
        check(len(records) >= 5, f"the decision log has a record per request ({len(records)})")
        bad = [r for r in records if not _metadata_ok(r)]
        check(not bad, "every request has source mcp, the server's tags and a conversation id", json.dumps(bad[:2], indent=1))


def _metadata_ok(record):
    return (record.get("source") == "mcp" and (record.get("tags") or {}).get("suite") == "mcp-python"
            and bool(record.get("conversation_id")))


async def run_ask(binary, policy):
    params = StdioServerParameters(command=binary, args=["mcp", "--policy", policy])
    questions = []

    async def answer(context, params):
        from mcp_types import ElicitResult
        questions.append(params.message)
        approve = "approve-me" in params.message
        return ElicitResult(action="accept", content={"approve": approve})

    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, elicitation_callback=answer) as session:
            await session.initialize()
            r = await session.call_tool("run_command", {"command": "echo approve-me"})
            check(not is_error(r) and sc(r).get("stdout") == "approve-me\n" and questions
                  and "echo approve-me" in questions[-1],
                  "an `ask` verdict is put to the user as an elicitation; approved, the command runs",
                  show(r) + f"\nquestions: {questions}")
            r = await session.call_tool("run_command", {"command": "echo no-thanks"})
            check(is_error(r) and sc(r).get("status") == "denied" and "declined" in text_of(r),
                  "declined, it is a denial that says the user declined", show(r))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            r = await session.call_tool("run_command", {"command": "echo hi"})
            check(is_error(r) and sc(r).get("status") == "denied" and "cannot ask its user" in text_of(r),
                  "a client without elicitation gets a denial with the plugin's reason", show(r))


def _find_failure(e):
    """The Failure in `e`, which the SDK's task groups may have wrapped in exception groups."""
    if isinstance(e, Failure):
        return e
    for inner in getattr(e, "exceptions", ()):
        found = _find_failure(inner)
        if found is not None:
            return found
    return None


def main():
    argv = sys.argv[1:]
    if len(argv) < 2:
        print(__doc__)
        sys.exit(2)
    binary, policy = argv[0], argv[1]
    redaction = "--redaction" in argv
    audit_log = argv[argv.index("--audit-log") + 1] if "--audit-log" in argv else None
    try:
        if "--ask" in argv:
            asyncio.run(run_ask(binary, policy))
        else:
            asyncio.run(run(binary, policy, redaction, audit_log))
    except BaseException as e:
        failure = _find_failure(e)
        if failure is None:
            raise
        print(f"FAILED: {failure}", flush=True)
        sys.exit(1)
    print("all MCP checks passed", flush=True)


if __name__ == "__main__":
    main()
