"""Dynamic-programming tasks of Feng et al. 2023: longest increasing subsequence (LIS) and
edit distance, with their chain of thought (the DP array / table) and verifiers.

LIS. Problem: n numbers in ``0..value_range-1``; with probability ``plant_prob`` an
increasing run of random length is planted at random positions, so that long answers are
common. Chain of thought: one step, ``dp[1..n]`` with ``dp[i]`` the length of the longest
strictly increasing subsequence ending at i. Answer: max(dp).

Edit distance. Problem: ``a | b`` over the first ``alphabet_size`` letters, ``len(a) = n``
and b a random mutation of a (substitutions, deletions, insertions at ``mutation_rate``,
at most n + ceil(n/4) letters). Chain of thought: the DP table ``D[i][j]`` (cost of turning
``a[:i]`` into ``b[:j]``) row by row for i = 1..n, one step per row of ``len(b)`` entries.
Answer: ``D[n][len(b)]``.

The verifiers parse the tokens and check every entry against its recurrence from the
entries before it (so a table that is wrong anywhere is rejected), then the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from icl_lab.core.errors import ConfigError
from icl_lab.tasks.cot_vocab import LETTERS, MAX_NUMBER, is_number, number


@dataclass(frozen=True)
class LISParams:
    """Values lie in ``0..value_range-1``; ``plant_prob`` is the chance of a planted run."""

    value_range: int = 150
    plant_prob: float = 0.5

    def __post_init__(self) -> None:
        if not (isinstance(self.value_range, int) and 2 <= self.value_range <= MAX_NUMBER):
            raise ConfigError(f"invalid lis.value_range={self.value_range!r}: expected 2..{MAX_NUMBER}")
        if not 0 <= self.plant_prob <= 1:
            raise ConfigError(f"invalid lis.plant_prob={self.plant_prob!r}: expected a number in [0, 1]")


@dataclass(frozen=True)
class EditDistanceParams:
    """Alphabet, the costs of inserting / deleting / substituting a letter, and how much
    the second string differs from the first."""

    alphabet_size: int = 26
    insert_cost: int = 2
    delete_cost: int = 2
    substitute_cost: int = 3
    mutation_rate: float = 0.3

    def __post_init__(self) -> None:
        if not (isinstance(self.alphabet_size, int) and 2 <= self.alphabet_size <= len(LETTERS)):
            raise ConfigError(f"invalid edit_distance.alphabet_size={self.alphabet_size!r}: "
                             f"expected 2..{len(LETTERS)}")
        for name in ("insert_cost", "delete_cost", "substitute_cost"):
            value = getattr(self, name)
            if not (isinstance(value, int) and 1 <= value <= 9):
                raise ConfigError(f"invalid edit_distance.{name}={value!r}: expected an integer in 1..9")
        if not 0 <= self.mutation_rate <= 1:
            raise ConfigError(f"invalid edit_distance.mutation_rate={self.mutation_rate!r}: "
                             "expected a number in [0, 1]")

    def check_size(self, n: int) -> None:
        """Every DP entry must be a number token: D[i][j] <= i·delete + j·insert, with i <= n and
        j <= n + ceil(n/4) letters in the second string."""
        largest = n * self.delete_cost + (n + math.ceil(n / 4)) * self.insert_cost
        if largest >= MAX_NUMBER:
            raise ConfigError(f"invalid edit_distance costs at size {n}: DP entries reach {largest}, beyond the "
                             f"vocabulary's numbers 0..{MAX_NUMBER - 1}; lower the costs or the size")


# ----------------------------------------------------------------------------- LIS


def lis_generate(n: int, params: LISParams, rng: np.random.Generator
                 ) -> tuple[list[str], list[list[str]], list[str]]:
    """(problem tokens, [dp array], [answer])."""
    if not 1 <= n < MAX_NUMBER:
        raise ConfigError(f"invalid LIS length {n}: expected 1..{MAX_NUMBER - 1}")
    values = rng.integers(params.value_range, size=n)
    if rng.random() < params.plant_prob:
        k = int(rng.integers(1, min(n, params.value_range) + 1))
        positions = np.sort(rng.choice(n, size=k, replace=False))
        values[positions] = np.sort(rng.choice(params.value_range, size=k, replace=False))
    dp = np.ones(n, dtype=np.int64)
    for i in range(1, n):  # vectorised over the predecessors
        smaller = values[:i] < values[i]
        if smaller.any():
            dp[i] = 1 + dp[:i][smaller].max()
    return ([number(int(v)) for v in values], [[number(int(d)) for d in dp]],
            [number(int(dp.max()))])


def lis_max_lengths(n: int) -> tuple[int, int]:
    return n, n + 4


def lis_verify(problem: Sequence[str], steps: Sequence[Sequence[str]], answer: Sequence[str],
               params: LISParams) -> tuple[bool, str]:
    """Each dp entry must equal 1 + the largest earlier entry over a smaller value."""
    if not problem or not all(is_number(t) and int(t) < params.value_range for t in problem):
        return False, "problem is not a sequence of values in range"
    a = [int(t) for t in problem]
    if len(steps) > 1:
        return False, f"expected one step (the dp array), got {len(steps)}"
    if steps:
        dp = steps[0]
        if len(dp) != len(a) or not all(is_number(t) for t in dp):
            return False, f"the dp array must hold {len(a)} numbers"
        dp = [int(t) for t in dp]
        for i, d in enumerate(dp):
            if d != 1 + max([dp[j] for j in range(i) if a[j] < a[i]], default=0):
                return False, f"dp[{i + 1}] = {d} breaks the recurrence"
        best = max(dp)
    else:  # direct format: derive the length here
        tails: list[int] = []
        for v in a:  # patience sorting, a different algorithm from the dp array
            k = next((i for i, t in enumerate(tails) if t >= v), len(tails))
            tails[k:k + 1] = [v]
        best = len(tails)
    if list(answer) != [str(best)]:
        return False, f"answer {' '.join(answer)} differs from the longest increasing length {best}"
    return True, "ok"


# ----------------------------------------------------------------------------- edit distance


def _mutate(a: list[int], params: EditDistanceParams, rng: np.random.Generator) -> list[int]:
    out = []
    for letter in a:
        u = rng.random()
        if u >= params.mutation_rate:
            out.append(letter)
            continue
        kind = int(rng.integers(3))
        if kind == 0:  # substitution
            out.append(int(rng.integers(params.alphabet_size)))
        elif kind == 2:  # insertion before the letter
            out += [int(rng.integers(params.alphabet_size)), letter]
        # kind 1: deletion
    cap = len(a) + math.ceil(len(a) / 4)
    return out[:cap] or [int(rng.integers(params.alphabet_size))]


def edit_distance_generate(n: int, params: EditDistanceParams, rng: np.random.Generator
                           ) -> tuple[list[str], list[list[str]], list[str]]:
    """(problem tokens ``a | b``, one DP row per letter of a, [distance])."""
    if n < 1:
        raise ConfigError(f"invalid edit-distance length {n}: expected >= 1")
    a = [int(v) for v in rng.integers(params.alphabet_size, size=n)]
    b = _mutate(a, params, rng)
    ins, dele, sub = params.insert_cost, params.delete_cost, params.substitute_cost
    prev = [j * ins for j in range(len(b) + 1)]
    rows = []
    for i in range(1, n + 1):
        row = [i * dele]
        for j in range(1, len(b) + 1):
            row.append(min(prev[j] + dele, row[j - 1] + ins, prev[j - 1] + (0 if a[i - 1] == b[j - 1] else sub)))
        rows.append([number(v) for v in row[1:]])
        prev = row
    problem = [LETTERS[v] for v in a] + ["|"] + [LETTERS[v] for v in b]
    return problem, rows, [number(prev[-1])]


def edit_distance_max_lengths(n: int) -> tuple[int, int]:
    m = n + math.ceil(n / 4)
    return n + 1 + m, n * (m + 1) + 3


def edit_distance_verify(problem: Sequence[str], steps: Sequence[Sequence[str]],
                         answer: Sequence[str], params: EditDistanceParams) -> tuple[bool, str]:
    """Each table entry must equal the minimum over its three predecessors."""
    letters = set(LETTERS[:params.alphabet_size])
    if list(problem).count("|") != 1:
        return False, "problem is not two strings separated by |"
    cut = list(problem).index("|")
    a, b = problem[:cut], problem[cut + 1:]
    if not a or not b or not set(a) | set(b) <= letters:
        return False, "problem strings are empty or use letters outside the alphabet"
    ins, dele, sub = params.insert_cost, params.delete_cost, params.substitute_cost
    if steps:
        if len(steps) != len(a):
            return False, f"expected {len(a)} table rows, got {len(steps)}"
        prev = [j * ins for j in range(len(b) + 1)]
        for i, step in enumerate(steps, 1):
            if len(step) != len(b) or not all(is_number(t) for t in step):
                return False, f"row {i} must hold {len(b)} numbers"
            row = [i * dele] + [int(t) for t in step]
            for j in range(1, len(b) + 1):
                best = min(prev[j] + dele, row[j - 1] + ins, prev[j - 1] + (a[i - 1] != b[j - 1]) * sub)
                if row[j] != best:
                    return False, f"D[{i}][{j}] = {row[j]} breaks the recurrence (expected {best})"
            prev = row
        value = prev[-1]
    else:  # direct format: derive the distance here (column by column, unlike the generator)
        col = [i * dele for i in range(len(a) + 1)]
        for j in range(1, len(b) + 1):
            new = [j * ins]
            for i in range(1, len(a) + 1):
                new.append(min(col[i] + ins, new[i - 1] + dele, col[i - 1] + (a[i - 1] != b[j - 1]) * sub))
            col = new
        value = col[-1]
    if list(answer) != [str(value)]:
        return False, f"answer {' '.join(answer)} differs from the edit distance {value}"
    return True, "ok"
