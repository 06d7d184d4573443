"""Files written whole or not at all: the one atomic write of minicnn.

Every file minicnn writes (weights, model cards, figures, NIfTI volumes, the
embedded template) is written through ``atomic_path``:

    with atomic_path("run/model.npz") as tmp:   # run/.tmp.4242.9f1c2a7b.model.npz
        np.savez(tmp, **arrays)
    # the with block ended without an error: tmp is now run/model.npz

The writer fills a temporary file in the same folder, and only a complete
file is renamed to `path` (``os.replace``, which within one file system
swaps the name in one step on POSIX). So

* a reader (``minicnn predict`` loading model.npz while ``minicnn train``
  saves it again) sees the old file or the new one, never half of one;
* an error, a full disk or Ctrl-C mid-write leaves the old file intact,
  and the temporary file is removed.

How, and why each detail:

* The temporary name ends with the final file's name, so it keeps every
  extension (".npz", ".nii.gz", ".weights.h5"): writers choose the format
  from the name. ``np.savez`` appends ".npz" to a name without it, nibabel
  gzips a name ending in ".gz", matplotlib picks PNG or PDF.
* The temporary file is created with ``os.open(..., 0o666)``, the mode
  ``open(path, "w")`` asks for, so the user's umask applies as it does to
  every other file: -rw-r--r-- under the usual umask 022.
  (``tempfile.mkstemp`` creates files -rw------- whatever the umask.)
* The data is flushed to the disk (``os.fsync``) before the rename:
  otherwise a power cut could store the rename before the data and leave
  an empty file where the old one was.
* The name carries the writer's process id (4242 above) and a random part
  (9f1c2a7b), so two processes, or two threads of one, never share a
  temporary file. A process killed mid-write (kill -9, a power cut) cannot
  remove its temporary file; the next write of the same path removes those
  whose process no longer exists, and never one whose process still runs:
  that process may be writing into it at this moment. Process ids are
  those of this machine, so two machines writing into one shared folder
  are not told apart.
"""
import contextlib
import os
import re
import secrets

_PREFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; write the file there.

    When the with block ends without an error, the file is flushed to the
    disk and renamed to `path` (replacing an older file). When it raises,
    the temporary file is removed and `path` is left as it was.
    """
    path = os.fspath(path)
    folder, name = os.path.split(path)
    _remove_leftovers(folder, name)
    tmp = os.path.join(folder, f"{_PREFIX}.{os.getpid()}.{secrets.token_hex(4)}.{name}")
    # Mode 0o666, as open(path, "w") asks, so that the umask applies.
    # O_EXCL: fail rather than write into a file that is already there.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        _flush_to_disk(tmp)
        os.replace(tmp, path)
    except BaseException:                       # KeyboardInterrupt too
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_bytes(path, content):
    """Write the bytes `content` to `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(content)


def write_text(path, text, encoding="utf-8"):
    """Write the string `text` to `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding=encoding) as f:
        f.write(text)


def _flush_to_disk(path):
    """Make the operating system store `path`'s data on the disk now."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftovers(folder, name):
    """Remove the temporary files of `name` in `folder` whose writer is gone."""
    pattern = re.compile(rf"{re.escape(_PREFIX)}\.(\d+)\.[0-9a-f]{{8}}\.{re.escape(name)}")
    for entry in os.listdir(folder or "."):
        match = pattern.fullmatch(entry)
        if match and not _process_exists(int(match.group(1))):
            # Another writer of the same path may have removed it just now.
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, entry))


def _process_exists(pid):
    """Whether a process `pid` runs on this machine (a zombie counts)."""
    if os.name != "posix":
        # On Windows os.kill(pid, 0) would end that process: never guess there.
        return True
    try:
        os.kill(pid, 0)          # signal 0 sends nothing; it only checks the pid
    except ProcessLookupError:
        return False
    except PermissionError:      # it exists, but belongs to another user
        return True
    return True
