"""Where B1's time goes: the runner under py-spy, its main thread's samples sorted into kinds.

B1's runner is bound by one thread: the event loop runs every request, check and bookkeeping
step, and the GIL lets nothing else run Python meanwhile. This profiles one B1 run (the same job,
against the simulator in its own process) and attributes each main-thread sample to the first
kind of work found walking its stack from the innermost frame outwards, so a json.dumps called by
run.log counts as logging and a socket write called by aiohttp counts as HTTP.

Run: ``python -m bench.profile_b1 [--items 3000] [--out bench/profile-b1.md]`` (needs py-spy,
in the dev extra). Prints a markdown table and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from bench.b1_overhead import JOB, TEMPLATE
from bench.harness import REPO, SimOptions, SimProcess, child_env, write_job, write_prompts

# (kind, pattern over "function (file:line)" frames); the first kind matched, innermost first.
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "HTTP: client and aiohttp",
        re.compile(r"runner/client/(client|transport|answers|remote)|aiohttp/"),
    ),
    ("image check and file write", re.compile(r"runner/client/images|runner/scheduler/files")),
    ("run.log", re.compile(r"runner/log\.py")),
    ("state DB, event-loop side", re.compile(r"runner/store/|aiosqlite/")),
    ("outputs (metadata, gallery, report)", re.compile(r"runner/outputs/|scheduler/reporting")),
    ("scheduler (engine, limits, feed)", re.compile(r"runner/scheduler/")),
    ("manifest and catalog", re.compile(r"runner/(manifest|catalog)/")),
)
RATE = 250  # samples/s: py-spy pauses the process per sample, so more would distort it
IMPORTS = re.compile(r"<frozen importlib\._bootstrap")
IDLE = re.compile(r"^(EpollSelector\.select|select) ")


def classify(frames: Sequence[str]) -> str:
    """The kind of work one stack sample (outermost frame first) was doing."""
    if any(IMPORTS.search(frame) for frame in frames):
        return "imports (start-up)"
    if frames and IDLE.search(frames[-1]):
        return "idle: waiting for answers or commits"
    for frame in reversed(frames):
        for kind, pattern in KINDS:
            if pattern.search(frame):
                return kind
    return "event loop and other"


def main_thread_samples(raw: Iterable[str]) -> collections.Counter[str]:
    """Samples per kind from py-spy's raw (collapsed) output, main thread only.

    py-spy labels a thread "thread (tid): name" once it has a name and "thread (tid)" before,
    so the main thread's start-up samples are found by its tid.
    """
    stacks = [line.rstrip("\n").rpartition(" ") for line in raw]
    named = (s.split(";", 1)[0] for s, _, _ in stacks)
    main = next((label.split(":")[0] for label in named if label.endswith(": MainThread")), None)
    counts: collections.Counter[str] = collections.Counter()
    for stack, _, count in stacks:
        frames = stack.split(";")
        if main is None or frames[0].split(":")[0] != main or not count.isdigit():
            continue
        counts[classify(frames[1:])] += int(count)
    return counts


def render(counts: collections.Counter[str], items: int, wall_s: float) -> str:
    """The table: each kind's share of the main thread, and its time per item (samples/rate)."""
    total = sum(counts.values())
    lines = [
        f"B1 runner profile: {items} items, {wall_s:.2f} s from start to exit under py-spy "
        f"({RATE} samples/s), {total} main-thread samples",
        "",
        "| Main thread doing | Share | Seconds | us per item |",
        "|---|---:|---:|---:|",
    ]
    for kind, n in counts.most_common():
        seconds = n / RATE
        lines.append(f"| {kind} | {n / total:.1%} | {seconds:.2f} | {seconds / items * 1e6:,.0f} |")
    return "\n".join(lines) + "\n"


def profile(items: int, workdir: Path) -> tuple[collections.Counter[str], float]:
    """Runs the B1 job once under py-spy; returns main-thread samples per kind and wall time."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed (pip install -e '.[dev]')")
    write_prompts(workdir / "prompts.txt", items, TEMPLATE)
    with SimProcess(SimOptions(), workdir / "logs") as sim:
        job = write_job(workdir / "job.yaml", sim.base_url, JOB)
        raw = workdir / "profile.txt"
        argv = [spy, "record", "--format", "raw", "--threads", "--rate", str(RATE), "-o", str(raw)]
        argv += ["--", sys.executable, "-m", "runner", "run", str(job), "--out"]
        argv += [str(workdir / "out"), "--quiet"]
        started = time.perf_counter()
        subprocess.run(argv, cwd=REPO, env=child_env(), check=True, capture_output=True)
        wall_s = time.perf_counter() - started
    with raw.open(encoding="utf-8") as lines:
        return main_thread_samples(lines), wall_s


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "profile-b1.md")
    args = parser.parse_args(argv)
    # Kept, not deleted: on ext4, creating files within minutes of deleting thousands costs
    # several times more (the inode allocator skips recently freed inodes), which would load
    # the next profile or benchmark with this one's clean-up.
    workdir = Path(tempfile.mkdtemp(prefix="runner-profile-b1-"))
    counts, wall_s = profile(args.items, workdir)
    text = render(counts, args.items, wall_s)
    print(f"(run kept in {workdir})", file=sys.stderr)
    args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
