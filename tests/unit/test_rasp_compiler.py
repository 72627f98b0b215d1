"""The RASP compiler: compiled models equal the interpreter, exhaustively on small inputs."""

import numpy as np
import pytest
import torch

from icl_lab.models.transformer import Decoder, HookPoint
from icl_lab.rasp import (
    EQ,
    GEQ,
    GT,
    LEQ,
    LIBRARY,
    LT,
    NEQ,
    TRUE,
    Map,
    SOp,
    aggregate,
    categorical,
    evaluate,
    indices,
    length,
    numerical,
    select,
    selector_width,
    sequence_map,
    tokens,
)
from icl_lab.rasp.compiler import (
    CausalityError,
    CompilationError,
    compile_program,
    describe_model,
    verify,
)
from icl_lab.rasp.formats import EOS, SEP, vocab

V3 = [0, 1, 2]


def _exact(program, vocab_=V3, max_len=5, causal=False, **kw):
    """Compile and check every input up to max_len; return the model."""
    model = compile_program(program, vocab_, max_len, causal=causal, **kw)
    result = verify(model)
    assert result.mismatches == 0, result.first_mismatch
    assert result.inputs == sum(len(vocab_) ** n for n in range(1, max_len + 1))
    return model


def test_histogram_all_363_inputs():
    model = compile_program(LIBRARY["histogram"](), V3, 5)
    result = verify(model)
    assert (result.inputs, result.mismatches, result.skipped) == (363, 0, 0)
    assert result.min_margin > 0.999  # every one-hot read back is (numerically) exact
    assert model.run([2, 0, 2]).tolist() == [2, 1, 2]


@pytest.mark.parametrize("causal", [False, True])
def test_max_and_min_aggregation(causal):
    prefix = select(indices, indices, LEQ, causal=causal).named("prefix")
    larger = select(tokens, tokens, GT, causal=causal).named("larger_token")
    running_max = aggregate(prefix, tokens, "max").named("running_max")
    running_min = aggregate(prefix, tokens, "min").named("running_min")
    # Smallest larger token seen so far (empty: "none"); a max of an index too.
    next_up = aggregate(larger, tokens, "min", default="none").named("next_up")
    last_larger = aggregate(larger, indices, "max", default=-1).named("last_larger")
    # verify() compares every node, so the output may combine them in any small way.
    program = sequence_map(lambda a, b, c, d: a - b if c == "none" else d, running_max,
                           running_min, next_up, last_larger).named("extremes")
    model = _exact(program, [0, 1, 2, 3], 5, causal=causal)
    x = [1, 3, 0, 2]
    assert model.run(x).tolist() == evaluate(program, x).tolist()
    # The max head puts (almost) all weight on the keys holding the max.
    _, cache = model.run_with_cache(x)
    layer = model.info.schedule.layer_of(running_max)
    h = [hd.node for hd in model.info.heads[layer]].index(running_max)
    pattern = cache[f"blocks.{layer}.attn.hook_pattern"][0, h]  # [T, T], BOS at 0
    assert pattern[4, 2] > 1 - 1e-9  # query x[3] = 2: prefix max 3 sits at token position 1


def test_numerical_max_and_mean_with_default():
    value = numerical(Map(lambda t: 0.5 * t, tokens)).named("half")
    smaller = select(tokens, tokens, LT).named("smaller")
    biggest = numerical(aggregate(smaller, value, "max", default=-2)).named("biggest_smaller")
    mean = numerical(aggregate(smaller, value, default=7.5)).named("mean_smaller")
    program = sequence_map(lambda a, b: a + b, biggest, mean, encoding="numerical").named("sum")
    model = compile_program(numerical(program).named("sum"), V3, 5)
    result = verify(model)
    assert result.mismatches == 0 and result.max_error < 1e-9
    assert model.run([0, 0]).tolist() == [5.5, 5.5]  # nothing smaller: both defaults


def test_empty_selection_keeps_categorical_default():
    earlier_equal = select(tokens, tokens, EQ) & select(indices, indices, LT)
    for default in ["nothing", None, -1]:
        prev_index = aggregate(earlier_equal.named("earlier_equal"), indices, "max",
                               default=default).named("previous_occurrence")
        model = _exact(prev_index)
        out = model.run([2, 0, 2, 2, 1]).tolist()
        assert out == [default, default, 0, 2, default]  # tracr would give 0, not the default
    copy_next = aggregate(select(indices, indices + 1, EQ).named("next_pos"), tokens,
                          default="end").named("next_token")
    model = _exact(copy_next)
    assert model.run([1, 2]).tolist() == [2, "end"]


def test_selector_width_at_max_length():
    n = 6
    program = sequence_map(lambda a, b: (a, b), selector_width(select(tokens, tokens, EQ)),
                           selector_width(select(tokens, tokens, TRUE)))
    model = compile_program(program.named("widths"), [0, 1], n)
    assert model.run([1] * n).tolist() == [(n, n)] * n
    assert verify(model).mismatches == 0  # 126 inputs, lengths 1..6
    causal = compile_program(selector_width(select(tokens, tokens, EQ, causal=True)).named("seen"),
                             [0, 1], n, causal=True)
    assert causal.run([1] * n).tolist() == list(range(1, n + 1))
    with pytest.raises(ValueError, match="exceed"):
        model.run([1] * (n + 1))


def test_length_and_selector_combinators():
    opposite = (length - indices - 1).named("opposite")
    reverse = aggregate(select(indices, opposite, EQ).named("flip"), tokens).named("reverse")
    _exact(reverse)
    either = (select(tokens, tokens, LT) | ~select(indices, indices, NEQ)).named("lt_or_same")
    neither = ~(select(tokens, tokens, EQ) & select(indices, indices, LT)).named("both")
    program = sequence_map(lambda a, b: (a, b), selector_width(either), selector_width(neither))
    model = _exact(program.named("combined"), max_len=4)
    assert any(h.plan.joint for hs in model.info.heads for h in hs)  # 'or' needs joint keys


def test_causal_compilation_refuses_non_causal_programs():
    with pytest.raises(CausalityError) as err:
        compile_program(LIBRARY["histogram"](), V3, 5, causal=True)
    assert "[causal-select] same_token" in str(err.value)
    assert err.value.report.rules == {"causal-select"} and err.value.node == "same_token"
    with pytest.raises(CausalityError, match=r"\[no-length\] length"):
        compile_program(LIBRARY["reverse"](), V3, 5, causal=True)
    # The complement of a causal selector selects later keys: refused too.
    later = ~select(indices, indices, LEQ, causal=True)
    with pytest.raises(CausalityError, match="no-selector-combinators"):
        compile_program(selector_width(later.named("later")), V3, 5, causal=True)
    # The same programs compile bidirectionally.
    _exact(selector_width(later.named("later")))


def test_causal_model_runs_autoregressively():
    model = compile_program(LIBRARY["count"](), vocab("count"), 12, causal=True)
    assert model.generate([3, 7, SEP], 20, stop=EOS) == [3, 7, SEP, 3, 4, 5, 6, 7, EOS]
    x = [2, 6, SEP, 2, 3, 4, 5, 6, EOS]
    full_run = model.run(x).tolist()
    assert all(model.run(x[:n]).tolist() == full_run[:n] for n in range(1, len(x) + 1))
    assert full_run == evaluate(LIBRARY["count"](), x).tolist()


@pytest.mark.parametrize("build, node, message", [
    (lambda: aggregate(select(numerical(tokens).named("num_tok"), tokens, EQ).named("numsel"),
                       tokens), "numsel", "numerical"),
    (lambda: categorical(aggregate(select(indices, indices, LEQ), numerical(tokens))).named("cm"),
     "cm", "categorical mean"),
    (lambda: aggregate(select(indices, indices, LEQ),
                       Map(lambda t: "a" if t else None, tokens).named("mixed"), "max").named("mx"),
     "mx", "ordered values"),
    (lambda: Map(lambda t: [t], tokens).named("listy"), "listy", "unhashable"),
    (lambda: select(tokens, tokens, EQ).named("just_a_selector"), "just_a_selector", "selector"),
])
def test_unsupported_constructs_name_the_node(build, node, message):
    with pytest.raises(CompilationError, match=message) as err:
        compile_program(build(), V3, 4)
    assert err.value.node == node and f"'{node}'" in str(err.value)


def test_two_numerical_inputs_and_unknown_nodes_are_refused():
    mean_a = numerical(aggregate(select(indices, indices, LEQ), numerical(tokens), default=0))
    mean_b = numerical(aggregate(select(indices, indices, GEQ), numerical(tokens), default=0))
    both = sequence_map(lambda a, b: a > b, mean_a.named("a"), mean_b.named("b")).named("cmp")
    with pytest.raises(CompilationError, match="one numerical input") as err:
        compile_program(both, V3, 4)
    assert err.value.node == "cmp"

    class Custom(SOp):
        label = "custom"

    with pytest.raises(CompilationError, match="not supported") as err:
        compile_program(Map(lambda x: x, Custom().named("mystery")), V3, 4)
    assert err.value.node == "mystery"


def test_hook_points_and_listing_match_trained_models():
    model = compile_program(LIBRARY["sort"](), V3, 5)
    trained = Decoder(n_embd=8, n_layer=len(model.backbone.blocks), n_head=2, max_len=6)
    def names(module):
        return {n for n, mod in module.named_modules() if isinstance(mod, HookPoint)}
    assert names(model.backbone) == names(trained)
    out, cache = model.run_with_cache([[2, 0, 1], [1, 1, 0]])
    assert out.tolist() == [[0, 1, 2], [0, 1, 1]]
    n_head = model.backbone.blocks[0].attn.n_head
    assert cache["blocks.1.attn.hook_pattern"].shape == (2, n_head, 4, 4)
    assert cache["blocks.0.hook_resid_pre"].shape[-1] == model.layout.width
    text = describe_model(model)
    for part in ("layer 0", "layer 2", "head 0", "residual stream", "sort_target_position",
                 "joint keys/queries", "blocks.1.attn.hook_pattern"):
        assert part in text


def test_float32_and_unfused_models_agree():
    program = LIBRARY["dyck1_balanced"]()
    for kw in ({"dtype": torch.float32}, {"fuse": False}):
        model = compile_program(program, ["(", ")"], 8, causal=True, **kw)
        assert verify(model, tol=1e-4).mismatches == 0
    fused = compile_program(program, ["(", ")"], 8, causal=True)
    unfused = compile_program(program, ["(", ")"], 8, causal=True, fuse=False)
    assert len(fused.backbone.blocks) < len(unfused.backbone.blocks)


def test_verify_catches_a_broken_model():
    model = compile_program(LIBRARY["histogram"](), V3, 4)
    with torch.no_grad():
        model.backbone.blocks[0].mlp[2].weight.mul_(0.3)  # shrink the width read-out:
    assert verify(model).min_margin < 0.31  # still decodes, but verify reports the margin
    with torch.no_grad():
        model.backbone.blocks[0].attn.qkv.weight.zero_()  # uniform attention: widths wrong
    result = verify(model)
    assert result.mismatches > 0 and "histogram" in result.first_mismatch


def test_random_inputs_and_inputs_the_interpreter_rejects():
    model = compile_program(LIBRARY["sort_unique"](), list(range(5)), 5)
    rng = np.random.default_rng(0)
    inputs = [rng.permutation(5)[:n].tolist() for n in rng.integers(1, 6, size=200)]
    assert verify(model, inputs).mismatches == 0
    with pytest.raises(ValueError, match="vocabulary"):
        model.run([7])
    # A categorical mean must copy one value: inputs where earlier tokens differ are
    # not valid for this program (the interpreter raises), so verify skips them.
    copy_earlier = aggregate(select(indices, indices, LT), tokens, default=0)
    model = compile_program(copy_earlier.named("copy_earlier"), V3, 4)
    result = verify(model)
    assert result.mismatches == 0 and result.skipped > 0
    assert result.inputs + result.skipped == 3 + 9 + 27 + 81
