"""Every example runs in quick mode, writes its figures and prints its key numbers.

The course is taught in Jupyter, so each script runs cell by cell (its
`# %%` cells) in a fresh interpreter as a notebook kernel would run it: no
command line, no __file__, MINICNN_QUICK=1 (small data, one epoch), the
figures in the default folder (moved by MINICNN_EXAMPLES_OUT). It passes
when every cell runs, every figure it promises exists and opens as an
image, and the numbers that are its point appear in what it prints (the
slides' parameter counts, the corrected cross-entropy, the measured
receptive fields...). The training scripts' scores in quick mode mean
nothing, so only their structure is checked.

Run as a script instead (``python examples/NN_....py``), an example differs
only in how ``_common.setup`` reads its options (--out, --quick) and finds
its folder: that is checked once, on a short example
(test_a_script_takes_its_options_from_the_command_line), rather than
running every example a second time. These start interpreters and train:
they are in the slow set.
"""
import json
import os
import subprocess
import sys

import matplotlib.image
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")

# script: (figures it writes, strings its output must contain)
CASES = {
    "01_kernels_and_parameters.py": (
        ["kernels.png", "feature_maps.png"],
        ["Total params: 42", "Total params: 210", "3 * 3*3*3 + 3 = 84",
         "Total: 42 parameters (the slides: 42)", "Total: 210 parameters (the slides: 210)"]),
    "02_stride_and_padding.py": (
        ["padding_grid.png", "stride_padding_slice.png"],
        ["padding='valid' ) -> (1, 54, 45, 3)", "padding='same'  ) -> (1, 55, 46, 3)",
         " 110     same      2   55               (0, 1)"]),
    "03_receptive_field_and_dilation.py": (
        ["receptive_fields.png", "rf_growth.png"],
        ["analytic field 7 x 7; measured (non-zero input gradient) 7 x 7",
         "analytic field 13 x 13; measured (non-zero input gradient) 13 x 13",
         "analytic field 15 x 15; measured (non-zero input gradient) 15 x 15",
         "models.simple_cnn(dilation_rate=2): field 13 x 13 (analytic 13), 4,851 parameters"]),
    "04_downsampling_and_upsampling.py": (
        ["toy_examples.png", "brain_slice.png"],
        ["vs UpSampling2D(2):  max |difference| = 0.0e+00",
         "8,224 parameters = 2*2*64*32 + 32", "height 75: 'valid' -> 37"]),
    "05_activations_and_losses.py": (
        ["activations.png", "cross_entropy.png", "softmax_output.png",
         "saturated_softmax.png"],
        ["sum  = 3.322", "sum  = 0.966", "mean = 1.107", "mean = 0.322",
         "= 3.64", "give -1.64", "CategoricalCrossentropy = 0.7675 nats",
         "(a) loss on clipped probabilities: 16.12 at step 1, 16.12 at step",
         "the clip cut it, nothing learns", "(b) fit (from the logits, as in Keras): 62.2 at step 1"]),
    "06_metrics.py": (
        ["predictions.png", "scores.png"],
        ["whole volume     accuracy 0.576", "59 brain slices  accuracy 0.457",
         "binary accuracy over 4 channels 0.729", "Dice of class 1 = 2 * 2 / (4 + 4) = 0.50"]),
    "07_cross_validation.py": (
        ["splits.png", "fold_scores.png"],
        ["every subject is tested exactly once: True", "fold 2:", "test accuracy"]),
    "08_feature_extraction.py": (
        ["planes.png", "stacks_and_patches.png"],
        ["gives the label volume back exactly: True", "-> (92, 112, 96, 1)",
         "context=2: x (77, 75, 93, 5)", "patches_to_volume (overlaps averaged) gives the "
         "volume back: True"]),
    "09_simple_networks.py": (
        ["curves.png", "comparison.png", "predictions.png"],
        ["simple CNN            4,851", "5-layer 5x5          24,379",
         "baseline (background everywhere)"]),
    "10_unet.py": (
        ["curves.png", "comparison.png", "predictions.png"],
        ["Total params: 1,946,342", "Non-trainable params: 2", "small (< 120k)       96,615",
         "baseline (background everywhere)"]),
    "11_classical_baseline.py": (
        ["errors.png", "histograms.png"],
        ["subject 2000: contrast t1", "Why the start matters (template)",
         "synthetic 2000         EM (intensity only)", "U-Net, axial view", "U-Net refined, w=",
         "BUILD.json (three views, as minicnn train scored them): synthetic CSF 0.800"]),
}


def test_every_script_is_covered():
    scripts = sorted(f for f in os.listdir(EXAMPLES) if f[:2].isdigit() and f.endswith(".py"))
    assert scripts == sorted(CASES)


def check_run(script, run, out):
    """The run succeeded in quick mode, wrote its figures into `out` and printed its numbers."""
    figures, expected = CASES[script]
    assert run.returncode == 0, f"{script} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert "[quick mode]" in run.stdout
    for name in figures:
        path = out / name
        assert path.is_file(), f"{script} did not write {name} into {out}"
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and min(image.shape[:2]) > 100, (name, image.shape)
        assert image.std() > 0.01, f"{name} is blank"
    for text in expected:
        assert text in run.stdout, f"{script}: {text!r} not printed"


# A notebook kernel, imitated in a fresh interpreter. IPython runs a
# notebook's cells in a __main__ module of its own, which has no __file__;
# sys.argv is the kernel's command line; the working directory is the
# notebook's folder, first on sys.path (so `import _common` works). The
# cells, [title, first line, source], come as JSON on stdin and run one by
# one in that module's namespace, compiled with the script's name and line
# numbers so that a traceback points into the script.
KERNEL = """
import json, sys, types
path, cells = json.load(sys.stdin)
sys.argv = ["/usr/lib/python3/site-packages/ipykernel_launcher.py", "-f",
            "/root/.local/share/jupyter/runtime/kernel-1234.json"]
main = types.ModuleType("__main__")
sys.modules["__main__"] = main
for title, line, source in cells:
    print(f"[cell: {title}]", flush=True)
    exec(compile("\\n" * (line - 1) + source, path, "exec"), main.__dict__)
"""


def notebook_cells(path):
    """A script's `# %%` cells (jupytext's percent format): [title, first line, source]."""
    with open(path) as f:
        lines = f.read().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("# %%")]
    assert starts[:1] == [0], f"{path}: the lines before the first '# %%' are in no cell"
    ends = starts[1:] + [len(lines)]
    return [[lines[a][len("# %%"):].strip(), a + 1, "".join(lines[a:b])]
            for a, b in zip(starts, ends)]


def run_in_kernel(path, cells, out_root):
    """Run `cells` of the script at `path` in the imitation kernel, from examples/."""
    env = dict(os.environ, MINICNN_QUICK="1", MPLBACKEND="Agg",
               MINICNN_EXAMPLES_OUT=str(out_root))
    return subprocess.run([sys.executable, "-c", KERNEL], input=json.dumps([path, cells]),
                          cwd=EXAMPLES, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs_cell_by_cell_in_a_notebook_kernel(script, tmp_path):
    path = os.path.join(EXAMPLES, script)
    cells = notebook_cells(path)
    assert len(cells) >= 2, f"{script}: one cell only; mark its sections with '# %%'"
    run = run_in_kernel(path, cells, tmp_path)
    assert "no command line" in run.stdout          # the options took their defaults
    check_run(script, run, tmp_path / script.removesuffix(".py"))


@pytest.mark.slow
def test_the_kernel_has_no_file(tmp_path):
    """A cell that used __file__ would fail in a notebook, and fails in the imitation."""
    cells = [["setup", 1, "import os\n"],
             ["uses __file__", 2, "print(os.path.dirname(__file__))\n"]]
    run = run_in_kernel("snippet.py", cells, tmp_path)
    assert run.returncode != 0
    assert "NameError: name '__file__' is not defined" in run.stderr, run.stderr[-3000:]


@pytest.mark.slow
def test_options_given_in_a_notebook(tmp_path):
    """setup(..., argv=[...]) sets the options where there is no command line."""
    cells = [["options", 1, "import _common\n"
              f"args, out = _common.setup('02_stride_and_padding', 'options', "
              f"argv=['--out', {str(tmp_path / 'here')!r}])\n"
              "print('out:', out)\n"]]
    run = run_in_kernel("snippet.py", cells, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"out: {tmp_path / 'here'}" in run.stdout
    assert "no command line" not in run.stdout


@pytest.mark.slow
def test_a_script_takes_its_options_from_the_command_line(tmp_path):
    """Run as a script: --quick alone (no MINICNN_QUICK) selects quick mode,
    --out chooses the folder, and the checks of the notebook run hold."""
    script = "02_stride_and_padding.py"
    env = {k: v for k, v in os.environ.items() if k != "MINICNN_QUICK"}
    env["MPLBACKEND"] = "Agg"
    run = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), "--quick", "--out",
                          str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    check_run(script, run, tmp_path)
    assert "no command line" not in run.stdout
