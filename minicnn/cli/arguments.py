"""Command-line parsing that reports a mistake in one line, never a traceback.

argparse's own ``error`` prints the whole usage block and then the message;
``Parser.error`` prints only ``minicnn train: error: <message>`` (the usage
is one ``--help`` away) and exits with status 2, argparse's code for bad
usage. The ``type=`` converters below name the value they refused.
"""
import argparse
import sys

from ..segmentation.views import parse_views


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a single line on stderr."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(text):
    """`text` with every run of whitespace, newlines included, as one space."""
    return " ".join(str(text).split())


def _int_at_least(text, minimum):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
    return value


def positive_int(text):
    """An integer >= 1."""
    return _int_at_least(text, 1)


def non_negative_int(text):
    """An integer >= 0."""
    return _int_at_least(text, 0)


def positive_float(text):
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def views_argument(text):
    """'all', or comma-separated view names (a list): ``segmentation.parse_views``."""
    try:
        return parse_views(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def fail(prog, message, code=1):
    """Print `prog: error: message` as one line on stderr; return `code`."""
    print(f"{prog}: error: {one_line(message)}", file=sys.stderr)
    return code
