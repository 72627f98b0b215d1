"""Check compiled models against the RASP interpreter.

:func:`verify` runs a compiled model and :func:`icl_lab.rasp.evaluate_nodes`
on the same inputs and compares *every* node of the program (not only the
output) at every position: categorical values must be equal, numerical ones
within ``tol`` (default ``1e-6``; models run in float64). By default it checks
every input up to the model's ``max_len``. :func:`verify_library` compiles
each library program (:data:`LIBRARY_SPECS`) and returns the table.
"""

from __future__ import annotations

import itertools
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from icl_lab.rasp import formats
from icl_lab.rasp.analysis import layers_and_heads
from icl_lab.rasp.compiler.compiler import compile_program
from icl_lab.rasp.compiler.listing import summary
from icl_lab.rasp.compiler.model import CompiledModel
from icl_lab.rasp.evaluator import as_value_array, evaluate_nodes
from icl_lab.rasp.language import SOp


@dataclass
class VerifyResult:
    """Outcome of :func:`verify`."""

    inputs: int  # inputs compared
    mismatches: int  # inputs where some node differs at some position
    skipped: int  # inputs the interpreter itself rejects (not valid program inputs)
    max_error: float  # largest |model - interpreter| over numerical nodes
    min_margin: float  # smallest gap between the top two coordinates of a one-hot (1 = exact)
    first_mismatch: str | None = None

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


def all_inputs(vocab: Sequence[Any], max_len: int, min_len: int = 1) -> Iterator[np.ndarray]:
    """Every sequence over ``vocab`` of each length ``min_len..max_len``, one array per length."""
    tokens = as_value_array(list(vocab))
    for n in range(min_len, max_len + 1):
        idx = np.indices((len(tokens),) * n).reshape(n, -1).T
        yield tokens[idx]


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        return a == b
    return np.array([x == y for x, y in zip(a.ravel().tolist(), b.ravel().tolist())],
                    dtype=bool).reshape(a.shape)


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread: compiled models are small, and extra threads only
    fight over shared cores (30x slower on a busy 2-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _interpret(program: SOp, batch: np.ndarray) -> list[tuple[np.ndarray, dict]]:
    """Interpreter values on ``batch``, splitting off inputs it rejects."""
    try:
        return [(batch, evaluate_nodes(program, batch))]
    except ValueError:
        if len(batch) == 1:
            return []
        half = len(batch) // 2
        return _interpret(program, batch[:half]) + _interpret(program, batch[half:])


def _batches(inputs: Iterable[Any], batch_size: int) -> Iterator[np.ndarray]:
    by_length: dict[int, list] = {}
    for x in inputs:
        if isinstance(x, np.ndarray) and x.ndim == 2:
            for i in range(0, len(x), batch_size):
                yield x[i:i + batch_size]
            continue
        row = list(x)
        by_length.setdefault(len(row), []).append(row)
        if len(by_length[len(row)]) == batch_size:
            rows = by_length.pop(len(row))
            yield as_value_array(list(itertools.chain.from_iterable(rows))).reshape(batch_size, -1)
    for n, rows in by_length.items():
        yield as_value_array(list(itertools.chain.from_iterable(rows))).reshape(len(rows), n)


def verify(model: CompiledModel, inputs: Iterable[Any] | None = None, tol: float = 1e-6,
           batch_size: int = 2048, outputs_only: bool = False) -> VerifyResult:
    """Compare ``model`` with the interpreter on ``inputs`` (default: every input).

    ``inputs``: sequences (any lengths) or 2-D arrays of equal-length rows.
    Every node of the program is compared unless ``outputs_only``.
    """
    program = model.program
    if inputs is None:
        inputs = all_inputs(model.vocab, model.max_len)
    synthetic = model.info.graph.synthetic
    nodes = [program] if outputs_only else \
        [n for n in model.layout.blocks if n not in synthetic]
    result = VerifyResult(0, 0, 0, 0.0, np.inf)
    with single_thread():
        for batch in _batches(inputs, batch_size):
            _compare(model, program, nodes, batch, tol, result)
    return result


def _compare(model: CompiledModel, program: SOp, nodes: list[SOp], batch: np.ndarray,
             tol: float, result: VerifyResult) -> None:
    """Add one batch's comparison to ``result``."""
    kept = _interpret(program, batch)
    result.skipped += len(batch) - sum(len(b) for b, _ in kept)
    for sub, expected in kept:
        resid = model.residual(sub)
        bad = np.zeros(len(sub), dtype=bool)
        for node in nodes:
            if node not in expected:
                continue  # e.g. indices added by the compiler
            got, margin = model.layout.read(node, resid[:, 1:])
            want = expected[node]
            if model.layout.values[node].numerical:
                err = np.abs(got - want.astype(np.float64))
                result.max_error = max(result.max_error, float(err.max()))
                wrong = err > tol
            else:
                result.min_margin = min(result.min_margin, float(margin.min()))
                wrong = ~_equal(as_value_array(got.ravel().tolist()).reshape(got.shape), want)
            if wrong.any() and result.first_mismatch is None:
                b, i = np.argwhere(wrong)[0]
                result.first_mismatch = (f"node '{node.name}' on input {sub[b].tolist()} at "
                                         f"position {i}: model {got[b, i]!r}, interpreter "
                                         f"{want[b, i]!r}")
            bad |= wrong.any(axis=1)
        result.inputs += len(sub)
        result.mismatches += int(bad.sum())


# ----------------------------------------------------------------------------
# The library table.


@dataclass(frozen=True)
class VerifySpec:
    """How to verify one library program: every input up to ``max_len`` over ``vocab``
    (``exhaustive``), else ``n_random`` valid inputs from the formats sampler plus
    ``n_random`` uniformly random ones; ``valid`` filters exhaustive inputs."""

    vocab: tuple
    max_len: int
    causal: bool
    exhaustive: bool = True
    n_random: int = 0
    valid: Callable[[list], bool] | None = None


def _distinct(x: list) -> bool:
    return len(set(x)) == len(x)


def _specs(preset: str) -> dict[str, VerifySpec]:
    paper = preset == "paper"
    small = tuple(range(4 if paper else 3))
    n_small = 6 if paper else 5
    rand = 5000 if paper else 1000
    count_vocab = tuple(formats.vocab("count"))
    add_vocab = tuple(formats.vocab("addition_reverse_with_hints"))
    n_add = 23 if paper else 17  # complete 3-digit (paper) or 2-digit problems fit
    spec = {name: VerifySpec(small, n_small, False) for name in (
        "histogram", "double_histogram", "reverse", "sort", "sort_by_frequency",
        "histogram_with_length", "sort_with_length")}
    spec.update({
        "sort_unique": VerifySpec(tuple(range(6 if paper else 5)), n_small, False, valid=_distinct),
        "dyck1_balanced": VerifySpec(tuple(formats.DYCK1), 12 if paper else 8, True),
        "dyck2_balanced": VerifySpec(tuple(formats.DYCK2), 7 if paper else 5, True),
        "fraction_of_previous": VerifySpec(small, 7 if paper else 5, True),
        "mode": VerifySpec(small, n_small, True),
        "parity_scratchpad": VerifySpec(tuple(formats.vocab("parity_scratchpad")),
                                        7 if paper else 6, True),
        "count": VerifySpec(count_vocab, 20 if paper else 12, True, False, rand),
        "copy_unique": VerifySpec(tuple(formats.vocab("copy_unique")), 16 if paper else 10, True,
                                  False, rand),
        "addition_reverse_with_hints": VerifySpec(add_vocab, n_add, True, False, rand),
        "addition_forward_with_hints": VerifySpec(add_vocab, n_add, True, False, rand),
    })
    return spec


#: verification settings per library program, for the "quick" preset
LIBRARY_SPECS: dict[str, VerifySpec] = _specs("quick")


def spec_inputs(name: str, spec: VerifySpec) -> Iterable[Any]:
    """The inputs :func:`verify_library` checks for library program ``name``."""
    if spec.exhaustive:
        for batch in all_inputs(spec.vocab, spec.max_len):
            if spec.valid is not None:
                keep = [i for i, row in enumerate(batch.tolist()) if spec.valid(row)]
                batch = batch[keep]
            if len(batch):
                yield batch
        return
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    tokens = as_value_array(list(spec.vocab))
    for _ in range(spec.n_random):
        n = int(rng.integers(1, spec.max_len + 1))
        yield formats.sample_input(name, n, rng)
        yield tokens[rng.integers(0, len(tokens), size=n)].tolist()


def verify_program(name: str, spec: VerifySpec, program: SOp | None = None) -> dict[str, Any]:
    """Compile library program ``name`` per ``spec``, verify it, return a table row."""
    from icl_lab.rasp.library import LIBRARY
    program = LIBRARY[name]() if program is None else program
    start = time.perf_counter()
    model = compile_program(program, list(spec.vocab), spec.max_len, causal=spec.causal)
    compiled = time.perf_counter()
    result = verify(model, spec_inputs(name, spec))
    size = summary(model)
    return {
        "program": name, "causal": spec.causal, "layers": size["layers"], "heads": size["heads"],
        "rasp_layers": layers_and_heads(program)[0], "d_model": size["d_model"],
        "params": size["parameters"], "vocab": len(spec.vocab), "max_len": spec.max_len,
        "inputs": "all" if spec.exhaustive else "random", "checked": result.inputs,
        "skipped": result.skipped, "mismatches": result.mismatches,
        "max_error": result.max_error, "min_margin": result.min_margin,
        "compile_s": compiled - start, "verify_s": time.perf_counter() - compiled,
        "first_mismatch": result.first_mismatch,
    }


def verify_library(preset: str = "quick", names: Sequence[str] | None = None,
                   progress: Callable[[dict], None] | None = None) -> list[dict[str, Any]]:
    """Compile and verify library programs (all by default); one row per program:
    program, layers, heads, params, inputs checked, mismatches (and more)."""
    specs = _specs(preset)
    rows = []
    for name in names if names is not None else specs:
        row = verify_program(name, specs[name])
        rows.append(row)
        if progress is not None:
            progress(row)
    return rows


COLUMNS = ["program", "causal", "layers", "heads", "rasp_layers", "params", "vocab", "max_len",
           "inputs", "checked", "mismatches", "max_error", "min_margin"]


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] = COLUMNS) -> str:
    """A markdown table of :func:`verify_library` rows."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.1e}" if v and abs(v) < 1e-3 else f"{v:.3g}"
        return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines)

