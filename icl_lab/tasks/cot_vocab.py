"""The shared tokenizer of the chain-of-thought tasks (Feng et al. 2023, arXiv:2305.15408).

One vocabulary serves all four tasks, so one model could be trained on several of them
and every task's sequences decode with the same table. Tokens are short strings::

    specials   <pad> <bos> <sep> <ans> <eos>
    numbers    0 .. MAX_NUMBER - 1  (residues mod p, LIS values and DP entries, costs)
    symbols    + - * / ( ) = ; |
    variables  x1 .. x{MAX_VARIABLES}
    letters    a .. z              (edit-distance alphabet)

A formatted example is ``prompt = <bos> problem <sep>`` followed by the target:
``<ans> answer <eos>`` (direct) or ``step <sep> step <sep> ... <sep> <ans> answer <eos>``
(chain of thought).
"""

from __future__ import annotations

import string
from typing import Sequence

from icl_lab.core.errors import ConfigError

PAD, BOS, SEP, ANS, EOS = "<pad>", "<bos>", "<sep>", "<ans>", "<eos>"
SPECIALS = (PAD, BOS, SEP, ANS, EOS)
MAX_NUMBER = 256  # numbers 0..255 are single tokens
MAX_VARIABLES = 8
OPERATORS = ("+", "-", "*", "/")
SYMBOLS = (*OPERATORS, "(", ")", "=", ";", "|")
VARIABLES = tuple(f"x{i}" for i in range(1, MAX_VARIABLES + 1))
LETTERS = tuple(string.ascii_lowercase)

TOKENS: tuple[str, ...] = (*SPECIALS, *(str(i) for i in range(MAX_NUMBER)), *SYMBOLS, *VARIABLES,
                           *LETTERS)
TOKEN_ID: dict[str, int] = {t: i for i, t in enumerate(TOKENS)}
VOCAB_SIZE = len(TOKENS)
PAD_ID, BOS_ID, SEP_ID, ANS_ID, EOS_ID = (TOKEN_ID[t] for t in SPECIALS)


def encode(tokens: Sequence[str]) -> list[int]:
    """Token strings -> ids; an unknown token raises ``ValueError`` naming it."""
    try:
        return [TOKEN_ID[t] for t in tokens]
    except KeyError as exc:
        raise ConfigError(f"token {exc.args[0]!r} is not in the chain-of-thought vocabulary") from None


def decode(ids: Sequence[int]) -> list[str]:
    """Ids -> token strings (ids outside the vocabulary become ``<?id>``)."""
    return [TOKENS[i] if 0 <= i < VOCAB_SIZE else f"<?{i}>" for i in ids]


def is_number(token: str) -> bool:
    return token.isdigit()


def number(value: int) -> str:
    """The token of a number; raises when it does not fit the vocabulary."""
    if not 0 <= value < MAX_NUMBER:
        raise ConfigError(f"number {value} does not fit the vocabulary (0..{MAX_NUMBER - 1})")
    return str(value)
