#!/usr/bin/env python3
"""Output fidelity and speed of the cloudops CLI, side by side with the tools it stands in front of.

Three measures, each in one run and with the outputs compared byte for byte:
  1. no output plugin: `cloudops sh 'cat FILE' > out` against `cat FILE > out`, 1 GB (target: <= 1.2x);
  2. redaction: `cloudops --policy <redact-secrets> sh 'cat LOG' > out` against `sed -E` with the
     same patterns, 85 MB (target: >= 1.5x sed's throughput, every line written, equal to sed's);
  3. memory: peak RSS of `cloudops sh 'yes LINE | head -c SIZE' > file`, without and with the
     redaction plugin (target: <= 32 MB).
Without an output plugin, a command whose stdout is a file or a pipe writes there itself (as under
`nice`); with one, every byte goes through cloudops's pipe, the plugin and its writer.
Times are the best of N alternating rounds (the machine is shared; the best round is the least
disturbed). Peak RSS is the cloudops process's own VmHWM, sampled while it runs. Run it on a
quiet machine: anything else running skews the ratios.

Usage: crates/cli/benches/cli_output.py [PATH-TO-CLOUDOPS] [--cat-mb 1024] [--redact-mb 85] [--mem-gb 10] [--rounds 3]
(default binary: target/release/cloudops; build it with `cargo build --release -p cloudops`)
"""

import argparse
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[3]
# sed's version of each built-in pattern of redact-secrets (as in tests/benches/redact.rs).
SED = [
    r"s#\b(AKIA|ASIA)[0-9A-Z]{16}\b#[REDACTED:aws-access-key]#g",
    r"""s#((aws_secret_access_key|secretaccesskey|aws_secret_key)["']?[[:space:]]*[:=][[:space:]]*["']?)[A-Za-z0-9/+=]{40,}#\1[REDACTED:aws-secret-key]#gI""",
    r"s#\b(ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36,}\b#[REDACTED:github-token]#g",
    r"s#\bgithub_pat_[A-Za-z0-9_]{22,}\b#[REDACTED:github-token]#g",
    r"s#\bglpat-[A-Za-z0-9_-]{20,}#[REDACTED:gitlab-token]#g",
    r"s#\bxox[abprs]-[A-Za-z0-9-]{10,}#[REDACTED:slack-token]#g",
    r"""s#(authorization["']?[[:space:]]*[:=][[:space:]]*["']?(bearer|token|basic)[[:space:]]+)[A-Za-z0-9._~+/-]+=*#\1[REDACTED:bearer]#gI""",
    r"s#(\bbearer[[:space:]]+)[A-Za-z0-9._~+/-]{20,}=*#\1[REDACTED:bearer]#gI",
    r"""s#((pass(word|wd|phrase)|secret|api[_-]?key|access[_-]?token|auth[_-]?token)["']?[[:space:]]*[:=][[:space:]]*)("[^"]*"|'[^']*'|[^[:space:]"',;&]+)#\1[REDACTED:password]#gI""",
]
POLICY = """version = 1
[plugins.redact-secrets]
source = "builtin:redact-secrets"
[[rules]]
name = "all"
plugins = ["redact-secrets"]
"""


def write_log(path, size):
    """Log lines of ~80-110 bytes; 1% hold a secret of a kind sed can express too (the kind rotates)."""
    rnd = random.Random(7)
    upper = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    alnum = upper + "abcdefghijklmnopqrstuvwxyz"

    def word(n, alphabet=alnum):
        return "".join(rnd.choice(alphabet) for _ in range(n))

    secrets = [
        lambda: f"INFO deploy access_key=AKIA{word(16, upper)} region=eu-west-1",
        lambda: f"DEBUG env aws_secret_access_key={word(40)} loaded",
        lambda: f"INFO git clone with ghp_{word(36)} done",
        lambda: f"INFO gitlab glpat-{word(20)} mirror ok",
        lambda: f"WARN slack hook token xoxb-{word(24)} rate limited",
        lambda: f"DEBUG request headers Authorization: Bearer {word(32)}",
        lambda: f"DEBUG db connect user=app password={word(12)} host=db1",
    ]
    written = 0
    i = 0
    with open(path, "w") as f:
        while written < size:
            stamp = f"2026-12-07T03:{i % 60:02}:{i // 60 % 60:02}Z"
            if i % 100 == 0:
                line = f"{stamp} {secrets[(i // 100) % len(secrets)]()}\n"
            else:
                line = (f"{stamp} INFO request id={rnd.getrandbits(64):016x} path=/api/v1/items/{i} "
                        f"status=200 bytes={rnd.randrange(65536)} ms={rnd.randrange(997)}\n")
            f.write(line)
            written += len(line)
            i += 1
    return written


def vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(argv, out_path, env, sample=False):
    """Runs argv with stdout to out_path; returns (seconds, peak RSS in KiB or None).

    The peak is the process's own VmHWM, read every 20 ms while it runs (`sample`): wait4's
    ru_maxrss is no use here, since a child started with a vfork-style clone (as Python and
    cloudops start theirs) inherits its parent's peak at exec.
    """
    with open(out_path, "wb") as out:
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stdin=subprocess.DEVNULL, env=env)
        peak = 0
        while sample and p.poll() is None:
            peak = max(peak, vm_hwm_kib(p.pid))
            time.sleep(0.02)
        code = p.wait()
        secs = time.perf_counter() - t
    if code != 0:
        sys.exit(f"{argv} exited {code}")
    return secs, (peak if sample else None)


def same(a, b):
    return subprocess.run(["cmp", "-s", a, b]).returncode == 0


def count_lines(path):
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def best_of(rounds, sides, work, env):
    """Each side's best time over `rounds` alternating rounds; outputs left in work/out.NAME."""
    best = {}
    for _ in range(rounds):
        for name, argv in sides:
            secs, _ = run(argv, work / f"out.{name}", env)
            best[name] = min(best.get(name, secs), secs)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cloudops", nargs="?", default=str(REPO / "target/release/cloudops"))
    ap.add_argument("--cat-mb", type=int, default=1024, help="size of the file cat prints")
    ap.add_argument("--redact-mb", type=int, default=85, help="size of the log redacted")
    ap.add_argument("--mem-gb", type=float, default=10, help="output of the memory run")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    bin_ = a.cloudops
    work = pathlib.Path(tempfile.mkdtemp(prefix="cloudops-bench-", dir=os.environ.get("BENCH_DIR")))
    env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"))
    env.pop("CLOUDOPS_POLICY", None)
    env.pop("CLOUDOPS_SERVER", None)
    ok = True
    try:
        log = work / "app.log"
        size = write_log(log, a.redact_mb * 1_000_000)
        policy = work / "p.toml"
        policy.write_text(POLICY)
        # Warm the plugin cache: the first run compiles redact-secrets.
        run([bin_, "--policy", str(policy), "sh", "true"], work / "warm", env)

        # 1. No output plugin: a big file (copies of the log) printed with and without cloudops.
        big = work / "big.log"
        with open(big, "wb") as out, open(log, "rb") as src:
            data = src.read()
            while out.tell() < a.cat_mb << 20:
                out.write(data)
        big_mb = big.stat().st_size / 1e6
        best = best_of(a.rounds, [
            ("cat", ["cat", str(big)]),
            ("cloudops", [bin_, "sh", f"cat '{big}'"]),
        ], work, env)
        same_plain = same(work / "out.cat", work / "out.cloudops")
        ok &= same_plain
        big.unlink()
        print(f"== {big_mb:.0f} MB printed to a file, best of {a.rounds} alternating rounds")
        print(f"  cat FILE > out                      {big_mb / best['cat']:8.1f} MB/s  ({best['cat']:.3f} s)")
        print(f"  cloudops sh 'cat FILE' > out        {big_mb / best['cloudops']:8.1f} MB/s  ({best['cloudops']:.3f} s)"
              f"  {best['cloudops'] / best['cat']:.2f}x cat's time (target <= 1.2x)  identical: {same_plain}")

        # 2. Redaction: the built-in plugin against sed with the same patterns.
        mb = size / 1e6
        best = best_of(a.rounds, [
            ("sed", ["sed", "-E"] + [x for e in SED for x in ("-e", e)] + [str(log)]),
            ("redact", [bin_, "--policy", str(policy), "sh", f"cat '{log}'"]),
        ], work, env)
        same_redact = same(work / "out.sed", work / "out.redact")
        lines, want = count_lines(work / "out.redact"), count_lines(log)
        ok &= same_redact and lines == want
        print(f"== {mb:.0f} MB of log lines (1% with a secret) redacted to a file, best of {a.rounds}")
        print(f"  sed -E ({len(SED)} patterns) > out          {mb / best['sed']:8.1f} MB/s  ({best['sed']:.3f} s)")
        print(f"  cloudops + redact-secrets > out     {mb / best['redact']:8.1f} MB/s  ({best['redact']:.3f} s)"
              f"  {best['sed'] / best['redact']:.2f}x sed's throughput (target >= 1.5x)"
              f"  identical to sed: {same_redact}  lines {lines}/{want}")
        for p in work.glob("out.*"):
            p.unlink()

        # 3. Memory: a long stream of lines into a file, the command's own way and through
        # cloudops's pipes and the redaction plugin.
        n = int(a.mem_gb * (1 << 30))
        out = work / "mem.out"
        line = "2026-12-07T03:00:00Z INFO a line of a long job output, about eighty bytes long"
        print(f"== {a.mem_gb:g} GiB of lines into a file")
        for label, opts in [("no output plugin", []), ("redact-secrets", ["--policy", str(policy)])]:
            secs, rss = run([bin_] + opts + ["sh", f"yes '{line}' | head -c {n}"], out, env, sample=True)
            written = out.stat().st_size
            out.unlink()
            ok &= written == n
            print(f"  {label:18} peak RSS {rss / 1024:5.1f} MiB (target <= 32 MB); "
                  f"{written} of {n} bytes written in {secs:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not ok:
        sys.exit("error: an output differs or is incomplete (see above)")


if __name__ == "__main__":
    main()
