"""`lain completion`: click's scripts for bash, zsh and fish, and completion through the entry point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LAIN = str(Path(sys.prefix) / "bin" / "lain")


def lain(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LAIN, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F _lain_completion lain"), ("zsh", "#compdef lain"),
     ("fish", "complete --no-files --command lain")],
)
def test_script_for_each_shell_calls_back_into_lain(shell: str, marker: str) -> None:
    result = lain("completion", shell)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert f"_LAIN_COMPLETE={shell}_complete" in result.stdout


def test_unknown_shell_is_a_usage_error() -> None:
    result = lain("completion", "tcsh")
    assert result.returncode == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr


def _complete(words: str, cword: int) -> list[str]:
    result = lain(env={"_LAIN_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_entry_point_completes_command_names_lazily_registered() -> None:
    assert _complete("lain up", 1) == ["plain,update-image"]
    assert "plain,completion" in _complete("lain ", 1)


def test_entry_point_completes_a_commands_options_and_choices() -> None:
    options = _complete("lain deploy --", 2)
    assert "plain,--build" in options and "plain,--timeout" in options
    assert _complete("lain completion ", 2) == ["plain,bash", "plain,zsh", "plain,fish"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_script_completes_in_a_real_bash(tmp_path: Path) -> None:
    script = (
        'source <(lain completion bash)\n'
        'COMP_WORDS=(lain roll); COMP_CWORD=1\n'
        '_lain_completion lain\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{Path(LAIN).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["rollback"]


def _complete_in(root: Path, words: str, env: dict[str, str] | None = None) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = subprocess.run([LAIN], cwd=root, capture_output=True, text=True, timeout=60,
                            env={**os.environ, **(env or {}), "_LAIN_COMPLETE": "bash_complete",
                                 "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # completion never prints a warning into the command line
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


@pytest.fixture
def app_dir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "app"
    (root / "chart" / "clusters").mkdir(parents=True)
    (root / "chart" / "values.yaml").write_text(
        "appname: shop\n"
        "deployments:\n  web: {}\n  worker: {}\n"
        "statefulSets:\n  db: {}\n"
        "jobs:\n  migrate: {}\n"
        "cronjobs:\n  nightly: {}\n"
        "tests:\n  smoke: {}\n"
    )
    (root / "chart" / "values-prod.yaml").write_text("jobs:\n  prodonly: {}\n")
    (root / "extra.yaml").write_text("cronjobs:\n  weekly: {}\n")
    for name in ("dev", "prod", "prod-eu"):
        (root / "chart" / "clusters" / f"{name}.yaml").write_text("namespace: default\n")
    home = tmp_path / "home"
    home.mkdir()
    # no cluster call can happen: the kubeconfig and tools point nowhere
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "LAIN_CLUSTERS_DIR": str(tmp_path / "none"),
           "KUBECONFIG": str(tmp_path / "missing"), "LAIN_HELM": "/nonexistent", "LAIN_KUBECTL": "/nonexistent"}
    os.environ.pop("LAIN_CLUSTER", None)
    return root, env


def test_cluster_names_for_use_and_the_cluster_option(app_dir: tuple[Path, dict[str, str]]) -> None:
    root, env = app_dir
    assert _complete_in(root, "lain use ", env) == ["dev", "prod", "prod-eu"]
    assert _complete_in(root, "lain use pr", env) == ["prod", "prod-eu"]
    assert _complete_in(root, "lain --cluster d", env) == ["dev"]
    assert _complete_in(root, "lain deploy --cluster prod-", env) == ["prod-eu"]


def test_procs_jobs_and_cronjobs_from_the_values(app_dir: tuple[Path, dict[str, str]]) -> None:
    root, env = app_dir
    assert _complete_in(root, "lain logs ", env) == ["web", "worker", "db", "migrate", "nightly", "smoke"]
    assert _complete_in(root, "lain x ", env) == ["web", "worker", "db"]
    assert _complete_in(root, "lain x w", env) == ["web", "worker"]
    assert _complete_in(root, "lain update-image web ", env) == ["web", "worker", "db", "migrate", "nightly"]
    # the cluster's values file and -f files add theirs
    assert "prodonly" in _complete_in(root, "lain --cluster prod logs ", env)
    assert "prodonly" in _complete_in(root, "lain logs ", {**env, "LAIN_CLUSTER": "prod"})
    assert "prodonly" not in _complete_in(root, "lain logs ", env)
    assert _complete_in(root, "lain -f extra.yaml logs week", env) == ["weekly"]


def test_a_broken_values_file_or_no_app_just_offers_nothing(app_dir: tuple[Path, dict[str, str]],
                                                            tmp_path: Path) -> None:
    root, env = app_dir
    (root / "chart" / "values.yaml").write_text("deployments: [unclosed\n  web: {\n")
    assert _complete_in(root, "lain logs ", env) == []
    assert _complete_in(root, "lain x ", env) == []
    assert _complete_in(root, "lain use ", env) == ["dev", "prod", "prod-eu"]
    (root / "chart" / "values.yaml").write_text("- a list\n")
    assert _complete_in(root, "lain logs ", env) == []
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _complete_in(elsewhere, "lain logs ", env) == []


def test_the_delete_alias_is_completed_and_works(app_dir: tuple[Path, dict[str, str]]) -> None:
    root, env = app_dir
    assert _complete_in(root, "lain del", env) == ["delete"]
    assert _complete_in(root, "lain un", env) == ["uninstall"]
    options = _complete_in(root, "lain delete --", env)
    assert "--yes" in options and "--purge" in options
