"""The learner's code in a child process, called from the checker as if it were here.

    with Sandbox(path, ["conv2d_forward"]) as box:
        y, cache = box.function("conv2d_forward")(x, kernel, bias, geom)

The child (``_child``) loads the file and runs each call; ``Sandbox`` sends
the arguments, waits for the answer at most `timeout` seconds and turns
anything but an answer into a ``LearnerError`` whose text is one line:

    conv2d_forward raised IndexError: index 5 is out of bounds (line 42 in conv2d_forward)
    conv2d_forward did not return within 10 s (an endless loop?)
    the learner's process ended during conv2d_forward (exit status -11: a crash)

so an endless loop or a crash never hangs or ends the checker. What the
learner's code prints is passed on to this process's stderr after each
call. Calling works as if the function ran here: an array argument the
function changes in place is changed here too, and `last_changed` names
the arguments it changed (a backward must not change dy), and `changes`
keeps them call after call until cleared.

The child gets this process's PYTHONPATH with the folder of this minicnn
first, so that it imports the same minicnn as the checker. A child for
levels 1-3 loads ``_child`` from its file under its own name, without
importing the exercises package, which halves its start (most of a level-1
check's time); one with `tasks` (level 4's) imports the package to train.
"""
import os
import queue
import subprocess
import sys
import tempfile
import threading

import numpy as np

from . import _child
from .errors import LearnerError
from .stubs import PACKAGE_ROOT

CALL_TIMEOUT = 10.0       # seconds for one call of the learner's function (levels 1-3)
LOAD_TIMEOUT = 60.0       # seconds to start Python, import minicnn and the learner's file
# The child's program: _child alone (levels 1-3), or with level 4's training task.
LIGHT_CHILD = ("import importlib.util, sys\n"
               "spec = importlib.util.spec_from_file_location(\n"
               "    'minicnn.exercises._child', {path!r})\n"
               "child = sys.modules[spec.name] = importlib.util.module_from_spec(spec)\n"
               "spec.loader.exec_module(child)\n"
               "child.serve()\n")
TRAINING_CHILD = ("from minicnn.exercises import _child, training\n"
                  "_child.serve({'train': training.run_in_child})\n")


def child_environment():
    """os.environ with this minicnn's folder first on PYTHONPATH."""
    env = dict(os.environ)
    paths = [PACKAGE_ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


class Sandbox:
    """A child process holding the learner's file (see the module docstring);
    with `path` None, no file: the library's own runs (level 4's reference).

    `signatures` maps each asked-for function name to its parameters, a list
    of (name, kind, default repr), or None where the file has no such function.
    `tasks`: a child that can also run level 4's training (``task``).
    """

    def __init__(self, path, functions, timeout=None, tasks=False):
        self.path = None if path is None else os.path.abspath(path)
        self.timeout = CALL_TIMEOUT if timeout is None else timeout
        self.last_changed = {}
        self.changes = []          # (function name, positions it changed), call by call
        self._output = tempfile.TemporaryFile()
        self._relayed = 0
        self._process = subprocess.Popen(
            [sys.executable, "-c", TRAINING_CHILD if tasks else
             LIGHT_CHILD.format(path=_child.__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._output, env=child_environment())
        self._replies = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.signatures = self._request(("load", self.path, list(functions)),
                                            "loading the file", LOAD_TIMEOUT)
        except BaseException:
            self.close()
            raise

    def _read(self):
        """Put every reply on the queue, then None when the child has gone."""
        try:
            while True:
                self._replies.put(_child.receive(self._process.stdout))
        except Exception:            # EOF, a closed pipe, or a reply that does not unpickle
            self._replies.put(None)

    def _request(self, message, doing, timeout=None, progress=None):
        """Send `message`; the reply's value, or a LearnerError."""
        if self._process.poll() is not None:
            raise LearnerError(f"the learner's process has ended (exit status "
                               f"{self._process.returncode}) before {doing}")
        _child.send(self._process.stdin, message)
        timeout = self.timeout if timeout is None else timeout
        while True:
            try:
                reply = self._replies.get(timeout=timeout)
            except queue.Empty:
                self._relay()
                self._process.kill()
                self._process.wait()
                raise LearnerError(f"{doing} did not end within {timeout:g} s (an endless "
                                   "loop?); the learner's process was stopped") from None
            self._relay()
            if reply is not None and reply[0] == "progress":
                if progress is not None:
                    progress(reply[1])
                continue
            return self._value(reply, doing)

    def _value(self, reply, doing):
        if reply is None:
            code = self._process.wait()
            cause = ("a crash" if code < 0 else "sys.exit or os._exit in the learner's code?")
            raise LearnerError(f"the learner's process ended during {doing} (exit status "
                               f"{code}: {cause})")
        kind = reply[0]
        if kind == "loaded":
            return reply[1]
        if kind == "syntax":
            raise LearnerError(f"{os.path.basename(self.path)} does not compile: "
                               f"{reply[1]} ({reply[2]})")
        if kind == "raised":
            where = f" ({reply[3]})" if reply[3] else ""
            message = f": {reply[2]}" if reply[2] else ""
            raise LearnerError(f"{doing} raised {reply[1]}{message}{where}", reply[1], reply[3])
        value, self.last_changed = reply[1], reply[2]
        return value

    def _relay(self):
        """Pass on what the learner's code printed since the last time."""
        if self._output.closed:
            return
        self._output.seek(self._relayed)
        text = self._output.read()
        if text:
            self._relayed += len(text)
            sys.stderr.write(text.decode("utf-8", "replace"))
            sys.stderr.flush()

    def call(self, name, *args, **kwargs):
        """The learner's `name`(*args, **kwargs), run in the child."""
        value = self._request(("call", name, args, kwargs), name)
        if self.last_changed:
            self.changes.append((name, sorted(self.last_changed)))
        for i, new in self.last_changed.items():      # in place here as there
            if isinstance(new, np.ndarray) and isinstance(args[i], np.ndarray) \
                    and new.shape == args[i].shape:
                args[i][...] = new
        return value

    def function(self, name):
        """A function that calls the learner's `name` in the child."""
        def remote(*args, **kwargs):
            return self.call(name, *args, **kwargs)
        remote.__name__ = name
        return remote

    def forget(self):
        """Let the child drop the objects it keeps for this process (caches);
        nothing to do once it has ended."""
        if self._process.poll() is None:
            self._request(("forget",), "forgetting")

    def task(self, name, arguments, timeout, progress=None):
        """Run a task of the child (level 4's training) with the learner's module."""
        return self._request(("task", name, arguments), f"the {name} run", timeout, progress)

    def close(self):
        if self._process.poll() is None:
            try:
                self._process.stdin.close()
                self._process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._relay()
        self._output.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
