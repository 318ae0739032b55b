"""Every error code flowc raises is documented in docs/errors.md, and nothing there is stale."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"\"(F\d{3})\"")


def _codes_in_source() -> set[str]:
    return {
        code for path in (ROOT / "flowc").rglob("*.py") for code in CODE.findall(path.read_text())
    }


def _codes_documented() -> set[str]:
    text = (ROOT / "docs" / "errors.md").read_text()
    return set(re.findall(r"^\| (F\d{3}) \|", text, flags=re.M))


def test_every_code_raised_is_documented() -> None:
    assert sorted(_codes_in_source() - _codes_documented()) == []


def test_no_documented_code_is_stale() -> None:
    assert sorted(_codes_documented() - _codes_in_source()) == []


def test_codes_keep_to_their_ranges_by_error_family() -> None:
    from flowc.errors import FlowBuildError, FlowCheckError, FlowRuntimeError, FlowSyntaxError

    assert FlowSyntaxError.default_code.startswith("F1")
    assert FlowCheckError.default_code.startswith("F2")
    assert FlowBuildError.default_code.startswith("F4")
    assert FlowRuntimeError.default_code.startswith("F5")
