"""helm argv building, exactly, per helm major version; parsing what helm prints."""

from __future__ import annotations

import pytest

from lain_cli import helm
from lain_cli.errors import ConfigError, ToolError


@pytest.mark.parametrize("major", [3, 4])
def test_template_argv_minimal(major: int) -> None:
    assert helm.template_argv("/bin/helm", major, "dummy", "/tmp/c/dummy") == [
        "/bin/helm", "template", "dummy", "/tmp/c/dummy",
    ]


@pytest.mark.parametrize("major", [3, 4])
def test_template_argv_full(major: int) -> None:
    argv = helm.template_argv(
        "/bin/helm", major, "dummy-dev", "/tmp/c/dummy-dev",
        namespace="apps", kube_version="1.30", values_files=["a.yaml", "b.yaml"],
    )
    assert argv == [
        "/bin/helm", "template", "dummy-dev", "/tmp/c/dummy-dev",
        "--namespace", "apps", "--kube-version", "1.30",
        "--values", "a.yaml", "--values", "b.yaml",
    ]


@pytest.mark.parametrize("major", [3, 4])
def test_lint_argv(major: int) -> None:
    assert helm.lint_argv("/bin/helm", major, "/tmp/c/dummy") == ["/bin/helm", "lint", "/tmp/c/dummy"]
    assert helm.lint_argv(
        "/bin/helm", major, "/tmp/c/dummy", namespace="apps", kube_version="1.31", strict=True
    ) == ["/bin/helm", "lint", "/tmp/c/dummy", "--namespace", "apps", "--kube-version", "1.31", "--strict"]


def test_unsupported_major_is_refused() -> None:
    with pytest.raises(ToolError):
        helm.template_argv("/bin/helm", 2, "dummy", "/tmp/c")


RENDERED = """---
# Source: dummy/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: dummy-web
---
# Source: dummy/templates/empty.yaml
# only a comment
---
# Source: dummy/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dummy-web
spec:
  template:
    spec:
      containers:
        - command:
            - |
              echo ---
"""


def test_parse_manifests_keeps_source_and_skips_empty_documents() -> None:
    manifests = helm.parse_manifests(RENDERED)
    assert [(m.source, m.label) for m in manifests] == [
        ("dummy/templates/service.yaml", "Service dummy-web"),
        ("dummy/templates/deployment.yaml", "Deployment dummy-web"),
    ]
    # a "---" inside a block scalar is indented, so it does not split documents
    assert manifests[1].body["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo ---\n"]


def test_parse_manifests_invalid_yaml_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid YAML"):
        helm.parse_manifests("---\n# Source: x/templates/a.yaml\nkind: [\n")


def test_explain_render_error_prefers_the_charts_message() -> None:
    stderr = (
        "Error: execution error at (dummy/templates/ingress.yaml:13:44): "
        'ingress dummy: deployName "wbe" is not a proc\n\nUse --debug flag to render out invalid YAML\n'
    )
    assert helm.explain_render_error(stderr) == 'ingress dummy: deployName "wbe" is not a proc'
    older = stderr.replace("): ingress", "): error calling required: ingress")
    assert helm.explain_render_error(older) == 'ingress dummy: deployName "wbe" is not a proc'
    assert helm.explain_render_error("Error: something else\n") == "something else"


def test_parse_lint_messages() -> None:
    out = "==> Linting x\n[INFO] Chart.yaml: icon is recommended\n[ERROR] templates/: boom\n[WARNING] w\n[ERROR] templates/: boom\n"
    assert helm.parse_lint_messages(out) == ["[ERROR] templates/: boom", "[WARNING] w"]


def test_parse_json() -> None:
    assert helm.parse_json('[{"revision": 1}]', "history") == [{"revision": 1}]
    with pytest.raises(Exception, match="not JSON"):
        helm.parse_json("Error: nope", "history")


def test_parse_manifests_reads_yaml_as_kubernetes_does() -> None:
    doc = "---\n# Source: d/templates/a.yaml\nkind: ConfigMap\ndata:\n  a: yes\n  b: on\n  c: 2024-01-01\n  d: true\n  e: 1.5\n"
    (manifest,) = helm.parse_manifests(doc)
    assert manifest.body["data"] == {"a": "yes", "b": "on", "c": "2024-01-01", "d": True, "e": 1.5}
