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

``model`` is anything called as ``model(tokens [B, T]) -> logits [B, T, vocab]`` (a
:class:`~icl_lab.models.token_lm.TokenLM`). Examples are those of the experiment's
evaluation (``default_rng([seed, n])``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from icl_lab.core.errors import ConfigError
from icl_lab.tasks.algorithmic import SYMBOL0, AlgorithmicTask, ParityScratchpad

Model = Callable[[torch.Tensor], torch.Tensor]


def _examples(task: AlgorithmicTask, n: int, n_examples: int, seed: int) -> tuple[torch.Tensor, int, np.ndarray]:
    """Teacher-forced inputs ``[B, T]`` (prompt + answer without EOS), the prompt length and
    the answers ``[B, answer length]``."""
    rng = np.random.default_rng([seed, n])
    examples = [task.sample(n, rng) for _ in range(n_examples)]
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
    base = model(inputs).argmax(-1)
    rates = []
    for k in range(1, n):
        flipped = inputs.clone()
        previous = prompt_len + 2 * k - 1  # answer index 2k - 1 holds p_{k-1}
        flipped[:, previous] = torch.where(flipped[:, previous] == even, odd, even)
        query = prompt_len + 2 * k  # the input h_k, where p_k is predicted
        rates.append((model(flipped).argmax(-1)[:, query] != base[:, query]).float().mean().item())
    return np.array(rates)


__all__ = ["accuracy_by_answer_index", "scratchpad_flip_rate"]
