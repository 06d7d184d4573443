"""The exercises' two kinds of error: the learner's command, or the learner's code.

Both are one line for the learner; with MINICNN_DEBUG=1 (``debugging()``)
the command shows the traceback of a usage error, and the child process
prints the learner's own traceback on stderr before its one-line reply.
"""
import os


class ExerciseError(ValueError):
    """A usage error (an unknown exercise, a missing file, a file that exists):
    ``minicnn exercise`` prints it as one line and exits with status 2."""


class LearnerError(Exception):
    """The learner's code did not give an answer: it did not import, raised,
    ran past the time limit or ended the child process. `text` is one line
    saying what happened, ready to follow "level k:"."""

    def __init__(self, text, raised=None, where=""):
        super().__init__(text)
        self.text = text
        self.raised = raised          # the exception's type name, when the code raised
        self.where = where            # "line N in function", when known


def debugging():
    """True when MINICNN_DEBUG asks for tracebacks (set, and not '' or '0')."""
    return os.environ.get("MINICNN_DEBUG", "0") not in ("", "0")
