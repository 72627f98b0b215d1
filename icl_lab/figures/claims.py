"""Claims: a paper's statement as a predicate over a figure's results, checked to a verdict.

A claim reduces the results dict of a figure to one number (``value``) and compares it with a
threshold. Three kinds cover the papers' statements:

- :class:`AtMost`  — the number is ≤ a bound   ("the error at k = 2d is ≤ 0.05");
- :class:`AtLeast` — the number is ≥ a bound   ("accuracy at 2L is ≥ 90%");
- :class:`Within`  — |number − target| ≤ tol   ("within 10% of Thompson sampling": the number is
  the ratio, the target 1, the tolerance 0.1).

Verdicts: ``PASS`` when the predicate holds; ``NOT-AT-THIS-SCALE`` when it fails at a preset
the claim names as too small for the effect (``shows_at`` lists the presets where the paper's
effect is expected, and ``scale_note`` says why); ``FAIL`` otherwise, with the reason. A value
that cannot be computed (missing key, NaN) is a FAIL: a claim never passes by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

PASS, FAIL, NOT_AT_SCALE = "PASS", "FAIL", "NOT-AT-THIS-SCALE"
_SEVERITY = {PASS: 0, NOT_AT_SCALE: 1, FAIL: 2}
FULL_SCALE = ("quick", "cpu", "paper")  # presets sized to show an effect; smoke only checks plumbing


@dataclass(frozen=True)
class Claim:
    """One statement about a figure's results.

    ``statement`` is the paper's claim in words with the lab's threshold; ``value`` computes the
    lab's number from the results; ``paper_value`` is the paper's own number (text, may be empty
    when the paper reports none); ``shows_at`` the presets at which the effect is expected.
    """

    statement: str
    value: Callable[[dict], float]
    paper_value: str = ""
    shows_at: tuple[str, ...] = FULL_SCALE
    scale_note: str = ""
    fmt: str = ".3g"

    def holds(self, x: float) -> bool:  # pragma: no cover - every kind overrides
        raise NotImplementedError

    def threshold(self) -> str:  # pragma: no cover - every kind overrides
        raise NotImplementedError

    def check(self, results: dict, preset: str) -> ClaimCheck:
        """The verdict of this claim on ``results`` computed at ``preset``."""
        try:
            x = float(self.value(results))
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as e:
            return ClaimCheck(self.statement, None, self.paper_value, FAIL, f"no value: {type(e).__name__}: {e}")
        if not math.isfinite(x):
            return ClaimCheck(self.statement, x, self.paper_value, FAIL, f"value is {x}")
        shown = f"{x:{self.fmt}} (needs {self.threshold()})"
        if self.holds(x):
            return ClaimCheck(self.statement, x, self.paper_value, PASS, shown)
        if preset not in self.shows_at:
            note = self.scale_note or f"the effect is expected at {', '.join(self.shows_at)} scale"
            return ClaimCheck(self.statement, x, self.paper_value, NOT_AT_SCALE, f"{shown}; {note}")
        return ClaimCheck(self.statement, x, self.paper_value, FAIL, shown)


@dataclass(frozen=True)
class AtMost(Claim):
    """Holds when the value is ≤ ``bound``."""

    bound: float = 0.0

    def holds(self, x: float) -> bool:
        return x <= self.bound

    def threshold(self) -> str:
        return f"≤ {self.bound:{self.fmt}}"


@dataclass(frozen=True)
class AtLeast(Claim):
    """Holds when the value is ≥ ``bound``."""

    bound: float = 0.0

    def holds(self, x: float) -> bool:
        return x >= self.bound

    def threshold(self) -> str:
        return f"≥ {self.bound:{self.fmt}}"


@dataclass(frozen=True)
class Within(Claim):
    """Holds when |value − ``target``| ≤ ``tol``."""

    target: float = 0.0
    tol: float = 0.0

    def holds(self, x: float) -> bool:
        return abs(x - self.target) <= self.tol + 1e-12 * max(1.0, abs(self.target))  # inclusive, float-safe

    def threshold(self) -> str:
        return f"{self.target:{self.fmt}} ± {self.tol:{self.fmt}}"


@dataclass(frozen=True)
class ClaimCheck:
    """A checked claim: the lab's number beside the paper's, with the verdict and its reason."""

    statement: str
    lab_value: float | None
    paper_value: str
    verdict: str
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"claim": self.statement, "verdict": self.verdict, "lab_value": self.lab_value,
                "paper_value": self.paper_value, "reason": self.reason}


def check_claims(claims: tuple[Claim, ...] | list[Claim], results: dict, preset: str) -> list[ClaimCheck]:
    """Every claim checked on ``results``; at least one claim is required."""
    if not claims:
        raise ValueError("a figure needs at least one claim")
    return [c.check(results, preset) for c in claims]


def overall_verdict(checks: list[ClaimCheck]) -> str:
    """The worst verdict: any FAIL fails the figure; else any NOT-AT-THIS-SCALE; else PASS."""
    return max((c.verdict for c in checks), key=_SEVERITY.__getitem__)
