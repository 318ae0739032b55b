"""Regenerate docs/images/: one SVG per example flow, drawn by `flowc render`.

    .venv/bin/python scripts/render_docs.py            # write docs/images/<example>.svg
    .venv/bin/python scripts/render_docs.py --check    # exit 1 if an image is missing or stale

Each image is exactly what ``flowc render examples/<dir>/<name>.flow -o docs/images/<name>.svg``
writes (the real CLI, in a subprocess, run from the repository root so that file names in the
pictures are relative). Text widths come from the fonts installed on the machine, so an image
drawn elsewhere may differ by a few pixels; the DOT text itself is pinned by the golden tests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"


def draw(flow: Path, out: Path) -> None:
    command = [sys.executable, "-m", "flowc.cli", "render", str(flow.relative_to(ROOT))]
    result = subprocess.run(
        [*command, "-o", str(out)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"flowc render {flow.relative_to(ROOT)} failed:\n{result.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale images, write none")
    args = parser.parse_args()
    flows = sorted(ROOT.glob("examples/*/*.flow"))
    IMAGES.mkdir(parents=True, exist_ok=True)
    stale = []
    with tempfile.TemporaryDirectory() as scratch:
        for flow in flows:
            target = IMAGES / f"{flow.stem}.svg"
            drawn = Path(scratch) / target.name
            draw(flow, drawn)
            if not target.exists() or target.read_bytes() != drawn.read_bytes():
                stale.append(target)
                if not args.check:
                    target.write_bytes(drawn.read_bytes())
    for target in stale:
        verb = "stale" if args.check else "wrote"
        print(f"{verb} {target.relative_to(ROOT)}", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
