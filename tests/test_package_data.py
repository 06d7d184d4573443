"""The package's data: a wheel built with ``pip wheel .`` carries the embedded
template and the pretrained model, and all of it stays under 20 MB."""
import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from minicnn import pretrained

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 20 * 2 ** 20                       # bytes
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "minicnn")


def package_data_files(root=ROOT):
    """The files that setup.cfg's package_data patterns match under `root`."""
    config = configparser.ConfigParser()
    config.read(root / "setup.cfg")
    files = []
    for package, patterns in config["options.package_data"].items():
        folder = root.joinpath(*package.split("."))
        for pattern in patterns.split(","):
            files += [f for f in folder.glob(pattern.strip()) if f.is_file()]
    return files


def test_package_data_stays_under_20_mb_with_the_pretrained_unet():
    files = package_data_files()
    names = {f.name for f in files}
    assert {"icbm152_1mm_t1.nii.gz", pretrained.WEIGHTS, "model.json"} <= names
    total = sum(f.stat().st_size for f in files)
    assert total < LIMIT, f"{total / 2 ** 20:.1f} MB"


@pytest.mark.slow
def test_a_wheel_carries_the_template_and_the_pretrained_model(tmp_path):
    """A copy of the project, built by pip as a user would."""
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".tmp.*"))
        else:
            shutil.copy2(ROOT / name, source / name)
    shipped = ROOT / "minicnn" / "pretrained" / pretrained.WEIGHTS

    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                           "-w", str(tmp_path / "dist"), "-q"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    wheel, = (tmp_path / "dist").glob("minicnn-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name in ("model.npz", "model.json", "NOTICE.txt", "__init__.py"):
            assert f"minicnn/pretrained/{name}" in names, name
        expected = {f"minicnn/{f.relative_to(source / 'minicnn').as_posix()}"
                    for f in package_data_files(source)}
        assert expected <= names, expected - names
        archive.extract("minicnn/pretrained/model.npz", tmp_path / "unpacked")
        data_bytes = sum(i.file_size for i in archive.infolist()
                         if not i.filename.endswith(".py") and "dist-info" not in i.filename)
    with np.load(tmp_path / "unpacked" / "minicnn" / "pretrained" / "model.npz") as inside, \
            np.load(shipped) as original:
        assert inside.files == original.files
        for key in original.files:
            np.testing.assert_array_equal(inside[key], original[key])
            assert inside[key].dtype == original[key].dtype
    assert data_bytes < LIMIT
