"""A Keras-style progress bar for fit, evaluate and predict.

verbose=1 draws one bar per epoch, redrawn in place while the epoch runs::

     7/20 [==========>...................] - ETA: 3s - 4.1 steps/s - loss: 0.5321 - accuracy: 0.8012

and, when the epoch ends, its final form with the time per step::

    20/20 [==============================] - 5s 243ms/step - loss: 0.4410 - accuracy: 0.8403 - val_loss: ...

verbose=2 prints only the final line of each epoch (for log files);
verbose=0 prints nothing. When the output is not a terminal or a notebook
(a log file, a CI run), in-place redrawing is impossible, so only final
lines are printed. The values shown while an epoch runs are running means
over the batches seen so far; the final line has the epoch's values.
"""
import sys
import time


def _duration(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(round(seconds))}s"


def _per_step(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _values_text(values):
    return "".join(f" - {key}: {value:.4f}" for key, value in values.items())


class Progbar:
    """Draw progress through `target` steps (None if unknown, e.g. a generator)."""

    def __init__(self, target, verbose=1, width=30, stream=None, interval=0.05):
        self.target = target
        self.verbose = verbose
        self.width = width
        self.stream = sys.stdout if stream is None else stream
        self.interval = interval
        isatty = getattr(self.stream, "isatty", lambda: False)()
        self.dynamic = bool(isatty) or "ipykernel" in sys.modules
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._last_width = 0

    def _bar(self, current):
        if self.target is None:
            return f"{current}/Unknown"
        digits = len(str(self.target))
        done = int(self.width * current / self.target) if self.target else self.width
        arrow = ">" if current < self.target else "="
        bar = ("=" * max(done - 1, 0) + (arrow if done else "")).ljust(self.width, ".")
        return f"{current:>{digits}}/{self.target} [{bar}]"

    def update(self, current, values=None, finalize=False):
        """Show `current` steps done with the running `values` {name: number}."""
        if self.verbose == 0:
            return
        values = values or {}
        now = time.perf_counter()
        elapsed = now - self.start
        if finalize:
            per_step = elapsed / max(current, 1)
            if self.verbose == 2:
                text = f"{current}/{self.target or current} - {_duration(elapsed)} - {_per_step(per_step)}"
            else:
                text = f"{self._bar(current)} - {_duration(elapsed)} {_per_step(per_step)}"
            self._write(text + _values_text(values), end="\n")
            return
        if self.verbose != 1 or not self.dynamic or now - self._last_draw < self.interval:
            return
        self._last_draw = now
        rate = current / elapsed if elapsed > 0 else 0.0
        text = self._bar(current)
        if self.target is not None and current:
            text += f" - ETA: {_duration(elapsed / current * (self.target - current))}"
        text += f" - {rate:.1f} steps/s" + _values_text(values)
        self._write(text, end="")

    def _write(self, text, end):
        if self.dynamic and self.verbose == 1:
            # Return to the line start and blank out what a longer line left.
            padding = " " * max(self._last_width - len(text), 0)
            self.stream.write("\r" + text + padding + end)
            self._last_width = 0 if end else len(text)
        else:
            self.stream.write(text + end)
        self.stream.flush()
