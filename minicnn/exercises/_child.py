"""The child process that runs a learner's code (its ``serve``).

The checker (``sandbox.Sandbox``) starts it, so that an endless loop, a
crash or ``sys.exit`` in the learner's code cannot hang or end the checker.
It loads the learner's file, then answers requests until told to stop.
Messages are pickles, each behind its length (8 bytes), on the child's
stdin (requests) and on its original stdout, which it keeps for replies:
file descriptor 1 then points at stderr, so the learner's prints never mix
with the replies.

    ("load", path, [function names])   -> ("loaded", {name: signature or None})
    ("call", name, args, kwargs)       -> ("value", result, {position: new array})
    ("task", name, kwargs)             -> ("progress", text)..., ("value", result)
    ("forget",)                        -> ("value", None): drop the kept objects

An error anywhere in the learner's code is the reply ("raised", type name,
message, "line N in function"), a file that does not compile ("syntax",
message, "line N"); with MINICNN_DEBUG=1 its traceback goes to stderr first.

A result goes back as it is when it is made of arrays, numbers, strings,
tuples, lists, dicts and minicnn's own types (a ConvCache included);
anything else (an object of a class the learner defined) stays here and
goes back as an ``Opaque`` handle, which a later call may pass back as an
argument. A "call" also says which of its array arguments the function
changed in place, with their new values.

This module imports nothing of minicnn, so that a child for levels 1-3
starts fast: ``sandbox`` loads it from its file, without the exercises
package (and what that imports: matplotlib, the models, the main job's
data); minicnn's own modules load when the learner's file or an argument's
type asks for them. Level 4's child imports the package and passes
``serve`` its one task, ``{"train": training.run_in_child}``.
"""
import importlib.util
import inspect
import os
import pickle
import struct
import sys
import traceback

import numpy as np

HEADER = struct.Struct("<Q")
PLAIN = (type(None), bool, int, float, complex, str, np.generic)


class Opaque:
    """An object kept in the child, known to the parent by its handle."""

    def __init__(self, handle, type_name):
        self.handle, self.type_name = handle, type_name

    def __repr__(self):
        return f"<a {self.type_name} kept by the learner's process>"


def send(stream, message):
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream):
    """The next message, or EOFError when the other side has gone."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    data = stream.read(HEADER.unpack(header)[0])
    return pickle.loads(data)


def _where(path, tb):
    """'line N in function' of the learner's innermost frame in a traceback."""
    frames = [f for f in traceback.extract_tb(tb) if os.path.samefile(f.filename, path)
              ] if os.path.exists(path) else []
    if not frames:
        return ""
    return f"line {frames[-1].lineno} in {frames[-1].name}"


class Child:
    """The learner's module and the objects kept for the parent."""

    def __init__(self, tasks):
        self.module, self.path, self.kept, self.tasks = None, None, {}, tasks

    def portable(self, value):
        """`value` with every part the parent cannot unpickle replaced by an Opaque."""
        if isinstance(value, PLAIN) or (isinstance(value, np.ndarray) and value.dtype != object):
            return value
        if type(value) in (tuple, list):
            return type(value)(self.portable(v) for v in value)
        if type(value) is dict and all(isinstance(k, str) for k in value):
            return {k: self.portable(v) for k, v in value.items()}
        kind = type(value)
        if kind.__module__.startswith("minicnn.") and isinstance(value, tuple):
            return kind(*(self.portable(v) for v in value))     # a cache NamedTuple
        handle = len(self.kept)
        self.kept[handle] = value
        return Opaque(handle, kind.__name__)

    def resolve(self, value):
        if isinstance(value, Opaque):
            return self.kept[value.handle]
        if type(value) in (tuple, list):
            return type(value)(self.resolve(v) for v in value)
        if type(value) is dict:
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def load(self, path, names):
        if path is None:                         # no learner: the library's own run
            return ("loaded", {})
        self.path = os.path.abspath(path)
        sys.path.insert(0, os.path.dirname(self.path))   # the learner's own helper files
        spec = importlib.util.spec_from_file_location("learner_" + os.path.basename(
            path).rsplit(".", 1)[0].replace("-", "_"), self.path)
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        return ("loaded", {name: self._signature(name) for name in names})

    def _signature(self, name):
        function = getattr(self.module, name, None)
        if not callable(function):
            return None
        try:
            return [(p.name, p.kind.name, repr(p.default) if p.default is not p.empty else None)
                    for p in inspect.signature(function).parameters.values()]
        except (TypeError, ValueError):
            return []

    def call(self, name, args, kwargs):
        args, kwargs = self.resolve(args), self.resolve(kwargs)
        before = {i: a.copy() for i, a in enumerate(args) if isinstance(a, np.ndarray)}
        inside = [_arrays(a) for a in args]
        copies = [[x.copy() for x in group] for group in inside]
        result = getattr(self.module, name)(*args, **kwargs)
        changed = {i: args[i] for i, old in before.items()
                   if old.shape != args[i].shape or not _same(old, args[i])}
        changed.update({i: "changed inside" for i, (group, old) in enumerate(zip(inside, copies))
                        if i not in before and any(not _same(a, b) for a, b in zip(group, old))})
        return ("value", self.portable(result), changed)

    def handle(self, request, replies):
        kind = request[0]
        if kind == "load":
            return self.load(*request[1:])
        if kind == "call":
            return self.call(*request[1:])
        if kind == "forget":
            self.kept.clear()
            return ("value", None, {})
        if kind == "task":                       # level 4's training run
            result = self.tasks[request[1]](self.module, request[2],
                                            lambda text: send(replies, ("progress", text)))
            return ("value", result, {})
        raise ValueError(f"unknown request {kind!r}")


def _arrays(value):
    """The arrays inside a tuple, list or dict argument (a cache's)."""
    if isinstance(value, np.ndarray):
        return []
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in ([v] if isinstance(v, np.ndarray) else _arrays(v))]
    if isinstance(value, dict):
        return _arrays(list(value.values()))
    return []


def _debug_traceback():
    """With MINICNN_DEBUG=1, the traceback being handled, on stderr (the parent's)."""
    if os.environ.get("MINICNN_DEBUG", "0") not in ("", "0"):    # as errors.debugging()
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()


def _same(a, b):
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def serve(tasks=None):
    """Answer the parent's requests on stdin until it closes them; `tasks`
    maps a task's name to its function(learner's module, kwargs, progress)."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                                # the learner's prints go to stderr
    requests = sys.stdin.buffer
    sys.stdin = open(os.devnull)                 # and input() reads nothing of ours
    child = Child(tasks or {})
    while True:
        try:
            request = receive(requests)
        except EOFError:
            return
        try:
            reply = child.handle(request, replies)
        except SyntaxError as err:
            _debug_traceback()
            reply = ("syntax", f"{type(err).__name__}: {err.msg}", f"line {err.lineno}")
        except BaseException as err:             # SystemExit too: the learner's, not ours
            _debug_traceback()
            reply = ("raised", type(err).__name__, str(err),
                     _where(child.path, err.__traceback__) if child.path else "")
        send(replies, reply)

