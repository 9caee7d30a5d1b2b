"""The wheel: it carries the chart, and an installed lain renders an app with it, away from the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from lain_cli import __version__

REPO = Path(__file__).resolve().parent.parent
CHART_FILES = sorted(
    str(p.relative_to(REPO)).replace("chart_template", "lain_cli/chart_template", 1)
    for p in (REPO / "chart_template").rglob("*")
    if p.is_file()
)


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{argv} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-q", "-w", str(out), str(REPO)])
    (built,) = out.glob("lain-*.whl")
    return built


def test_wheel_carries_the_chart_and_the_entry_point(wheel: Path) -> None:
    assert wheel.name == f"lain-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    assert CHART_FILES and set(CHART_FILES) <= names, set(CHART_FILES) - names
    assert "lain_cli/commands/completion.py" in names
    entry_points = zipfile.ZipFile(wheel).read(f"lain-{__version__}.dist-info/entry_points.txt").decode()
    assert "lain = lain_cli.cli:main" in entry_points
    assert not any(n.startswith(("tests/", "examples/", "docs/")) for n in names)


def test_installed_wheel_renders_an_app_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # lain's dependencies come from the test environment (appended to sys.path, so the
    # venv's own lain_cli wins and the checkout's editable install is never seen);
    # lain itself only from the wheel
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "-q", str(wheel)])
    lain = venv / "bin" / "lain"

    app = tmp_path / "dummy"
    shutil.copytree(REPO / "examples" / "dummy", app)
    # helm as `make setup` installed it for the tests (the new venv has none of its own)
    helm = os.environ.get("LAIN_HELM") or str(Path(sys.prefix) / "bin" / "helm")
    env = {**os.environ, "PYTHONPATH": "", "NO_COLOR": "1", "LAIN_HELM": helm}
    assert run([str(lain), "--version"], cwd=app, env=env).stdout.strip() == f"lain {__version__}"
    where = run([str(python), "-c", "from lain_cli import chart; print(chart.template_dir())"], cwd=app, env=env)
    assert Path(where.stdout.strip()) == site / "lain_cli" / "chart_template"
    rendered = run([str(lain), "template", "--set", "imageTag=1a2b3c4"], cwd=app, env=env).stdout
    for text in ("name: dummy-web-dev", "name: dummy-migration", "name: dummy-test-smoke", 'image: "dummy:1a2b3c4"'):
        assert text in rendered
