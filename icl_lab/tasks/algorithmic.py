"""Algorithmic token tasks for length generalization (Zhou et al. 2024; Awasthi & Gupta 2023).

Every task turns a problem size ``n`` into ``(prompt, answer)`` token lists::

    prompt = BOS <input of size n> SEP        answer = <output> EOS

and records the RASP program that solves it and whether that program is RASP-L
(:meth:`AlgorithmicTask.rasp_verdict` runs :func:`~icl_lab.rasp.check_rasp_l`). Library
programs (:mod:`icl_lab.rasp.library`) are used where their token format matches; the
others are in :mod:`icl_lab.rasp.task_programs`, each with a docstring saying why it is or
is not RASP-L.
``rasp_predict`` runs the program on a teacher-forced example, so tests can check that the
program really solves the task as formatted here.

Token ids: specials ``PAD BOS SEP EOS PLUS EQUALS QUERY`` = 0..6, then the task's symbols
from :data:`SYMBOL0` on. A task is built for the largest size it must handle
(``max_length``, e.g. 3x the training length), which fixes its vocabulary, so that every
symbol (numbers, index hints) is seen in training even when training sizes are small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np

from icl_lab.core.errors import ConfigError
from icl_lab.rasp import LIBRARY, RASPExpr, check_rasp_l, evaluate, layers_and_heads
from icl_lab.rasp import formats as F
from icl_lab.rasp.task_programs import PROGRAMS
from icl_lab.tasks.token_batch import TokenBatch, make_batch

PAD, BOS, SEP, EOS, PLUS, EQUALS, QUERY = range(7)
SYMBOL0 = 7
SPECIAL_NAMES = ["PAD", "BOS", "SEP", "EOS", "+", "=", "?"]
# Specials in the RASP formats (icl_lab.rasp.formats uses negative integers).
_RASP_SPECIALS = {PAD: F.PAD, BOS: -7, SEP: F.SEP, EOS: F.EOS, PLUS: F.PLUS, EQUALS: F.EQUALS,
                  QUERY: -6}
Example = tuple[list[int], list[int]]


@dataclass(frozen=True)
class RaspVerdict:
    """What :func:`check_rasp_l` says about the program that solves a task."""

    program: str  # "library:<name>" or "algorithmic:<function>"
    rasp_l: bool
    reasons: tuple[str, ...]
    n_layers: int
    heads: tuple[int, ...]


# ----------------------------------------------------------------------------- tasks


class AlgorithmicTask:
    """A task family at sizes up to ``max_length``; subclasses define the format."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    program: ClassVar[str] = ""  # "library:<name>" or "algorithmic:<name>"
    paper_generalizes: ClassVar[bool] = True  # what Zhou et al. / Awasthi & Gupta report
    min_length: ClassVar[int] = 1
    chance: ClassVar[float] = 0.0  # exact match of the best constant guess (parity: 1/2)
    value_names: ClassVar[dict[int, str]] = {}

    def __init__(self, max_length: int):
        if max_length < self.min_length:
            raise ConfigError(f"{self.name}: max_length must be >= {self.min_length}, got {max_length}")
        self.max_length = max_length
        self.symbol_values = self._symbol_values()  # symbol index -> value in the RASP format
        self._from_value = {v: SYMBOL0 + i for i, v in enumerate(self.symbol_values)}
        self._from_value.update({v: k for k, v in _RASP_SPECIALS.items()})

    def _symbol_values(self) -> list[int]:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        return SYMBOL0 + len(self.symbol_values)

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        """(prompt, answer) of size ``n`` (the evaluation distribution)."""
        raise NotImplementedError

    def training_example(self, n: int, rng: np.random.Generator) -> Example:
        """What training sees at size ``n`` (joint tasks mix in an auxiliary task)."""
        return self.sample(n, rng)

    def sequence_length(self, n: int) -> int:
        """Tokens of prompt + answer at size ``n`` (the largest, if it varies)."""
        prompt, answer = self.sample(n, np.random.default_rng(0))
        return len(prompt) + len(answer)

    def _check_size(self, n: int) -> None:
        if not self.min_length <= n <= self.max_length:
            raise ConfigError(f"{self.name}: size {n} outside [{self.min_length}, "
                             f"{self.max_length}] (task built with max_length={self.max_length})")

    # --- RASP -------------------------------------------------------------------------
    def rasp_program(self) -> RASPExpr:
        source, name = self.program.split(":")
        return (LIBRARY if source == "library" else PROGRAMS)[name]()

    def rasp_verdict(self) -> RaspVerdict:
        program = self.rasp_program()
        report = check_rasp_l(program)
        n_layers, heads = layers_and_heads(program)
        return RaspVerdict(self.program, report.ok, tuple(report.reasons), n_layers, tuple(heads))

    def encode(self, seq: list[int]) -> list[int]:
        return [_RASP_SPECIALS[t] if t < SYMBOL0 else self.symbol_values[t - SYMBOL0] for t in seq]

    def decode(self, values: list[int]) -> list[int]:
        return [self._from_value.get(int(v), PAD) for v in values]

    def rasp_predict(self, prompt: list[int], answer: list[int]) -> list[int]:
        """The program's predictions of the answer tokens, teacher-forced. Default: a
        next-token program run on the sequence without BOS."""
        seq = prompt + answer
        out = evaluate(self.rasp_program(), self.encode(seq[1:])).tolist()
        return self.decode(out[len(prompt) - 2: len(seq) - 2])

    def show(self, seq: list[int]) -> str:
        """Human-readable tokens (hints as h<k>, scratch parities as even/odd)."""
        def name(t: int) -> str:
            if t < SYMBOL0:
                return SPECIAL_NAMES[t]
            v = self.symbol_values[t - SYMBOL0]
            return f"h{v - F.HINT_BASE}" if v >= F.HINT_BASE else self.value_names.get(v, str(v))
        return " ".join(name(t) for t in seq)


class Count(AlgorithmicTask):
    name, program = "count", "library:count"
    description = "BOS s e SEP -> s s+1 ... e EOS (n = e - s + 1 numbers)"

    def _symbol_values(self) -> list[int]:
        return list(range(self.max_length + 4))  # a few spare starts at the largest size

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        self._check_size(n)
        start = int(rng.integers(0, len(self.symbol_values) - n + 1))
        nums = [SYMBOL0 + v for v in range(start, start + n)]
        return [BOS, nums[0], nums[-1], SEP], nums + [EOS]


class Mode(AlgorithmicTask):
    name, program = "mode", "library:mode"
    description = "BOS x_1..x_n SEP -> most frequent token EOS (unique mode)"
    alphabet = 5
    chance = 1 / alphabet

    def _symbol_values(self) -> list[int]:
        return list(range(self.alphabet))

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        self._check_size(n)
        x = rng.integers(0, self.alphabet, size=n)
        counts = np.bincount(x, minlength=self.alphabet)
        tied = np.flatnonzero(counts == counts.max())
        if len(tied) > 1:  # make the mode unique: one more of a tied token, one fewer of another
            winner = rng.choice(tied)
            x[rng.choice(np.flatnonzero(x != winner))] = winner
        mode = int(np.bincount(x, minlength=self.alphabet).argmax())
        return [BOS, *(SYMBOL0 + x).tolist(), SEP], [SYMBOL0 + mode, EOS]

    def rasp_predict(self, prompt: list[int], answer: list[int]) -> list[int]:
        """The library program outputs the running mode; its value at the last input is the answer."""
        out = evaluate(self.rasp_program(), self.encode(prompt[1:-1])).tolist()
        return self.decode([out[-1]]) + [EOS]


class CopyUnique(AlgorithmicTask):
    name, program = "copy_unique", "library:copy_unique"
    description = "BOS x SEP -> x EOS, distinct tokens (an induction head suffices)"

    def _symbol_values(self) -> list[int]:
        return list(range(self.max_length + 4))

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        self._check_size(n)
        x = (SYMBOL0 + rng.permutation(len(self.symbol_values))[:n]).tolist()
        return [BOS, *x, SEP], x + [EOS]

    def rasp_predict(self, prompt: list[int], answer: list[int]) -> list[int]:
        """BOS, SEP and EOS read as one marker M: ``M x M x M`` is the library's
        ``prefix + prefix`` format, and the induction head predicts every answer token."""
        marker = -2
        seq = [marker if t in (BOS, SEP, EOS) else self.symbol_values[t - SYMBOL0]
               for t in prompt + answer]
        out = evaluate(self.rasp_program(), seq).tolist()[len(prompt) - 1: len(seq) - 1]
        return [EOS if v == marker else self._from_value.get(v, PAD) for v in out]


class CopyRepeat(CopyUnique):
    name, program, paper_generalizes = "copy_repeat", "algorithmic:copy_by_position", False
    description = "BOS x SEP -> x EOS over 4 symbols (repeats: copy by position)"

    def _symbol_values(self) -> list[int]:
        return list(range(4))

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        self._check_size(n)
        x = (SYMBOL0 + rng.integers(0, len(self.symbol_values), size=n)).tolist()
        return [BOS, *x, SEP], x + [EOS]

    rasp_predict = AlgorithmicTask.rasp_predict


class SortUnique(CopyUnique):
    name, program = "sort_unique", "algorithmic:sort_unique_next"
    description = "BOS x SEP -> sorted(x) EOS, distinct numbers"
    rasp_predict = AlgorithmicTask.rasp_predict

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        prompt, answer = super().sample(n, rng)
        return prompt, sorted(answer[:-1]) + [EOS]


class Successor(SortUnique):
    """Auxiliary task of Awasthi & Gupta: the next larger element of x after q (EOS if q is
    the largest). One step of the autoregressive sort."""

    name = "successor"
    description = "BOS x ? q SEP -> smallest x_i > q, EOS"

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        prompt, answer = CopyUnique.sample(self, n, rng)
        x = answer[:-1]
        q = x[int(rng.integers(n))]
        larger = [t for t in x if t > q]
        return [BOS, *x, QUERY, q, SEP], ([min(larger)] if larger else []) + [EOS]


class _TaskHinting:
    """Task hinting (Awasthi & Gupta): a fraction ``aux_fraction`` of the training examples
    come from the ``auxiliary`` task (drawn with this task's symbols); evaluation is on the
    main task only."""

    auxiliary: ClassVar[type[AlgorithmicTask]]
    aux_fraction: ClassVar[float] = 0.5

    def training_example(self, n: int, rng: np.random.Generator) -> Example:
        if rng.random() < self.aux_fraction:
            return self.auxiliary.sample(self, n, rng)  # type: ignore[arg-type]
        return self.sample(n, rng)  # type: ignore[attr-defined]


class SortWithSuccessorHint(_TaskHinting, SortUnique):
    """Sort of distinct numbers trained jointly with :class:`Successor`; evaluated on sort.

    With distinct numbers and random position offsets plain sort (RASP-L, Zhou et al.)
    already extrapolates, so the hint has nothing to fix: the lab's contrast to
    :class:`SortRepeatWithSuccessorHint`, Awasthi & Gupta's setting."""

    name = "sort_unique+successor"
    description = "sort_unique, trained jointly with the successor task"
    auxiliary = Successor

    def sequence_length(self, n: int) -> int:
        return max(2 * n + 3, n + 5)  # sort, successor


class SortRepeat(SortUnique):
    """Sort with repeated numbers, Awasthi & Gupta's setting ("with repetitions"): numbers from
    a fixed range of 20 (a lab choice), so short training lists hold few repeats and long test
    lists many. The plain task of their task-hinting result (< 1% at 5L)."""

    name, program, paper_generalizes = "sort_repeat", "algorithmic:sort_repeat_next", False
    description = "BOS x SEP -> sorted(x) EOS, numbers from 0..19 with repeats"
    n_values: ClassVar[int] = 20

    def _symbol_values(self) -> list[int]:
        return list(range(self.n_values))

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        self._check_size(n)
        x = (SYMBOL0 + rng.integers(0, self.n_values, size=n)).tolist()
        return [BOS, *x, SEP], sorted(x) + [EOS]


class SuccessorRun(SortRepeat):
    """Auxiliary task for sort with repeats (Awasthi & Gupta's "identity + successor" step):
    every copy of q in x, then the next larger element (none if q is the largest).
    The lab's reading of their successor task for lists with repetitions."""

    name = "successor_run"
    description = "BOS x ? q SEP -> q (as often as in x), smallest x_i > q, EOS"

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        prompt, answer = SortRepeat.sample(self, n, rng)
        x = prompt[1:-1]
        q = x[int(rng.integers(n))]
        larger = [t for t in x if t > q]
        return [BOS, *x, QUERY, q, SEP], [q] * x.count(q) + ([min(larger)] if larger else []) + [EOS]


class SortRepeatWithSuccessorHint(_TaskHinting, SortRepeat):
    """Sort with repeats trained jointly with :class:`SuccessorRun` (half the examples);
    evaluated on sort. Awasthi & Gupta: < 1% plain, > 92% hinted at 5L."""

    name, paper_generalizes = "sort_repeat+successor", True
    description = "sort_repeat, trained jointly with the successor-run task"
    auxiliary = SuccessorRun

    def sequence_length(self, n: int) -> int:
        return 2 * n + 4 if n > 1 else n + 6  # sort; successor run (n copies + EOS, prompt n + 4)


class _Hinted(AlgorithmicTask):
    """Shared by hinted tasks: hint tokens ``h_0..h_{H-1}`` after the task's other symbols;
    each example starts at a random hint offset so that every hint token is trained."""

    plain_values: ClassVar[list[int]] = []

    def _n_hints(self) -> int:
        return self.max_length + 1

    def _symbol_values(self) -> list[int]:
        return list(self.plain_values) + [F.hint(k) for k in range(self._n_hints())]

    def hint(self, k: int) -> int:
        return SYMBOL0 + len(self.plain_values) + k

    def _offset(self, used: int, rng: np.random.Generator) -> int:
        return int(rng.integers(0, self._n_hints() - used + 1))


def _addition(n: int, rng: np.random.Generator, hint: Callable[[int], int] | None) -> Example:
    """``a + b`` with n-digit operands (most significant first, leading zeros allowed) and
    the (n+1)-digit sum least significant first; every digit after its hint if ``hint``."""
    a, b = rng.integers(0, 10, size=(2, n)).tolist()
    total = int("".join(map(str, a))) + int("".join(map(str, b)))
    with_hint = lambda k, d: ([hint(k)] if hint else []) + [SYMBOL0 + d]  # noqa: E731
    operand = lambda ds: [t for k, d in zip(range(n - 1, -1, -1), ds) for t in with_hint(k, d)]  # noqa: E731
    answer = [t for k in range(n + 1) for t in with_hint(k, total // 10**k % 10)]
    return [BOS, *operand(a), PLUS, *operand(b), EQUALS], answer + [EOS]


class AdditionHints(_Hinted):
    name, program = "addition_hints", "library:addition_reverse_with_hints"
    description = "n-digit a + b with index hints, sum least significant digit first"
    plain_values = list(range(10))

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        self._check_size(n)
        o = self._offset(n + 1, rng)
        return _addition(n, rng, lambda k: self.hint(o + k))

    def rasp_predict(self, prompt: list[int], answer: list[int]) -> list[int]:
        """The library program starts the answer at ``hint(0)``; hints are shifted down by
        this example's offset (an equivalent program would take the smallest prompt hint)."""
        o = min(t for t in prompt if t >= self.hint(0)) - self.hint(0)
        shift = lambda seq, d: [t + d if t >= self.hint(0) else t for t in seq]  # noqa: E731
        return shift(super().rasp_predict(shift(prompt, -o), shift(answer, -o)), o)


class AdditionPlain(AlgorithmicTask):
    name, program, paper_generalizes = "addition_plain", "algorithmic:addition_reverse_without_hints", False
    description = "n-digit a + b without hints, sum least significant digit first"

    def _symbol_values(self) -> list[int]:
        return list(range(10))

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        self._check_size(n)
        return _addition(n, rng, None)


class ParityScratchpad(_Hinted):
    name, program = "parity_scratchpad", "algorithmic:parity_hinted_scratchpad"
    description = "hinted bits -> hinted running parities EOS (scratchpad)"
    plain_values = [0, 1, F.PARITY_EVEN, F.PARITY_ODD]
    value_names = {F.PARITY_EVEN: "even", F.PARITY_ODD: "odd"}

    def _n_hints(self) -> int:
        return self.max_length

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        self._check_size(n)
        bits = rng.integers(0, 2, size=n).tolist()
        o = self._offset(n, rng)
        parities = np.cumsum(bits) % 2
        prompt = [BOS, *[t for k, b in enumerate(bits) for t in (self.hint(o + k), SYMBOL0 + b)], SEP]
        answer = [t for k, p in enumerate(parities) for t in (self.hint(o + k), SYMBOL0 + 2 + int(p))]
        return prompt, answer + [EOS]


class Parity(AlgorithmicTask):
    name, program, paper_generalizes = "parity", "algorithmic:parity_by_counting", False
    description = "BOS b_1..b_n SEP -> parity EOS (no scratchpad)"
    chance = 0.5
    value_names = {F.PARITY_EVEN: "even", F.PARITY_ODD: "odd"}

    def _symbol_values(self) -> list[int]:
        return [0, 1, F.PARITY_EVEN, F.PARITY_ODD]

    def sample(self, n: int, rng: np.random.Generator) -> Example:
        self._check_size(n)
        bits = rng.integers(0, 2, size=n)
        return [BOS, *(SYMBOL0 + bits).tolist(), SEP], [SYMBOL0 + 2 + int(bits.sum() % 2), EOS]


TASKS: dict[str, type[AlgorithmicTask]] = {cls.name: cls for cls in (
    Count, Mode, CopyUnique, CopyRepeat, SortUnique, SortWithSuccessorHint, SortRepeat,
    SortRepeatWithSuccessorHint, AdditionHints,
    AdditionPlain, ParityScratchpad, Parity)}


def make_task(name: str, max_length: int) -> AlgorithmicTask:
    """The task ``name`` built for sizes up to ``max_length``."""
    if name not in TASKS:
        raise ConfigError(f"unknown algorithmic task {name!r}: expected one of {', '.join(TASKS)}")
    return TASKS[name](max_length)


def evaluation_examples(task: AlgorithmicTask, n: int, n_examples: int, seed: int) -> list[Example]:
    """The ``n_examples`` (prompt, answer) pairs of size ``n`` that every length-generalization
    evaluation draws, from ``default_rng([seed, n])`` alone (so each size is reproducible)."""
    rng = np.random.default_rng([seed, n])
    return [task.sample(n, rng) for _ in range(n_examples)]


def training_batch(task: AlgorithmicTask, batch_size: int, train_length: int, context_len: int,
                   rng: np.random.Generator) -> TokenBatch:
    """Sizes uniform in [min_length, train_length]; each example at a random position offset
    so that all ``context_len`` position embeddings are trained (Zhou et al.)."""
    sizes = rng.integers(task.min_length, train_length + 1, size=batch_size)
    examples = [task.training_example(int(n), rng) for n in sizes]
    room = [context_len - len(p) - len(a) for p, a in examples]
    if min(room) < 0:
        raise ConfigError(f"{task.name}: a training example of {context_len - min(room)} tokens "
                         f"exceeds the context of {context_len}")
    return make_batch(examples, PAD, [int(rng.integers(0, r + 1)) for r in room])
