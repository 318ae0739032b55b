"""`flowc render` through the real CLI in a subprocess, including with no Graphviz binary on
PATH (pygraphviz's bundled Graphviz must be enough for SVG)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/lang/every_construct.flow"
SVG = "{http://www.w3.org/2000/svg}"
GRAPHVIZ_BINARIES = ("dot", "neato", "circo", "fdp", "sfdp", "twopi")


def flowc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "flowc.cli", *args],
        capture_output=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


def path_without_graphviz() -> str:
    """PATH minus every directory holding a Graphviz binary."""
    kept = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not any(Path(d, name).exists() for name in GRAPHVIZ_BINARIES)
    ]
    return os.pathsep.join(kept)


def node_titles(svg: bytes, css_class: str) -> set[str]:
    titles = set()
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        if css_class in group.get("class", "").split():
            title = group.find(f"{SVG}title")
            if title is not None:
                titles.add(title.text)
    return titles


def test_svg_renders_with_no_graphviz_binary_on_path(tmp_path: Path):
    env = {**os.environ, "PATH": path_without_graphviz()}
    probe = subprocess.run(
        [sys.executable, "-c", "import shutil; print(shutil.which('dot'))"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "None"  # the subprocess really cannot find `dot`
    out = tmp_path / "flow.svg"
    result = flowc("render", str(EXAMPLE), "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert f"wrote {out}".encode() in result.stderr
    svg = out.read_bytes()
    assert {"make_prompts", "try_all/gpt4", "try_all/ask_o1"} <= node_titles(svg, "action")
    assert node_titles(svg, "map") == {"cluster_try_all"}


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_png_and_pdf_are_chosen_by_the_output_suffix(tmp_path: Path, suffix: str, magic: bytes):
    out = tmp_path / f"flow{suffix}"
    result = flowc("render", str(EXAMPLE), "-o", str(out))
    assert result.returncode == 0, result.stderr.decode()
    assert out.read_bytes().startswith(magic)


def test_dot_output_honours_depth_rankdir_and_show_state(tmp_path: Path):
    out = tmp_path / "flow.dot"
    args = ("render", str(EXAMPLE), "-o", str(out), "--depth", "0", "--rankdir", "TB")
    result = flowc(*args, "--show-state")
    assert result.returncode == 0, result.stderr.decode()
    dot = out.read_text()
    assert dot.startswith("digraph prompt_lab {")
    assert "rankdir=TB" in dot and "writes prompts" in dot
    assert "cluster_try_all/riddle" not in dot and '"try_all/riddle"' in dot


def test_dash_writes_to_stdout_and_format_overrides_the_default(tmp_path: Path):
    result = flowc("render", str(EXAMPLE), "-o", "-", "--format", "dot")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.startswith(b"digraph prompt_lab {")


def test_without_output_the_picture_goes_next_to_the_file(tmp_path: Path):
    flow = tmp_path / "tiny.flow"
    flow.write_text("action a = m:f\nstart -> a -> end\n")
    result = flowc("render", str(flow))
    assert result.returncode == 0, result.stderr.decode()
    assert node_titles((tmp_path / "tiny.svg").read_bytes(), "action") == {"a"}


def test_a_syntax_error_is_reported_with_its_location_and_exit_1(tmp_path: Path):
    flow = tmp_path / "broken.flow"
    flow.write_text("action a = \nstart -> a\n")
    result = flowc("render", str(flow), "-o", str(tmp_path / "x.svg"))
    assert result.returncode == 1
    assert re.search(rb"broken\.flow:\d+:\d+: error\[F1\d\d\]", result.stderr), result.stderr
    assert b"Traceback" not in result.stderr
    assert not (tmp_path / "x.svg").exists()


def test_an_unknown_suffix_is_an_error_naming_the_formats(tmp_path: Path):
    result = flowc("render", str(EXAMPLE), "-o", str(tmp_path / "flow.gif"))
    assert result.returncode == 1
    assert b"F461" in result.stderr and b"svg, png, pdf, dot" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path):
    assert flowc("render", str(EXAMPLE), "--depth", "-1").returncode == 2
    assert flowc("render", str(EXAMPLE), "--rankdir", "RL").returncode == 2
    assert flowc("render", str(EXAMPLE), "--run", "x").returncode == 2


def test_asking_for_the_dot_binary_when_there_is_none_says_what_to_install(tmp_path: Path):
    env = {**os.environ, "PATH": path_without_graphviz()}
    args = ("render", str(EXAMPLE), "-o", str(tmp_path / "f.svg"), "--renderer", "dot")
    result = flowc(*args, env=env)
    assert result.returncode == 1
    assert b"F460" in result.stderr and b"pip install" in result.stderr
    assert b"apt-get install graphviz" in result.stderr


def test_run_overlay_from_a_tracking_directory(tmp_path: Path):
    flow = tmp_path / "two.flow"
    flow.write_text("action a = m:f\naction b = m:g\nstart -> a -> b -> end\n")
    track_runs(tmp_path / "track", "proj", {"r1": ["a"]})
    out = tmp_path / "run.svg"
    args = ("render", str(flow), "-o", str(out), "--run", "r1", "--track", str(tmp_path / "track"))
    result = flowc(*args)
    assert result.returncode == 0, result.stderr.decode()
    svg = out.read_bytes()
    assert node_titles(svg, "status-done") == {"a"}
    assert node_titles(svg, "status-not-reached") == {"b"}
    missing = flowc(*args[:-4], "--run", "nope", "--track", str(tmp_path / "track"))
    assert missing.returncode == 1 and b"F464" in missing.stderr


def track_runs(storage: Path, project: str, runs: dict[str, list[str]]) -> None:
    """Record ``runs`` (app id -> the actions it ran, in order), oldest first."""
    from flowc.runtime.tracking import LocalTrackingClient

    tracker = LocalTrackingClient(project, storage_dir=storage)
    for app_id, actions in runs.items():
        tracker.post_application_create(app_id=app_id, partition_key=None, state={})
        for number, action in enumerate(actions):
            tracker.pre_run_step(app_id=app_id, sequence_id=number, action=action, inputs={})
            tracker.post_run_step(
                app_id=app_id, sequence_id=number, action=action, state={}, result={}
            )
        time.sleep(0.01)  # distinct creation times
    tracker.close()


def test_track_without_run_draws_the_newest_run_of_the_flows_project(tmp_path: Path):
    flow = tmp_path / "two.flow"
    flow.write_text("flow two\naction a = m:f\naction b = m:g\nstart -> a -> b -> end\n")
    track_runs(tmp_path / "track", "two", {"old": ["a"], "new": ["a", "b"]})
    track_runs(tmp_path / "track", "other", {"unrelated": ["x"]})
    out = tmp_path / "run.svg"
    result = flowc("render", str(flow), "-o", str(out), "--track", str(tmp_path / "track"))
    assert result.returncode == 0, result.stderr.decode()
    assert b"drawing the newest run, new (of 2" in result.stderr
    assert node_titles(out.read_bytes(), "status-done") == {"a", "b"}
    project_dir = flowc("render", str(flow), "-o", str(out), "--track", str(tmp_path / "track/two"))
    assert project_dir.returncode == 0 and b"newest run, new" in project_dir.stderr


def test_track_without_runs_of_the_flow_names_the_projects_there(tmp_path: Path):
    flow = tmp_path / "two.flow"
    flow.write_text("flow two\naction a = m:f\nstart -> a -> end\n")
    track_runs(tmp_path / "track", "other", {"r1": ["x"]})
    result = flowc(
        "render", str(flow), "-o", str(tmp_path / "r.svg"), "--track", str(tmp_path / "track")
    )
    assert result.returncode == 1
    assert b"F464" in result.stderr and b"projects there: other" in result.stderr


def flowc_without_pygraphviz(*args: str, path: str) -> subprocess.CompletedProcess[bytes]:
    """The CLI in a process where pygraphviz cannot be imported (a platform without wheels)."""
    code = (
        "import sys; sys.modules['pygraphviz'] = None\n"
        "from flowc.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "PATH": path}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, timeout=120, env=env, cwd=ROOT
    )


def test_without_pygraphviz_or_dot_the_error_says_what_to_install(tmp_path: Path):
    result = flowc_without_pygraphviz(
        "render", str(EXAMPLE), "-o", str(tmp_path / "f.svg"), path=path_without_graphviz()
    )
    assert result.returncode == 1
    assert b"F460" in result.stderr and b"pygraphviz cannot be imported" in result.stderr
    assert b"pip install 'pygraphviz" in result.stderr and b"Traceback" not in result.stderr
    dot = flowc_without_pygraphviz(
        "render", str(EXAMPLE), "-o", str(tmp_path / "f.dot"), path=path_without_graphviz()
    )
    assert dot.returncode == 0 and (tmp_path / "f.dot").read_text().startswith("digraph")


@pytest.fixture
def dot_on_path(tmp_path: Path) -> Path:
    """A directory holding a `dot` that speaks dot's command line (``-Tsvg``, DOT on stdin) and
    draws with real Graphviz (pygraphviz's), standing in for a system Graphviz install."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dot = bin_dir / "dot"
    dot.write_text(
        f"#!{sys.executable}\n"
        "import sys, pygraphviz\n"
        "fmt = sys.argv[1].removeprefix('-T')\n"
        "graph = pygraphviz.AGraph(string=sys.stdin.read())\n"
        "sys.stdout.buffer.write(graph.draw(format=fmt, prog='dot'))\n"
    )
    dot.chmod(0o755)
    return bin_dir


def test_without_pygraphviz_the_system_dot_is_used_and_the_fallback_is_said(
    tmp_path: Path, dot_on_path: Path
):
    out = tmp_path / "f.svg"
    path = os.pathsep.join([str(dot_on_path), path_without_graphviz()])
    result = flowc_without_pygraphviz("render", str(EXAMPLE), "-o", str(out), path=path)
    assert result.returncode == 0, result.stderr.decode()
    assert b"note: pygraphviz cannot be imported" in result.stderr
    assert f"drawing with dot ({dot_on_path / 'dot'})".encode() in result.stderr
    assert "make_prompts" in node_titles(out.read_bytes(), "action")


def test_renderer_dot_uses_the_system_dot_even_with_pygraphviz(tmp_path: Path, dot_on_path: Path):
    out = tmp_path / "f.png"
    env = {**os.environ, "PATH": os.pathsep.join([str(dot_on_path), path_without_graphviz()])}
    result = flowc("render", str(EXAMPLE), "-o", str(out), "--renderer", "dot", env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert b"note:" not in result.stderr
    assert out.read_bytes().startswith(b"\x89PNG")
