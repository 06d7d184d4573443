"""One benchmark process: builds one framework's cases, times them on request.

    python benchmarks/worker.py FRAMEWORK GROUP

FRAMEWORK is 'numba' or 'numpy' (minicnn on that backend) or 'torch';
GROUP is 'ops', 'unet', 'job' (the main job's network and convolutions,
``job_cases.py``) or 'jit'. ``run.py`` starts one worker per
(framework, group), so each has its own memory peak, and talks to it in JSON
lines: it sends {"run": case} and reads {"seconds": s}; {"quit": true} gets
{"maxrss_mb": peak resident memory}. The 'jit' group instead times a fresh
process's first and second U-Net training steps, prints one JSON line and
exits.

Fast cases are repeated in a loop lasting about MIN_SECONDS (the count is
fixed on the first call) so the timer's resolution does not matter; the
reported time is per call.

Each timing is preceded by a pause and an untimed burst. The pause
(SETTLE_SECONDS) lets the worker that ran just before go quiet: OpenBLAS
keeps its threads busy-waiting for about 0.1 s after a product, and timing
straight away measured that spinning, not the case (convolutions came out up
to 4x slower than when run alone). The burst (the same count of calls as the
timed loop) then wakes this worker's threads and caches again: timed right
after a pause, PyTorch's pooling backward took 2.2 ms instead of 0.4 ms.
"""
import json
import os
import resource
import sys
import time

MIN_SECONDS = 0.03
SETTLE_SECONDS = 0.25


def _maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _info(framework):
    if framework == "torch":
        import torch
        return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    import numba
    import numpy
    from minicnn import _threads
    if framework == "numba":
        import minicnn.numba_kernels  # noqa: F401  (chooses the threading layer)
    info = {"numpy": numpy.__version__, "numba": numba.__version__}
    info.update(_threads.report())
    return info


def _cases(framework, group):
    if framework == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
        from torch_cases import torch_job, torch_ops, torch_unet
        return {"ops": torch_ops, "unet": torch_unet, "job": torch_job}[group]()
    from cases import matmul_ops, minicnn_ops, minicnn_unet
    from job_cases import minicnn_job
    if group == "unet":
        return minicnn_unet(framework)
    if group == "job":
        return minicnn_job(framework)
    cases = minicnn_ops(framework)
    if framework == "numba":
        cases.update({f"matmul:{name}": fn for name, fn in matmul_ops().items()})
    return cases


def _first_step():
    """Seconds for import, model building, the first training step and the
    second: the first minus the second is what compiling or loading the
    compiled kernels cost."""
    start = time.perf_counter()
    import minicnn  # noqa: F401
    imported = time.perf_counter()
    from cases import minicnn_unet
    step = minicnn_unet("numba")["U-Net training step"]
    built = time.perf_counter()
    step()
    done = time.perf_counter()
    step()
    again = time.perf_counter()
    return {"import_s": imported - start, "build_s": built - imported,
            "first_step_s": done - built, "second_step_s": again - done}


def _serve(cases, reply):
    repeats = {}
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            reply({"maxrss_mb": _maxrss_mb()})
            return
        fn = cases[request["run"]]
        count = repeats.get(request["run"])
        if count is None:
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            count = repeats[request["run"]] = max(1, min(1000, int(MIN_SECONDS / elapsed)))
        time.sleep(SETTLE_SECONDS)
        for _ in range(count):
            fn()
        start = time.perf_counter()
        for _ in range(count):
            fn()
        reply({"seconds": (time.perf_counter() - start) / count})


def main():
    framework, group = sys.argv[1], sys.argv[2]
    channel = os.fdopen(os.dup(1), "w")          # JSON replies only
    os.dup2(2, 1)                                # anything else printed -> stderr
    sys.stdout = sys.stderr

    def reply(message):
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    if framework in ("numba", "numpy"):
        if group == "jit":
            reply(_first_step())
            return
        import minicnn  # noqa: F401  (first, so its OpenBLAS defaults apply)
    cases = _cases(framework, group)
    reply({"cases": sorted(cases), "rss_ready_mb": _maxrss_mb(), "info": _info(framework)})
    _serve(cases, reply)


if __name__ == "__main__":
    main()
