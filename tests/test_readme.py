"""The README keeps the promises users read first: two commands, the default criteria as the code has them."""

from __future__ import annotations

from pathlib import Path

from imaging.classification import DEFAULT_DESCRIPTION

README = Path(__file__).resolve().parents[1] / "README.md"


def _first_code_block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_the_run_and_test_commands() -> None:
    run, test = _first_code_block()
    assert "bonemuscle analyze sample_dicoms" in run and "torch==2.13.0" in run
    assert "pytest" in test and "torch==2.13.0" in test


def test_readme_states_the_default_criteria_set_the_code_uses() -> None:
    assert f"> {DEFAULT_DESCRIPTION}" in README.read_text(encoding="utf-8")
