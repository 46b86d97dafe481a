#!/usr/bin/env python3
"""Round trip of `run_command "true"` through `cloudops mcp`, beside the same through the CLI.

Usage: mcp_roundtrip.py CLOUDOPS_BINARY [POLICY_FILE] [-n CALLS]

Measures, each over CALLS calls (default 200) after 10 warm-up calls:
  mcp       one `tools/call run_command {"command": "true"}` from the official MCP Python
            SDK (mcp package) to a running `cloudops mcp` server and back (client-side time);
  cli       one `cloudops --source mcp sh true` process (the same source as the server's), spawned and waited for (a new process, policy
            load and engine each time);
  bash      one `bash -c true` process, the floor under both.
Prints median, p90 and mean in milliseconds.
"""

import asyncio
import statistics
import subprocess
import sys
import time

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


def summary(name, samples):
    s = sorted(samples)
    p90 = s[int(len(s) * 0.9) - 1]
    return f"{name:<5} median {statistics.median(s) * 1e3:7.2f} ms   p90 {p90 * 1e3:7.2f} ms   mean {statistics.mean(s) * 1e3:7.2f} ms   (n={len(s)})"


async def mcp_samples(binary, policy_args, n):
    params = StdioServerParameters(command=binary, args=policy_args + ["mcp"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            for _ in range(10):
                await session.call_tool("run_command", {"command": "true"})
            samples = []
            for _ in range(n):
                t0 = time.perf_counter()
                r = await session.call_tool("run_command", {"command": "true"})
                samples.append(time.perf_counter() - t0)
                structured = getattr(r, "structured_content", None) or getattr(r, "structuredContent", None) or {}
                if structured.get("exit_code") != 0:
                    raise SystemExit(f"run_command true failed: {r}")
            return samples


def process_samples(argv, n):
    for _ in range(10):
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - t0)
    return samples


def main():
    args = sys.argv[1:]
    n = 200
    if "-n" in args:
        i = args.index("-n")
        n = int(args[i + 1])
        del args[i : i + 2]
    if not args:
        print(__doc__)
        raise SystemExit(2)
    binary = args[0]
    policy_args = ["--policy", args[1]] if len(args) > 1 else []
    print(f"cloudops: {binary}; policy: {args[1] if len(args) > 1 else 'none'}; {n} calls each")
    print(summary("mcp", asyncio.run(mcp_samples(binary, policy_args, n))))
    print(summary("cli", process_samples([binary] + policy_args + ["--source", "mcp", "sh", "true"], n)))
    print(summary("bash", process_samples(["bash", "-c", "true"], n)))


if __name__ == "__main__":
    main()
