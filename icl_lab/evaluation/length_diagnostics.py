"""Why a length-generalization model fails: teacher-forced probes of what it reads.

Exact match says *that* a model fails beyond L; these say *where* along the answer and
*whether* it reads the tokens that the task's RASP-L program reads:

- :func:`accuracy_by_answer_index` — teacher-forced accuracy of every answer token (greedy
  exact match fails at the first wrong one). For addition with index hints, the sum digits at
  chance (0.1) while the hint tokens are right says that the digit lookup was never learned.
- :func:`scratchpad_flip_rate` — for ``parity_scratchpad`` (``h_k p_k`` pairs after the
  prompt's ``h_k b_k`` pairs): flip the previous running parity ``p_{k-1}`` in the input and
  count how often the prediction of ``p_k`` flips. The RASP-L program computes
  ``p_k = p_{k-1} XOR b_k``, so a model that runs it flips every time (rate 1); a model that
  counts the prompt's ones instead (parity without scratchpad, not RASP-L) never does (rate 0).
- :func:`sort_error_kinds` — for sorts with repeated numbers, the first greedy-decoding error
  of each failed answer by kind (:func:`first_error_kind`): a miscounted copy of a number, a
  wrong next number, or the end. The successor hint of Awasthi & Gupta trains the next-number
  step; a model whose errors are miscounted copies has no use for it.

``model`` is anything called as ``model(tokens [B, T]) -> logits [B, T, vocab]`` (a
:class:`~icl_lab.models.token_lm.TokenLM`). Examples are those of the experiment's
evaluation (``default_rng([seed, n])``).
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

import numpy as np
import torch

from icl_lab.core.errors import ConfigError
from icl_lab.models.token_lm import TokenLM, generate
from icl_lab.tasks.algorithmic import (
    EOS,
    PAD,
    SYMBOL0,
    AlgorithmicTask,
    ParityScratchpad,
    SortRepeat,
    evaluation_examples,
)

Model = Callable[[torch.Tensor], torch.Tensor]


def _examples(task: AlgorithmicTask, n: int, n_examples: int, seed: int) -> tuple[torch.Tensor, int, np.ndarray]:
    """Teacher-forced inputs ``[B, T]`` (prompt + answer without EOS), the prompt length and
    the answers ``[B, answer length]``."""
    examples = evaluation_examples(task, n, n_examples, seed)
    inputs = torch.tensor([p + a[:-1] for p, a in examples], dtype=torch.long)
    return inputs, len(examples[0][0]), np.array([a for _, a in examples])


@torch.no_grad()
def accuracy_by_answer_index(model: Model, task: AlgorithmicTask, n: int, n_examples: int = 200,
                             seed: int = 12345) -> np.ndarray:
    """Teacher-forced accuracy of each answer token (EOS last) on inputs of size ``n``."""
    inputs, prompt_len, answers = _examples(task, n, n_examples, seed)
    predicted = model(inputs)[:, prompt_len - 1:].argmax(-1).numpy()
    return (predicted == answers).mean(0)


@torch.no_grad()
def scratchpad_flip_rate(model: Model, task: AlgorithmicTask, n: int, n_examples: int = 200,
                         seed: int = 12345) -> np.ndarray:
    """For ``k = 1..n-1``: the fraction of inputs of size ``n`` whose prediction of the running
    parity ``p_k`` changes when ``p_{k-1}`` is flipped in the teacher-forced input."""
    if not isinstance(task, ParityScratchpad):
        raise ConfigError(f"scratchpad_flip_rate needs the parity_scratchpad task, got {task.name!r}")
    if n < 2:
        raise ConfigError(f"scratchpad_flip_rate needs inputs of size ≥ 2, got {n}")
    inputs, prompt_len, _ = _examples(task, n, n_examples, seed)
    even, odd = SYMBOL0 + 2, SYMBOL0 + 3  # the task's two parity tokens
    ks = torch.arange(1, n)
    previous = prompt_len + 2 * ks - 1  # answer index 2k - 1 holds p_{k-1}
    query = previous + 1  # the input h_k, where p_k is predicted
    flipped = inputs.repeat(n - 1, 1).view(n - 1, *inputs.shape).clone()  # [k, B, T]
    cells = flipped[torch.arange(n - 1), :, previous]  # [k, B]
    flipped[torch.arange(n - 1), :, previous] = torch.where(cells == even, odd, even)
    base = model(inputs).argmax(-1)[:, query].T  # [k, B]
    after = model(flipped.view(-1, inputs.shape[1])).argmax(-1).view(n - 1, -1, inputs.shape[1])
    changed = after[torch.arange(n - 1), :, query] != base
    return changed.float().mean(1).numpy()


def first_error_kind(answer: Sequence[int], output: Sequence[int]) -> str:
    """How a sorted ``output`` first departs from the sorted ``answer`` (both ending in EOS):
    ``"ok"``, ``"one copy too many"`` (the previous number again), ``"one copy too few"`` (a
    larger number while the previous one still has copies to write), ``"wrong number"`` (any
    other number), ``"early EOS"``, ``"no EOS"`` (a number where EOS was due) or ``"short"``
    (the output stops without EOS)."""
    answer, output = list(answer), list(output)
    if output == answer:
        return "ok"
    i = next((j for j in range(min(len(answer), len(output))) if answer[j] != output[j]), len(output))
    if i >= len(output):
        return "short"
    got, want = output[i], answer[i]
    previous = answer[i - 1] if i else None
    if got == EOS:
        return "early EOS"
    if want == EOS:
        return "one copy too many" if got == previous else "no EOS"
    if got == previous:
        return "one copy too many"
    if want == previous and got > want:
        return "one copy too few"
    return "wrong number"


@torch.no_grad()
def sort_error_kinds(model: TokenLM, task: AlgorithmicTask, n: int, n_examples: int = 200,
                     seed: int = 12345, slack: int = 4) -> Counter:
    """:func:`first_error_kind` of every greedy answer on inputs of size ``n`` (``"ok"`` counts
    the right ones). ``task`` is a sort with repeats (``sort_repeat`` or its hinted form)."""
    if not isinstance(task, SortRepeat):
        raise ConfigError(f"sort_error_kinds needs a sort with repeats, got {task.name!r}")
    examples = evaluation_examples(task, n, n_examples, seed)
    outputs = generate(model, [p for p, _ in examples], len(examples[0][1]) + slack, EOS, pad_token=PAD)
    return Counter(first_error_kind(a, o) for (_, a), o in zip(examples, outputs))


__all__ = ["accuracy_by_answer_index", "first_error_kind", "scratchpad_flip_rate", "sort_error_kinds"]
