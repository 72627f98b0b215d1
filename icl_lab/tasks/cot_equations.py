"""Linear equation systems mod p (Feng et al. 2023): generator, chain of thought, verifier.

Problem: n equations in n unknowns over residues mod p with a non-singular matrix, each
written with every coefficient, e.g. ``3 x1 + 0 x2 + 5 x3 = 7 ;``. Chain of thought:
Gauss–Jordan elimination, one variable per step (pivot row = first remaining row with a
non-zero coefficient, swapped into place, scaled to 1, the variable removed from every
other row); each step writes the whole system. Answer: the values of x1..xn.

The verifier checks each step row by row against the definition of a Gauss–Jordan step
from the previous one (it finds the pivot row from the step itself, any valid pivot is
accepted), non-singularity by a rank computation, and the answer against the original
equations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from icl_lab.core.errors import ConfigError
from icl_lab.tasks.cot_vocab import MAX_VARIABLES, VARIABLES, is_number, number


@dataclass(frozen=True)
class EquationParams:
    """The prime ``modulus`` p of the residues."""

    modulus: int = 11

    def __post_init__(self) -> None:
        p = self.modulus
        if not (isinstance(p, int) and 2 <= p <= 255 and all(p % d for d in range(2, int(p ** 0.5) + 1))):
            raise ConfigError(f"invalid equations.modulus={p!r}: expected a prime in 2..255")


# ----------------------------------------------------------------------------- generator


def system_tokens(a: np.ndarray, b: np.ndarray) -> list[str]:
    """Augmented system [n, n] + [n] -> tokens ``c x1 + ... + c xn = b ;`` per row."""
    out: list[str] = []
    for row, rhs in zip(a.tolist(), b.tolist()):
        for j, c in enumerate(row):
            out += ([] if j == 0 else ["+"]) + [number(c), VARIABLES[j]]
        out += ["=", number(rhs), ";"]
    return out


def _eliminate(a: np.ndarray, b: np.ndarray, j: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    """One Gauss–Jordan step on column j (the matrix is non-singular, so a pivot exists)."""
    a, b = a.copy(), b.copy()
    pivot = j + int(np.flatnonzero(a[j:, j])[0])
    a[[j, pivot]], b[[j, pivot]] = a[[pivot, j]], b[[pivot, j]]
    inv = pow(int(a[j, j]), -1, p)
    a[j], b[j] = a[j] * inv % p, b[j] * inv % p
    factors = a[:, j].copy()
    factors[j] = 0
    a = (a - factors[:, None] * a[j][None, :]) % p
    b = (b - factors * b[j]) % p
    return a, b


def _nonsingular(a: np.ndarray, p: int) -> bool:
    a = a.copy()
    for j in range(len(a)):
        if not a[j:, j].any():
            return False
        a, _ = _eliminate(a, np.zeros(len(a), dtype=np.int64), j, p)
    return True


def generate(n: int, params: EquationParams, rng: np.random.Generator
             ) -> tuple[list[str], list[list[str]], list[str]]:
    """(problem tokens, one system per eliminated variable, the solution's values)."""
    if not 1 <= n <= MAX_VARIABLES:
        raise ConfigError(f"invalid number of variables {n}: expected 1..{MAX_VARIABLES}")
    p = params.modulus
    while True:  # rejection: about (1 - 1/p)... of matrices are non-singular
        a = rng.integers(p, size=(n, n)).astype(np.int64)
        if _nonsingular(a, p):
            break
    b = rng.integers(p, size=n).astype(np.int64)
    problem, steps = system_tokens(a, b), []
    for j in range(n):
        a, b = _eliminate(a, b, j, p)
        steps.append(system_tokens(a, b))
    return problem, steps, [number(int(v)) for v in b]


def max_lengths(n: int) -> tuple[int, int]:
    """Upper bounds on (problem tokens, chain-of-thought target tokens incl. answer)."""
    system = n * (3 * n + 2)
    return system, n * (system + 1) + n + 2


# ----------------------------------------------------------------------------- verifier


def parse_system(tokens: Sequence[str], n: int, p: int) -> tuple[list[list[int]], list[int]] | None:
    """Tokens -> (A, b) when they are exactly n equations in the problem's format."""
    width = 3 * n + 2
    if len(tokens) != n * width:
        return None
    a, b = [], []
    for r in range(n):
        eq = tokens[r * width:(r + 1) * width]
        expected = [t for j in range(n) for t in ((["+"] if j else []) + ["#", VARIABLES[j]])] + ["=", "#", ";"]
        if any(e != "#" and e != t for e, t in zip(expected, eq)):
            return None
        values = [t for e, t in zip(expected, eq) if e == "#"]
        if not all(is_number(v) and int(v) < p for v in values):
            return None
        a.append([int(v) for v in values[:-1]])
        b.append(int(values[-1]))
    return a, b


def rank_mod_p(rows: list[list[int]], p: int) -> int:
    """Rank of an integer matrix over GF(p) (row echelon form, plain Python)."""
    m = [[v % p for v in row] for row in rows]
    rank, cols = 0, len(m[0]) if m else 0
    for c in range(cols):
        r = next((i for i in range(rank, len(m)) if m[i][c]), None)
        if r is None:
            continue
        m[rank], m[r] = m[r], m[rank]
        inv = pow(m[rank][c], -1, p)
        for i in range(len(m)):
            if i != rank and m[i][c]:
                f = m[i][c] * inv % p
                m[i] = [(x - f * y) % p for x, y in zip(m[i], m[rank])]
        rank += 1
    return rank


def elimination_step_ok(before: list[list[int]], after: list[list[int]], j: int, p: int) -> bool:
    """Is augmented system ``after`` one Gauss–Jordan step on column j of ``before``?

    Some row r >= j with a non-zero coefficient of x_{j+1} must be the pivot: scaled to
    a 1 there and moved to row j (row j moving to row r), and every other row must be its
    source row minus that row's coefficient times the pivot row."""
    pivot = after[j]
    if pivot[j] != 1:
        return False
    for r in range(j, len(before)):
        c = before[r][j]
        if c == 0 or any((c * v - w) % p for v, w in zip(pivot, before[r])):
            continue  # before[r] is not c * pivot
        sources = list(before)
        sources[j], sources[r] = before[r], before[j]
        if all(after[i] == [(w - src[j] * v) % p for w, v in zip(src, pivot)]
               for i, src in enumerate(sources) if i != j):
            return True
    return False


def verify(problem: Sequence[str], steps: Sequence[Sequence[str]], answer: Sequence[str],
           params: EquationParams) -> tuple[bool, str]:
    """Check the elimination steps (none: direct format) and the answer.

    Step k must be one Gauss–Jordan step on x_k of the previous system (any valid pivot
    row), the last system the identity, the answer its right-hand side; the answer must
    also satisfy the original equations."""
    p = params.modulus
    n = problem.count(";")
    parsed = parse_system(problem, n, p) if n else None
    if parsed is None:
        return False, "problem is not a system of equations in the expected format"
    a0, b0 = parsed
    if rank_mod_p(a0, p) != n:
        return False, "the system is singular"
    if steps and len(steps) != n:
        return False, f"expected {n} elimination steps, got {len(steps)}"
    system = [row + [rhs] for row, rhs in zip(a0, b0)]
    for k, step in enumerate(steps):
        parsed = parse_system(step, n, p)
        if parsed is None:
            return False, f"step {k + 1} is not a system in the expected format"
        new = [row + [rhs] for row, rhs in zip(*parsed)]
        if not elimination_step_ok(system, new, k, p):
            return False, f"step {k + 1} is not a Gauss–Jordan elimination of x{k + 1}"
        system = new
    if steps and any(row[j] != (i == j) for i, row in enumerate(system) for j in range(n)):
        return False, "the final system is not solved (identity matrix)"
    if len(answer) != n or not all(is_number(v) and int(v) < p for v in answer):
        return False, f"answer is not {n} residues mod {p}"
    x = [int(v) for v in answer]
    if steps and x != [row[-1] for row in system]:
        return False, "answer differs from the right-hand side of the final system"
    if any(sum(c * v for c, v in zip(row, x)) % p != rhs for row, rhs in zip(a0, b0)):
        return False, "answer does not satisfy the original equations"
    return True, "ok"
