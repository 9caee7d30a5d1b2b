"""env and secret files of an app, kept in two Kubernetes Secrets.

``<appname>-env`` holds environment variables (injected into every container
by the chart with ``envFrom``); ``<appname>-secret`` holds files (mounted into
containers).  Changing either posts a notice listing the keys added, removed
and changed -- never values, nor hashes of values -- because these Secrets are
not reviewed in the repo like the rest of the configuration.

Writes carry the Secret's ``resourceVersion``: if someone else changed it in
between, the API refuses the write instead of silently overwriting their
change.  ``add`` and ``delete`` then re-read and apply their change again;
``edit`` stops and keeps the edited text for the user.

Secret values never appear in lain's messages, in argv (objects go to kubectl
on stdin) or in files left behind: ``edit`` works on a 0600 file in a private
directory that is removed on every exit path except the ones where keeping it
is the point (invalid input without a terminal, a failed write).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from lain_cli import crashlog, kube
from lain_cli.errors import ClusterError, Interrupted, LainError, OperationFailed, UsageError

Purpose = Literal["env", "secret"]

ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FILE_NAME_RE = re.compile(r"[-._a-zA-Z0-9]+")
MAX_KEY_LENGTH = 253
# Kubernetes refuses a Secret whose data (keys and values) exceeds 1 MiB.
MAX_SECRET_BYTES = 1024 * 1024
DEFAULT_MOUNT_PATH = "/lain/secrets"
# add/delete re-apply themselves on a fresh read this many times when the Secret changed meanwhile
WRITE_ATTEMPTS = 3

T = TypeVar("T")


def env_secret_name(appname: str) -> str:
    return f"{appname}-env"


def files_secret_name(appname: str) -> str:
    return f"{appname}-secret"


def secret_name(appname: str, purpose: Purpose) -> str:
    return env_secret_name(appname) if purpose == "env" else files_secret_name(appname)


# ---------------------------------------------------------------- pure: diffs and validation


@dataclass(frozen=True)
class KeyChange:
    """Which keys a change added, removed and changed (sorted).  Holds no values."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> str:
        parts = [
            f"{label} {', '.join(keys)}"
            for label, keys in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
            )
            if keys
        ]
        return "; ".join(parts) if parts else "nothing changed"


def diff_keys(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(added, removed, changed) keys between two mappings, each sorted."""
    added = tuple(sorted(set(new) - set(old)))
    removed = tuple(sorted(set(old) - set(new)))
    changed = tuple(sorted(k for k in set(old) & set(new) if old[k] != new[k]))
    return added, removed, changed


def key_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> KeyChange:
    return KeyChange(*diff_keys(old, new))


def env_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an environment variable name, or None if it can."""
    if not key:
        return "an empty name is not a variable name"
    if len(key) > MAX_KEY_LENGTH:
        return f"a variable name is at most {MAX_KEY_LENGTH} characters"
    if not ENV_KEY_RE.fullmatch(key):
        return (
            f"{key!r} is not a valid variable name "
            "(letters, digits and _, not starting with a digit)"
        )
    return None


def file_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a secret file name (a Secret key), or None if it can."""
    if not name:
        return "an empty name is not a file name"
    if len(name) > MAX_KEY_LENGTH:
        return f"a secret file name is at most {MAX_KEY_LENGTH} characters"
    if name in (".", "..") or not FILE_NAME_RE.fullmatch(name):
        return f"{name!r} is not a valid secret file name (letters, digits, '-', '_' and '.')"
    return None


def validate_env_key(key: str) -> None:
    problem = env_key_problem(key)
    if problem:
        raise UsageError(problem)


def validate_file_name(name: str) -> None:
    problem = file_name_problem(name)
    if problem:
        raise UsageError(problem, hint="name the file differently, or copy it to a valid name")


def data_size(data: Mapping[str, bytes]) -> int:
    return sum(len(k.encode()) + len(v) for k, v in data.items())


def size_problem(data: Mapping[str, bytes]) -> str | None:
    size = data_size(data)
    if size > MAX_SECRET_BYTES:
        return (
            f"{size} bytes in all, more than the {MAX_SECRET_BYTES} bytes (1 MiB) a Secret can hold"
        )
    return None


def parse_assignments(args: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` arguments as a dict.

    Errors never quote an argument: one without ``=`` may be a bare secret.
    """
    if not args:
        raise UsageError("no KEY=VALUE given", hint="lain env add KEY=VALUE [KEY=VALUE ...]")
    result: dict[str, str] = {}
    for position, arg in enumerate(args, start=1):
        key, sep, value = arg.partition("=")
        if not sep:
            raise UsageError(
                f"argument {position} has no '=': expected KEY=VALUE",
                hint="lain env add KEY=VALUE (quote the value if it has spaces)",
            )
        validate_env_key(key)
        if key in result:
            raise UsageError(f"{key} is given more than once")
        result[key] = value
    return result


# ---------------------------------------------------------------- pure: env as YAML text


def _yaml_dumper() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 1 << 20
    return yaml


def _yaml_loader() -> Any:
    from ruamel.yaml import YAML

    # the base loader keeps every scalar a string: PORT: 8080 stays "8080", DEBUG: yes stays "yes"
    return YAML(typ="base")


def _dump(yaml: Any, data: Mapping[str, Any]) -> str:
    stream = io.StringIO()
    yaml.dump(dict(data), stream)
    return stream.getvalue()


def render_env_yaml(env: Mapping[str, str]) -> str:
    """``KEY: value`` lines sorted by key, quoted so that loading gives back the same strings.

    Multi-line values are written as literal blocks when that round-trips.
    """
    if not env:
        return ""
    from ruamel.yaml.scalarstring import LiteralScalarString

    dumper = _yaml_dumper()
    loader = _yaml_loader()
    chunks = []
    for key in sorted(env):
        value = env[key]
        text = None
        if "\n" in value:
            candidate = _dump(dumper, {key: LiteralScalarString(value)})
            with contextlib.suppress(Exception):
                if loader.load(candidate) == {key: value}:
                    text = candidate
        chunks.append(text or _dump(dumper, {key: value}))
    return "".join(chunks)


class InvalidInput(Exception):
    """Edited text that lain cannot accept; the message names the line, never the text."""


_DUPLICATE_KEY_RE = re.compile(r'found duplicate key "([^"]*)"')
_QUOTED_RE = re.compile(r'"[^"]*"')


def _yaml_problem(exc: Exception) -> str:
    """Where and what the YAML error is, without any of the user's values.

    ``str(exc)`` of a ruamel error quotes the offending line, and some problems
    quote values (a duplicate key names both of its values): neither is used.
    """
    from lain_cli.yamlload import unclosed

    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or "not valid YAML")
    opened = unclosed(exc)
    if opened is not None:  # shown where the quote or bracket opens, not at the end of the file
        mark, problem = getattr(exc, "context_mark", None), opened[0]
    duplicate = _DUPLICATE_KEY_RE.search(problem)
    if duplicate:
        problem = f"{duplicate.group(1)} is given more than once"
    else:
        problem = _QUOTED_RE.sub("...", problem)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"invalid YAML at {where}{problem}"


def parse_env_yaml(text: str) -> dict[str, str]:
    """``KEY: value`` YAML as a dict of strings; InvalidInput naming what is wrong.

    An empty document means no variables.  Values must be single strings.
    """
    try:
        data = _yaml_loader().load(text)
    except Exception as exc:  # noqa: BLE001 - every YAML error is "invalid input" here
        raise InvalidInput(_yaml_problem(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("expected KEY: value lines (a YAML mapping)")
    env: dict[str, str] = {}
    problems = []
    for key, value in data.items():
        if not isinstance(key, str):
            problems.append("a key is not a plain name")
            continue
        problem = env_key_problem(key)
        if problem:
            problems.append(problem)
        elif not isinstance(value, str):
            kind = "a list" if isinstance(value, list) else "a mapping"
            problems.append(f"{key}: the value must be a single string, not {kind}")
        else:
            env[key] = value
    if problems:
        raise InvalidInput("; ".join(problems))
    crashlog.keep_out(env.values())
    return env


# ---------------------------------------------------------------- the stored Secrets


@dataclass(frozen=True)
class StoredSecret:
    """A Secret as read from the cluster (``obj`` is None when it does not exist yet)."""

    name: str
    obj: dict[str, Any] | None
    data: dict[str, bytes]

    @property
    def exists(self) -> bool:
        return self.obj is not None


def decode_data(obj: Mapping[str, Any] | None) -> dict[str, bytes]:
    """The ``data`` of a Secret object, base64-decoded."""
    if not obj:
        return {}
    data = obj.get("data") or {}
    decoded = {key: base64.b64decode(value or "") for key, value in data.items()}
    for key, value in (obj.get("stringData") or {}).items():
        decoded[key] = value.encode()
    crashlog.keep_out(decoded.values())  # a crash log never shows them
    return decoded


def decode_env(data: Mapping[str, bytes]) -> dict[str, str]:
    env = {}
    for key, value in data.items():
        try:
            env[key] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise OperationFailed(
                f"the value of {key} is not UTF-8 text; lain cannot show or edit it as text",
                hint=f"replace it: lain env add {key}=...",
            ) from None
    return env


def build_secret_object(
    name: str,
    data: Mapping[str, bytes],
    *,
    appname: str,
    purpose: Purpose,
    user: str,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Secret to write: ``base`` (as read, with its resourceVersion) with new data, or a new one."""
    if base is not None:
        obj = copy.deepcopy(dict(base))
        obj.pop("stringData", None)
    else:
        obj = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": name,
                "labels": {
                    "app.kubernetes.io/name": appname,
                    "app.kubernetes.io/managed-by": "lain",
                    "lain.dev/secret": purpose,
                },
            },
        }
    metadata = obj.setdefault("metadata", {})
    annotations = metadata.get("annotations") or {}
    annotations["lain.dev/changed-by"] = user
    metadata["annotations"] = annotations
    obj["data"] = {key: base64.b64encode(data[key]).decode("ascii") for key in sorted(data)}
    return obj


def load_secret(cluster: Any, name: str) -> StoredSecret:
    obj = kube.get_json(cluster, "secret", name)
    return StoredSecret(name=name, obj=obj, data=decode_data(obj))


def write_secret(
    cluster: Any,
    stored: StoredSecret,
    data: Mapping[str, bytes],
    *,
    appname: str,
    purpose: Purpose,
    user: str,
) -> None:
    """Create the Secret or replace it at the version it was read (kube.Conflict if it moved)."""
    obj = build_secret_object(
        stored.name, data, appname=appname, purpose=purpose, user=user, base=stored.obj
    )
    if stored.exists:
        try:
            kube.replace(cluster, obj)
        except kube.NotFound as exc:
            raise kube.Conflict(
                f"Secret {stored.name} was deleted on cluster {cluster.name} since it was read"
            ) from exc
    else:
        kube.create(cluster, obj)


def update_secret(
    ctx: Any,
    purpose: Purpose,
    change: Callable[[dict[str, bytes]], dict[str, bytes]],
) -> KeyChange:
    """Read the Secret, apply ``change`` to its data and write it back if anything changed.

    ``change`` gets a copy of the current data and returns the new data (raise
    UsageError to refuse).  When the Secret moved meanwhile, it is read again
    and ``change`` applied again, so add and delete never overwrite another
    change.
    """
    name = secret_name(ctx.appname, purpose)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        stored = load_secret(ctx.cluster, name)
        new = change(dict(stored.data))
        problem = size_problem(new)
        if problem:
            raise UsageError(f"Secret {name} would hold {problem}")
        result = key_change(stored.data, new)
        if not result:
            return result
        try:
            write_secret(
                ctx.cluster, stored, new, appname=ctx.appname, purpose=purpose, user=ctx.user
            )
        except kube.Conflict:
            if attempt == WRITE_ATTEMPTS:
                raise
            continue
        return result
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- editing in $EDITOR


def editor_argv(environ: Mapping[str, str] | None = None) -> list[str]:
    """The user's editor as argv: ``$VISUAL``, else ``$EDITOR``, else ``vi``."""
    environ = os.environ if environ is None else environ
    for var in ("VISUAL", "EDITOR"):
        value = environ.get(var, "").strip()
        if value:
            try:
                argv = shlex.split(value)
            except ValueError as exc:
                raise UsageError(f"${var} cannot be split into a command: {exc}") from None
            if argv:
                return argv
    return ["vi"]


class _Terminated(KeyboardInterrupt):
    """SIGTERM/SIGHUP while editing: unwind like Ctrl-C so the temp file goes away."""


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated()

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def edits_dir() -> Path:
    """``$XDG_STATE_HOME/lain/edits`` (``~/.local/state/lain/edits``), 0700: where edits happen.

    Not the shared /tmp: a failed edit's file, kept on purpose with the user's
    secret values in it, stays in a directory of the user's own.
    """
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    directory = Path(base) / "lain" / "edits"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
    except OSError as exc:
        raise UsageError(
            f"cannot make a private directory for the edit: {directory}: {exc.strerror}",
            hint="set XDG_STATE_HOME to a directory of yours",
        ) from None
    return directory


class EditFile:
    """A private file for one edit: 0600, in a 0700 directory of its own under :func:`edits_dir`.

    ``owner`` says whose edit it is (cluster and Secret, and file): a file kept
    after a failed edit is removed by the next successful edit of the same.
    """

    OWNER_FILE = ".lain-edit-of"

    def __init__(self, filename: str, content: bytes, owner: str = "") -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="edit-", dir=edits_dir()))
        self.path = self.directory / filename
        self.initial = content
        self.owner = owner
        self.kept = False
        (self.directory / self.OWNER_FILE).write_text(owner + "\n", encoding="utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, content)
        finally:
            os.close(fd)

    def read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            # the editor deleted the file: treat it as emptied
            return b""

    def keep(self) -> Path:
        """Leave the file in place when the edit ends (the user's text must not be lost)."""
        self.kept = True
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)
        return self.path

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def remove_earlier(self) -> list[Path]:
        """Remove the files kept by earlier failed edits of the same owner; the ones removed."""
        removed = []
        for other in sorted(self.directory.parent.iterdir()):
            if other == self.directory or not other.is_dir():
                continue
            try:
                owner = (other / self.OWNER_FILE).read_text(encoding="utf-8").rstrip("\n")
            except (OSError, UnicodeDecodeError):
                continue
            if owner == self.owner:
                removed += sorted(p for p in other.iterdir() if p.name != self.OWNER_FILE)
                shutil.rmtree(other, ignore_errors=True)
        return removed


def kept_message(path: Path) -> str:
    """How to get rid of a kept edit file, for the hint of the error that kept it."""

    def shown(where: Path) -> str:  # from anywhere: under ~ as ~/..., else absolute
        home = Path(os.path.expanduser("~"))
        return f"~/{where.relative_to(home)}" if where.is_relative_to(home) else str(where)

    return (f"the next successful edit removes {shown(path)}; "
            f"to remove it now: rm -r {shlex.quote(shown(path.parent))}")


@contextlib.contextmanager
def editing(filename: str, content: bytes, owner: str = "") -> Iterator[EditFile]:
    """An :class:`EditFile` removed when the block ends -- error, Ctrl-C, SIGTERM
    included -- unless :meth:`EditFile.keep` was called."""
    edit = EditFile(filename, content, owner)
    try:
        with _signals_unwind():
            yield edit
    finally:
        if not edit.kept:
            edit.remove()


def _ask_to_reopen(reason: str) -> bool:
    """On a terminal: say what is wrong and wait for Enter (True) or end of input (False)."""
    from lain_cli import console

    console.failure(reason)
    print(
        "Press Enter to fix it in the editor, or Ctrl-C to give up: ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    return bool(sys.stdin.readline())


def _editor_failed(editor: str, code: int) -> LainError:
    """The error for an editor that did not exit 0: Ctrl-C is an interruption, not a failure."""
    if code in (-signal.SIGINT, 128 + signal.SIGINT):  # killed by SIGINT, or a shell wrapper's 130
        return Interrupted("Ctrl-C in the editor; nothing changed")
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return OperationFailed(f"the editor ({editor}) was stopped by {name}; nothing changed")
    return OperationFailed(f"the editor ({editor}) exited with status {code}; nothing changed")


def edit_until_valid(
    edit: EditFile,
    parse: Callable[[bytes], T],
    *,
    interactive: bool,
    editor: Sequence[str] | None = None,
) -> T | None:
    """Run the editor on ``edit`` until ``parse`` accepts its content.

    Returns None when the file is left as it was.  Invalid content (``parse``
    raises InvalidInput) reopens the editor on a terminal; without one, the
    file is kept and a UsageError says where it is.
    """
    from lain_cli import proc

    argv = list(editor) if editor is not None else editor_argv()
    while True:
        code = proc.run_attached([*argv, str(edit.path)])
        if code != 0:
            raise _editor_failed(argv[0], code)
        content = edit.read()
        if content == edit.initial:
            return None
        try:
            return parse(content)
        except InvalidInput as exc:
            reason = str(exc)
        if interactive and _ask_to_reopen(reason):
            continue
        path = edit.keep()
        raise UsageError(
            f"{reason}; nothing changed, your text is kept in {path}",
            hint=f"fix it, run the edit again and paste it in ({kept_message(path)})",
        )


def _write_or_keep(edit: EditFile, write: Callable[[], None], what: str) -> None:
    """Run ``write``; on any failure keep the user's edited text and say where it is."""
    try:
        write()
    except kube.Conflict:
        path = edit.keep()
        raise ClusterError(
            f"the Secret {what} changed since you loaded it (someone else edited it); "
            f"nothing was written, your edits are kept in {path}",
            hint="run the edit again to see the current content and re-apply your changes "
            f"from {path} ({kept_message(path)})",
        ) from None
    except LainError as exc:
        path = edit.keep()
        exc.details.append(f"nothing was written; your edits are kept in {path} ({kept_message(path)})")
        raise
    for earlier in edit.remove_earlier():
        from lain_cli import console

        console.info(f"removed {earlier}, kept from an earlier failed edit")


def _env_header(appname: str, cluster: str, name: str) -> str:
    return (
        f"# Environment variables of {appname} on cluster {cluster} (Secret {name}).\n"
        "# One KEY: value per line; delete a line to remove a variable.\n"
        "# Save and quit to apply; quit without changes to change nothing.\n"
    )


def _parse_env_bytes(content: bytes) -> dict[str, str]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the file is not UTF-8 text") from None
    env = parse_env_yaml(text)
    problem = size_problem({k: v.encode() for k, v in env.items()})
    if problem:
        raise InvalidInput(f"the variables would be {problem}")
    return env


def edit_env(ctx: Any, *, interactive: bool, editor: Sequence[str] | None = None) -> KeyChange:
    """Edit the env Secret as ``KEY: value`` YAML in the user's editor; the keys that changed."""
    name = env_secret_name(ctx.appname)
    stored = load_secret(ctx.cluster, name)
    current = decode_env(stored.data)
    text = _env_header(ctx.appname, ctx.cluster.name, name) + render_env_yaml(current)
    with editing(f"{name}.yaml", text.encode(), owner=f"{ctx.cluster.name}/{name}") as edit:
        new = edit_until_valid(edit, _parse_env_bytes, interactive=interactive, editor=editor)
        if new is None or new == current:
            return KeyChange()
        data = {k: v.encode() for k, v in new.items()}
        _write_or_keep(
            edit,
            lambda: write_secret(
                ctx.cluster, stored, data, appname=ctx.appname, purpose="env", user=ctx.user
            ),
            name,
        )
        return key_change(stored.data, data)


def edit_secret_file(
    ctx: Any, file_name: str, *, interactive: bool, editor: Sequence[str] | None = None
) -> KeyChange:
    """Edit one secret file in the user's editor (a new name starts empty); the keys that changed."""
    validate_file_name(file_name)
    name = files_secret_name(ctx.appname)
    stored = load_secret(ctx.cluster, name)
    current = stored.data.get(file_name, b"")

    def parse(content: bytes) -> bytes:
        problem = size_problem({**stored.data, file_name: content})
        if problem:
            raise InvalidInput(f"the secret files would be {problem}")
        return content

    with editing(file_name, current, owner=f"{ctx.cluster.name}/{name}/{file_name}") as edit:
        content = edit_until_valid(edit, parse, interactive=interactive, editor=editor)
        if content is None or (file_name in stored.data and content == current):
            return KeyChange()
        data = {**stored.data, file_name: content}
        _write_or_keep(
            edit,
            lambda: write_secret(
                ctx.cluster, stored, data, appname=ctx.appname, purpose="secret", user=ctx.user
            ),
            name,
        )
        return key_change(stored.data, data)


# ---------------------------------------------------------------- add / delete / show


def add_env(ctx: Any, assignments: Mapping[str, str]) -> KeyChange:
    new_values = {k: v.encode() for k, v in assignments.items()}
    return update_secret(ctx, "env", lambda data: {**data, **new_values})


def _deleting(
    keys: Iterable[str], what: str, secret: str
) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    keys = list(keys)

    def change(data: dict[str, bytes]) -> dict[str, bytes]:
        missing = [k for k in keys if k not in data]
        if missing:
            raise UsageError(f"no {what} {', '.join(missing)} in Secret {secret}; nothing changed")
        return {k: v for k, v in data.items() if k not in keys}

    return change


def delete_env(ctx: Any, keys: Sequence[str]) -> KeyChange:
    for key in keys:
        validate_env_key(key)
    return update_secret(ctx, "env", _deleting(keys, "variable", env_secret_name(ctx.appname)))


def read_secret_files(paths: Sequence[str]) -> dict[str, bytes]:
    """The files to add, by file name; UsageError for a missing file or a bad name."""
    if not paths:
        raise UsageError("no FILE given", hint="lain secret add FILE [FILE ...]")
    files: dict[str, bytes] = {}
    for path in paths:
        file_name = os.path.basename(os.path.normpath(path))
        validate_file_name(file_name)
        if file_name in files:
            raise UsageError(f"two files are named {file_name}")
        try:
            files[file_name] = Path(path).read_bytes()
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"{path} is a directory; give the files in it") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read it ({exc.strerror})") from None
    crashlog.keep_out(files.values())
    return files


def add_secret_files(ctx: Any, files: Mapping[str, bytes]) -> KeyChange:
    return update_secret(ctx, "secret", lambda data: {**data, **files})


def delete_secret_files(ctx: Any, names: Sequence[str]) -> KeyChange:
    for name in names:
        validate_file_name(name)
    return update_secret(
        ctx, "secret", _deleting(names, "secret file", files_secret_name(ctx.appname))
    )


def read_env(ctx: Any) -> dict[str, str]:
    return decode_env(load_secret(ctx.cluster, env_secret_name(ctx.appname)).data)


def read_env_keys(ctx: Any) -> list[str]:
    return sorted(load_secret(ctx.cluster, env_secret_name(ctx.appname)).data)


def read_secret_files_stored(ctx: Any) -> dict[str, bytes]:
    return load_secret(ctx.cluster, files_secret_name(ctx.appname)).data


def mount_path(values: Mapping[str, Any] | None) -> str:
    """Where the chart mounts the secret files (``secretMountPath`` in values)."""
    path = (values or {}).get("secretMountPath")
    return path if isinstance(path, str) and path else DEFAULT_MOUNT_PATH


_TAKES_EFFECT = {
    "env": "running pods keep their old environment until the next deploy or restart",
    "secret": "running pods see the new files within a minute or two (not with subPath mounts)",
}


def report_change(ctx: Any, purpose: Purpose, change: KeyChange) -> int:
    """Tell the user what changed (keys only), post the review notice, return exit code 0."""
    from lain_cli import console

    name = secret_name(ctx.appname, purpose)
    if not change:
        console.info(f"Secret {name}: nothing changed")
        return 0
    console.success(f"Secret {name}: {change.summary()}")
    console.info(_TAKES_EFFECT[purpose])
    announce(ctx, purpose, change)
    return 0


def announce(ctx: Any, purpose: Purpose, change: KeyChange) -> bool:
    """Post the review notice for ``change`` to the app's webhook (never values)."""
    from lain_cli import notify

    if not change:
        return False
    name = secret_name(ctx.appname, purpose)
    what = "environment variables" if purpose == "env" else "secret files"
    event = notify.Event(
        kind="env-change" if purpose == "env" else "secret-change",
        app=ctx.appname,
        cluster=ctx.cluster.name,
        user=ctx.user,
        text=f"{what} in Secret {name} changed: please review",
        keys_added=change.added,
        keys_removed=change.removed,
        keys_changed=change.changed,
    )
    return notify.send_event(ctx, event)
