"""Benchmark minicnn (numba and numpy backends) against PyTorch, side by side.

    python benchmarks/run.py                 # the whole table (a few minutes)
    python benchmarks/run.py --json out.json # also write every number as JSON
    python benchmarks/run.py --only unet --backends numba
    python benchmarks/run.py --only job      # the main job's network and convolutions

Each framework runs in its own worker processes (``worker.py``): one for the
ops, one for the U-Net, one for the main job's network and convolutions, so each reports its own peak memory. The driver runs
the cases round by round, every case on every framework in turn (the order
rotating between rounds), so a burst of load on a shared machine hits all
columns alike; the table gives medians over the rounds after the warm-up.
PyTorch is optional (``pip install -e ".[bench]"``); without it the torch
column stays empty and the script says so. These are measurements, not tests:
nothing fails on a slow machine.

JIT: fresh processes (--jit-runs, default 5) sharing one new Numba cache
time import + model building + the first and second training steps: the
first process compiles (cold), the others load what it cached (warm, the
median is reported); the cache's file count after each must stop growing.
"""
import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cases import CONV3, CONV3_KINDS, OPS, UNET, conv3_flops, conv3_name  # noqa: E402
from job_cases import JOB_NET, JOB_OPS  # noqa: E402
from report import print_table, targets  # noqa: E402

FRAMEWORKS = ("numba", "numpy", "torch")


class Worker:
    """A worker process and its JSON-lines channel."""

    def __init__(self, framework, group, env):
        self.framework, self.group = framework, group
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "worker.py"), framework, group],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=HERE)
        hello = self._read()
        self.cases, self.rss_ready_mb, self.info = (
            set(hello["cases"]), hello["rss_ready_mb"], hello["info"])

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker {self.framework}/{self.group} "
                               "stopped; its error is printed above")
        return json.loads(line)

    def ask(self, message):
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self):
        peak = self.ask({"quit": True})["maxrss_mb"]
        self.process.wait()
        return peak


def worker_env(threads):
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS", "BENCH_THREADS"):
        env[name] = str(threads)
    return env


def run_group(workers, names, rounds, warmup, log):
    """{(framework, case): [seconds per round]}, the rounds interleaved."""
    times = {}
    for r in range(warmup + rounds):
        order = workers[r % len(workers):] + workers[:r % len(workers)]
        for name in names:
            for w in order:
                for case in (name, f"matmul:{name}"):
                    if case in w.cases:
                        seconds = w.ask({"run": case})["seconds"]
                        if r >= warmup:
                            times.setdefault((w.framework, case), []).append(seconds)
        log(f"  round {r + 1}/{warmup + rounds}{' (warm-up)' if r < warmup else ''}")
    return times


def _count_files(folder):
    return sum(len(names) for _, _, names in os.walk(folder))


def measure_jit(env, log, runs):
    """`runs` fresh processes sharing one new Numba cache: the first compiles
    (cold), the others load (warm). Each one's first-step seconds and the
    cache's file count after it, which must stop growing after the first."""
    processes = []
    with tempfile.TemporaryDirectory(prefix="minicnn-jit-") as cache:
        env = dict(env, NUMBA_CACHE_DIR=cache)
        for run in range(runs):
            start = time.perf_counter()
            out = subprocess.run([sys.executable, os.path.join(HERE, "worker.py"),
                                  "numba", "jit"], env=env, cwd=HERE, check=True,
                                 capture_output=True, text=True)
            wall = time.perf_counter() - start
            processes.append(dict(json.loads(out.stdout.splitlines()[-1]), process_s=wall,
                                  cache_files=_count_files(cache)))
            log(f"  JIT, {'cold' if run == 0 else 'warm'} cache: first step "
                f"{processes[-1]['first_step_s']:.2f} s, second "
                f"{processes[-1]['second_step_s']:.2f} s, "
                f"{processes[-1]['cache_files']} files in the cache")
    warm = processes[1:]
    median = {key: statistics.median(p[key] for p in warm) for key in warm[0]} if warm else None
    return {"cold": processes[0], "warm": median, "runs": processes}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up rounds (default 2)")
    parser.add_argument("--jit-runs", type=int, default=5,
                        help="fresh processes for the JIT group, the first cold (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="threads per framework")
    parser.add_argument("--only", default="ops,unet,job,jit",
                        help="comma-separated groups among ops, unet, job, jit")
    parser.add_argument("--backends", default="numba,numpy",
                        help="minicnn backends to run (numba, numpy)")
    parser.add_argument("--cases", default="",
                        help="run only the ops whose name contains this text")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    def log(text):
        print(text, file=sys.stderr, flush=True)

    groups = args.only.split(",")
    frameworks = [f for f in args.backends.split(",") if f in FRAMEWORKS[:2]]
    have_torch = importlib.util.find_spec("torch") is not None
    torch_note = None
    if args.no_torch:
        torch_note = "torch skipped (--no-torch)"
    elif not have_torch:
        torch_note = ("torch is not importable: the torch column is empty. "
                      "Install it with: pip install -e \".[bench]\"  (torch==2.13.0)")
    else:
        frameworks.append("torch")
    if torch_note:
        log(torch_note)
    env = worker_env(args.threads)

    results = {"config": {"threads": args.threads, "rounds": args.rounds,
                          "warmup": args.warmup, "python": platform.python_version(),
                          "machine": platform.processor() or platform.machine(),
                          "cpus": os.cpu_count(), "torch_note": torch_note},
               "times": {}, "rss_mb": {}, "rss_ready_mb": {}, "info": {}}
    selected = [name for name, _ in OPS if args.cases in name]
    job = [name for name, _ in JOB_OPS + JOB_NET if args.cases in name]
    for group, names in (("ops", selected), ("unet", [name for name, _ in UNET]),
                         ("job", job)):
        if group not in groups or not names:
            continue
        log(f"{group}: starting {', '.join(frameworks)}")
        workers = [Worker(f, group, env) for f in frameworks]
        times = run_group(workers, names, args.rounds, args.warmup, log)
        for (framework, case), seconds in times.items():
            results["times"].setdefault(case, {})[framework] = statistics.median(seconds)
        for w in workers:
            results["info"][w.framework] = w.info
            results["rss_ready_mb"].setdefault(group, {})[w.framework] = w.rss_ready_mb
            results["rss_mb"].setdefault(group, {})[w.framework] = w.close()
    if "jit" in groups and "numba" in frameworks:
        results["jit"] = measure_jit(env, log, args.jit_runs)

    results["gflops"] = {conv3_name(s, ci, co, kind): conv3_flops(s, ci, co) / 1e9
                         for s, ci, co in CONV3 for kind in CONV3_KINDS}
    results["targets"] = targets(results)
    print_table(results, OPS + UNET + JOB_OPS + JOB_NET)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
