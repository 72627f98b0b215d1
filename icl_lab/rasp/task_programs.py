"""RASP programs for the token formats of :mod:`icl_lab.tasks.algorithmic` where the library's
programs (:mod:`icl_lab.rasp.library`) do not match; each docstring says why it is or is not
RASP-L. Tokens are those of :mod:`icl_lab.rasp.formats` (specials are negative integers).
"""

from __future__ import annotations

from typing import Callable

from icl_lab.rasp import formats as F
from icl_lab.rasp.language import (
    EQ,
    GT,
    Map,
    SequenceMap,
    SOp,
    aggregate,
    full,
    indices,
    select,
    selector_width,
    shift_by,
    tokens,
)
from icl_lab.rasp.library_rasp_l import prefix_selector


def _seen(token: int, name: str) -> SOp:
    """Whether ``token`` occurred at or before each position (a causal max)."""
    return aggregate(prefix_selector(), tokens.eq(token), "max", default=False).named(name)


# ----------------------------------------------------------------------------- programs


def sort_unique_next() -> SOp:
    """Autoregressive sort of distinct numbers: ``x SEP sorted(x) EOS``. RASP-L.

    The next output is the smallest input number above the current token (above -1 at
    ``SEP``), or ``EOS`` if none: one causal select ``key > query`` over the input part
    and a min aggregation. (The library's ``sort_unique`` places every token at once with
    non-causal selects, so it is not RASP-L; this causal version is Zhou et al.'s.)"""
    seen_sep = _seen(F.SEP, "seen_sep")
    key = SequenceMap(lambda t, s: t if not s and t >= 0 else -2, tokens, seen_sep,
                      description="input number, else -2").named("input_key")
    query = SequenceMap(lambda t, s: -1 if t == F.SEP else (t if s and t >= 0 else 10**9),
                        tokens, seen_sep, description="last output (-1 at SEP)").named("last_out")
    nxt = aggregate(select(key, query, GT, causal=True).named("larger_inputs"), key, "min",
                    default=F.EOS).named("smallest_larger")
    return SequenceMap(lambda n, s: n if s else F.PAD, nxt, seen_sep,
                       description="next sorted token").named("sort_unique_next")


def sort_repeat_next() -> SOp:
    """Autoregressive sort with repeated numbers: ``x SEP sorted(x) EOS``.

    The next output repeats the current token while it has been written fewer times than it
    occurs in the input, else it is the smallest input number above the current token (the
    ``sort_unique_next`` step). The two counts are causal selector widths (tokens equal to
    the current one, in the input part and in the output part) and are only compared, so
    the program is RASP-L by the lab's checker — yet Awasthi & Gupta report that plain
    training (with repetitions) fails beyond the training length and their successor hint
    fixes it."""
    seen_sep = _seen(F.SEP, "seen_sep")
    key = SequenceMap(lambda t, s: t if not s and t >= 0 else -2, tokens, seen_sep,
                      description="input number, else -2").named("input_key")
    written = SequenceMap(lambda t, s: t if s and t >= 0 else -3, tokens, seen_sep,
                          description="output number, else -3").named("output_key")
    query = SequenceMap(lambda t, s: -1 if t == F.SEP else (t if s and t >= 0 else 10**9),
                        tokens, seen_sep, description="last output (-1 at SEP)").named("last_out")
    in_count = selector_width(select(key, query, EQ, causal=True).named("same_input")).named("copies_in_input")
    out_count = selector_width(select(written, query, EQ, causal=True).named("same_output")).named("copies_written")
    larger = aggregate(select(key, query, GT, causal=True).named("larger_inputs"), key, "min",
                       default=F.EOS).named("smallest_larger")
    more_copies = (in_count > out_count).named("copies_left")  # a comparison: allowed in RASP-L
    return SequenceMap(lambda q, m, n, s: (q if m else n) if s else F.PAD,
                       query, more_copies, larger, seen_sep,
                       description="next sorted token").named("sort_repeat_next")


def copy_by_position() -> SOp:
    """Copy with repeated tokens, ``x SEP x EOS``: NOT RASP-L.

    With repeats an induction head is ambiguous, so the answer's j-th token must be read
    at index ``j = i - pos(SEP)``: arithmetic on two index-derived values, which RASP-L
    forbids (rule ``index-arithmetic``); the same program is correct at every length."""
    sep_pos = aggregate(select(tokens, full(F.SEP), EQ, causal=True), indices, "max",
                        default=-1).named("sep_position")
    offset = (indices - sep_pos).named("offset_from_sep")
    fetched = aggregate(select(indices, offset, EQ, causal=True), tokens, default=F.PAD)
    return SequenceMap(lambda f, s, j: F.PAD if s < 0 else (F.EOS if j == s else f),
                       fetched.named("token_at_offset"), sep_pos, offset,
                       description="copied token or EOS").named("copy_by_position")


def addition_reverse_without_hints() -> SOp:
    """``a PLUS b EQUALS c EOS`` (a, b most significant digit first, c reversed): NOT RASP-L.

    Without hints, digit k of each operand is found by position: ``pos(PLUS) - 1 - k`` and
    ``pos(EQUALS) - 1 - k`` with ``k = i - pos(EQUALS)``: index arithmetic. The carry
    into digit k is ``a_{k-1} + b_{k-1} > c_{k-1}`` (read one position back)."""
    digit = Map(lambda t: t if 0 <= t <= 9 else 0, tokens, description="digit value").named("digit")
    plus = aggregate(select(tokens, full(F.PLUS), EQ, causal=True), indices, "max", default=-1)
    equals = aggregate(select(tokens, full(F.EQUALS), EQ, causal=True), indices, "max", default=-1)
    k = (indices - equals.named("equals_position")).named("answer_digit")
    a_at = SequenceMap(lambda p, j: p - 1 - j, plus.named("plus_position"), k).named("a_index")
    b_at = SequenceMap(lambda e, j: e - 1 - j, equals, k).named("b_index")
    a = aggregate(select(indices, a_at, EQ, causal=True), digit, default=0).named("a_k")
    b = aggregate(select(indices, b_at, EQ, causal=True), digit, default=0).named("b_k")
    carry = SequenceMap(lambda t, x, y, j: int(j >= 1 and x + y > t), tokens, shift_by(1, a, 0),
                        shift_by(1, b, 0), k, description="carry into digit k").named("carry")

    def next_token(e: int, j: int, n: int, x: int, y: int, c: int) -> int:
        if e < 0 or j < 0:
            return F.PAD
        return (x + y + c) % 10 if j <= n else (F.EOS if j == n + 1 else F.PAD)

    return SequenceMap(next_token, equals, k, plus, a, b, carry,
                       description="next answer digit").named("addition_reverse_without_hints")


def parity_hinted_scratchpad() -> SOp:
    """Parity with a scratchpad and index hints: ``h_o b_1 ... h_{o+n-1} b_n SEP`` then
    ``h_o p_1 ... h_{o+n-1} p_n EOS`` with running parities ``p_k``. RASP-L.

    At an answer hint, fetch the prompt bit after the same hint (match) and XOR it with
    the previous scratch parity (one token back; ``SEP`` counts as even); after a parity comes
    the next hint (``hint + 1`` is a map on token values) if the prompt has it, else EOS.
    The library's ``parity_scratchpad`` is the same step on interleaved inputs; hints
    replace copying bits, which with repeated tokens is not RASP-L."""
    prev = shift_by(1, tokens, default=F.PAD).named("previous_token")
    seen_sep = _seen(F.SEP, "seen_sep")
    is_hint = lambda t: t >= F.HINT_BASE  # noqa: E731
    bit_key = SequenceMap(lambda t, p, s: p if not s and t in (0, 1) else -1, tokens, prev,
                          seen_sep, description="hint before a prompt bit").named("bit_key")
    hint_key = SequenceMap(lambda t, s: t if not s and is_hint(t) else -1, tokens, seen_sep,
                           description="prompt hint").named("hint_key")
    bit = aggregate(select(bit_key, tokens, EQ, causal=True), tokens, "max", default=-1)
    want = Map(lambda p: p + 1 if is_hint(p) else -5, prev, description="previous hint + 1")
    next_hint = aggregate(select(hint_key, want.named("wanted_hint"), EQ, causal=True), hint_key,
                          "max", default=-1).named("next_hint")
    first = aggregate(prefix_selector(), Map(lambda h: h if h >= 0 else 10**9, hint_key), "min",
                      default=-1).named("first_hint")
    odd = F.PARITY_ODD

    def next_token(t: int, s: bool, p: int, b: int, nh: int, fh: int) -> int:
        if not s:
            return F.PAD
        if t == F.SEP:
            return fh
        if is_hint(t):
            return odd if (p == odd) != (b == 1) else F.PARITY_EVEN
        if t in (F.PARITY_EVEN, odd):
            return nh if nh >= 0 else F.EOS
        return F.PAD

    return SequenceMap(next_token, tokens, seen_sep, prev, bit.named("hinted_bit"), next_hint,
                       first, description="next scratch token").named("parity_hinted_scratchpad")


def parity_by_counting() -> SOp:
    """Parity without scratchpad, ``b SEP p EOS``: NOT RASP-L.

    The parity is the number of ones (a causal selector width) mod 2: arithmetic on a
    count, which RASP-L forbids (counts may only be compared or shifted by constants)."""
    ones = selector_width(select(tokens, full(1), EQ, causal=True)).named("ones_so_far")
    seen_sep = _seen(F.SEP, "seen_sep")

    def next_token(t: int, c: int, s: bool) -> int:
        if t == F.SEP:
            return F.PARITY_ODD if c % 2 else F.PARITY_EVEN
        return F.EOS if s and t in (F.PARITY_EVEN, F.PARITY_ODD) else F.PAD

    return SequenceMap(next_token, tokens, ones, seen_sep,
                       description="ones mod 2 at SEP").named("parity_by_counting")


PROGRAMS: dict[str, Callable[[], SOp]] = {f.__name__: f for f in (
    sort_unique_next, sort_repeat_next, copy_by_position, addition_reverse_without_hints,
    parity_hinted_scratchpad, parity_by_counting)}
