"""The benchmark table and the issue's targets, from run.py's results dict."""
from cases import CONV3, CONV3_KINDS, conv3_name
from job_cases import JOB_CONV3, JOB_CONV3_KINDS, job_conv3_name

FASTER_THAN_TORCH = ("max pool 2x2 forward", "max pool 2x2 backward",
                     "upsample nearest 2x forward", "upsample nearest 2x backward",
                     "conv1x1 forward", "conv1x1 backward",
                     "transpose conv 2x2/2 forward", "transpose conv 2x2/2 backward")


def _ratio(times, case, a="numba", b="torch"):
    row = times.get(case, {})
    return row[a] / row[b] if a in row and b in row else None


def targets(results):
    """[(target, measured text, met: True/False/None)] for the issue's targets."""
    times, out = results["times"], []

    def ratio_target(case, limit, label):
        if "numba" not in times.get(case, {}):
            return
        r = _ratio(times, case)
        out.append((label, "n/a" if r is None else f"{r:.2f}x torch",
                    None if r is None else r <= limit))

    ratio_target("job U-Net training step", 1.2, "main job's U-Net training step <= 1.2x torch")
    ratio_target("job U-Net forward", 1.2, "main job's U-Net forward <= 1.2x torch")
    ratio_target("U-Net training step", 1.3, "U-Net training step <= 1.3x torch")
    ratio_target("U-Net forward", 1.2, "U-Net forward <= 1.2x torch")
    for case in ([conv3_name(s, ci, co, kind) for s, ci, co in CONV3 for kind in CONV3_KINDS]
                 + [job_conv3_name(h, w, ci, co, kind) for h, w, ci, co in JOB_CONV3
                    for kind in JOB_CONV3_KINDS]):
        ratio_target(case, 1.5, f"{case} <= 1.5x torch")
    for case in FASTER_THAN_TORCH:
        ratio_target(case, 1.0, f"{case} faster than torch")
    for s, ci, co in CONV3:
        for kind in CONV3_KINDS:
            case = conv3_name(s, ci, co, kind)
            row = times.get(case, {})
            mm = times.get(f"matmul:{case}", {}).get("numba")
            if "numba" in row and mm:
                share = mm / row["numba"]            # = conv GF/s / matmul GF/s
                out.append((f"{case} >= 60% of matmul GF/s", f"{100 * share:.0f}%",
                            share >= 0.6))
    rss = results["rss_mb"].get("unet", {})
    if "numba" in rss and "torch" in rss:
        out.append(("U-Net training peak RSS below torch's",
                    f"{rss['numba']:.0f} MB vs {rss['torch']:.0f} MB",
                    rss["numba"] < rss["torch"]))
    jit = results.get("jit")
    if jit:
        for label, limit in (("cold", 15.0), ("warm", 1.0)):
            if jit.get(label):
                seconds = jit[label]["first_step_s"]
                out.append((f"first training step, {label} JIT cache < {limit:g} s",
                            f"{seconds:.2f} s", seconds < limit))
        counts = [run["cache_files"] for run in jit.get("runs", [])]
        if len(counts) > 1:
            out.append((f"Numba cache files after {len(counts)} processes = after 1",
                        " -> ".join(str(c) for c in counts), counts[-1] == counts[0]))
    return out


def _ms(value):
    return "" if value is None else f"{1e3 * value:.2f}"


def print_table(results, rows):
    """One table: times, ratio to torch, conv GF/s against matmul, memory, JIT."""
    cfg, times, info = results["config"], results["times"], results["info"]
    numba_info = info.get("numba", info.get("numpy", {}))
    print(f"minicnn benchmarks: float32, {cfg['threads']} threads, median of "
          f"{cfg['rounds']} interleaved rounds after {cfg['warmup']} warm-up; "
          f"{cfg['cpus']} CPUs, Python {cfg['python']}")
    if numba_info:
        print(f"numpy {numba_info.get('numpy')}, numba {numba_info.get('numba')}, "
              f"OpenBLAS core {numba_info.get('openblas_core')}, Numba threading "
              f"layer {numba_info.get('numba_threading_layer')}")
    if numba_info.get("OPENBLAS_CORETYPE"):
        print(f"OPENBLAS_CORETYPE={numba_info['OPENBLAS_CORETYPE']} is set: OpenBLAS uses that "
              "core's kernels, which may be slower than this CPU's own "
              "(docs/performance.md)")
    if "torch" in info:
        print(f"torch {info['torch']['torch']} ({info['torch']['torch_threads']} threads)")
    if cfg.get("torch_note"):
        print(cfg["torch_note"])
    print()
    header = (f"{'op':<46}{'shape':<22}{'numba ms':>10}{'numpy ms':>10}{'torch ms':>10}"
              f"{'numba/torch':>13}{'GF/s':>8}{'matmul GF/s':>13}")
    print(header)
    print("-" * len(header))
    for case, shape in rows:
        row = times.get(case, {})
        if not row:
            continue
        ratio = _ratio(times, case)
        gf, mm = "", ""
        flops = results["gflops"].get(case)
        if flops and "numba" in row:
            gf = f"{flops / row['numba']:.0f}"
            mm_time = times.get(f"matmul:{case}", {}).get("numba")
            mm = "" if mm_time is None else f"{flops / mm_time:.0f}"
        print(f"{case:<46}{shape:<22}{_ms(row.get('numba')):>10}{_ms(row.get('numpy')):>10}"
              f"{_ms(row.get('torch')):>10}{'' if ratio is None else f'{ratio:.2f}x':>13}"
              f"{gf:>8}{mm:>13}")
    for group, label in (("unet", "U-Net training, peak RSS (MB)"),
                         ("ops", "ops worker, peak RSS (MB)")):
        rss = results["rss_mb"].get(group)
        if rss:
            cells = [f"{rss[f]:.0f}" if f in rss else "" for f in ("numba", "numpy", "torch")]
            print(f"{label:<68}{cells[0]:>10}{cells[1]:>10}{cells[2]:>10}")
    ready = results["rss_ready_mb"].get("unet")
    if ready:
        cells = [f"{ready[f]:.0f}" if f in ready else "" for f in ("numba", "numpy", "torch")]
        print(f"{'  of which imports + model, before step 1 (MB)':<68}"
              f"{cells[0]:>10}{cells[1]:>10}{cells[2]:>10}")
    jit = results.get("jit")
    if jit:
        for label in ("cold", "warm"):
            j = jit.get(label)
            if j:
                print(f"JIT, {label} cache{' (median)' if label == 'warm' else ''}: first "
                      f"training step {j['first_step_s']:.2f} s, second "
                      f"{j['second_step_s']:.2f} s (import {j['import_s']:.2f} s, model "
                      f"{j['build_s']:.2f} s, whole process {j['process_s']:.2f} s)")
    print()
    print("Targets")
    if not results["targets"]:
        print("  none of the measured rows has a target")
    for label, measured, met in results["targets"]:
        verdict = {True: "met", False: "NOT met", None: "n/a"}[met]
        print(f"  {verdict:<8} {label}: {measured}")
