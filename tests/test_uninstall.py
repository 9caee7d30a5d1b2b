"""The uninstall plan: what goes, what stays, what is said before anything is removed."""

from __future__ import annotations

from lain_cli import uninstall
from lain_cli.release import Revision
from lain_cli.uninstall import Ref, plan_uninstall, remaining

MANIFEST = """---
# Source: lain/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dummy-web
---
# Source: lain/templates/pvc.yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: dummy-uploads
---
apiVersion: v1
kind: Service
metadata:
  name: dummy-web
"""
HOOKS = """---
apiVersion: batch/v1
kind: Job
metadata:
  name: dummy-migrate
"""
HEAD = Revision(number=3, status="deployed", updated=None, description="")


def plan(*, purge: bool = False, head: Revision | None = HEAD,
         claims: tuple[str, ...] = ("data-dummy-db-0", "dummy-uploads"),
         secrets: tuple[str, ...] = ("dummy-env", "dummy-secret")) -> uninstall.UninstallPlan:
    return plan_uninstall(app="dummy", release="dummy", cluster="prod", namespace="shop", head=head,
                          manifest=MANIFEST if head else "", hooks=HOOKS if head else "", secrets=secrets,
                          claims=claims, purge=purge)


def test_without_purge_secrets_and_statefulset_claims_are_kept_and_said() -> None:
    p = plan()
    assert p.objects == (Ref("Deployment", "dummy-web"), Ref("PersistentVolumeClaim", "dummy-uploads"),
                         Ref("Service", "dummy-web"))
    # the release's own claim is helm's to delete, not a leftover
    assert p.claims == ("data-dummy-db-0",)
    assert p.removed_by_lain == (Ref("Job", "dummy-migrate"),)
    assert [str(r) for r in p.kept] == ["secret/dummy-env", "secret/dummy-secret",
                                        "persistentvolumeclaim/data-dummy-db-0"]
    lines = p.describe()
    assert lines[0] == ("uninstall release dummy of app dummy from cluster prod, namespace shop (revision 3, "
                        "deployed): 3 objects and 1 hook objects")
    assert "  job/dummy-migrate (hook)" in lines
    assert "DATA IS DELETED with the persistent volume claim dummy-uploads" in lines
    assert lines[-1] == ("kept: secret/dummy-env, secret/dummy-secret, persistentvolumeclaim/data-dummy-db-0 "
                         "(--purge removes them)")


def test_purge_removes_secrets_and_claims_and_warns_of_all_data() -> None:
    p = plan(purge=True)
    assert p.kept == ()
    assert Ref("Secret", "dummy-env") in p.removed_by_lain
    assert Ref("PersistentVolumeClaim", "data-dummy-db-0") in p.removed_by_lain
    assert p.deletes_data == ("dummy-uploads", "data-dummy-db-0")
    assert "DATA IS DELETED with the persistent volume claims dummy-uploads, data-dummy-db-0" in p.describe()
    assert uninstall.plan_document(p)["kept"] == []
    assert "secret/dummy-env" in uninstall.plan_document(p)["removed"]


def test_not_installed_is_nothing_to_do_unless_purge_has_leftovers() -> None:
    assert plan(head=None).nothing_to_do
    assert not plan(head=None, purge=True).nothing_to_do
    assert plan(head=None, purge=True, claims=(), secrets=()).nothing_to_do
    leftovers = plan(head=None, purge=True)
    assert leftovers.objects == () and leftovers.hooks == ()
    assert "is not installed on cluster prod, namespace shop" in leftovers.describe()[0]


def test_not_installed_error_names_where_and_the_leftovers() -> None:
    error = uninstall._not_installed(plan(head=None))
    assert error.exit_code == 1
    assert error.message == "release dummy is not installed on cluster prod, namespace shop: nothing to uninstall"
    assert error.hint is not None and "`lain uninstall --purge` removes them" in error.hint
    assert "check the app name" in (uninstall._not_installed(plan(head=None, claims=(), secrets=())).hint or "")


def test_remaining_keeps_expected_objects_and_every_pod_with_why() -> None:
    listed = {"items": [
        {"kind": "Deployment", "metadata": {"name": "dummy-web"}},
        {"kind": "Pod", "metadata": {"name": "dummy-web-1", "deletionTimestamp": "2024-01-01T00:00:00Z"}},
        {"kind": "PersistentVolumeClaim", "metadata": {"name": "data-dummy-db-0"}},  # kept: not expected
        {"kind": "PersistentVolumeClaim", "metadata": {"name": "dummy-uploads", "deletionTimestamp": "x",
                                                       "finalizers": ["kubernetes.io/pvc-protection"]}},
    ]}
    left = remaining(listed, plan().gone_when_done())
    assert left == [
        (Ref("Deployment", "dummy-web"), ""),
        (Ref("PersistentVolumeClaim", "dummy-uploads"), "terminating, finalizers: kubernetes.io/pvc-protection"),
        (Ref("Pod", "dummy-web-1"), "terminating"),
    ]
    assert remaining({"items": []}, plan().gone_when_done()) == []


def test_helm_uninstall_argv_per_major() -> None:
    from lain_cli import helm

    for major in (3, 4):
        assert helm.uninstall_argv("helm", major, "dummy", cluster_args=["--namespace", "shop"], timeout=90) == [
            "helm", "uninstall", "dummy", "--namespace", "shop", "--timeout", "90s"]
