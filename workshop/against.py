"""Run a benchmark on this tree and on an earlier commit, alternating, and
print both sides' headline figures: "nothing slower" for a change is shown by
runs that share the machine's state of the moment (load from elsewhere,
thermal state, the broker's warmth), not by figures from another day.

    commands/bench-against REF [--bench replay,stream,ingest] [--rounds 3]

The earlier commit is checked out in a temporary git worktree; each side runs
its own tree's benchmark module (``workshop.X``, or before the workshop moved
out of the package, ``frictionkit.bench.X`` / ``frictionkit.stream.bench``)
with its own sources first on ``PYTHONPATH``, and the same native extension.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]

# bench -> (module names to try, lowest first; arguments of a short run)
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "replay": (["workshop.replay", "frictionkit.bench.replay"], ["--events", "300000", "--also", "0", "--out", ""]),
    "stream": (["workshop.stream", "frictionkit.stream.bench"],
               ["--events", "200000", "--shape", "batches", "--no-burst", "--out", ""]),
    "ingest": (["workshop.ingest", "frictionkit.bench.ingest"],
               ["--seconds", "8", "--warmup", "2", "--rounds", "1", "--broker-warmup", "3", "--no-costs", "--out", ""]),
}


def _module_file(tree: Path, module: str) -> Path:
    parts = module.split(".")
    base = tree if parts[0] == "workshop" else tree / "src"
    return base.joinpath(*parts).with_suffix(".py")


def _replay_figures(out: str) -> dict[str, float]:
    for line in out.splitlines():
        if line.startswith("{") and '"ours"' in line:
            r = json.loads(line)
            ours, ref, n = r["ours"], r["reference"], r["events"]  # both sides read the same file
            return {"events/s": n / ours["seconds"],
                    "CPU µs/event": ours["cpu_s"] / n * 1e6,
                    "× reference": ref["seconds"] / ours["seconds"],
                    "peak RSS MB": ours["peak_rss_mb"]}
    raise ValueError("no replay figures in the output")


def _stream_figures(out: str) -> dict[str, float]:
    procs = re.search(r"processors ([\d,]+) events/s", out)
    ref = re.search(r"passthrough ([\d,]+) events/s", out)
    if not procs or not ref:
        raise ValueError("no stream figures in the output")
    p, r = (float(m.group(1).replace(",", "")) for m in (procs, ref))
    return {"events/s": p, "passthrough events/s": r, "× reference": p / r}


def _ingest_figures(out: str) -> dict[str, float]:
    figures = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and cells[1].replace(",", "").isdigit():
            figures[f"{cells[0]} events/s"] = float(cells[1].replace(",", ""))
            if cells[5] not in ("–", ""):
                figures[f"{cells[0]} ×"] = float(cells[5])
    if not figures:
        raise ValueError("no ingest figures in the output")
    return figures


FIGURES: dict[str, Callable[[str], dict[str, float]]] = {
    "replay": _replay_figures, "stream": _stream_figures, "ingest": _ingest_figures}


def run_side(tree: Path, bench: str) -> dict[str, float]:
    modules, args = BENCHES[bench]
    module = next((m for m in modules if _module_file(tree, m).exists()), None)
    if module is None:
        raise SystemExit(f"bench-against: {tree} has no {bench} benchmark ({' or '.join(modules)})")
    env = dict(os.environ, PYTHONPATH=f"{tree / 'src'}{os.pathsep}{tree}")
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"bench-against: {bench} on {tree.name} failed: {tail[0]}")
    return FIGURES[bench](done.stdout + "\n" + done.stderr)


def _worktree(ref: str, folder: Path) -> Path:
    tree = folder / f"at-{ref[:12]}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), ref], check=True)
    for so in (ROOT / "src" / "frictionkit").glob("_native*.so"):
        if (tree / "src" / "frictionkit").exists():
            shutil.copy2(so, tree / "src" / "frictionkit" / so.name)
    return tree


def report(ref: str, results: dict[str, dict[str, list[dict[str, float]]]]) -> str:
    lines = [f"| benchmark | figure | before ({ref[:9]}), each round | after (this tree), each round | after / before, medians |",
             "|---|---|---|---|---:|"]
    for bench, sides in results.items():
        for name in sides["after"][0]:
            before = [r[name] for r in sides["before"] if name in r]
            after = [r[name] for r in sides["after"]]
            fmt = (lambda v: f"{v:,.0f}") if max(after) >= 100 else (lambda v: f"{v:.2f}")
            ratio = statistics.median(after) / statistics.median(before) if before else float("nan")
            lines.append(f"| {bench} | {name} | {' / '.join(map(fmt, before))} | {' / '.join(map(fmt, after))} "
                         f"| {ratio:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ref", help="the commit to compare with (e.g. the one before the change)")
    ap.add_argument("--bench", default="replay,stream,ingest")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    benches = [b.strip() for b in args.bench.split(",") if b.strip()]
    unknown = [b for b in benches if b not in BENCHES]
    if unknown:
        raise SystemExit(f"bench-against: unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHES)}")
    results: dict[str, dict[str, list[dict[str, float]]]] = {b: {"before": [], "after": []} for b in benches}
    with tempfile.TemporaryDirectory(prefix="bench-against-") as tmp:
        before = _worktree(args.ref, Path(tmp))
        try:
            for round_no in range(args.rounds):
                for bench in benches:
                    # The sides swap order each round, so neither always runs on a warmer machine.
                    order = [("before", before), ("after", ROOT)]
                    for side, tree in order if round_no % 2 == 0 else reversed(order):
                        print(f"bench-against: round {round_no + 1}/{args.rounds} {bench} {side} ...",
                              file=sys.stderr, flush=True)
                        results[bench][side].append(run_side(tree, bench))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)
    print(report(args.ref, results))


if __name__ == "__main__":
    main()
