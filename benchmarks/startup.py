"""What installing g4f-hailuo costs at interpreter start-up.

    python benchmarks/startup.py [--pairs 200] [--max-pairs 2000] [--g4f-pairs 60] [--keep DIR]

Builds two virtual environments side by side: ``with`` has g4f and the package
installed from a wheel built from this checkout; ``without`` is a copy of it
with the two start-up files (``g4f_hailuo.pth``, ``g4f_hailuo.start``) removed,
so the only difference is the start-up hook. Then times fresh interpreters,
interleaved in ABBA order (drift cancels out), after warm-up runs:

- ``python -c pass``: what every Python process pays (target: within 1 ms);
- ``python -c "import g4f"``: what a g4f process pays (the registration);

and prints medians, spreads (p10-p90) and the median of the paired
differences with its 95% confidence interval, plus two low-noise figures
measured inside the interpreter: the import time of the hook (``-X
importtime``) and the time ``register()`` takes. ``python -c pass`` gets more
pairs (in batches of 100, up to ``--max-pairs``) until that interval is at most
``--resolution`` (0.5 ms) wide, so that the 1 ms budget is resolved: the
verdict is PASS when the whole interval is within 1 ms, MISS when the whole of
it is over, UNRESOLVED otherwise.

Needs the package index (or pip's cache) for g4f and the build requirements.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from importlib import metadata
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
STARTUP_FILES = ("g4f_hailuo.pth", "g4f_hailuo.start")
HOOK_MODULES = ("g4f_hailuo",)


def run(*command: str | Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def venv_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def site_packages(root: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(run(venv_python(root), "-c", code).strip())


def build_venvs(base: Path) -> tuple[Path, Path]:
    """``with`` (g4f + the package) and ``without`` (the same minus the start-up files)."""
    with_plugin, without_plugin = base / "with", base / "without"
    if with_plugin.exists() and without_plugin.exists():
        print(f"reusing the venvs in {base}")
        return with_plugin, without_plugin
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    print("building the package wheel ...", flush=True)
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    run(*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", base / "wheel", PROJECT)
    (wheel,) = (base / "wheel").glob("g4f_hailuo-*.whl")
    try:
        g4f = f"g4f=={metadata.version('g4f')}"
    except metadata.PackageNotFoundError:
        g4f = "g4f>=8.4,<9"
    print(f"creating a venv with {g4f} and the package ...", flush=True)
    run(sys.executable, "-m", "venv", "--without-pip", with_plugin)
    run(*pip, "--python", venv_python(with_plugin), "install", "--quiet", g4f, wheel)
    shutil.copytree(with_plugin, without_plugin, symlinks=True)
    for name in STARTUP_FILES:
        (site_packages(without_plugin) / name).unlink()
    return with_plugin, without_plugin


def offline_env(base: Path) -> dict[str, str]:
    """No developer config, no network: g4f's dirs point into the work dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "G4F_"))}
    env.update(G4F_CONFIG_DIR=str(base / "g4f-config"), G4F_CACHE_DIR=str(base / "g4f-cache"))
    env["HOME"] = str(base / "home")
    return env


def time_once(python: Path, code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([str(python), "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def time_pairs(a: Path, b: Path, code: str, pairs: int, env: dict[str, str]) -> tuple[list[float], ...]:
    """Interleaved ABBA timings (ms) of ``code`` in two interpreters, after a warm-up."""
    for _ in range(3):
        time_once(a, code, env)
        time_once(b, code, env)
    times_a: list[float] = []
    times_b: list[float] = []
    for i in range(pairs):
        if i % 2 == 0:
            times_a.append(time_once(a, code, env))
            times_b.append(time_once(b, code, env))
        else:
            times_b.append(time_once(b, code, env))
            times_a.append(time_once(a, code, env))
    return times_a, times_b


def median_ci(differences: list[float], z: float = 1.96) -> tuple[float, float]:
    """A distribution-free 95% confidence interval of the median (order statistics)."""
    ordered = sorted(differences)
    n = len(ordered)
    k = max(0, math.floor((n - z * math.sqrt(n)) / 2))
    return ordered[k], ordered[n - 1 - k]


def differences(with_times: list[float], without_times: list[float]) -> list[float]:
    return [a - b for a, b in zip(with_times, without_times, strict=True)]


def time_pairs_resolved(
    a: Path, b: Path, code: str, env: dict[str, str], pairs: int, max_pairs: int, resolution: float
) -> tuple[list[float], list[float]]:
    """``time_pairs``, then batches of 100 more pairs until the 95% confidence
    interval of the paired median difference is at most ``resolution`` ms wide
    (or ``max_pairs`` pairs are done)."""
    times_a, times_b = time_pairs(a, b, code, pairs, env)
    while len(times_a) < max_pairs:
        low, high = median_ci(differences(times_a, times_b))
        if high - low <= resolution:
            break
        more_a, more_b = time_pairs(a, b, code, min(100, max_pairs - len(times_a)), env)
        times_a += more_a
        times_b += more_b
    return times_a, times_b


BUDGET_MS = 1.0  # the start-up target: python -c pass within 1 ms


def verdict(diffs: list[float], budget: float = BUDGET_MS) -> str:
    """PASS: the whole 95% interval is within the budget; MISS: the whole of it is over."""
    low, high = median_ci(diffs)
    if high <= budget:
        return "PASS"
    return "MISS" if low > budget else "UNRESOLVED"


def hook_import_ms(python: Path, env: dict[str, str], runs: int = 30) -> float:
    """Median self-time (ms) of the modules the ``.pth`` imports, from ``-X importtime``."""
    totals = []
    for _ in range(runs):
        command = [str(python), "-X", "importtime", "-c", "pass"]
        stderr = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stderr
        total = 0
        for line in stderr.splitlines():
            if line.startswith("import time:") and line.rsplit("|", 1)[1].strip() in HOOK_MODULES:
                total += int(line.split(":")[1].split("|")[0])
        totals.append(total / 1000)
    return statistics.median(totals)


def register_ms(python: Path, env: dict[str, str]) -> float:
    """Median time (ms) of the registration itself: ``register()`` once g4f is imported."""
    code = """
import json, time
import g4f.Provider
import g4f_hailuo
start = time.perf_counter()
g4f_hailuo.register()
print(json.dumps((time.perf_counter() - start) * 1000))
"""
    samples = [json.loads(run(python, "-c", code, env=env)) for _ in range(15)]
    return float(statistics.median(samples))


def describe(times: list[float]) -> str:
    deciles = statistics.quantiles(times, n=10)
    return f"{statistics.median(times):8.2f} ms  ({deciles[0]:.2f}-{deciles[-1]:.2f})"


def paired_difference(with_times: list[float], without_times: list[float]) -> str:
    diffs = differences(with_times, without_times)
    low, high = median_ci(diffs)
    return f"{statistics.median(diffs):+7.2f} ms  (95% CI {low:+.2f} .. {high:+.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200, help="least interleaved pairs for `python -c pass`")
    parser.add_argument("--max-pairs", type=int, default=2000, help="most pairs for `python -c pass`")
    parser.add_argument(
        "--resolution", type=float, default=0.5, help="widest 95%% interval (ms) for `python -c pass`"
    )
    parser.add_argument("--g4f-pairs", type=int, default=60, help="interleaved pairs for `import g4f`")
    parser.add_argument("--keep", type=Path, help="build the venvs here and keep them (reused if present)")
    args = parser.parse_args()

    base = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="g4f-hailuo-bench-"))
    try:
        with_plugin, without_plugin = build_venvs(base)
        env = offline_env(base)
        python_with, python_without = venv_python(with_plugin), venv_python(without_plugin)
        versions = run(python_with, "-c", "import g4f.version, platform; print(platform.python_version())")
        g4f_version = run(python_with, "-c", "from importlib.metadata import version; print(version('g4f'))")
        print(f"timing ({platform.machine()}, {os.cpu_count()} cpus) ...", flush=True)
        pass_with, pass_without = time_pairs_resolved(
            python_with, python_without, "pass", env, args.pairs, args.max_pairs, args.resolution
        )
        g4f_with, g4f_without = time_pairs(python_with, python_without, "import g4f", args.g4f_pairs, env)
        hook_ms = hook_import_ms(python_with, env)
        registration_ms = register_ms(python_without, env)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    print()
    print(f"Python {versions.strip()}, g4f {g4f_version.strip()}; median (p10-p90) of fresh interpreters")
    print(f"{'':24}{'with plugin':>30}{'without':>30}{'difference (paired median)':>40}")
    rows = [
        (f"python -c pass  x{len(pass_with)}", pass_with, pass_without),
        (f"import g4f      x{args.g4f_pairs}", g4f_with, g4f_without),
    ]
    for label, with_times, without_times in rows:
        print(
            f"{label:24}{describe(with_times):>30}{describe(without_times):>30}"
            f"{paired_difference(with_times, without_times):>40}"
        )
    pass_diffs = differences(pass_with, pass_without)
    print(
        f"target: python -c pass within {BUDGET_MS:g} ms: {verdict(pass_diffs)}"
        f" (paired median {statistics.median(pass_diffs):+.2f} ms over {len(pass_diffs)} pairs)"
    )
    print()
    print(f"import of the hook at start-up ({' + '.join(HOOK_MODULES)}, -X importtime): {hook_ms:.3f} ms")
    print(f"registration inside `import g4f` (register() on an imported g4f): {registration_ms:.3f} ms")
    print(f"measured on {date.today().isoformat()}")


if __name__ == "__main__":
    main()
