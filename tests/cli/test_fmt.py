"""`flowc fmt` and `flowc --version` through the real console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flowc import __version__


def flowc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowc.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_version():
    result = flowc("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"flowc {__version__}"


def test_fmt_rewrites_files_in_canonical_layout(tmp_path: Path):
    path = tmp_path / "a.flow"
    path.write_text("action   a=f reads  x # note\n")
    result = flowc("fmt", str(path))
    assert result.returncode == 0, result.stderr
    assert path.read_text() == "action a = f reads x  # note\n"
    assert f"reformatted {path}" in result.stderr


def test_fmt_check_changes_nothing_and_exits_1_when_a_file_would_change(tmp_path: Path):
    messy, tidy = tmp_path / "messy.flow", tmp_path / "tidy.flow"
    messy.write_text("a->b\n")
    tidy.write_text("a -> b\n")
    result = flowc("fmt", "--check", str(messy), str(tidy))
    assert result.returncode == 1
    assert messy.read_text() == "a->b\n"
    assert f"would reformat {messy}" in result.stderr
    assert str(tidy) not in result.stderr
    assert flowc("fmt", "--check", str(tidy)).returncode == 0


def test_fmt_reports_syntax_errors_without_a_traceback(tmp_path: Path):
    path = tmp_path / "bad.flow"
    path.write_text("acton a = f\n")
    result = flowc("fmt", str(path))
    assert result.returncode == 1
    assert f"{path}:1:1: error[F105]: unknown word `acton`" in result.stderr
    assert "did you mean `action`?" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_text() == "acton a = f\n"


def test_fmt_reports_binary_and_missing_files(tmp_path: Path):
    binary = tmp_path / "x.flow"
    binary.write_bytes(b"\x7fELF\x00\x01")
    result = flowc("fmt", str(binary), str(tmp_path / "missing.flow"))
    assert result.returncode == 1
    assert "error[F101]" in result.stderr and "binary" in result.stderr
    assert "cannot read" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2():
    assert flowc().returncode == 2
    assert flowc("fmt").returncode == 2
