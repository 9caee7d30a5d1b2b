"""env and secret: key diffs, validation, YAML round trips, Secret objects, and the
edit flow with a scripted fake $EDITOR (a small script that rewrites the file)."""

from __future__ import annotations

import base64
import os
import stat
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lain_cli import envsecret
from lain_cli.envsecret import EditFile, InvalidInput, KeyChange
from lain_cli.errors import OperationFailed, UsageError

SECRET = "s3cr3t-V4lue-never-print"


# ---------------------------------------------------------------- diffs


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({}, {}, ((), (), ())),
        ({}, {"B": 1, "A": 2}, (("A", "B"), (), ())),
        ({"A": 1}, {}, ((), ("A",), ())),
        ({"A": 1, "B": 2}, {"A": 1, "B": 3}, ((), (), ("B",))),
        ({"A": 1, "C": 1, "D": b"x"}, {"A": 2, "B": 1, "D": b"x"}, (("B",), ("C",), ("A",))),
    ],
)
def test_diff_keys(old: dict[str, Any], new: dict[str, Any], expected: tuple[Any, ...]) -> None:
    assert envsecret.diff_keys(old, new) == expected


def test_key_change_summary_and_truth() -> None:
    assert not KeyChange()
    assert KeyChange().summary() == "nothing changed"
    change = KeyChange(added=("A",), removed=("B", "C"), changed=("D",))
    assert change
    assert change.summary() == "added A; removed B, C; changed D"


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("key", ["A", "_", "DATABASE_URL", "a1", "_X_9"])
def test_valid_env_keys(key: str) -> None:
    assert envsecret.env_key_problem(key) is None


@pytest.mark.parametrize("key", ["", "1A", "A-B", "A.B", "A B", "É", "A=B", "x" * 254])
def test_invalid_env_keys(key: str) -> None:
    assert envsecret.env_key_problem(key)
    with pytest.raises(UsageError):
        envsecret.validate_env_key(key)


@pytest.mark.parametrize("name", ["prod.json", "client.key", "a-b_c.d", ".env", "X"])
def test_valid_file_names(name: str) -> None:
    assert envsecret.file_name_problem(name) is None


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a b", "ü.txt", "x" * 254])
def test_invalid_file_names(name: str) -> None:
    assert envsecret.file_name_problem(name)


def test_size_limit_counts_keys_and_values() -> None:
    limit = envsecret.MAX_SECRET_BYTES
    assert envsecret.size_problem({"a": b"x" * (limit - 1)}) is None
    assert envsecret.size_problem({"ab": b"x" * (limit - 1)}) == (
        f"{limit + 1} bytes in all, more than the {limit} bytes (1 MiB) a Secret can hold"
    )


def test_parse_assignments() -> None:
    assert envsecret.parse_assignments(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no KEY=VALUE given"),
        (["A=1", SECRET], "argument 2 has no '=': expected KEY=VALUE"),
        (["1A=x"], "'1A' is not a valid variable name"),
        (["A=1", "A=2"], "A is given more than once"),
    ],
)
def test_parse_assignments_errors_never_quote_values(args: list[str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        envsecret.parse_assignments(args)
    assert info.value.message.startswith(message)
    assert SECRET not in info.value.render()


def test_read_secret_files(tmp_path: Path) -> None:
    (tmp_path / "prod.json").write_bytes(b'{"k": 1}')
    (tmp_path / "bad name").write_text("x")
    assert envsecret.read_secret_files([str(tmp_path / "prod.json")]) == {"prod.json": b'{"k": 1}'}
    with pytest.raises(UsageError, match="no such file"):
        envsecret.read_secret_files([str(tmp_path / "missing.json")])
    with pytest.raises(UsageError, match="not a valid secret file name"):
        envsecret.read_secret_files([str(tmp_path / "bad name")])
    with pytest.raises(UsageError, match="is a directory"):
        envsecret.read_secret_files([str(tmp_path)])
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "prod.json").write_text("y")
    with pytest.raises(UsageError, match="two files are named prod.json"):
        envsecret.read_secret_files([str(tmp_path / "prod.json"), str(tmp_path / "sub/prod.json")])


# ---------------------------------------------------------------- env YAML


ROUND_TRIP = {
    "PLAIN": "hello",
    "NUMBER": "8080",
    "BOOLISH": "true",
    "YES": "yes",
    "EMPTY": "",
    "TILDE": "~",
    "QUOTES": 'it\'s: "q"',
    "MULTI": "line1\nline2\n",
    "MULTI_NO_NL": "a\nb",
    "TRAILING_SPACE": "a  \nb ",
    "LEADING_SPACE": "  x",
    "UNICODE": "héllo 世界",
    "HASH": "a #b",
    "TAB": "a\tb",
    "CR": "a\r\nb",
}


def test_env_yaml_round_trips_every_string() -> None:
    text = envsecret.render_env_yaml(ROUND_TRIP)
    assert envsecret.parse_env_yaml(text) == ROUND_TRIP
    keys_in_order = [line.split(":")[0] for line in text.splitlines() if line[:1].isalpha()]
    assert keys_in_order == sorted(ROUND_TRIP)


def test_env_yaml_is_readable() -> None:
    assert envsecret.render_env_yaml({"B": "2", "A": "x\ny\n", "C": "plain"}) == (
        "A: |\n  x\n  y\nB: '2'\nC: plain\n"
    )
    assert envsecret.render_env_yaml({}) == ""


def test_parse_env_yaml_keeps_scalars_as_written() -> None:
    assert envsecret.parse_env_yaml("# c\nPORT: 8080\nDEBUG: yes\nX: 1.10\nE:\n") == {
        "PORT": "8080",
        "DEBUG": "yes",
        "X": "1.10",
        "E": "",
    }
    assert envsecret.parse_env_yaml("# only comments\n") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # an unclosed [ or quote is reported where it opens (issue 16: it was the last line)
        (f"A: [unclosed {SECRET}\n", "invalid YAML at line 1, column 4: the [ list that starts here is not closed"),
        (f"A: {SECRET}\n  bad: indent\n", "invalid YAML at line 2, column 6"),
        (f"A: {SECRET}\nA: again\n", "invalid YAML at line 2, column 1: A is given more than once"),
        (f'A: "{SECRET}\n', "invalid YAML at line 1, column 4: the quoted string that starts here is not closed"),
        (f'A: "{SECRET}\n' + "B: x\n" * 26, "invalid YAML at line 1, column 4: the quoted string"),
        (f"- {SECRET}\n", "expected KEY: value lines"),
        (f"{SECRET}\n", "expected KEY: value lines"),
        (f"1BAD: {SECRET}\n", "'1BAD' is not a valid variable name"),
        ("A:\n  - x\n", "A: the value must be a single string, not a list"),
        ("A:\n  b: c\n", "A: the value must be a single string, not a mapping"),
    ],
)
def test_parse_env_yaml_errors_name_the_line_not_the_text(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        envsecret.parse_env_yaml(text)
    assert str(info.value).startswith(message)
    assert SECRET not in str(info.value)


# ---------------------------------------------------------------- Secret objects


def test_decode_data() -> None:
    obj = {"data": {"A": base64.b64encode(b"1").decode(), "B": ""}, "stringData": {"C": "3"}}
    assert envsecret.decode_data(obj) == {"A": b"1", "B": b"", "C": b"3"}
    assert envsecret.decode_data(None) == {}
    assert envsecret.decode_data({"metadata": {}}) == {}


def test_decode_env_refuses_binary_naming_only_the_key() -> None:
    with pytest.raises(OperationFailed, match="the value of BIN is not UTF-8") as info:
        envsecret.decode_env({"BIN": b"\xff\xfe" + SECRET.encode()})
    assert SECRET not in info.value.render()


def test_new_secret_object() -> None:
    obj = envsecret.build_secret_object(
        "dummy-env", {"B": b"2", "A": b"1"}, appname="dummy", purpose="env", user="alice"
    )
    assert obj == {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": "dummy-env",
            "labels": {
                "app.kubernetes.io/name": "dummy",
                "app.kubernetes.io/managed-by": "lain",
                "lain.dev/secret": "env",
            },
            "annotations": {"lain.dev/changed-by": "alice"},
        },
        "data": {"A": "MQ==", "B": "Mg=="},
    }


def test_replacing_object_keeps_metadata_and_resource_version() -> None:
    base = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "dummy-secret",
            "namespace": "default",
            "resourceVersion": "42",
            "labels": {"team": "x"},
            "annotations": {"note": "kept"},
        },
        "data": {"old": "eA=="},
        "stringData": {"gone": "y"},
        "type": "Opaque",
    }
    obj = envsecret.build_secret_object(
        "dummy-secret", {"new": b"z"}, appname="dummy", purpose="secret", user="bob", base=base
    )
    assert obj["metadata"] == {
        "name": "dummy-secret",
        "namespace": "default",
        "resourceVersion": "42",
        "labels": {"team": "x"},
        "annotations": {"note": "kept", "lain.dev/changed-by": "bob"},
    }
    assert obj["data"] == {"new": "eg=="}
    assert "stringData" not in obj
    assert base["data"] == {"old": "eA=="}  # the object as read is left alone


def test_names_and_mount_path() -> None:
    assert envsecret.secret_name("dummy", "env") == "dummy-env"
    assert envsecret.secret_name("dummy", "secret") == "dummy-secret"
    assert envsecret.mount_path({}) == "/lain/secrets"
    assert envsecret.mount_path({"secretMountPath": "/etc/app"}) == "/etc/app"


# ---------------------------------------------------------------- $EDITOR


@pytest.mark.parametrize(
    ("environ", "argv"),
    [
        ({}, ["vi"]),
        ({"EDITOR": "nano"}, ["nano"]),
        ({"EDITOR": "code --wait", "VISUAL": ""}, ["code", "--wait"]),
        (
            {"EDITOR": "nano", "VISUAL": "'/opt/my editor/bin/ed' -x"},
            ["/opt/my editor/bin/ed", "-x"],
        ),
    ],
)
def test_editor_argv(environ: dict[str, str], argv: list[str]) -> None:
    assert envsecret.editor_argv(environ) == argv


def test_editor_argv_that_cannot_be_split() -> None:
    with pytest.raises(UsageError, match=r"\$EDITOR cannot be split"):
        envsecret.editor_argv({"EDITOR": "vim 'unclosed"})


def fake_editor(tmp_path: Path, body: str) -> list[str]:
    """A Python script used as $EDITOR: ``body`` runs with ``path`` (the file) and ``log`` set.

    Every run appends the file's mode and its directory's mode to ``log``.
    """
    script = tmp_path / "fake_editor.py"
    log = tmp_path / "editor.log"
    script.write_text(
        "import os, sys\n"
        "path = sys.argv[1]\n"
        f"log = {str(log)!r}\n"
        "with open(log, 'a') as fh:\n"
        "    fh.write(f'{path} {os.stat(path).st_mode & 0o777:o} '\n"
        "             f'{os.stat(os.path.dirname(path)).st_mode & 0o777:o}\\n')\n"
        + textwrap.dedent(body)
    )
    return [sys.executable, str(script)]


def editor_runs(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "editor.log"
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def parse_env(content: bytes) -> dict[str, str]:
    return envsecret.parse_env_yaml(content.decode())


def test_edit_file_is_private_and_removed(tmp_path: Path) -> None:
    editor = fake_editor(tmp_path, "open(path, 'a').write('B: 2\\n')\n")
    with envsecret.editing("app-env.yaml", b"A: '1'\n") as edit:
        result = envsecret.edit_until_valid(edit, parse_env, interactive=False, editor=editor)
        path = edit.path
    assert result == {"A": "1", "B": "2"}
    [[seen_path, file_mode, dir_mode]] = editor_runs(tmp_path)
    assert seen_path == str(path) and path.name == "app-env.yaml"
    assert (file_mode, dir_mode) == ("600", "700")
    assert not path.exists() and not path.parent.exists()


def test_unchanged_file_gives_none_and_is_removed(tmp_path: Path) -> None:
    editor = fake_editor(tmp_path, "")
    with envsecret.editing("x.yaml", b"A: '1'\n") as edit:
        assert envsecret.edit_until_valid(edit, parse_env, interactive=False, editor=editor) is None
    assert not edit.path.parent.exists()


def test_invalid_yaml_without_tty_keeps_the_users_text(tmp_path: Path) -> None:
    text = f"A: [{SECRET}\n"
    editor = fake_editor(tmp_path, f"open(path, 'w').write({text!r})\n")
    with (
        pytest.raises(UsageError) as info,
        envsecret.editing("x.yaml", b"A: '1'\n") as edit,
    ):
        envsecret.edit_until_valid(edit, parse_env, interactive=False, editor=editor)
    message = info.value.render()
    assert f"your text is kept in {edit.path}" in message
    assert SECRET not in message
    assert edit.path.read_text() == text
    assert stat.S_IMODE(edit.path.stat().st_mode) == 0o600
    assert info.value.exit_code == 2
    edit.remove()


def test_invalid_yaml_on_a_tty_reopens_the_editor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # first run writes broken YAML, the second fixes it
    editor = fake_editor(
        tmp_path,
        "runs = len(open(log).read().splitlines())\n"
        "open(path, 'w').write('A: [broken\\n' if runs == 1 else 'A: fixed\\n')\n",
    )
    monkeypatch.setattr(sys, "stdin", _Lines(["\n"]))
    with envsecret.editing("x.yaml", b"A: '1'\n") as edit:
        result = envsecret.edit_until_valid(edit, parse_env, interactive=True, editor=editor)
    assert result == {"A": "fixed"}
    assert len(editor_runs(tmp_path)) == 2
    assert "invalid YAML at line 1" in capsys.readouterr().err
    assert not edit.path.parent.exists()


def test_end_of_input_at_the_reopen_prompt_keeps_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = fake_editor(tmp_path, "open(path, 'w').write('A: [broken\\n')\n")
    monkeypatch.setattr(sys, "stdin", _Lines([]))
    with pytest.raises(UsageError, match="kept in"), envsecret.editing("x.yaml", b"") as edit:
        envsecret.edit_until_valid(edit, parse_env, interactive=True, editor=editor)
    assert edit.path.exists()
    edit.remove()


def test_ctrl_c_removes_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    editor = fake_editor(tmp_path, f"open(path, 'w').write('A: [{SECRET}\\n')\n")

    class Interrupting:
        def readline(self) -> str:
            raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stdin", Interrupting())
    with pytest.raises(KeyboardInterrupt), envsecret.editing("x.yaml", b"") as edit:
        envsecret.edit_until_valid(edit, parse_env, interactive=True, editor=editor)
    assert not edit.path.parent.exists()


def test_editor_failure_changes_nothing_and_removes_the_file(tmp_path: Path) -> None:
    editor = fake_editor(tmp_path, "open(path, 'w').write('A: 2\\n')\nsys.exit(3)\n")
    with (
        pytest.raises(OperationFailed, match="exited with status 3; nothing changed"),
        envsecret.editing("x.yaml", b"A: '1'\n") as edit,
    ):
        envsecret.edit_until_valid(edit, parse_env, interactive=False, editor=editor)
    assert not edit.path.parent.exists()


def test_ctrl_c_in_the_editor_is_an_interruption(tmp_path: Path) -> None:
    # issue 16: Ctrl-C in the editor printed "exited with status -2"
    from lain_cli.errors import Interrupted

    editor = fake_editor(tmp_path, "import signal\nopen(path, 'w').write('A: 2\\n')\n"
                                   "signal.signal(signal.SIGINT, signal.SIG_DFL)\nos.kill(os.getpid(), signal.SIGINT)\n")
    with pytest.raises(Interrupted) as err, envsecret.editing("x.yaml", b"A: '1'\n") as edit:
        envsecret.edit_until_valid(edit, parse_env, interactive=False, editor=editor)
    assert err.value.exit_code == 130
    assert err.value.render() == "interrupted: Ctrl-C in the editor; nothing changed"
    assert not edit.path.parent.exists()


def test_an_editor_killed_by_a_signal_says_which(tmp_path: Path) -> None:
    editor = fake_editor(tmp_path, "import signal\nos.kill(os.getpid(), signal.SIGTERM)\n")
    with (
        pytest.raises(OperationFailed, match=r"the editor \(.*\) was stopped by SIGTERM; nothing changed"),
        envsecret.editing("x.yaml", b"") as edit,
    ):
        envsecret.edit_until_valid(edit, parse_env, interactive=False, editor=editor)
    assert not edit.path.parent.exists()


def test_edits_happen_in_a_private_directory_of_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with envsecret.editing("x.yaml", b"A: s3cr3t\n", owner="dev/dummy-env") as edit:
        assert edit.path.parent.parent == tmp_path / "state" / "lain" / "edits"
        assert oct(edit.path.parent.parent.stat().st_mode & 0o777) == "0o700"
        assert oct(edit.path.parent.stat().st_mode & 0o777) == "0o700"
        assert oct(edit.path.stat().st_mode & 0o777) == "0o600"
        edit.keep()
    with envsecret.editing("x.yaml", b"", owner="prod/dummy-env") as other:
        assert other.remove_earlier() == []  # another cluster's kept file stays
    with envsecret.editing("x.yaml", b"", owner="dev/dummy-env") as again:
        assert again.remove_earlier() == [edit.path]
    assert not edit.path.exists()
    assert list((tmp_path / "state" / "lain" / "edits").iterdir()) == []


def test_missing_editor_is_a_usage_error(tmp_path: Path) -> None:
    from lain_cli.errors import ToolError

    with (
        pytest.raises(ToolError),
        envsecret.editing("x.yaml", b"") as edit,
    ):
        envsecret.edit_until_valid(
            edit, parse_env, interactive=False, editor=[str(tmp_path / "nope")]
        )
    assert not edit.path.parent.exists()


def test_editor_deleting_the_file_means_empty(tmp_path: Path) -> None:
    editor = fake_editor(tmp_path, "os.remove(path)\n")
    with envsecret.editing("x.yaml", b"A: '1'\n") as edit:
        assert envsecret.edit_until_valid(edit, parse_env, interactive=False, editor=editor) == {}


def test_keep_survives_the_block(tmp_path: Path) -> None:
    with envsecret.editing("x.yaml", b"data") as edit:
        edit.keep()
    assert edit.path.read_bytes() == b"data"
    edit.remove()
    assert not edit.path.parent.exists()


def test_edit_file_mode_is_0600_despite_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        edit = EditFile("x", b"")
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(edit.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(edit.path.parent.stat().st_mode) == 0o700
    finally:
        edit.remove()


def test_sigterm_while_editing_removes_the_file() -> None:
    import signal

    with pytest.raises(KeyboardInterrupt), envsecret.editing("x.yaml", b"A: 1") as edit:
        os.kill(os.getpid(), signal.SIGTERM)
    assert not edit.path.parent.exists()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


class _Lines:
    """A stand-in stdin answering readline() from a list, then end of input."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)

    def readline(self) -> str:
        return self.lines.pop(0) if self.lines else ""


# ---------------------------------------------------------------- writes and conflicts


class _FakeKube:
    """Stands in for kube.get_json/create/replace: a Secret whose version moves on every write."""

    def __init__(self, conflicts: int) -> None:
        self.obj: dict[str, Any] | None = None
        self.conflicts = conflicts
        self.writes: list[dict[str, Any]] = []

    def get_json(self, cluster: Any, kind: str, name: str) -> dict[str, Any] | None:
        return None if self.obj is None else dict(self.obj)

    def create(self, cluster: Any, obj: dict[str, Any]) -> dict[str, Any]:
        self.writes.append(obj)
        self.obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": "1"}}
        return self.obj

    def replace(self, cluster: Any, obj: dict[str, Any]) -> dict[str, Any]:
        from lain_cli import kube

        assert self.obj is not None
        if self.conflicts:
            # someone else adds OTHER before our write lands
            self.conflicts -= 1
            version = str(int(self.obj["metadata"]["resourceVersion"]) + 1)
            data = {**self.obj["data"], "OTHER": base64.b64encode(b"o").decode()}
            self.obj = {
                **self.obj,
                "data": data,
                "metadata": {**self.obj["metadata"], "resourceVersion": version},
            }
            raise kube.Conflict("changed")
        assert obj["metadata"]["resourceVersion"] == self.obj["metadata"]["resourceVersion"]
        self.writes.append(obj)
        self.obj = obj
        return obj


def _ctx() -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(
        appname="dummy", user="alice", cluster=SimpleNamespace(name="dev"), values={}
    )


@pytest.mark.parametrize(("conflicts", "fails"), [(0, False), (2, False), (3, True)])
def test_add_reapplies_itself_after_a_concurrent_change(
    monkeypatch: pytest.MonkeyPatch, conflicts: int, fails: bool
) -> None:
    from lain_cli import kube

    fake = _FakeKube(conflicts)
    for name in ("get_json", "create", "replace"):
        monkeypatch.setattr(kube, name, getattr(fake, name))
    ctx = _ctx()
    assert envsecret.add_env(ctx, {"A": "1"}) == KeyChange(added=("A",))
    if fails:
        with pytest.raises(kube.Conflict):
            envsecret.add_env(ctx, {"B": "2"})
        return
    assert envsecret.add_env(ctx, {"B": "2"}) == KeyChange(added=("B",))
    assert fake.obj is not None
    expected = {"A": "1", "B": "2"} | ({"OTHER": "o"} if conflicts else {})
    assert envsecret.decode_env(envsecret.decode_data(fake.obj)) == expected


def test_delete_of_a_missing_key_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from lain_cli import kube

    fake = _FakeKube(0)
    for name in ("get_json", "create", "replace"):
        monkeypatch.setattr(kube, name, getattr(fake, name))
    envsecret.add_env(_ctx(), {"A": "1"})
    with pytest.raises(UsageError, match="no variable B, C in Secret dummy-env; nothing changed"):
        envsecret.delete_env(_ctx(), ["A", "B", "C"])
    assert len(fake.writes) == 1


def test_too_big_is_refused_before_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    from lain_cli import kube

    fake = _FakeKube(0)
    for name in ("get_json", "create", "replace"):
        monkeypatch.setattr(kube, name, getattr(fake, name))
    with pytest.raises(UsageError, match=r"Secret dummy-secret would hold 1048583 bytes in all, more than .* \(1 MiB\)"):
        envsecret.add_secret_files(_ctx(), {"big.bin": b"x" * envsecret.MAX_SECRET_BYTES})
    assert fake.writes == []
