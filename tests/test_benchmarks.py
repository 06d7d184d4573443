"""benchmarks/ runs end to end and judges its targets right.

These check that the benchmark script works from a clone, not how fast
anything is: no assertion here depends on a time.
"""
import json
import os
import subprocess
import sys

import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "benchmarks")
sys.path.insert(0, BENCHMARKS)
from report import targets  # noqa: E402


def _run_one_round(tmp_path, group, cases):
    """run.py on `group`'s cases containing `cases`, one round, no torch:
    (what it printed, the results it wrote as JSON)."""
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, os.path.join(BENCHMARKS, "run.py"), "--only", group,
         "--cases", cases, "--rounds", "1", "--warmup", "0", "--no-torch",
         "--json", str(out)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(out.read_text())


@pytest.mark.slow
def test_run_py_prints_the_table_and_writes_json(tmp_path):
    printed, results = _run_one_round(tmp_path, "ops", "relu")
    assert "torch skipped (--no-torch)" in printed
    for case in ("relu forward", "relu backward"):
        assert case in printed
    times = results["times"]["relu forward"]
    assert set(times) == {"numba", "numpy"} and all(t > 0 for t in times.values())
    assert "conv3x3 forward 128x128x16->16" not in results["times"]   # --cases filters


@pytest.mark.slow
def test_the_main_jobs_rows_run_on_both_backends(tmp_path):
    """The job group, filtered to its first convolution, one round."""
    times = _run_one_round(tmp_path, "job", "80x96x1->32")[1]["times"]
    assert set(times) == {f"job conv3x3+relu {kind} 80x96x1->32"
                          for kind in ("forward", "backward")}
    assert all(set(row) == {"numba", "numpy"} for row in times.values())


def _results(step_ratio, pool_ratio, conv_share, rss, cold, job_ratio=1.0, conv_ratio=1.0,
             met_cache=True):
    conv = "conv3x3 forward 16x16x128->128"
    return {"times": {"U-Net training step": {"numba": step_ratio, "torch": 1.0},
                      "job U-Net training step": {"numba": job_ratio, "torch": 1.0},
                      "job conv3x3+relu backward 80x96x96->32": {"numba": conv_ratio,
                                                                  "torch": 1.0},
                      "max pool 2x2 forward": {"numba": pool_ratio, "torch": 1.0},
                      conv: {"numba": 1.0},
                      f"matmul:{conv}": {"numba": conv_share}},
            "rss_mb": {"unet": {"numba": rss, "torch": 500.0}},
            "jit": {"cold": {"first_step_s": cold}, "warm": {"first_step_s": 0.5},
                    "runs": [{"cache_files": 25}, {"cache_files": 25 if met_cache else 26}]}}


@pytest.mark.parametrize("met", [True, False])
def test_targets_are_judged_on_the_right_side_of_each_limit(met):
    verdicts = {label: ok for label, _, ok in targets(
        _results(step_ratio=1.29 if met else 1.31, pool_ratio=0.99 if met else 1.01,
                 conv_share=0.61 if met else 0.59, rss=499.0 if met else 501.0,
                 cold=14.9 if met else 15.1, job_ratio=1.19 if met else 1.21,
                 conv_ratio=1.49 if met else 1.51, met_cache=met))}
    assert verdicts["U-Net training step <= 1.3x torch"] is met
    assert verdicts["main job's U-Net training step <= 1.2x torch"] is met
    assert verdicts["job conv3x3+relu backward 80x96x96->32 <= 1.5x torch"] is met
    assert verdicts["max pool 2x2 forward faster than torch"] is met
    assert verdicts["conv3x3 forward 16x16x128->128 >= 60% of matmul GF/s"] is met
    assert verdicts["U-Net training peak RSS below torch's"] is met
    assert verdicts["first training step, cold JIT cache < 15 s"] is met
    assert verdicts["first training step, warm JIT cache < 1 s"] is True
    assert verdicts["Numba cache files after 2 processes = after 1"] is met


def test_a_target_without_torch_is_not_applicable():
    results = _results(1.2, 0.5, 0.7, 400.0, 5.0)
    del results["times"]["U-Net training step"]["torch"]
    verdicts = {label: ok for label, _, ok in targets(results)}
    assert verdicts["U-Net training step <= 1.3x torch"] is None
