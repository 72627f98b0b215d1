"""Causal RASP-L programs (Zhou et al. 2024) for autoregressive tasks.

Each program outputs, at every position, the prediction for the next token
(``PAD`` where the task does not determine it), so running it on a prefix
gives the same outputs as on any longer input. The programs only use causal
selects, max/min aggregation or mean aggregation that copies one value,
maps over the finite token vocabulary, and indices only in comparisons or
shifted by constants. Token formats: :mod:`icl_lab.rasp.formats`.
"""

from __future__ import annotations

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
from icl_lab.rasp.language import (
    EQ,
    LEQ,
    LT,
    Map,
    Selector,
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


def prefix_selector() -> Selector:
    """Each query attends to all keys up to and including itself."""
    return select(indices, indices, LEQ, causal=True).named("prefix")


def _seen(token: int, name: str) -> SOp:
    """Whether ``token`` occurred at or before each position (a causal max)."""
    here = tokens.eq(token).named(name.replace("seen_", "is_"))
    return aggregate(prefix_selector(), here, "max", default=False).named(name)


def count() -> SOp:
    """Count from ``s`` to ``e``: input ``s e SEP s s+1 ... e EOS``.

    The next token is ``s`` at ``SEP`` (the token two back, a constant shift),
    ``t + 1`` after a number ``t`` below ``e`` and ``EOS`` after ``e``; ``e`` is
    read from position 1 (an index compared with a constant). One layer.
    """
    seen_sep = _seen(SEP, "seen_sep")
    start = shift_by(2, tokens, default=PAD).named("two_back")
    at_1 = select(indices, full(1).named("one"), EQ, causal=True).named("position_1")
    end = aggregate(at_1, tokens, default=PAD).named("end")

    def next_token(t: int, seen: bool, s: int, e: int) -> int:
        if t == SEP:
            return s
        if not seen or t == EOS:
            return PAD
        return EOS if t == e else t + 1

    return SequenceMap(next_token, tokens, seen_sep, start, end,
                       description="next number, start or EOS").named("count")


def mode() -> SOp:
    """Most frequent token so far; a tie goes to the token that reached the count first.

    1. occurrences of each position's token up to it (causal selector width);
    2. the largest such count in the prefix (causal max);
    3. the first position whose count equals it (causal min of indices);
    4. the token there.
    """
    same_so_far = select(tokens, tokens, EQ, causal=True).named("same_token_so_far")
    occurrences = selector_width(same_so_far).named("occurrences")
    top = aggregate(prefix_selector(), occurrences, "max", default=0).named("top_count")
    reached_top = select(occurrences, top, EQ, causal=True).named("reached_top")
    first = aggregate(reached_top, indices, "min", default=0).named("first_to_top")
    at_first = select(indices, first, EQ, causal=True).named("at_first_to_top")
    return aggregate(at_first, tokens, default=PAD).named("mode")


def copy_unique() -> SOp:
    """Induction head: the token after the previous occurrence of this token.

    Layer 1 gives every position its previous token; layer 2 attends to the
    key whose previous token equals the query's token. Inputs are a sequence
    of distinct tokens followed by its copy, so at most one key matches
    (max aggregation keeps repeated tokens well defined anyway).
    """
    previous = shift_by(1, tokens, default=PAD).named("previous_token")
    induction = select(previous, tokens, EQ, causal=True).named("induction")
    return aggregate(induction, tokens, "max", default=PAD).named("copy_unique")


def parity_scratchpad() -> SOp:
    """Running parity with an interleaved scratchpad ``b_0 p_0 b_1 p_1 ...``.

    After a bit the next token is the previous scratch parity (one back) XOR
    the bit; after a scratch token the next token is an input bit (``PAD``).
    """
    previous = shift_by(1, tokens, default=PARITY_EVEN).named("previous_scratch")

    def next_token(t: int, p: int) -> int:
        if t not in (0, 1):
            return PAD
        return PARITY_ODD if (p == PARITY_ODD) != (t == 1) else PARITY_EVEN

    return SequenceMap(next_token, tokens, previous,
                       description="previous parity xor bit").named("parity_scratchpad")


def _hinted_addition_inputs() -> dict[str, SOp]:
    """Shared first layers: previous token, prompt region, and the hint each
    position is about (its own token at a hint, the previous one at a digit)."""
    previous = shift_by(1, tokens, default=PAD).named("previous_token")
    region = SequenceMap(lambda p, e: int(p) + int(e), _seen(PLUS, "seen_plus"),
                         _seen(EQUALS, "seen_equals"),
                         description="0: first operand, 1: second, 2: answer").named("region")
    about = SequenceMap(lambda t, p: t if t >= HINT_BASE else p, tokens, previous,
                        description="own hint, or the hint before a digit").named("hint_about")
    # A digit's key: the hint before it and its region, packed into one integer.
    key = SequenceMap(lambda p, r: 4 * p + r, previous, region,
                      description="4 * previous_token + region").named("digit_key")
    return {"previous": previous, "region": region, "about": about, "key": key}


def _operand_digit(parts: dict[str, SOp], operand: int, name: str) -> SOp:
    """The digit of ``operand`` (0 or 1) with the hint this position is about (-1 if none)."""
    query = Map(lambda h: 4 * h + operand, parts["about"],
                description=f"4 * hint_about + {operand}").named(f"{name}_query")
    matching = select(parts["key"], query, EQ, causal=True).named(f"{name}_match")
    return aggregate(matching, tokens, "max", default=-1).named(name)


def addition_reverse_with_hints() -> SOp:
    """Hinted addition, answer least significant digit first (formats module).

    At the hint ``hint(k)`` of the answer, the next digit is
    ``(a_k + b_k + carry) % 10``: ``a_k`` and ``b_k`` are found by matching hints
    (layer 2), and the carry was decided one position back, at the previous
    answer digit ``c_{k-1}``: it is 1 exactly when ``a_{k-1} + b_{k-1} > c_{k-1}``
    (layer 3 shifts it forward). After a digit comes the next hint, or ``EOS``
    once the hint has no operand digit (the final carry digit).
    """
    parts = _hinted_addition_inputs()
    a = _operand_digit(parts, 0, "a_digit")
    b = _operand_digit(parts, 1, "b_digit")
    carry_out = SequenceMap(lambda t, x, y: int(0 <= t <= 9 and max(x, 0) + max(y, 0) > t),
                            tokens, a, b, description="a + b > written digit").named("carry_out")
    carry_in = shift_by(1, carry_out, default=0).named("carry_in")

    def next_token(t: int, r: int, p: int, x: int, y: int, c: int) -> int:
        if r < 2 or t == EOS:
            return PAD
        if t == EQUALS:
            return hint(0)
        if t >= HINT_BASE:
            return (max(x, 0) + max(y, 0) + c) % 10
        return p + 1 if x >= 0 else EOS

    return SequenceMap(next_token, tokens, parts["region"], parts["previous"], a, b, carry_in,
                       description="next answer token").named("addition_reverse_with_hints")


def addition_forward_with_hints() -> SOp:
    """Hinted addition, answer most significant digit first (formats module).

    Layer 1 also finds the largest operand hint (so ``=`` predicts ``hint(n)``).
    Layer 2: at each digit ``b_j`` of the second operand, the pair sum
    ``s_j = a_j + b_j`` (``a_j`` found by matching hints). Layer 3, at the
    answer hint ``hint(k)``: fetch ``s_k``, and the carry into ``k`` by
    look-ahead: the most significant ``j < k`` with ``s_j != 9`` decides it
    (carry iff ``s_j >= 10``), a causal max over keys ``j < k``.
    """
    parts = _hinted_addition_inputs()
    hint_value = Map(lambda t: t - HINT_BASE if t >= HINT_BASE else -1, tokens,
                     description="significance of a hint token, else -1").named("hint_value")
    top_hint = aggregate(prefix_selector(), hint_value, "max", default=-1).named("top_hint")
    a = _operand_digit(parts, 0, "a_digit")
    pair_sum = SequenceMap(lambda t, r, x: t + x if r == 1 and 0 <= t <= 9 and x >= 0 else -1,
                           tokens, parts["region"], a,
                           description="a_j + b_j at second-operand digits").named("pair_sum")
    # Look-ahead keys: significance of pair sums that stop a carry chain (!= 9).
    no_key = 10**6
    decider_key = SequenceMap(lambda s, p: p - HINT_BASE if s >= 0 and s != 9 else no_key,
                              pair_sum, parts["previous"],
                              description="significance of a non-9 pair sum").named("decider_key")
    decider_code = SequenceMap(lambda s, p: 2 * (p - HINT_BASE) + int(s >= 10),
                               pair_sum, parts["previous"],
                               description="2 * significance + makes a carry",
                               ).named("decider_code")
    about_value = Map(lambda h: h - HINT_BASE, parts["about"],
                      description="hint_about - HINT_BASE").named("about_significance")
    lower = select(decider_key, about_value, LT, causal=True).named("lower_deciders")
    decider = aggregate(lower, decider_code, "max", default=-1).named("carry_decider")
    sum_query = Map(lambda h: 4 * h + 1, parts["about"],
                    description="4 * hint_about + 1").named("sum_query")
    this_sum = aggregate(select(parts["key"], sum_query, EQ, causal=True).named("sum_match"),
                         pair_sum, "max", default=0).named("this_pair_sum")

    def next_token(t: int, r: int, p: int, top: int, s: int, d: int) -> int:
        if r < 2 or t == EOS:
            return PAD
        if t == EQUALS:
            return hint(top + 1)
        if t >= HINT_BASE:
            return (max(s, 0) + (d % 2 if d >= 0 else 0)) % 10
        return EOS if p == hint(0) else p - 1

    return SequenceMap(next_token, tokens, parts["region"], parts["previous"], top_hint,
                       this_sum, decider, description="next answer token",
                       ).named("addition_forward_with_hints")
