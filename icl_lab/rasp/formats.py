"""Token formats and random valid inputs for the RASP program library.

Plain Python (no RASP code): shared by :mod:`icl_lab.rasp.library`,
:mod:`icl_lab.rasp.reference` and the tests. Special tokens are negative
integers so that every format stays an integer array.

Formats of the autoregressive tasks (their programs output, at each
position, the next token, or ``PAD`` where the next token is not determined
by the task: inside the prompt and after ``EOS``):

* count: ``s e SEP s s+1 ... e EOS`` with numbers ``0 <= s <= e < COUNT_MAX``.
* addition with index hints: ``n``-digit operands written most significant
  digit first, every digit preceded by the hint token of its significance
  ``hint(k) = HINT_BASE + k``:
  ``hint(n-1) a_{n-1} ... hint(0) a_0 PLUS hint(n-1) b_{n-1} ... hint(0) b_0 EQUALS``
  then the ``n + 1`` digit sum ``c`` (leading zero kept), each digit again
  after its hint, then ``EOS``:
  reverse order ``hint(0) c_0 hint(1) c_1 ... hint(n) c_n EOS``;
  forward order ``hint(n) c_n ... hint(0) c_0 EOS``.
* parity with scratchpad: bits interleaved with the running parity,
  ``b_0 p_0 b_1 p_1 ...`` where ``p_k`` is ``PARITY_EVEN`` or ``PARITY_ODD``
  for ``b_0 xor ... xor b_k``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

PAD = -1  # output: no prediction
SEP = -2
EOS = -3
PLUS = -4
EQUALS = -5
HINT_BASE = 100
MAX_DIGITS = 8
PARITY_EVEN = 2
PARITY_ODD = 3
COUNT_MAX = 30


def hint(k: int) -> int:
    """The index-hint token of digit significance ``k``."""
    return HINT_BASE + k


DIGITS = list(range(10))
HINTS = [hint(k) for k in range(MAX_DIGITS + 1)]
DYCK1 = ["(", ")"]
DYCK2 = ["(", ")", "[", "]"]

Sampler = Callable[[int, np.random.Generator], list]


def _ints(vocab_size: int) -> Sampler:
    return lambda n, rng: rng.integers(0, vocab_size, size=n).tolist()


def _unique(vocab_size: int) -> Sampler:
    return lambda n, rng: rng.permutation(vocab_size)[:n].tolist()


def _dyck(pairs: list[str]) -> Sampler:
    """A third uniform strings, a third well nested prefixes (balanced when the
    length allows), a third such prefixes with one token changed."""
    opens, closes = pairs[0::2], pairs[1::2]

    def sample(n: int, rng: np.random.Generator) -> list:
        mode = rng.integers(3)
        if mode == 0:
            return [pairs[i] for i in rng.integers(0, len(pairs), size=n)]
        out: list[str] = []
        stack: list[int] = []
        for pos in range(n):
            must_close = len(stack) >= n - pos
            if stack and (must_close or rng.random() < 0.5):
                out.append(closes[stack.pop()])
            else:
                stack.append(int(rng.integers(len(opens))))
                out.append(opens[stack[-1]])
        if mode == 2:
            out[rng.integers(n)] = pairs[rng.integers(len(pairs))]
        return out

    return sample


def _count(n: int, rng: np.random.Generator) -> list:
    span = int(rng.integers(min(COUNT_MAX, max(1, n - 4)), COUNT_MAX + 1))  # e - s + 1
    start = int(rng.integers(0, COUNT_MAX - span + 1))
    full = [start, start + span - 1, SEP, *range(start, start + span), EOS]
    return full[:n]


def _copy_unique(n: int, rng: np.random.Generator) -> list:
    m = int(rng.integers((n + 1) // 2, n + 1))  # length of the unique prefix
    prefix = rng.permutation(COUNT_MAX)[:m].tolist()
    return (prefix + prefix)[:n]


def _addition(reverse: bool) -> Sampler:
    def sample(n: int, rng: np.random.Generator) -> list:
        low = min(MAX_DIGITS, max(1, -(-(n - 5) // 6)))  # 6 * digits + 5 tokens in all
        digits = int(rng.integers(low, min(MAX_DIGITS, low + 2) + 1))
        a, b = rng.integers(0, 10, size=(2, digits)).tolist()  # most significant first
        significance = range(digits - 1, -1, -1)
        prompt = [tok for k, d in zip(significance, a) for tok in (hint(k), d)] + [PLUS]
        prompt += [tok for k, d in zip(significance, b) for tok in (hint(k), d)]
        total = int("".join(map(str, a))) + int("".join(map(str, b)))
        order = range(digits + 1) if reverse else range(digits, -1, -1)
        answer = [tok for k in order for tok in (hint(k), total // 10**k % 10)]
        return (prompt + [EQUALS] + answer + [EOS])[:n]
    return sample


def _parity(n: int, rng: np.random.Generator) -> list:
    out, parity = [], 0
    for bit in rng.integers(0, 2, size=(n + 1) // 2).tolist():
        parity ^= bit
        out += [bit, PARITY_ODD if parity else PARITY_EVEN]
    return out[:n]


ADDITION_VOCAB = DIGITS + HINTS + [PLUS, EQUALS, EOS]

#: name -> (sampler of valid inputs of a given length, vocabulary of the task)
TASKS: dict[str, tuple[Sampler, list]] = {
    "histogram": (_ints(5), list(range(5))),
    "double_histogram": (_ints(5), list(range(5))),
    "reverse": (_ints(10), list(range(10))),
    "sort_unique": (_unique(COUNT_MAX), list(range(COUNT_MAX))),
    "sort": (_ints(6), list(range(6))),
    "sort_by_frequency": (_ints(5), list(range(5))),
    "dyck1_balanced": (_dyck(DYCK1), DYCK1),
    "dyck2_balanced": (_dyck(DYCK2), DYCK2),
    "fraction_of_previous": (_ints(3), list(range(3))),
    "count": (_count, list(range(COUNT_MAX)) + [SEP, EOS]),
    "mode": (_ints(4), list(range(4))),
    "copy_unique": (_copy_unique, list(range(COUNT_MAX))),
    "addition_reverse_with_hints": (_addition(reverse=True), ADDITION_VOCAB),
    "addition_forward_with_hints": (_addition(reverse=False), ADDITION_VOCAB),
    "parity_scratchpad": (_parity, [0, 1, PARITY_EVEN, PARITY_ODD]),
    "histogram_with_length": (_ints(5), list(range(5))),
    "sort_with_length": (_ints(6), list(range(6))),
}


def sample_input(name: str, n: int, rng: np.random.Generator) -> list:
    """A random valid input of length ``n`` for library program ``name``."""
    return TASKS[name][0](n, rng)


def vocab(name: str) -> list:
    """The token vocabulary of library program ``name``."""
    return list(TASKS[name][1])
