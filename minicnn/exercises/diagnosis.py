"""What is wrong with an output, from the arrays alone.

``diagnose(name, mine, library, axes, quantities, what_ifs)`` compares a
learner's output with the library's. It never knows which mistake was
made: it measures (how many entries are wrong, the largest error and
where) and then tries, in this order, patterns that a mistake leaves in
the arrays; the first that fits is the diagnosis:

    overflow      NaN or inf where the library's values are finite
    zero          all zeros
    sign, factor  everywhere one factor times the library's (named after the
                  case's sizes when it is one of them: 1 / N, H * W, ...)
    layout        the library's values in another order (axes swapped)
    mirrored      the library's flipped along the two spatial axes
    shift         the library's moved by one or two along a spatial axis
    what-if       equal to the library's output with one argument changed
                  (a stride of 1, the kernel mirrored, the padding on the
                  other side): the harness lists those calls
    extra, missing  right where the library's is non-zero (or zero), wrong
                  exactly where it is zero (or not)
    mean-term     the library's sums to 0 over some axes, the learner's not
    constant      the difference is the same along some axes
    lattice       wrong only on every k-th row or column, or non-zero on
                  another lattice than the library's
    borders       wrong only near the edges
    one-index     wrong only at one index along one axis

Where none fits, the diagnosis is what it measured, and nothing more. A
pattern needs evidence to fit: any two numbers are a factor apart, so a
factor needs three non-zero entries or a name, a shift or an extra entry
two wrong entries, and so on; a tiny array fits fewer patterns.
"""
import itertools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

RTOL = 1e-7          # an entry is wrong beyond this, relative to the output's scale
SPATIAL = (("H", "W"), ("OH", "OW"), ("kh", "kw"))


@dataclass(frozen=True)
class Finding:
    key: str                  # the pattern's name (see the module docstring)
    text: str
    ambiguity: int = 0        # how many of the case's sizes a factor could be (> 1: which?)


def scale_of(library):
    return max(float(np.max(np.abs(library))) if np.size(library) else 0.0, 1e-300)


def wrong_entries(mine, library):
    """Where `mine` differs from `library` beyond RTOL of the output's scale
    (NaN and inf included)."""
    mine, library = np.asarray(mine, np.float64), np.asarray(library, np.float64)
    return ~(np.abs(mine - library) <= RTOL * (np.abs(library) + scale_of(library)))


def _close(mine, library):
    return not wrong_entries(mine, library).any()


def measured(name, mine, library):
    """One sentence: how many entries are wrong, the largest error and where."""
    bad = wrong_entries(mine, library)
    error = np.where(np.isfinite(mine), np.abs(mine - library), np.inf)
    where = np.unravel_index(int(np.argmax(np.where(bad, error, -1))), np.shape(mine))
    at = f" at {list(map(int, where))}" if np.ndim(mine) else ""
    return (f"{name} {tuple(np.shape(mine))}: {int(bad.sum())} of {bad.size} entries wrong "
            f"({100 * bad.mean():.0f} %), the largest error {float(error[where]):.3g}{at} "
            f"(yours {float(np.asarray(mine)[where]) + 0.0:.6g}, the library's "
            f"{float(np.asarray(library)[where]) + 0.0:.6g})")          # + 0.0: no '-0'


def _spatial(axes):
    for pair in SPATIAL:
        if all(a in axes for a in pair):
            return [axes.index(a) for a in pair]
    return []


def _names(axes, indices):
    return " and ".join(axes[i] for i in indices)


# ------------------------------------------------------------------ patterns
def _overflow(m, r, axes, q):
    bad = ~np.isfinite(m) & np.isfinite(r)
    if bad.any():
        count = int(bad.sum())
        return Finding("overflow", f"{count} {'entry is' if count == 1 else 'entries are'} "
                       "NaN or inf where the library's are finite: an overflow or a division "
                       "by zero (exp of a large number: a softmax without its max shift?)")


def _zero(m, r, axes, q):
    if not np.any(m):
        return Finding("zero", "yours is 0 everywhere: nothing computed, or the result "
                       "not written into the array returned")


def name_factor(k, quantities):
    """The names of the case's quantities that factor k is (or is 1 over)."""
    found = []
    for name, value in quantities.items():
        for shown, v in ((name, value), (f"1 / ({name})", 1 / value if value else None)):
            if v and value not in (1, 1.0) and abs(k - v) <= 1e-6 * abs(v):
                found.append(f"{shown} = {Fraction(v).limit_denominator(10000)}"
                             if isinstance(value, int) else f"{shown} = {v:.6g}")
    return found


def _factor(m, r, axes, q):
    norm = float(np.sum(r * r))
    if norm == 0:
        return None
    k = float(np.sum(m * r)) / norm
    if abs(k - 1) <= 1e-6 or not _close(m, k * r):
        return None
    names = name_factor(k, q)
    if np.count_nonzero(r) < 3 and not names:
        return None                     # any two numbers are a factor apart
    if abs(k + 1) <= 1e-6:
        return Finding("sign", "yours is minus the library's everywhere: a sign flipped")
    named = f" = {' = '.join(names)}" if names else ""
    return Finding("factor", f"everywhere one factor times the library's: {k:.6g}{named} "
                   "(a division missing or doubled: a sum where a mean is wanted, or "
                   "the reverse?)", ambiguity=len(names))


def _layout(m, r, axes, q):
    for order in itertools.permutations(range(np.ndim(r))):
        moved = np.transpose(r, order)
        if order != tuple(sorted(order)) and moved.size == np.size(m) and \
                _close(np.ravel(m), np.ravel(moved)):
            return Finding("layout", "the library's values in another order: its axes "
                           f"as ({', '.join(axes[i] for i in order)}), read into "
                           f"({', '.join(axes)}) (a reshape without a transpose, or two "
                           "axes swapped)")


def _support_box(m, r, spatial):
    """Index slices of the smallest box holding every non-zero entry of either."""
    nonzero = (m != 0) | (r != 0)
    box = [slice(None)] * np.ndim(r)
    for axis in spatial:
        other = tuple(i for i in range(np.ndim(r)) if i != axis)
        hits = np.flatnonzero(nonzero.any(axis=other))
        if hits.size:
            box[axis] = slice(hits[0], hits[-1] + 1)
    return tuple(box)


def _mirrored(m, r, axes, q):
    spatial = _spatial(axes)
    for flip in ([spatial] if len(spatial) == 2 else []) + [[a] for a in spatial]:
        for box, where in ((tuple([slice(None)] * np.ndim(r)), ""),
                           (_support_box(m, r, spatial), " within the box of its non-zero "
                            "entries")):
            if _close(m[box], np.flip(r[box], flip)) and not _close(m[box], r[box]):
                return Finding("mirrored", f"the library's mirrored (flipped along "
                               f"{_names(axes, flip)}){where}: the kernel flipped (a true "
                               "convolution where a cross-correlation is wanted, or an "
                               "adjoint without its flip?)")


def _shifted_slices(shape, move, margin):
    """(yours, the library's) index tuples overlapping when yours is the
    library's moved by `move` [(axis, steps)], leaving `margin` entries out
    at both ends of the overlap (where the moved windows meet the edge);
    None when too little overlaps."""
    mine, lib = [slice(None)] * len(shape), [slice(None)] * len(shape)
    for axis, s in move:
        overlap = shape[axis] - abs(s) - 2 * margin
        if overlap < 2:
            return None
        start = max(s, 0) + margin
        mine[axis] = slice(start, start + overlap)
        lib[axis] = slice(start - s, start - s + overlap)
    return tuple(mine), tuple(lib)


def _shift(m, r, axes, q):
    spatial = _spatial(axes)
    bad = wrong_entries(m, r)
    moves = [((a, s),) for a in spatial for s in (1, -1, 2, -2)]
    moves += [((spatial[0], s), (spatial[1], t)) for s in (1, -1) for t in (1, -1)] \
        if len(spatial) == 2 else []
    for margin, edges in ((0, ""), (1, ", away from the edges")):
        for move in moves:
            found = _shifted_slices(np.shape(r), move, margin)
            if found is None:
                continue
            mine, lib = found
            if bad[mine].sum() >= 2 and np.count_nonzero(r[lib]) >= 2 and \
                    _close(m[mine], r[lib]):
                words = ", ".join(f"{axes[a]} by {abs(s)} "
                                  f"({'yours ahead' if s > 0 else 'yours behind'})"
                                  for a, s in move)
                return Finding("shift", f"the library's shifted along {words}{edges}: an "
                               "off-by-one in the padding, the output size or an index")


def _extra_or_missing(m, r, axes, q):
    bad = wrong_entries(m, r)
    zero = r == 0
    if bad.sum() < 2 or np.count_nonzero(r) < 2:
        return None                     # too few entries to tell where the errors lie
    if np.array_equal(bad, bad & zero):
        return Finding("extra", f"non-zero at {int(bad.sum())} entries where the library's "
                       "is exactly 0, right everywhere else: something reaches entries that "
                       "should get nothing (a gradient credited to every tied maximum? "
                       "padding that wins?)")
    if np.array_equal(bad, bad & (m == 0) & ~zero):
        return Finding("missing", f"0 at {int(bad.sum())} entries where the library's is "
                       "not, right everywhere else: contributions dropped (overlapping "
                       "windows not added up?)")


def _sums(a, axes_set):
    return np.sum(a, axis=axes_set)


def _mean_term(m, r, axes, q):
    n = np.ndim(r)
    # The fewest axes first: "over C" says more than "over H, W and C".
    candidates = [(i,) for i in range(n)]
    candidates += [tuple(i for i in range(n) if i != keep) for keep in range(n)]
    scale = scale_of(r)
    for summed in candidates:
        summed = tuple(i for i in summed if np.shape(r)[i] > 1)
        size = int(np.prod([np.shape(r)[i] for i in summed]))
        if size < 2 or n < 2:
            continue
        tolerance = 1e-9 * scale * size
        if np.all(np.abs(_sums(r, summed)) <= tolerance) and \
                np.any(np.abs(_sums(m, summed)) > 1e3 * tolerance):
            kept = [axes[i] for i in range(n) if i not in summed]
            return Finding("mean-term", f"the library's sums to 0 over {_names(axes, summed)}"
                           f"{' for each ' + ', '.join(kept) if kept else ''}; yours sums to "
                           f"up to {float(np.max(np.abs(_sums(m, summed)))):.3g}: a term that "
                           "removes the mean (the derivative through a mean or a "
                           "normaliser) is missing")


def _constant(m, r, axes, q):
    d = m - r
    scale = scale_of(r)
    same = [i for i in range(np.ndim(d)) if np.shape(d)[i] > 1
            and np.all(np.ptp(d, axis=i) <= RTOL * scale)]
    if same and np.count_nonzero(np.abs(d) > RTOL * scale) >= 2:
        rest = [axes[i] for i in range(np.ndim(d)) if i not in same]
        depends = f" (it depends on {', '.join(rest)} only)" if rest else ""
        return Finding("constant", f"yours minus the library's is the same along "
                       f"{_names(axes, same)}{depends}: a term that does not depend on "
                       f"{_names(axes, same)} is missing or wrong")


def _progression(indices):
    """The step if `indices` (sorted, two or more) are evenly spaced by >= 2."""
    steps = set(np.diff(indices).tolist())
    return steps.pop() if len(indices) >= 2 and len(steps) == 1 and min(steps) >= 2 else None


def _lines(a, axis):
    other = tuple(i for i in range(np.ndim(a)) if i != axis)
    return np.flatnonzero(np.any(a, axis=other))


def _lattice(m, r, axes, q):
    bad = wrong_entries(m, r)
    for axis in _spatial(axes):
        ours, theirs = _lines(m != 0, axis), _lines(r != 0, axis)
        step = _progression(theirs)
        if step and not np.array_equal(ours, theirs):
            return Finding("lattice", f"the library's is non-zero on every {step}th "
                           f"{axes[axis]} ({', '.join(map(str, theirs))}), yours on "
                           f"{', '.join(map(str, ours)) or 'none'}: the stride")
        rows = _lines(bad, axis)
        step = _progression(rows)
        if step and len(rows) < np.shape(r)[axis]:
            return Finding("lattice", f"wrong only on every {step}th {axes[axis]} "
                           f"({', '.join(map(str, rows))}): a lattice, the stride's")


def _borders(m, r, axes, q):
    bad = wrong_entries(m, r)
    spatial = _spatial(axes)
    if not spatial:
        return None
    for width in (1, 2):
        inner = [slice(None)] * np.ndim(r)
        for axis in spatial:
            if np.shape(r)[axis] <= 2 * width:
                return None
            inner[axis] = slice(width, -width)
        outer = bad.copy()
        outer[tuple(inner)] = False
        if np.array_equal(outer, bad):
            return Finding("borders", f"wrong only within {width} pixel{'s' * (width > 1)} "
                           "of the edges, right inside: the padding")


def _one_index(m, r, axes, q):
    bad = wrong_entries(m, r)
    if bad.sum() < 2:
        return None
    for axis in range(np.ndim(r)):
        hits = _lines(bad, axis)
        if np.shape(r)[axis] > 1 and len(hits) == 1:
            return Finding("one-index", f"wrong only at {axes[axis]} = {int(hits[0])} (of "
                           f"{np.shape(r)[axis]}): one slice along {axes[axis]}")


PATTERNS = (_overflow, _zero, _factor, _layout, _mirrored, _shift, None, _extra_or_missing,
            _mean_term, _constant, _lattice, _borders, _one_index)


def diagnose(name, mine, library, axes, quantities, what_ifs=()):
    """The first pattern that fits `mine` against `library` (see the module
    docstring), or None. what_ifs: [(condition, conclusion, the library's
    output under that condition)]."""
    m, r = np.asarray(mine, np.float64), np.asarray(library, np.float64)
    for pattern in PATTERNS:
        if pattern is None:                       # the what-ifs' place in the order
            for condition, conclusion, other in what_ifs:
                if np.shape(other) == m.shape and _close(m, other):
                    return Finding("what-if", f"it equals the library's {name} {condition}: "
                                   f"{conclusion}")
            continue
        with np.errstate(all="ignore"):
            finding = pattern(m, r, axes, quantities)
        if finding is not None:
            return finding
    return None


def shape_finding(name, mine_shape, library_shape, axes):
    """Why a shape differs: one axis off by a little (the size formula), or
    the axes in another order."""
    if len(mine_shape) == len(library_shape):
        if sorted(mine_shape) == sorted(library_shape):
            return Finding("layout", f"{name} has the library's sizes in another order "
                           f"{tuple(mine_shape)} for {tuple(library_shape)} "
                           f"({', '.join(axes)}): axes swapped")
        off = [i for i, (a, b) in enumerate(zip(mine_shape, library_shape)) if a != b]
        if all(abs(mine_shape[i] - library_shape[i]) <= 2 for i in off):
            return Finding("shape", f"{name} is off by "
                           + ", ".join(f"{mine_shape[i] - library_shape[i]:+d} along {axes[i]}"
                                       for i in off)
                           + ": an off-by-one in the output size (the padding or the size "
                           "formula)")
    return None


def wrong_map(mine, library, axes, limit=(24, 48)):
    """Lines drawing where the wrong entries are ('X') over two axes (the
    spatial ones when there are), any of the other axes wrong; [] if none fit."""
    bad = wrong_entries(mine, library)
    if bad.ndim == 0:
        return []
    shown = _spatial(axes) or list(range(bad.ndim))[-2:]
    other = tuple(i for i in range(bad.ndim) if i not in shown)
    grid = np.any(bad, axis=other) if other else bad
    if grid.ndim == 1:
        grid = grid[None, :]
        title = f"along {axes[shown[0]]}"
    else:
        title = f"{axes[shown[0]]} down, {axes[shown[1]]} across"
    if grid.shape[0] > limit[0] or grid.shape[1] > limit[1]:
        return [f"(a map of {grid.shape[0]} x {grid.shape[1]} is too large to draw)"]
    rest = f", X where any {', '.join(axes[i] for i in other)} is wrong" if other else ""
    return [f"where they are ({title}{rest}):"] + \
        ["  " + " ".join("X" if v else "." for v in row) for row in grid]
