"""minicnn.files: every file written whole or not at all, with the permissions
of an ordinary open(path, "w"), and no temporary file left by a writer that
is gone."""
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import minicnn
from minicnn import data, files, models, pretrained
from minicnn.segmentation import card as model_card
from minicnn.cli import report

# The folder holding this minicnn, for the writer processes to import it.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(minicnn.__file__)))


def mode(path):
    """The permission bits of `path`, e.g. 0o644 (-rw-r--r--)."""
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o022, 0o077, 0o002], ids=["umask022", "umask077", "umask002"])
def umask(request):
    """Run the test under a umask, and the mode it gives an ordinary file."""
    old = os.umask(request.param)
    try:
        yield 0o666 & ~request.param
    finally:
        os.umask(old)


def test_the_temporary_file_is_beside_the_file_and_keeps_its_extensions(tmp_path):
    with files.atomic_path(tmp_path / "t1.nii.gz") as tmp:
        assert os.path.dirname(tmp) == str(tmp_path)      # the rename stays in one folder
        assert os.path.basename(tmp).startswith(".")      # hidden from ls and globs
        assert tmp.endswith(".t1.nii.gz")
    # np.savez appends ".npz" to a name without it: the temporary name has it.
    with files.atomic_path(tmp_path / "w.npz") as tmp:
        np.savez(tmp, a=np.arange(3))
    assert sorted(os.listdir(tmp_path)) == ["t1.nii.gz", "w.npz"]
    with np.load(tmp_path / "w.npz") as stored:
        assert stored["a"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path, error):
    path = tmp_path / "card.json"
    files.write_text(path, "old")
    with pytest.raises(type(error)):
        with files.atomic_path(path) as tmp:
            with open(tmp, "w") as f:
                f.write("half of the new")
            raise error
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["card.json"]


def test_write_bytes_and_write_text_replace_the_file(tmp_path):
    files.write_bytes(tmp_path / "a.bin", b"\x00\x01")
    files.write_bytes(tmp_path / "a.bin", b"\x02")
    files.write_text(tmp_path / "a.txt", "\u00b5m\n")
    assert (tmp_path / "a.bin").read_bytes() == b"\x02"
    assert (tmp_path / "a.txt").read_bytes() == "\u00b5m\n".encode("utf-8")
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "a.txt"]


def test_permissions_are_those_of_open_under_the_umask(tmp_path, umask):
    with open(tmp_path / "ordinary", "w"):
        pass
    files.write_bytes(tmp_path / "a.bin", b"")
    files.write_text(tmp_path / "a.txt", "")
    assert oct(mode(tmp_path / "ordinary")) == oct(umask)
    assert oct(mode(tmp_path / "a.bin")) == oct(mode(tmp_path / "a.txt")) == oct(umask)


def _weights(folder):
    models.simple_cnn((8, 8, 1), 2).save_weights(folder / "model.npz")
    return ["model.npz"]


def _card(folder):
    model_card.save_model(models.simple_cnn((8, 8, 1), 2), {"model": "simple"},
                      folder / "trained.npz")
    return ["trained.npz", "trained.json"]


def _figure(folder):
    labels = np.zeros((6, 6, 6), dtype=np.uint8)
    labels[2:4, 2:4, 2:4] = 3
    for name in ("overlay.png", "overlay.PDF"):
        report.plot_overlay(folder / name, labels * 50.0, labels, (1.0, 1.0, 1.0),
                            ["background", "CSF", "GM", "WM"])
    return ["overlay.png", "overlay.PDF"]


def _export(folder):
    pretrained.export(pretrained.weights_path(), folder)
    return [pretrained.WEIGHTS, "model.json", pretrained.NOTICE]


def _nifti(folder):
    for name in ("labels.nii.gz", "labels.nii"):
        data.save_nifti(folder / name, np.zeros((2, 2, 2), np.uint8), np.eye(4))
    return ["labels.nii.gz", "labels.nii"]


# Each writes its files into a folder and returns their names.
WRITERS = {"weights": _weights, "card": _card, "figure": _figure, "export": _export,
           "nifti": _nifti}


@pytest.mark.parametrize("writer", WRITERS)
def test_every_writer_gives_the_permissions_of_open(tmp_path, umask, writer):
    for name in WRITERS[writer](tmp_path):
        assert oct(mode(tmp_path / name)) == oct(umask), name
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]


def test_keras_weights_get_the_permissions_of_open(tmp_path, umask, h5py):
    models.simple_cnn((8, 8, 1), 2).save_weights(tmp_path / "model.weights.h5")
    assert oct(mode(tmp_path / "model.weights.h5")) == oct(umask)


def test_a_figure_has_the_format_of_its_extension(tmp_path):
    png, pdf = _figure(tmp_path)
    assert (tmp_path / png).read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / pdf).read_bytes().startswith(b"%PDF")


def test_a_card_that_is_not_json_leaves_the_old_card_and_no_temporary(tmp_path):
    path = tmp_path / "model.json"
    model_card.write_json(path, {"epochs": 1})
    with pytest.raises(TypeError, match="not JSON serializable"):
        model_card.write_json(path, {"epochs": 2, "seed": np.random.default_rng(0)})
    assert path.read_text() == '{\n  "epochs": 1\n}\n'
    assert os.listdir(tmp_path) == ["model.json"]


# A writer that stops in the middle of writing `path` (argv[1]): it prints
# its temporary file's name and sleeps, until the test kills it.
WRITER = """
import sys, time
from minicnn.files import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "w") as f:
        f.write("half of a file")
    print(tmp, flush=True)
    time.sleep(60)
"""


@pytest.fixture
def start_writer():
    """start_writer(path) -> (process, its temporary file), killed at the end."""
    started = []

    def start(path):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                                   stdout=subprocess.PIPE, text=True,
                                   env={**os.environ, "PYTHONPATH": ROOT})
        started.append(process)
        tmp = process.stdout.readline().strip()
        assert tmp, "the writer process stopped before writing (its error is above)"
        return process, tmp
    yield start
    for process in started:
        process.kill()
        process.wait()
        process.stdout.close()


def test_leftovers_of_finished_writers_are_removed_those_of_live_ones_kept(
        tmp_path, start_writer):
    path, other = tmp_path / "model.npz", tmp_path / "model.json"
    live, live_tmp = start_writer(path)
    killed, killed_tmp = start_writer(path)
    killed.kill()                           # SIGKILL mid-write: no cleanup runs
    killed.wait()                           # and reaped, so its pid is free
    with pytest.raises(ProcessLookupError):
        os.kill(killed.pid, 0)              # and no new process has taken it
    assert os.path.isfile(live_tmp) and os.path.isfile(killed_tmp)

    files.write_text(other, "{}")           # another file: its leftovers only
    assert os.path.isfile(killed_tmp)
    files.write_text(path, "new")
    assert not os.path.exists(killed_tmp)   # its writer is gone
    assert os.path.isfile(live_tmp)         # its writer may still finish
    assert path.read_text() == "new"
    assert live.poll() is None


def test_a_writer_of_another_user_counts_as_live(tmp_path, start_writer, monkeypatch):
    path = tmp_path / "model.npz"
    killed, killed_tmp = start_writer(path)
    killed.kill()
    killed.wait()

    def not_permitted(pid, signal):
        raise PermissionError(1, "Operation not permitted")
    # What kill(pid, 0) says of a running process that another user owns.
    monkeypatch.setattr(os, "kill", not_permitted)
    files.write_text(path, "new")
    monkeypatch.undo()
    assert os.path.isfile(killed_tmp)
