"""Chain-of-thought tasks of Feng et al. 2023 (Feng et al. 2023, arXiv:2305.15408): one interface, two formats.

Four generators share the tokenizer of :mod:`icl_lab.tasks.cot_vocab`:

==============  =========================  =========================================
task            size ``n``                 chain of thought
==============  =========================  =========================================
arithmetic      operators in the expression one operator reduced per step
equations       variables (= equations)    Gauss–Jordan elimination, one variable/step
lis             length of the sequence     the DP array
edit_distance   length of the first string the DP table, one row per step
==============  =========================  =========================================

Every example is ``(problem, steps, answer)`` in token strings. Formats::

    prompt  = <bos> problem <sep>
    direct  = <ans> answer <eos>
    cot     = step_1 <sep> ... step_k <sep> <ans> answer <eos>

Each task has a verifier that checks any list of steps and an answer from the problem's
tokens alone (:meth:`CotTask.verify`). Train and test problems are told apart by a hash of
the problem's tokens (:func:`split_of`), so test problems never occur in training.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

import numpy as np

from icl_lab.core.errors import ConfigError
from icl_lab.tasks import cot_arithmetic, cot_dp, cot_equations
from icl_lab.tasks.cot_vocab import ANS, ANS_ID, BOS, EOS, EOS_ID, PAD_ID, SEP, decode, encode
from icl_lab.tasks.token_batch import TokenBatch, make_batch

Format = Literal["direct", "cot"]
FORMATS = ("direct", "cot")
Steps = list[list[str]]


@dataclass(frozen=True)
class CotExample:
    """One problem with its chain of thought and answer (token strings)."""

    problem: list[str]
    steps: Steps
    answer: list[str]

    def prompt(self) -> list[str]:
        return [BOS, *self.problem, SEP]

    def target(self, fmt: Format) -> list[str]:
        """What the model must produce after the prompt in format ``fmt``."""
        if fmt not in FORMATS:
            raise ConfigError(f"invalid format {fmt!r}: expected one of {', '.join(FORMATS)}")
        chain = [t for step in self.steps for t in (*step, SEP)] if fmt == "cot" else []
        return [*chain, ANS, *self.answer, EOS]

    def encoded(self, fmt: Format) -> tuple[list[int], list[int]]:
        """(prompt ids, target ids)."""
        return encode(self.prompt()), encode(self.target(fmt))


@dataclass(frozen=True)
class _TaskFunctions:
    params: type
    generate: Callable[[int, Any, np.random.Generator], tuple[list[str], Steps, list[str]]]
    verify: Callable[[Sequence[str], Sequence[Sequence[str]], Sequence[str], Any], tuple[bool, str]]
    max_lengths: Callable[[int], tuple[int, int]]
    size_range: tuple[int, int]
    description: str


_TASKS: dict[str, _TaskFunctions] = {
    "arithmetic": _TaskFunctions(cot_arithmetic.ArithmeticParams, cot_arithmetic.generate,
                                 cot_arithmetic.verify, cot_arithmetic.max_lengths, (1, 30),
                                 "arithmetic expression mod p; size = operators"),
    "equations": _TaskFunctions(cot_equations.EquationParams, cot_equations.generate,
                                cot_equations.verify, cot_equations.max_lengths, (1, 8),
                                "linear equation system mod p; size = variables"),
    "lis": _TaskFunctions(cot_dp.LISParams, cot_dp.lis_generate, cot_dp.lis_verify,
                          cot_dp.lis_max_lengths, (1, 255), "longest increasing subsequence; size = length"),
    "edit_distance": _TaskFunctions(cot_dp.EditDistanceParams, cot_dp.edit_distance_generate,
                                    cot_dp.edit_distance_verify, cot_dp.edit_distance_max_lengths,
                                    (1, 40), "edit distance; size = length of the first string"),
}
TASK_NAMES = tuple(_TASKS)


def param_fields(task: str) -> dict[str, Any]:
    """The parameters of a task's generator with their defaults."""
    return {f.name: f.default for f in dataclasses.fields(_TASKS[task].params)}


@dataclass(frozen=True)
class CotTask:
    """A task family with fixed generator parameters (e.g. the modulus)."""

    name: str
    params: Any

    @property
    def _fns(self) -> _TaskFunctions:
        return _TASKS[self.name]

    def check_size(self, n: int) -> None:
        lo, hi = self._fns.size_range
        if not (isinstance(n, int) and lo <= n <= hi):
            raise ConfigError(f"invalid size {n!r} for task {self.name}: expected {lo}..{hi}")
        check_params = getattr(self.params, "check_size", None)
        if check_params is not None:  # e.g. edit distance: its DP values must be number tokens
            check_params(n)

    def sample(self, n: int, rng: np.random.Generator) -> CotExample:
        """One example of size ``n`` (any split)."""
        problem, steps, answer = self._fns.generate(n, self.params, rng)
        return CotExample(problem, steps, answer)

    def verify(self, problem: Sequence[str], steps: Sequence[Sequence[str]],
               answer: Sequence[str]) -> tuple[bool, str]:
        """(ok, reason): do the steps (may be empty) and the answer solve ``problem``?"""
        return self._fns.verify(problem, steps, answer, self.params)

    def context_len(self, n: int, fmt: Format, slack: int = 0) -> int:
        """Positions needed for prompt + target (+ ``slack`` extra generated tokens)."""
        problem, cot = self._fns.max_lengths(n)
        direct = 2 + (n if self.name == "equations" else 1)  # <ans> values <eos>
        return problem + 2 + (cot if fmt == "cot" else direct) + slack


def make_task(name: str, **params: Any) -> CotTask:
    """A task by name; unknown names or parameters raise a one-line ``ValueError``."""
    if name not in _TASKS:
        raise ConfigError(f"unknown chain-of-thought task {name!r}: expected one of {', '.join(TASK_NAMES)}")
    known = param_fields(name)
    bad = sorted(set(params) - set(known))
    if bad:
        raise ConfigError(f"unknown parameter {name}.{bad[0]}: valid are {', '.join(known)}")
    return CotTask(name, _TASKS[name].params(**params))


# ----------------------------------------------------------------------------- splits


def split_of(problem: Sequence[str], test_fraction: float) -> str:
    """"test" for a fixed ``test_fraction`` of all problems (by a hash of their tokens,
    the same on every machine), else "train"."""
    digest = hashlib.blake2b(" ".join(problem).encode(), digest_size=8).digest()
    return "test" if int.from_bytes(digest, "big") / 2 ** 64 < test_fraction else "train"


def sample_examples(task: CotTask, n: int, count: int, split: str, rng: np.random.Generator,
                    test_fraction: float = 0.1) -> list[CotExample]:
    """``count`` examples of size ``n`` whose problems belong to ``split`` (rejection)."""
    if split not in ("train", "test"):
        raise ConfigError(f"invalid split {split!r}: expected 'train' or 'test'")
    task.check_size(n)
    out: list[CotExample] = []
    tries = 0
    while len(out) < count:
        example = task.sample(n, rng)
        tries += 1
        if split_of(example.problem, test_fraction) == split:
            out.append(example)
        elif tries > 1000 * count:
            raise ConfigError(f"cannot draw {split} problems for {task.name} n={n} with "
                             f"test_fraction={test_fraction}")
    return out


def training_batch(task: CotTask, n: int, fmt: Format, batch_size: int, rng: np.random.Generator,
                   test_fraction: float = 0.1) -> TokenBatch:
    """A batch of training-split examples, loss on every target token (the answer for
    direct, everything after the prompt for chain of thought)."""
    examples = sample_examples(task, n, batch_size, "train", rng, test_fraction)
    return make_batch([e.encoded(fmt) for e in examples], PAD_ID)


# ----------------------------------------------------------------------------- model outputs


def parse_output(ids: Sequence[int]) -> tuple[Steps, list[str] | None]:
    """A generated continuation -> (steps, answer tokens); the answer is what follows the
    last ``<ans>`` up to ``<eos>`` (None when there is no ``<ans>`` or no ``<eos>``)."""
    tokens = decode(ids)
    if ANS not in tokens:
        chain, answer = tokens, None
    else:
        cut = len(tokens) - 1 - tokens[::-1].index(ANS)
        chain, rest = tokens[:cut], tokens[cut + 1:]
        answer = rest[:rest.index(EOS)] if EOS in rest else None
    steps: Steps = [[]]
    for t in chain:
        if t == SEP:
            steps.append([])
        else:
            steps[-1].append(t)
    if not steps[-1]:  # the chain ends with <sep> (or is empty)
        steps.pop()
    return steps, answer


def answer_of(ids: Sequence[int]) -> list[str] | None:
    """The answer tokens of a generated continuation (see :func:`parse_output`)."""
    return parse_output(ids)[1]


__all__ = ["ANS_ID", "EOS_ID", "PAD_ID", "CotExample", "CotTask", "FORMATS", "TASK_NAMES",
           "answer_of", "make_task", "param_fields", "parse_output", "sample_examples",
           "split_of", "training_batch"]
