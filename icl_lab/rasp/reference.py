"""Plain-Python reference implementations of the RASP library programs.

Written independently of the RASP code (ordinary loops over the token list)
so that tests can check each program against them. Each function maps an
input token list to the list of per-position outputs; the autoregressive tasks
use the token formats documented in :mod:`icl_lab.rasp.formats`.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

from icl_lab.rasp.formats import (
    EOS,
    EQUALS,
    HINT_BASE,
    PAD,
    PARITY_EVEN,
    PARITY_ODD,
    PLUS,
    SEP,
    hint,
)


def histogram(x: list) -> list:
    """How often each position's token occurs in the whole input."""
    counts = Counter(x)
    return [counts[t] for t in x]


def double_histogram(x: list) -> list:
    """How many distinct tokens occur exactly as often as this position's token."""
    counts = Counter(x)
    return [sum(1 for u in counts if counts[u] == counts[t]) for t in x]


def reverse(x: list) -> list:
    return list(reversed(x))


def sort(x: list) -> list:
    return sorted(x)


def sort_by_frequency(x: list) -> list:
    """Tokens ordered by decreasing frequency; equal frequencies keep input order."""
    counts = Counter(x)
    order = sorted(range(len(x)), key=lambda i: (-counts[x[i]], i))
    return [x[i] for i in order]


def dyck1_balanced(x: list) -> list:
    """Whether each prefix is a balanced bracket string over '(' and ')'."""
    out, depth, failed = [], 0, False
    for t in x:
        depth += {"(": 1, ")": -1}.get(t, 0)
        failed = failed or depth < 0
        out.append(depth == 0 and not failed)
    return out


def dyck2_balanced(x: list) -> list:
    """Whether each prefix is balanced over '()' and '[]' (properly nested)."""
    out, stack, failed = [], [], False
    for t in x:
        if t in "([":
            stack.append(t)
        elif stack and stack[-1] == {")": "(", "]": "["}[t]:
            stack.pop()
        else:
            failed = True
        out.append(not stack and not failed)
    return out


def fraction_of_previous(x: list, token: object = 0) -> list:
    """Fraction of the tokens so far (this one included) equal to ``token``."""
    out, hits = [], 0
    for i, t in enumerate(x):
        hits += t == token
        out.append(hits / (i + 1))
    return out


def _next_tokens(x: list, canonical: list, first: int) -> list:
    """Outputs of an autoregressive task: the canonical next token from position
    ``first`` on (PAD inside the prompt and after the last token)."""
    return [canonical[i + 1] if first <= i and i + 1 < len(canonical) else PAD
            for i in range(len(x))]


def count(x: list) -> list:
    """Next token of ``s e SEP s s+1 ... e EOS``."""
    if len(x) < 3:
        return [PAD] * len(x)
    start, end = x[0], x[1]
    canonical = [start, end, SEP] + list(range(start, end + 1)) + [EOS]
    return _next_tokens(x, canonical, first=2)


def mode(x: list) -> list:
    """Most frequent token so far; a tie goes to the token that reached the count first."""
    counts: dict = {}
    out, best, best_count = [], None, 0
    for t in x:
        counts[t] = counts.get(t, 0) + 1
        if counts[t] > best_count:
            best, best_count = t, counts[t]
        out.append(best)
    return out


def copy_unique(x: list) -> list:
    """The token that followed the previous occurrence of this position's token."""
    out = []
    for i, t in enumerate(x):
        earlier = [j for j in range(i) if x[j] == t]
        out.append(x[earlier[-1] + 1] if earlier else PAD)
    return out


def _addition(x: list, reverse_answer: bool) -> list:
    if EQUALS not in x:
        return [PAD] * len(x)
    prompt = x[: x.index(EQUALS)]
    plus = prompt.index(PLUS)
    a_digits = [t for t in prompt[:plus] if t < HINT_BASE]
    b_digits = [t for t in prompt[plus + 1:] if t < HINT_BASE]
    n = len(a_digits)
    total = int("".join(map(str, a_digits))) + int("".join(map(str, b_digits)))
    sum_digits = [(total // 10**k) % 10 for k in range(n + 1)]  # least significant first
    order = range(n + 1) if reverse_answer else range(n, -1, -1)
    answer = []
    for k in order:
        answer += [hint(k), sum_digits[k]]
    canonical = prompt + [EQUALS] + answer + [EOS]
    return _next_tokens(x, canonical, first=len(prompt))


def addition_reverse_with_hints(x: list) -> list:
    """Next token of hinted addition, answer least significant digit first."""
    return _addition(x, reverse_answer=True)


def addition_forward_with_hints(x: list) -> list:
    """Next token of hinted addition, answer most significant digit first."""
    return _addition(x, reverse_answer=False)


def parity_scratchpad(x: list) -> list:
    """After each bit, the parity of all bits so far; PAD after scratch tokens."""
    out, parity = [], 0
    for t in x:
        if t in (0, 1):
            parity ^= t
            out.append(PARITY_ODD if parity else PARITY_EVEN)
        else:
            out.append(PAD)
    return out


REFERENCE: dict[str, Callable[[list], list]] = {
    "histogram": histogram,
    "double_histogram": double_histogram,
    "reverse": reverse,
    "sort_unique": sort,
    "sort": sort,
    "sort_by_frequency": sort_by_frequency,
    "dyck1_balanced": dyck1_balanced,
    "dyck2_balanced": dyck2_balanced,
    "fraction_of_previous": fraction_of_previous,
    "count": count,
    "mode": mode,
    "copy_unique": copy_unique,
    "addition_reverse_with_hints": addition_reverse_with_hints,
    "addition_forward_with_hints": addition_forward_with_hints,
    "parity_scratchpad": parity_scratchpad,
    "histogram_with_length": histogram,
    "sort_with_length": sort,
}
