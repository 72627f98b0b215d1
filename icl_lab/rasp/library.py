"""Example RASP programs (Weiss et al. 2021 style) and the library table.

Every function returns a fresh program (an SOp whose value at each position is
the output). The causal, RASP-L programs of Zhou et al. (2024) live in
:mod:`icl_lab.rasp.library_rasp_l` and are listed here too. Plain-Python
references for every entry are in :mod:`icl_lab.rasp.reference`; token formats
and input samplers in :mod:`icl_lab.rasp.formats`.
"""

from __future__ import annotations

from typing import Callable

from icl_lab.rasp.language import (
    EQ,
    GT,
    LT,
    NEQ,
    Map,
    Selector,
    SequenceMap,
    SOp,
    aggregate,
    full,
    indices,
    length,
    numerical,
    select,
    selector_width,
    tokens,
)
from icl_lab.rasp.library_rasp_l import (
    addition_forward_with_hints,
    addition_reverse_with_hints,
    copy_unique,
    count,
    mode,
    parity_scratchpad,
    prefix_selector,
)


def histogram() -> SOp:
    """How often each position's token occurs in the input.

    One head: every query selects the keys holding the same token, and the
    selector width is the count.
    """
    same_token = select(tokens, tokens, EQ).named("same_token")
    return selector_width(same_token).named("histogram")


def double_histogram() -> SOp:
    """How many distinct tokens share this token's count (Weiss et al.).

    Layer 1 counts tokens (histogram) and marks first occurrences (no earlier
    equal token); layer 2 counts first occurrences with an equal count.
    """
    same_token = select(tokens, tokens, EQ).named("same_token")
    hist = selector_width(same_token).named("hist")
    earlier_same = (same_token & select(indices, indices, LT)).named("earlier_same_token")
    is_first = selector_width(earlier_same).eq(0).named("is_first_occurrence")
    same_count = select(hist, hist, EQ).named("same_count")
    is_first_sel = select(is_first, full(True), EQ).named("first_occurrences")
    first_with_same_count = (same_count & is_first_sel).named("first_same_count")
    return selector_width(first_with_same_count).named("double_histogram")


def reverse() -> SOp:
    """The input reversed: position i copies position L - 1 - i.

    Needs ``length`` (one attention layer: the width of an all-true selector)
    and index arithmetic, so it is not RASP-L.
    """
    opposite = (length - indices - 1).named("opposite_index")
    flip = select(indices, opposite, EQ).named("flip")
    return aggregate(flip, tokens).named("reverse")


def _sort(values: SOp, before: Selector, name: str) -> SOp:
    """Move each value to position "number of keys that sort before its key";
    ``before`` selects, for each query, the keys that sort before the query's key."""
    target = selector_width(before).named(f"{name}_target_position")
    gather = select(target, indices, EQ).named(f"{name}_gather")
    return aggregate(gather, values).named(name)


def sort_unique() -> SOp:
    """Sort distinct tokens: a token's position is the number of smaller tokens."""
    smaller = select(tokens, tokens, LT).named("smaller_token")
    return _sort(tokens, smaller, "sort_unique")


def _smaller_or_earlier_tie(keys: SOp) -> Selector:
    """Keys that sort before the query: smaller, or equal at an earlier index."""
    smaller = select(keys, keys, LT).named(f"smaller_{keys.name}")
    tie = select(keys, keys, EQ) & select(indices, indices, LT)
    return (smaller | tie.named(f"earlier_tie_{keys.name}")).named(f"before_{keys.name}")


def sort() -> SOp:
    """Sort tokens with repeats; ties are broken by index so targets are distinct."""
    return _sort(tokens, _smaller_or_earlier_tie(tokens), "sort")


def sort_by_frequency() -> SOp:
    """Tokens ordered by decreasing frequency (Weiss et al. "most frequent").

    Layer 1 is a histogram; sorting by ``-histogram`` (ties by index) takes
    two more layers.
    """
    neg_hist = (-histogram()).named("neg_hist")
    return _sort(tokens, _smaller_or_earlier_tie(neg_hist), "sort_by_frequency")


def _bracket_balance(prefix: Selector, opens: tuple[str, ...],
                     closes: tuple[str, ...]) -> SOp:
    """Opening minus closing brackets in each prefix: the mean of +-1 steps over
    the prefix (one head) times the prefix length i + 1 (Weiss et al.)."""
    step = numerical(Map(lambda t: 1 if t in opens else (-1 if t in closes else 0), tokens,
                         description="+1 for an opening, -1 for a closing bracket")).named("step")
    mean_step = numerical(aggregate(prefix, step, default=0)).named("mean_step")
    return SequenceMap(lambda m, i: round(m * (i + 1)), mean_step, indices,
                       description="mean_step * (indices + 1)").named("balance")


def dyck1_balanced() -> SOp:
    """Whether each prefix is a balanced string of '(' and ')'.

    Layer 1: the running balance; layer 2: whether it was negative anywhere
    in the prefix. The prefix is balanced when neither happened and the
    balance is 0 (the last position answers for the whole input).
    """
    prefix = prefix_selector()
    balance = _bracket_balance(prefix, ("(",), (")",))
    negative = (balance < 0).named("negative")
    ever_negative = aggregate(prefix, negative, "max", default=False).named("ever_negative")
    return _balanced_and_never(balance, ever_negative, "dyck1_balanced")


def _balanced_and_never(balance: SOp, ever_failed: SOp, name: str) -> SOp:
    """Balance 0 now and no failure anywhere in the prefix."""
    zero = balance.eq(0).named("balance_is_0")
    return (zero & (~ever_failed).named(f"not_{ever_failed.name}")).named(name)


def dyck2_balanced() -> SOp:
    """Whether each prefix is a properly nested string over '()' and '[]'.

    1. the running balance gives each bracket its depth (a closing bracket sits
       one level above the balance after it);
    2. a closing bracket finds its partner: the latest opening bracket before it
       at the same depth (max of the indices);
    3. it reads the partner's token;
    4. a prefix fails if some position in it has a negative balance or a partner
       of the wrong type. Four layers, one head each.
    """
    pairs = {")": "(", "]": "["}
    prefix = prefix_selector()
    balance = _bracket_balance(prefix, ("(", "["), (")", "]"))
    depth = SequenceMap(lambda b, t: b + 1 if t in pairs else b, balance, tokens,
                        description="depth of each bracket").named("depth")
    # Key of non-opening positions: a closing bracket at depth -1 would match it,
    # but its balance is then negative, so its prefix already fails.
    no_depth = -1
    open_depth = SequenceMap(lambda d, t: d if t in ("(", "[") else no_depth, depth, tokens,
                             description="depth of opening brackets").named("open_depth")
    partner_sel = select(open_depth, depth, EQ, causal=True).named("same_depth_opening")
    partner = aggregate(partner_sel, indices, "max", default=-1).named("partner_index")
    at_partner = select(indices, partner, EQ, causal=True).named("at_partner")
    partner_token = aggregate(at_partner, tokens, default="").named("partner_token")
    mismatch = SequenceMap(lambda t, p: t in pairs and p != pairs[t], tokens, partner_token,
                           description="closing bracket without a matching partner")
    bad = ((balance < 0).named("negative") | mismatch.named("mismatch")).named("bad")
    ever_bad = aggregate(prefix, bad, "max", default=False).named("ever_bad")
    return _balanced_and_never(balance, ever_bad, "dyck2_balanced")


def fraction_of_previous(token: object = 0) -> SOp:
    """Fraction of the tokens so far (this one included) equal to ``token``:
    a causal numerical mean (Weiss et al. ``frac_prevs``)."""
    is_token = numerical(tokens.eq(token)).named(f"is_{token}")
    fraction = numerical(aggregate(prefix_selector(), is_token, default=0))
    return fraction.named("fraction_of_previous")


def histogram_with_length() -> SOp:
    """Histogram as ``length`` minus the number of different tokens: not RASP-L
    (uses ``length``, a non-causal select and arithmetic on counts)."""
    different = select(tokens, tokens, NEQ).named("different_token")
    return (length - selector_width(different)).named("histogram_with_length")


def sort_with_length() -> SOp:
    """Sort by placing each token ``length - 1 - (#tokens after it in sorted order)``:
    not RASP-L (uses ``length``)."""
    later_tie = select(tokens, tokens, EQ) & select(indices, indices, GT)
    after = (select(tokens, tokens, GT) | later_tie).named("sorts_after")
    target = (length - 1 - selector_width(after)).named("target_position")
    gather = select(target, indices, EQ).named("gather")
    return aggregate(gather, tokens).named("sort_with_length")


LIBRARY: dict[str, Callable[[], SOp]] = {
    "histogram": histogram,
    "double_histogram": double_histogram,
    "reverse": reverse,
    "sort_unique": sort_unique,
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
    "histogram_with_length": histogram_with_length,
    "sort_with_length": sort_with_length,
}
