"""Provenance of the paper presets (issue "Reproductions you can see").

Every setting a ``paper`` preset uses -- the keys of ``[presets.paper...]`` (and of any other
``*_paper`` preset, e.g. ``hinting_paper``) and the base-table keys such a preset inherits without
overriding -- must end in a trailing comment ``# source: <where>`` or ``# guess: <why>``.
docs/papers.md, section "Provenance of the paper presets", lists the same settings per file in a
table (setting, value, where from, guess?) that must match the TOML comments exactly.

The TOML is read as text (comments are not part of tomllib's data); tomllib is used only to
check that the files parse and to tell which base keys a paper preset overrides.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.toml"))
PAPERS_MD = ROOT / "docs" / "papers.md"
SECTION = "## Provenance of the paper presets"
META_KEYS = {"kind", "description", "default_preset"}  # documentation / dispatch, not settings
MARKER = re.compile(r"^#\s*(source|guess):\s*(\S.*?)\s*$")


@dataclass(frozen=True)
class Setting:
    path: str  # the key's full TOML path, e.g. "train.steps" or "presets.paper.train.log_every"
    value: str  # the value as written, whitespace collapsed
    kind: str | None  # "source", "guess", or None when the line has no provenance comment
    note: str  # the comment text after "source:" / "guess:" ("" when kind is None)
    line: int


def is_paper_preset(name: str) -> bool:
    return name == "paper" or name.endswith("_paper")


def _split_comment(line: str) -> tuple[str, str]:
    """(code, comment) of one TOML line; a ``#`` inside a quoted string is not a comment."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == "\\" and quote == '"':
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i], line[i:].strip()
    return line, ""


def _depth(code: str) -> int:
    """Net count of open brackets/braces in ``code`` (strings skipped)."""
    depth, quote = 0, None
    for ch in code:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


def _key_parts(text: str) -> list[str]:
    return [part.strip().strip('"').strip("'") for part in text.split(".")]


def parse_settings(text: str) -> list[Setting]:
    """Every ``key = value`` of a TOML text with its full path and trailing provenance comment.

    A multi-line value (an array over several lines) takes the comment of its last line."""
    settings: list[Setting] = []
    table: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        code, comment = _split_comment(lines[i])
        start = i
        stripped = code.strip()
        i += 1
        if not stripped:
            continue
        if stripped.startswith("["):
            table = _key_parts(stripped.strip("[]"))
            continue
        if "=" not in stripped:
            continue
        key, value = (s.strip() for s in stripped.split("=", 1))
        depth = _depth(value)
        while depth > 0 and i < len(lines):
            more, comment = _split_comment(lines[i])
            value += " " + more.strip()
            depth += _depth(more)
            i += 1
        value = re.sub(r"\s+", " ", value).replace("[ ", "[").replace(" ]", "]")
        match = MARKER.match(comment)
        kind, note = (match.group(1), match.group(2)) if match else (None, "")
        settings.append(Setting(".".join(table + _key_parts(key)), value, kind, note, start + 1))
    return settings


def _has_path(data: dict, parts: list[str]) -> bool:
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def provenance_settings(text: str) -> list[Setting]:
    """The settings the paper preset(s) of one experiment file use: every key of a
    ``[presets.<paper>...]`` table, and every base key at least one paper preset inherits."""
    data = tomllib.loads(text)
    presets = data.get("presets", {})
    overlays = []
    for name, overlay in presets.items():
        if is_paper_preset(name):
            overlay = dict(overlay)
            while "extends" in overlay:  # lay the preset over the one it extends
                base = dict(presets[overlay.pop("extends")])
                base.update(overlay)
                overlay = base
            overlays.append(overlay)
    chosen = []
    for setting in parse_settings(text):
        parts = setting.path.split(".")
        if parts[0] == "presets":
            if len(parts) > 2 and is_paper_preset(parts[1]):
                chosen.append(setting)
        elif not (len(parts) == 1 and parts[0] in META_KEYS):
            if overlays and any(not _has_path(o, parts) for o in overlays):
                chosen.append(setting)
    return chosen


def missing_provenance(text: str) -> list[str]:
    """``"line N: path"`` for each paper-preset setting without a source/guess comment."""
    return [f"line {s.line}: {s.path}" for s in provenance_settings(text) if s.kind is None]


def docs_tables(markdown: str) -> dict[str, list[tuple[str, str, str, str]]]:
    """The provenance section's tables: file name -> rows (setting, value, where from, guess?)."""
    start = markdown.index(SECTION)
    end = markdown.find("\n## ", start + len(SECTION))
    section = markdown[start: end if end != -1 else len(markdown)]
    tables: dict[str, list[tuple[str, str, str, str]]] = {}
    current = None
    for line in section.splitlines():
        heading = re.match(r"^### `experiments/([\w.-]+\.toml)`", line)
        if heading:
            current = heading.group(1)
            tables[current] = []
            continue
        if current is None or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("setting", "") or set(cells[0]) <= set("-: "):
            continue
        tables[current].append((cells[0].strip("`"), cells[1].strip("`"), cells[2], cells[3]))
    return tables


def docs_counts(markdown: str) -> dict[str, tuple[int, int, int]]:
    """The "N settings: S sourced, G guesses." line under each file's heading."""
    section = markdown[markdown.index(SECTION):]
    pattern = r"### `experiments/([\w.-]+\.toml)`\s+(\d+) settings: (\d+) sourced, (\d+) guess"
    return {m.group(1): tuple(int(m.group(i)) for i in (2, 3, 4)) for m in re.finditer(pattern, section)}


def as_doc_row(setting: Setting) -> tuple[str, str, str, str]:
    return (setting.path, setting.value, setting.note, "yes" if setting.kind == "guess" else "no")


# ----------------------------------------------------------------------------- the checks


def test_every_experiment_file_is_checked():
    assert len(EXPERIMENTS) >= 14
    for path in EXPERIMENTS:
        tomllib.loads(path.read_text())  # still valid TOML after the comments


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_paper_preset_settings_name_their_provenance(path):
    text = path.read_text()
    assert provenance_settings(text), f"{path.name}: no paper-preset settings found"
    missing = missing_provenance(text)
    assert not missing, f"{path.name}: settings without '# source:' or '# guess:': {missing}"
    for s in provenance_settings(text):
        assert "|" not in s.note and "`" not in s.note, f"{path.name} {s.path}: '|' or '`' in the comment"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_docs_provenance_table_matches_the_toml(path):
    tables = docs_tables(PAPERS_MD.read_text())
    assert path.name in tables, f"docs/papers.md has no provenance table for {path.name}"
    toml_rows = {s.path: as_doc_row(s) for s in provenance_settings(path.read_text())}
    doc_rows = {row[0]: row for row in tables[path.name]}
    toml_guesses = {p for p, row in toml_rows.items() if row[3] == "yes"}
    doc_guesses = {p for p, row in doc_rows.items() if row[3] == "yes"}
    assert toml_guesses == doc_guesses, (
        f"{path.name}: guesses in the TOML only: {sorted(toml_guesses - doc_guesses)}; "
        f"in docs/papers.md only: {sorted(doc_guesses - toml_guesses)}")
    assert set(toml_rows) == set(doc_rows), (
        f"{path.name}: settings in the TOML only: {sorted(set(toml_rows) - set(doc_rows))}; "
        f"in docs/papers.md only: {sorted(set(doc_rows) - set(toml_rows))}")
    for key, row in toml_rows.items():
        assert doc_rows[key] == row, f"{path.name} {key}: TOML says {row}, docs/papers.md says {doc_rows[key]}"
    n_guess = len(toml_guesses)
    counts = (len(toml_rows), len(toml_rows) - n_guess, n_guess)
    assert docs_counts(PAPERS_MD.read_text()).get(path.name) == counts, (
        f"{path.name}: docs/papers.md should say '{counts[0]} settings: {counts[1]} sourced, {counts[2]} guesses.'")


# ----------------------------------------------------------------------------- self-tests

SNIPPET = """\
kind = "regression"
[task]
d = 20  # source: a paper, section 3
n_points = 41
tasks = ["a",
         "b"]  # guess: a lab choice
[train]
steps = 5
[presets.quick.train]
steps = 1
[presets.paper.train]
steps = 500000
log_every = 500  # guess: bookkeeping
[presets.hinting_paper]
seeds = [0, 1]  # source: somewhere # with a hash
"""


def test_self_test_reports_settings_without_a_comment():
    settings = {s.path: s for s in provenance_settings(SNIPPET)}
    # train.steps is overridden by [presets.paper] but inherited by hinting_paper, so it counts;
    # the quick preset and the meta key `kind` do not.
    assert set(settings) == {"task.d", "task.n_points", "task.tasks", "train.steps",
                             "presets.paper.train.steps", "presets.paper.train.log_every",
                             "presets.hinting_paper.seeds"}
    assert settings["task.tasks"].value == '["a", "b"]' and settings["task.tasks"].kind == "guess"
    assert settings["presets.hinting_paper.seeds"].note == "somewhere # with a hash"
    assert missing_provenance(SNIPPET) == ["line 4: task.n_points", "line 8: train.steps",
                                           "line 12: presets.paper.train.steps"]


def test_self_test_base_keys_overridden_by_every_paper_preset_are_not_required():
    text = "[task]\nd = 5\nseed = 0\n[presets.paper.task]\nd = 10  # guess: lab\n"
    assert missing_provenance(text) == ["line 3: task.seed"]


def test_self_test_docs_mismatch_is_caught():
    markdown = (f"# x\n{SECTION}\n\n### `experiments/x.toml`\n\n| setting | value | where from | guess? |\n"
                "|---|---|---|---|\n| `task.d` | `20` | a paper, section 3 | yes |\n\n## Next\n"
                "| `task.n` | `1` | not in the section | no |\n")
    rows = docs_tables(markdown)["x.toml"]
    assert rows == [("task.d", "20", "a paper, section 3", "yes")]
    toml_row = as_doc_row(provenance_settings("[task]\nd = 20  # source: a paper, section 3\n"
                                              "[presets.paper]\n")[0])
    assert toml_row != rows[0]  # source in the TOML, guess in the docs: the check would fail
