"""How far a learner's files have got, as their last checks recorded it.

``check`` writes, beside the file it checked, ``.minicnn-exercises.json``:
for each exercise, the file's SHA-256 and each level's last outcome. A
check of the same file adds to its record (``--level 3`` alone keeps the
outcomes of levels 1 and 2); a changed file starts a new one. ``status``
reads it back without running anything:

    not started                  no NAME.py in the folder
    not checked yet              the file, but no record of it
    fails level 1                its last check failed the contract
    passes level 2               levels 1 and 2 pass (3 not yet, or failed)
    done                         every level passes (or does not apply)
    changed since (passes level 2)   the file differs from the one checked
"""
import datetime
import hashlib
import json
import os

from .. import files

RECORD = ".minicnn-exercises.json"
LEVELS = (1, 2, 3, 4)


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _read(directory):
    try:
        with open(os.path.join(directory, RECORD), encoding="utf-8") as f:
            content = json.load(f)
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def record(path, exercise_name, levels):
    """Note the outcomes of `levels` (``levels.Level``) for the file at `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    content = _read(directory)
    digest = _digest(path)
    entry = content.get(exercise_name, {})
    if entry.get("sha256") != digest or entry.get("file") != os.path.basename(path):
        entry = {"file": os.path.basename(path), "sha256": digest, "levels": {}}
    for level in levels:
        entry["levels"][str(level.number)] = {True: "pass", False: "fail", None: "n/a"}[level.passed]
    entry["checked"] = datetime.datetime.now().isoformat(timespec="seconds")
    content[exercise_name] = entry
    files.write_text(os.path.join(directory, RECORD), json.dumps(content, indent=2) + "\n")


def _reached(entry):
    """The highest k such that levels 1..k pass (or do not apply), and whether
    the level after it failed."""
    outcomes = entry.get("levels", {})
    k = 0
    while k < len(LEVELS) and outcomes.get(str(k + 1)) in ("pass", "n/a"):
        k += 1
    return k, outcomes.get(str(k + 1)) == "fail"


def status(directory, exercise):
    """One of the phrases of the module docstring, for `exercise` in `directory`."""
    path = os.path.join(directory, exercise.file_name)
    if not os.path.isfile(path):
        return "not started"
    entry = _read(directory).get(exercise.name)
    if not entry or entry.get("file") != exercise.file_name:
        return "not checked yet"
    k, failed = _reached(entry)
    state = "done" if k == len(LEVELS) else (
        f"passes level {k}" if k else ("fails level 1" if failed else "not checked yet"))
    if entry.get("sha256") != _digest(path):
        return f"changed since ({state})"
    return state
