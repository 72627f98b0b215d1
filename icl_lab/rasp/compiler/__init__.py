"""Compile RASP programs into the lab's PyTorch transformer, and check them.

>>> from icl_lab.rasp import LIBRARY
>>> from icl_lab.rasp.compiler import compile_program, verify
>>> model = compile_program(LIBRARY["histogram"](), vocab=[0, 1, 2], max_len=5)
>>> model.run([2, 0, 2]).tolist()
[2, 1, 2]
>>> verify(model).mismatches  # every input of length <= 5: 363 of them
0

Stages (one module each, in order): ``graph`` -> ``values`` -> ``selector_terms`` ->
``layout`` -> ``schedule`` -> ``attention`` -> ``mlp`` -> ``assemble``; the driver
is :func:`compile_program`. ``model`` holds the decoder variant,
``listing`` the inspection listing, ``verify`` the checks against the
interpreter (:func:`verify`, :func:`verify_library`).
"""

from icl_lab.rasp.compiler.compiler import (
    CAUSAL_RULES,
    CausalityError,
    causal_report,
    compile_program,
)
from icl_lab.rasp.compiler.graph import CompilationError
from icl_lab.rasp.compiler.listing import describe_model, summary
from icl_lab.rasp.compiler.model import CompiledDecoder, CompiledModel
from icl_lab.rasp.compiler.verify import (
    LIBRARY_SPECS,
    VerifyResult,
    VerifySpec,
    all_inputs,
    format_table,
    verify,
    verify_library,
    verify_program,
)

__all__ = [
    "CAUSAL_RULES", "CausalityError", "CompilationError", "CompiledDecoder", "CompiledModel",
    "LIBRARY_SPECS", "VerifyResult", "VerifySpec", "all_inputs", "causal_report",
    "compile_program", "describe_model", "format_table", "summary", "verify",
    "verify_library", "verify_program",
]
