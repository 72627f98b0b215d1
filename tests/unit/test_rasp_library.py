"""Every library program agrees with its plain-Python reference."""

import zlib

import numpy as np
import pytest

from icl_lab.rasp import LIBRARY, REFERENCE, evaluate
from icl_lab.rasp.formats import TASKS, sample_input

LENGTHS = range(1, 21)
PER_LENGTH = 3  # 60 inputs per program, about a thousand in all


def _agree(name: str, out: list, ref: list) -> bool:
    if name == "fraction_of_previous":
        return np.allclose(out, ref)
    return out == ref


def test_tables_cover_the_same_programs():
    assert set(LIBRARY) == set(REFERENCE) == set(TASKS)


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_program_matches_reference(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    program = LIBRARY[name]()
    for n in LENGTHS:
        inputs = [sample_input(name, n, rng) for _ in range(PER_LENGTH)]
        outputs = evaluate(program, inputs).tolist()
        for x, out in zip(inputs, outputs):
            assert _agree(name, out, REFERENCE[name](x)), (name, x, out)


@pytest.mark.parametrize("name", ["addition_reverse_with_hints", "addition_forward_with_hints"])
def test_addition_on_long_operands(name):
    rng = np.random.default_rng(7)
    program = LIBRARY[name]()
    for n in (29, 41, 53):  # complete 4-, 6- and 8-digit problems
        inputs = [sample_input(name, n, rng) for _ in range(20)]
        for x, out in zip(inputs, evaluate(program, inputs).tolist()):
            assert out == REFERENCE[name](x)


def test_samplers_produce_interesting_cases():
    rng = np.random.default_rng(0)
    balanced = [REFERENCE["dyck2_balanced"](sample_input("dyck2_balanced", 8, rng))[-1]
                for _ in range(60)]
    assert 0 < sum(balanced) < 60
    name = "addition_reverse_with_hints"
    answers = [REFERENCE[name](sample_input(name, 17, rng)) for _ in range(20)]
    assert any(out[-1] != -1 for out in answers)  # some inputs reach the answer
