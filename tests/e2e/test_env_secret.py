"""`lain env`, `lain secret` and `lain send-msg` end to end: the real lain binary
and kubectl against the simulator, notices to a real HTTP receiver on 127.0.0.1.

Every command's stdout and stderr, every notice body and every file left in the
temp directory is collected and searched for the secret values (except the
stdout of `env show` / `secret show NAME`, whose job is to print them).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.kubesim.fixture import Cluster, find_binary
from tests.webhook_receiver import WebhookReceiver, closed_port

pytestmark = pytest.mark.e2e

LAIN = str(Path(sys.executable).parent / "lain")
SECRET_A = "pa55-A-9f8e7d6c5b4a"
SECRET_B = "pa55-B-0a1b2c3d4e5f"
SECRET_C = "pa55-C-deadbeef0042"
SECRET_FILE = "file-content-7c1e5a0b99"
ALL_SECRETS = (SECRET_A, SECRET_B, SECRET_C, SECRET_FILE)
HOOK_PATH = "/hook/T0123/B0456/XyZhooktoken789"
USER = "Alice Tester"


@dataclass
class App:
    """An app dir, a cluster file for the simulator, and everything lain printed."""

    root: Path
    cluster: Cluster
    receiver: WebhookReceiver
    tmpdir: Path
    env: dict[str, str]
    state: Path  # $XDG_STATE_HOME: where edits happen and failed ones are kept
    outputs: list[str] = field(default_factory=list)

    def lain(
        self,
        *args: str,
        editor: list[str] | None = None,
        allow_values_on_stdout: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if editor is not None:
            env["EDITOR"] = " ".join(editor)
        env.update(extra_env or {})
        result = subprocess.run(
            [LAIN, *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            stdin=subprocess.DEVNULL,
        )
        self.outputs.append(result.stderr)
        if not allow_values_on_stdout:
            self.outputs.append(result.stdout)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def secret_data(self, name: str) -> dict[str, str] | None:
        obj = self.cluster.sim.get("secrets", name)
        if obj is None:
            return None
        return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}

    def notices(self) -> list[dict[str, Any]]:
        return [r.json for r in self.receiver.delivered]

    def assert_no_secret_leaked(self) -> None:
        haystack = list(self.outputs)
        haystack += [r.body.decode(errors="replace") for r in self.receiver.requests]
        for path in [*self.tmpdir.rglob("*"), *self.state.rglob("*")]:
            if path.is_file():
                haystack.append(path.read_text(errors="replace"))
        crash_log = Path(os.environ["XDG_CACHE_HOME"]) / "lain" / "last-crash.log"
        if crash_log.exists():
            haystack.append(crash_log.read_text())
        for text in haystack:
            for value in ALL_SECRETS:
                assert value not in text, f"secret value leaked into: {text[:500]}"

    def leftover_files(self) -> list[Path]:
        """Files lain left in $TMPDIR or in its edits directory (the owner marks not counted)."""
        found = [*self.tmpdir.rglob("*"), *self.state.rglob("*")]
        return sorted(p for p in found if p.is_file() and p.name != ".lain-edit-of")

    def remove_kept(self, kept: Path) -> None:
        """The kept file holds values by design; everything else must not."""
        kept.unlink()


def write_cluster_file(directory: Path, kubeconfig: Path, webhook: dict[str, Any] | None, namespace: str) -> None:
    doc: dict[str, Any] = {"kubeconfig": str(kubeconfig), "namespace": namespace}
    if webhook:
        doc["webhook"] = webhook
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sim.yaml").write_text(json.dumps(doc))


@pytest.fixture
def app(cluster: Cluster, tmp_path: Path) -> Iterator[App]:
    root = tmp_path / "dummy"
    (root / "chart").mkdir(parents=True)
    (root / "chart" / "values.yaml").write_text(
        "appname: dummy\ndeployments:\n  web:\n    replicaCount: 1\n    containerPort: 8000\n"
    )
    git = ["git", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "config", "user.name", USER], check=True)
    subprocess.run([*git, "config", "user.email", "alice@example.com"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    with WebhookReceiver() as receiver:
        clusters_dir = tmp_path / "clusters"
        write_cluster_file(
            clusters_dir,
            cluster.kubeconfig,
            {"url": receiver.url(HOOK_PATH), "provider": "generic"},
            cluster.namespace,
        )
        env = dict(
            os.environ,
            LAIN_CLUSTERS_DIR=str(clusters_dir),
            LAIN_CLUSTER="sim",
            LAIN_KUBECTL=find_binary("kubectl"),
            TMPDIR=str(tmpdir),
            XDG_STATE_HOME=str(tmp_path / "state"),
            LAIN_WEBHOOK_TIMEOUT="10",
        )
        yield App(root, cluster, receiver, tmpdir, env, tmp_path / "state")


def fake_editor(tmp_path: Path, body: str) -> list[str]:
    """A Python script used as $EDITOR; ``body`` runs with ``path`` set to the file to edit."""
    script = tmp_path / f"editor_{abs(hash(body))}.py"
    script.write_text("import os, subprocess, sys\npath = sys.argv[1]\n" + textwrap.dedent(body))
    return [sys.executable, str(script)]


def notice_keys(notice: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    return notice["keys_added"], notice["keys_removed"], notice["keys_changed"]


# ---------------------------------------------------------------- env


def test_env_add_change_delete_each_send_one_notice(app: App) -> None:
    result = app.lain("-v", "env", "add", f"A={SECRET_A}", f"B={SECRET_B}")
    assert result.returncode == 0, result.stderr
    assert app.secret_data("dummy-env") == {"A": SECRET_A, "B": SECRET_B}
    assert "Secret dummy-env: added A, B" in result.stderr
    assert "kubectl" in result.stderr  # -v echoed the argv, without values (checked below)
    [notice] = app.notices()
    assert notice["kind"] == "env-change"
    assert (notice["app"], notice["cluster"], notice["user"]) == ("dummy", "sim", USER)
    assert notice_keys(notice) == (["A", "B"], [], [])
    assert app.receiver.requests[0].path == HOOK_PATH

    result = app.lain("env", "add", f"A={SECRET_C}", f"B={SECRET_B}")
    assert result.returncode == 0, result.stderr
    assert app.secret_data("dummy-env") == {"A": SECRET_C, "B": SECRET_B}
    assert notice_keys(app.notices()[-1]) == ([], [], ["A"])

    result = app.lain("env", "add", f"B={SECRET_B}")  # same value: nothing to tell
    assert result.returncode == 0
    assert "nothing changed" in result.stderr
    assert len(app.notices()) == 2

    result = app.lain("env", "delete", "B")
    assert result.returncode == 0, result.stderr
    assert app.secret_data("dummy-env") == {"A": SECRET_C}
    assert notice_keys(app.notices()[-1]) == ([], ["B"], [])
    assert len(app.notices()) == 3

    result = app.lain("env", "show", "--keys")
    assert (result.returncode, result.stdout) == (0, "A\n")
    result = app.lain("env", "show", allow_values_on_stdout=True)
    assert (result.returncode, result.stdout) == (0, f"A: {SECRET_C}\n")
    result = app.lain("--json", "env", "show", allow_values_on_stdout=True)
    assert json.loads(result.stdout) == {"A": SECRET_C}

    assert len(app.notices()) == 3
    app.assert_no_secret_leaked()


def test_env_edit_sends_one_notice_and_leaves_no_file(app: App, tmp_path: Path) -> None:
    app.lain("env", "add", f"A={SECRET_A}", f"B={SECRET_B}", "KEEP=same")
    editor = fake_editor(
        tmp_path,
        f"""
        import stat
        text = open(path).read()
        assert {SECRET_A!r} in text and text.startswith("# Environment variables of dummy")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        open(path + ".mode", "w").write(oct(mode))  # recorded outside the temp dir below
        os.rename(path + ".mode", {str(tmp_path / "mode")!r})
        open(path, "w").write("A: {SECRET_C}\\nKEEP: same\\nNEW: |\\n  multi\\n  line\\n")
        """,
    )
    result = app.lain("-v", "env", "edit", editor=editor)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mode").read_text() == "0o600"
    assert app.secret_data("dummy-env") == {"A": SECRET_C, "KEEP": "same", "NEW": "multi\nline\n"}
    assert notice_keys(app.notices()[-1]) == (["NEW"], ["B"], ["A"])
    assert len(app.notices()) == 2
    assert app.leftover_files() == []
    app.assert_no_secret_leaked()


def test_env_edit_unchanged_changes_and_sends_nothing(app: App, tmp_path: Path) -> None:
    app.lain("env", "add", f"A={SECRET_A}")
    before = app.cluster.sim.get("secrets", "dummy-env")
    for body in ("pass\n", "open(path, 'a').write('# only a comment\\n')\n"):
        result = app.lain("env", "edit", editor=fake_editor(tmp_path, body))
        assert result.returncode == 0, result.stderr
        assert "nothing changed" in result.stderr
    after = app.cluster.sim.get("secrets", "dummy-env")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert len(app.notices()) == 1
    assert app.leftover_files() == []
    app.assert_no_secret_leaked()


def test_env_edit_invalid_yaml_keeps_the_users_text(app: App, tmp_path: Path) -> None:
    app.lain("env", "add", f"A={SECRET_A}")
    broken = f"A: {SECRET_A}\nB: [{SECRET_B}\n"
    result = app.lain(
        "env", "edit", editor=fake_editor(tmp_path, f"open(path, 'w').write({broken!r})\n")
    )
    assert result.returncode == 2
    assert "invalid YAML at line" in result.stderr
    [kept] = app.leftover_files()
    assert f"your text is kept in {kept}" in result.stderr
    assert kept.read_text() == broken
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    # issue 16: it was in /tmp/lain-edit-*/ for ever; now in a directory of the user's own,
    # and the message says how it goes away
    assert kept.is_relative_to(app.state / "lain" / "edits")
    assert oct(kept.parent.stat().st_mode & 0o777) == "0o700"
    assert oct(kept.parent.parent.stat().st_mode & 0o777) == "0o700"
    assert "the next successful edit removes" in result.stderr
    assert f"rm -r {kept.parent}" in result.stderr
    assert app.secret_data("dummy-env") == {"A": SECRET_A}
    assert len(app.notices()) == 1
    assert app.lain("env", "edit", editor=fake_editor(tmp_path, "pass\n")).returncode == 0
    assert kept.exists()  # an edit that changed nothing is not the successful one
    fixed = fake_editor(tmp_path, f"open(path, 'w').write('A: {SECRET_A}\\nB: {SECRET_B}\\n')\n")
    result = app.lain("env", "edit", editor=fixed)
    assert result.returncode == 0, result.stderr
    assert f"removed {kept}, kept from an earlier failed edit" in result.stderr
    assert not kept.exists()
    assert app.leftover_files() == []
    assert app.secret_data("dummy-env") == {"A": SECRET_A, "B": SECRET_B}
    app.assert_no_secret_leaked()


def test_env_edit_invalid_key_keeps_the_file(app: App, tmp_path: Path) -> None:
    result = app.lain(
        "env",
        "edit",
        editor=fake_editor(tmp_path, f"open(path, 'w').write('bad-key: {SECRET_A}\\n')\n"),
    )
    assert result.returncode == 2
    assert "'bad-key' is not a valid variable name" in result.stderr
    assert len(app.leftover_files()) == 1
    assert app.secret_data("dummy-env") is None
    assert app.notices() == []
    for path in app.leftover_files():
        path.unlink()
    app.assert_no_secret_leaked()


def test_concurrent_env_edit_gets_a_conflict_and_loses_nothing(app: App, tmp_path: Path) -> None:
    app.lain("env", "add", f"A={SECRET_A}")
    kubectl = find_binary("kubectl")
    other = base64.b64encode(SECRET_B.encode()).decode()
    # while "editing", someone else changes the Secret with kubectl
    editor = fake_editor(
        tmp_path,
        f"""
        subprocess.run([{kubectl!r}, "--kubeconfig", {str(app.cluster.kubeconfig)!r}, "patch", "secret",
                        "dummy-env", "-p", '{{"data": {{"OTHER": "{other}"}}}}'], check=True,
                       capture_output=True)
        open(path, "w").write("A: {SECRET_C}\\n")
        """,
    )
    result = app.lain("env", "edit", editor=editor)
    assert result.returncode == 1
    assert "changed since you loaded it" in result.stderr
    [kept] = app.leftover_files()
    assert f"your edits are kept in {kept}" in result.stderr
    assert kept.read_text() == f"A: {SECRET_C}\n"
    # the other change stands, lain wrote nothing and told nobody
    assert app.secret_data("dummy-env") == {"A": SECRET_A, "OTHER": SECRET_B}
    assert len(app.notices()) == 1
    kept.unlink()
    app.assert_no_secret_leaked()


def test_bad_input_is_exit_2_and_changes_nothing(app: App) -> None:
    for args in (
        ("env", "add", SECRET_A),
        ("env", "add", f"1BAD={SECRET_A}"),
        ("env", "add"),
        ("env", "delete", "not-a-key"),
        ("secret", "add", str(app.root / "missing.json")),
        ("secret", "show", "../etc"),
    ):
        result = app.lain(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith(("error:", "Usage:")), result.stderr
    result = app.lain("env", "delete", "NOPE")
    assert result.returncode == 2
    assert "no variable NOPE" in result.stderr
    assert app.secret_data("dummy-env") is None
    assert app.secret_data("dummy-secret") is None
    assert app.notices() == []
    app.assert_no_secret_leaked()


# ---------------------------------------------------------------- secret files


def test_secret_files_add_show_edit_delete(app: App, tmp_path: Path) -> None:
    source = tmp_path / "prod.json"
    source.write_text(f'{{"password": "{SECRET_FILE}"}}\n')
    result = app.lain("-v", "secret", "add", str(source))
    assert result.returncode == 0, result.stderr
    assert app.secret_data("dummy-secret") == {"prod.json": source.read_text()}
    assert notice_keys(app.notices()[-1]) == (["prod.json"], [], [])
    assert app.notices()[-1]["kind"] == "secret-change"

    result = app.lain("secret", "show")
    size = len(source.read_bytes())
    assert result.stdout == f"prod.json  {size:>8} bytes  /lain/secrets/prod.json\n"
    result = app.lain("secret", "show", "prod.json", allow_values_on_stdout=True)
    assert result.stdout == source.read_text()

    editor = fake_editor(
        tmp_path,
        f"""
        assert {SECRET_FILE!r} in open(path).read()
        assert os.path.basename(path) == "prod.json"
        open(path, "w").write('{{"password": "{SECRET_C}"}}\\n')
        """,
    )
    result = app.lain("secret", "edit", "prod.json", editor=editor)
    assert result.returncode == 0, result.stderr
    assert app.secret_data("dummy-secret") == {"prod.json": f'{{"password": "{SECRET_C}"}}\n'}
    assert notice_keys(app.notices()[-1]) == ([], [], ["prod.json"])

    result = app.lain(
        "secret", "edit", "new.txt", editor=fake_editor(tmp_path, "open(path, 'w').write('x')\n")
    )
    assert result.returncode == 0, result.stderr
    assert notice_keys(app.notices()[-1]) == (["new.txt"], [], [])

    result = app.lain("secret", "delete", "prod.json")
    assert result.returncode == 0, result.stderr
    assert app.secret_data("dummy-secret") == {"new.txt": "x"}
    assert notice_keys(app.notices()[-1]) == ([], ["prod.json"], [])
    assert len(app.notices()) == 4
    assert app.leftover_files() == []
    app.assert_no_secret_leaked()


def test_secret_edit_unchanged_sends_nothing(app: App, tmp_path: Path) -> None:
    source = tmp_path / "a.key"
    source.write_text(SECRET_FILE)
    app.lain("secret", "add", str(source))
    result = app.lain("secret", "edit", "a.key", editor=fake_editor(tmp_path, "pass\n"))
    assert result.returncode == 0
    assert "nothing changed" in result.stderr
    assert len(app.notices()) == 1
    assert app.leftover_files() == []
    app.assert_no_secret_leaked()


# ---------------------------------------------------------------- the webhook


def test_webhook_500_twice_then_200_delivers_once(app: App) -> None:
    app.receiver.fail_next(2, status=500)
    result = app.lain("env", "add", f"A={SECRET_A}")
    assert result.returncode == 0, result.stderr
    assert [r.status for r in app.receiver.requests] == [500, 500, 200]
    [notice] = app.notices()
    assert notice_keys(notice) == (["A"], [], [])
    assert "warning" not in result.stderr
    app.assert_no_secret_leaked()


def test_webhook_down_warns_and_exits_0(app: App, tmp_path: Path) -> None:
    clusters_dir = tmp_path / "down-clusters"
    write_cluster_file(
        clusters_dir,
        app.cluster.kubeconfig,
        {
            "url": f"http://127.0.0.1:{closed_port()}/robot/send?access_token=tok3n-abcdef",
            "provider": "dingtalk",
        },
        app.cluster.namespace,
    )
    result = app.lain(
        "env",
        "add",
        f"A={SECRET_A}",
        extra_env={"LAIN_CLUSTERS_DIR": str(clusters_dir), "LAIN_WEBHOOK_TIMEOUT": "1.5"},
    )
    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert "1 notice did not reach the DingTalk webhook http://127.0.0.1" in warning
    assert "env changed (connection refused, after " in warning
    assert "tok3n-abcdef" not in result.stderr
    assert app.secret_data("dummy-env") == {"A": SECRET_A}
    app.assert_no_secret_leaked()


def test_app_webhook_overrides_the_clusters_and_honours_its_clusters(app: App) -> None:
    values = app.root / "chart" / "values.yaml"
    base = values.read_text()
    values.write_text(
        base + f"webhook:\n  url: {app.receiver.url('/app-hook')}\n  provider: wecom\n"
    )
    assert app.lain("env", "add", "A=1").returncode == 0
    [request] = app.receiver.requests
    assert request.path == "/app-hook"
    assert request.json["msgtype"] == "markdown"
    assert "added: A" in request.json["markdown"]["content"]

    values.write_text(
        base + f"webhook:\n  url: {app.receiver.url('/app-hook')}\n  clusters: [prod]\n"
    )
    result = app.lain("env", "add", "B=2")
    assert result.returncode == 0
    assert len(app.receiver.requests) == 1
    assert "no webhook configured for dummy on sim" in result.stderr


def test_send_msg(app: App) -> None:
    result = app.lain("send-msg", "deploying", "soon")
    assert result.returncode == 0, result.stderr
    [notice] = app.notices()
    assert (notice["kind"], notice["text"], notice["user"]) == ("message", "deploying soon", USER)


def test_send_msg_webhook_down_is_exit_1(app: App, tmp_path: Path) -> None:
    clusters_dir = tmp_path / "down-clusters"
    write_cluster_file(
        clusters_dir, app.cluster.kubeconfig, {"url": f"http://127.0.0.1:{closed_port()}/x"}, app.cluster.namespace
    )
    result = app.lain(
        "send-msg",
        "hello",
        extra_env={"LAIN_CLUSTERS_DIR": str(clusters_dir), "LAIN_WEBHOOK_TIMEOUT": "1"},
    )
    assert result.returncode == 1
    assert "warning:" in result.stderr and "the message was not delivered" in result.stderr


# ---------------------------------------------------------------- the cluster


def test_unreachable_cluster_is_a_clear_error(app: App, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "dead-kubeconfig"
    text = app.cluster.kubeconfig.read_text().replace(
        app.cluster.url, f"http://127.0.0.1:{closed_port()}"
    )
    kubeconfig.write_text(text)
    clusters_dir = tmp_path / "dead-clusters"
    write_cluster_file(clusters_dir, kubeconfig, None, app.cluster.namespace)
    result = app.lain(
        "env", "add", f"A={SECRET_A}", extra_env={"LAIN_CLUSTERS_DIR": str(clusters_dir)}
    )
    assert result.returncode == 1
    assert "error: get secret/dummy-env: cannot reach cluster sim" in result.stderr
    assert "hint:" in result.stderr
    app.assert_no_secret_leaked()
