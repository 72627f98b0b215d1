"""Arithmetic expressions mod p (Feng et al. 2023): generator, chain of thought, verifier.

Problem: an expression over residues ``0..p-1`` with ``+ - * /`` (``a / b`` is
``a * b^{-1} mod p``) and parentheses, e.g. ``( 3 + 4 ) * 2 - 5 / 7``. Chain of thought:
one operator reduced per step (the leftmost operator whose two operands are numbers and
that precedence allows to evaluate now), down to a single number; the answer is that number.

The generator works on expression trees; the verifier works on the token strings only
(precedence rules on neighbouring tokens), so the two share no code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from icl_lab.core.errors import ConfigError
from icl_lab.tasks.cot_vocab import OPERATORS, is_number, number

PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
Tree = Union[int, tuple]  # a residue, or (operator, left, right)


@dataclass(frozen=True)
class ArithmeticParams:
    """``modulus`` p (a prime, so that every non-zero divisor has an inverse) and whether
    expressions may need parentheses (random trees) or are flat (precedence only)."""

    modulus: int = 11
    parentheses: bool = True
    division: bool = True

    def __post_init__(self) -> None:
        p = self.modulus
        if not (isinstance(p, int) and 2 <= p <= 255 and all(p % d for d in range(2, int(p ** 0.5) + 1))):
            raise ConfigError(f"invalid arithmetic.modulus={p!r}: expected a prime in 2..255")


def apply(op: str, a: int, b: int, p: int) -> int | None:
    """``a op b`` mod p; None for division by zero."""
    if op == "+":
        return (a + b) % p
    if op == "-":
        return (a - b) % p
    if op == "*":
        return a * b % p
    return None if b % p == 0 else a * pow(b, -1, p) % p


# ----------------------------------------------------------------------------- generator (trees)


def _random_tree(n_ops: int, p: int, ops: Sequence[str], rng: np.random.Generator) -> Tree:
    if n_ops == 0:
        return int(rng.integers(p))
    left = int(rng.integers(n_ops))  # operators in the left subtree
    return (ops[int(rng.integers(len(ops)))], _random_tree(left, p, ops, rng),
            _random_tree(n_ops - 1 - left, p, ops, rng))


def _flat_tree(n_ops: int, p: int, ops: Sequence[str], rng: np.random.Generator) -> Tree:
    """A parenthesis-free expression: sums of left-associated products."""
    symbols = [ops[int(rng.integers(len(ops)))] for _ in range(n_ops)]
    values = [int(rng.integers(p)) for _ in range(n_ops + 1)]
    terms: list[Tree] = [values[0]]
    joins: list[str] = []
    for op, value in zip(symbols, values[1:]):
        if PRECEDENCE[op] == 2:
            terms[-1] = (op, terms[-1], value)
        else:
            joins.append(op)
            terms.append(value)
    tree = terms[0]
    for op, term in zip(joins, terms[1:]):
        tree = (op, tree, term)
    return tree


def evaluate(tree: Tree, p: int) -> int | None:
    """Value of a tree mod p; None when some divisor is zero."""
    if isinstance(tree, int):
        return tree
    a, b = evaluate(tree[1], p), evaluate(tree[2], p)
    return None if a is None or b is None else apply(tree[0], a, b, p)


def render(tree: Tree) -> list[str]:
    """Tokens with the parentheses the tree needs (left-associative operators)."""
    if isinstance(tree, int):
        return [number(tree)]
    op, left, right = tree
    def side(child: Tree, strict: bool) -> list[str]:
        tokens = render(child)
        if isinstance(child, int):
            return tokens
        q, r = PRECEDENCE[child[0]], PRECEDENCE[op]
        return ["(", *tokens, ")"] if (q < r if strict else q <= r) else tokens

    # the right operand needs parentheses at equal precedence too: a - (b - c)
    return [*side(left, True), op, *side(right, False)]


def reduce_leftmost(tree: Tree, p: int) -> Tree:
    """The tree with its leftmost operator over two numbers evaluated."""
    def walk(node: Tree) -> tuple[Tree, bool]:
        if isinstance(node, int):
            return node, False
        op, left, right = node
        if isinstance(left, int) and isinstance(right, int):
            return apply(op, left, right, p), True
        new_left, done = walk(left)
        if done:
            return (op, new_left, right), True
        new_right, done = walk(right)
        return (op, left, new_right), done
    return walk(tree)[0]


def sample_tree(n_ops: int, params: ArithmeticParams, rng: np.random.Generator) -> Tree:
    """A random expression with ``n_ops`` operators and no division by zero anywhere."""
    ops = OPERATORS if params.division else OPERATORS[:3]
    make = _random_tree if params.parentheses else _flat_tree
    while True:
        tree = make(n_ops, params.modulus, ops, rng)
        if evaluate(tree, params.modulus) is not None and _divisors_nonzero(tree, params.modulus):
            return tree


def _divisors_nonzero(tree: Tree, p: int) -> bool:
    if isinstance(tree, int):
        return True
    if tree[0] == "/" and evaluate(tree[2], p) == 0:
        return False
    return _divisors_nonzero(tree[1], p) and _divisors_nonzero(tree[2], p)


def generate(n_ops: int, params: ArithmeticParams, rng: np.random.Generator
             ) -> tuple[list[str], list[list[str]], list[str]]:
    """(problem tokens, chain-of-thought steps, answer tokens)."""
    tree = sample_tree(n_ops, params, rng)
    problem, steps = render(tree), []
    while not isinstance(tree, int):
        tree = reduce_leftmost(tree, params.modulus)
        steps.append(render(tree))
    return problem, steps, [number(tree)]


def max_lengths(n_ops: int) -> tuple[int, int]:
    """Upper bounds on (problem tokens, chain-of-thought target tokens incl. answer)."""
    expr = lambda k: 4 * k - 1 if k else 1  # noqa: E731  k operators, at most 2(k-1) parentheses
    return expr(n_ops), sum(expr(k) + 1 for k in range(n_ops)) + 3


# ----------------------------------------------------------------------------- verifier (tokens)


def well_formed(tokens: Sequence[str], p: int) -> bool:
    """expr := term (op term)*, term := residue | ( expr )."""
    pos = 0

    def term() -> bool:
        nonlocal pos
        if pos < len(tokens) and is_number(tokens[pos]) and int(tokens[pos]) < p:
            pos += 1
            return True
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            if expr() and pos < len(tokens) and tokens[pos] == ")":
                pos += 1
                return True
        return False

    def expr() -> bool:
        nonlocal pos
        if not term():
            return False
        while pos < len(tokens) and tokens[pos] in PRECEDENCE:
            pos += 1
            if not term():
                return False
        return True

    return expr() and pos == len(tokens)


def valid_reductions(tokens: Sequence[str], p: int) -> list[list[str]]:
    """Every expression reachable by evaluating one operator whose operands are numbers and
    whose neighbours allow it: the operator on the left binds strictly weaker (or is ``(``
    / the start), the one on the right no stronger (left associativity)."""
    out = []
    for i in range(1, len(tokens) - 1):
        op = tokens[i]
        if op not in PRECEDENCE or not (is_number(tokens[i - 1]) and is_number(tokens[i + 1])):
            continue
        before = tokens[i - 2] if i >= 2 else "("
        after = tokens[i + 2] if i + 2 < len(tokens) else ")"
        if before in PRECEDENCE and PRECEDENCE[before] >= PRECEDENCE[op]:
            continue
        if after in PRECEDENCE and PRECEDENCE[after] > PRECEDENCE[op]:
            continue
        value = apply(op, int(tokens[i - 1]), int(tokens[i + 1]), p)
        if value is None:
            continue
        start, stop = i - 1, i + 2
        if before == "(" and after == ")" and i >= 2 and i + 2 < len(tokens):
            start, stop = start - 1, stop + 1  # "( v )" -> "v"
        out.append([*tokens[:start], str(value), *tokens[stop:]])
    return out


def verify(problem: Sequence[str], steps: Sequence[Sequence[str]], answer: Sequence[str],
           params: ArithmeticParams) -> tuple[bool, str]:
    """Check a chain of thought (may be empty: direct format) and the answer.

    Every step must be a valid one-operator reduction of the previous expression, the
    last step a single number, and the answer that number. With no steps, the answer is
    checked by reducing the problem here."""
    p = params.modulus
    if not well_formed(problem, p):
        return False, "problem is not a well-formed expression"
    current = list(problem)
    for k, step in enumerate(steps):
        if list(step) not in valid_reductions(current, p):
            return False, f"step {k + 1} is not a one-operator reduction of the previous expression"
        current = list(step)
    while not steps and len(current) > 1:  # direct format: derive the value here
        reductions = valid_reductions(current, p)
        if not reductions:
            return False, "the problem divides by zero"
        current = reductions[0]
    if len(current) != 1:
        return False, "the steps stop before a single number"
    if list(answer) != current:
        return False, f"answer {' '.join(answer)} differs from the derived value {current[0]}"
    return True, "ok"
