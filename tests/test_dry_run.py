"""``lain deploy --dry-run`` (lain_cli.dry_run) on recorded fakes: what helm's and the
API server's dry runs say becomes the verdict and the exit code, the diff is lain
diff's, and nothing is written: no lock, no revision, no hook, no notice."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from lain_cli import dry_run as dry
from lain_cli import events as ev
from lain_cli.errors import OperationFailed
from lain_cli.helm import DryRunRelease
from lain_cli.reporters import Journal
from tests.test_deploy import World, make_ctx, options


@pytest.fixture
def world() -> World:
    return World()


def deployment(name: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas}}


def job(name: str, policy: str | None = "before-hook-creation", hook: str = "pre-upgrade") -> dict[str, Any]:
    annotations = {"helm.sh/hook": hook, **({"helm.sh/hook-delete-policy": policy} if policy else {})}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "annotations": annotations}}


def manifest(*objects: dict[str, Any]) -> str:
    return "".join(f"---\n# Source: dummy/templates/x.yaml\n{yaml.safe_dump(o)}" for o in objects)


def would(revision: int, objects: list[dict[str, Any]], hooks: list[dict[str, Any]] = ()) -> DryRunRelease:  # type: ignore[assignment]
    entries = tuple((h["metadata"]["name"], tuple(h["metadata"]["annotations"]["helm.sh/hook"].split(",")),
                     manifest(h)) for h in hooks)
    return DryRunRelease(revision, manifest(*objects), entries)


def installed(world: World, web: int = 2, hooks: list[dict[str, Any]] = ()) -> int:  # type: ignore[assignment]
    number = world.deployed()
    world.helm.manifests[number] = (manifest(deployment("dummy-web", web)), manifest(*hooks))
    return number


def run(world: World, tmp_path: Path, *, journal: bool = False) -> tuple[int, list[ev.Event]]:
    seen: list[ev.Event] = []
    ctx = make_ctx(tmp_path)
    opts = options(journal=Journal() if journal else None)
    result = dry.dry_run(ctx, opts, world.tools(), seen.append)
    dry.report(ctx, result, seen.append)
    return result.exit_code, seen


def texts(seen: list[ev.Event]) -> str:
    return "\n".join([getattr(e, "text", "") for e in seen]
                     + [d for e in seen if isinstance(e, ev.Failure) for d in e.details])


def test_a_first_install_is_all_new_and_writes_nothing(world: World, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    world.helm.dry_release = would(1, [deployment("dummy-web", 2)], [job("dummy-init", hook="pre-install")])
    code, seen = run(world, tmp_path)
    assert code == dry.EXIT_CHANGES == 2
    out = capsys.readouterr().out
    assert out.startswith("+ Deployment dummy-web (added)\n") and "+ Job dummy-init (added)" in out
    assert "release dummy is not installed yet: everything is new" in texts(seen)
    assert "helm and the API server accept revision 1 of dummy (2 objects checked)" in texts(seen)
    # the server checked the objects as helm writes them: the release's applied, its install hook created
    assert world.kubectl.dry_runs == [("apply", ["dummy-web"]), ("create", ["dummy-init"])]
    assert world.store.objects == {} and world.kubectl.calls == []  # no lock, no revision, nothing
    assert world.helm.argvs[0][-1] == "--dry-run=server"
    assert not any(isinstance(e, ev.Notice) for e in seen)


def test_no_change_is_exit_0_and_a_change_is_exit_2(world: World, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    installed(world, web=2)
    before = copy.deepcopy(world.store.objects)
    world.helm.dry_release = would(2, [deployment("dummy-web", 2)])
    assert run(world, tmp_path)[0] == 0
    assert capsys.readouterr().out == ""
    world.helm.dry_release = would(2, [deployment("dummy-web", 4)])
    code, seen = run(world, tmp_path)
    assert code == 2
    out = capsys.readouterr().out
    assert "~ Deployment dummy-web (changed)" in out and "-  replicas: 2" in out and "+  replicas: 4" in out
    assert "1 to change, 0 to add, 0 to remove" in texts(seen)
    assert world.store.objects == before
    assert [r.number for r in world.helm.history("dummy")] == [1]


def test_what_the_server_refuses_fails_the_dry_run_with_its_message(world: World, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    installed(world)
    world.helm.dry_release = would(2, [deployment("dummy-web", 4)])
    message = 'The Deployment "dummy-web" is invalid: spec.selector: Invalid value: {}: field is immutable'
    world.kubectl.refuse["dummy-web"] = ("Invalid", message)
    code, seen = run(world, tmp_path)
    assert code == 1
    assert "~ Deployment dummy-web (changed)" in capsys.readouterr().out  # the diff still shows what was refused
    failure = next(e for e in seen if isinstance(e, ev.Failure))
    assert failure.text == "the API server refuses revision 2 of dummy (1 object):"
    assert failure.details == (f"  {message}",)


@pytest.mark.parametrize(("policy", "refused"), [
    ("before-hook-creation", False), (None, False), ("hook-succeeded,before-hook-creation", False),
    ("hook-failed", True),
])
def test_a_hook_left_from_the_last_deploy_only_matters_when_helm_does_not_delete_it_first(
        world: World, tmp_path: Path, policy: str | None, refused: bool) -> None:
    migrate = job("dummy-migrate", policy)
    installed(world, hooks=[migrate])
    world.store.objects[("job", "dummy-migrate")] = migrate
    world.helm.dry_release = would(2, [deployment("dummy-web", 2)],
                                   [migrate, job("dummy-smoke", hook="test"), job("dummy-init", hook="pre-install")])
    code, seen = run(world, tmp_path)
    assert world.kubectl.dry_runs[1] == ("create", ["dummy-migrate"])  # an upgrade's hooks only
    assert code == (1 if refused else 2)  # the test hook and the install hook are new in the diff
    assert ('jobs "dummy-migrate" already exists' in texts(seen)) is refused


def test_a_release_in_progress_is_refused_before_helm_runs(world: World, tmp_path: Path) -> None:
    installed(world)
    world.helm.add_revision("pending-upgrade", "deploy by bob", age=5)
    with pytest.raises(OperationFailed, match="another deploy is in progress"):
        run(world, tmp_path)
    assert world.helm.argvs == [] and world.kubectl.dry_runs == []


def test_json_document(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    installed(world)
    world.helm.dry_release = would(2, [deployment("dummy-web", 4)])
    ctx = make_ctx(tmp_path)
    code = dry.run(ctx, options(), world.tools())
    doc = json.loads(capsys.readouterr().out)
    assert code == 2
    assert (doc["action"], doc["dryRun"], doc["result"], doc["exitCode"], doc["revision"]) == (
        "deploy", True, "changes", 2, 2)
    assert doc["changes"][0]["resource"] == "Deployment dummy-web" and doc["refused"] == []
    assert doc["oldImage"] == "registry.example.com/dummy:aaa" and doc["newImage"] == "registry.example.com/dummy:bbb"
    assert doc["events"] == [] and "status" not in doc


def test_json_document_when_helm_refuses(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world.helm.dry_release = OperationFailed("helm upgrade --dry-run=server refused the upgrade: boom")
    with pytest.raises(OperationFailed):
        dry.run(make_ctx(tmp_path), options(), world.tools())
    doc = json.loads(capsys.readouterr().out)
    assert (doc["result"], doc["exitCode"], doc["dryRun"]) == ("failed", 1, True)
    assert doc["error"]["message"].endswith("boom")
