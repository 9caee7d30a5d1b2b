"""The values schema: bad input gives exact messages and exit 2 through cli.main."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lain_cli import schema
from tests.fixtures_values import PROBE, make_app, probe_command, run_main, write  # noqa: F401

# registers `lain probe`, which loads the AppContext like deploy does
pytestmark = pytest.mark.usefixtures("probe_command")

BASE = "appname: dummy\ndeployments:\n  web:\n    containerPort: 5000\n"

# (case id, chart/values.yaml content, the exact first line on stderr)
BAD_VALUES = [
    ("malformed-yaml", "appname: dummy\ndeployments:\n  web: x: 1\n",
     "error: chart/values.yaml:3:9: invalid YAML: mapping values are not allowed here"),
    ("duplicate-key", "appname: dummy\nappname: other\n",
     "error: chart/values.yaml:2:1: duplicate key 'appname'"),
    ("top-level-list", "- a\n- b\n",
     "error: chart/values.yaml:1: the top level must be a mapping of keys (like appname: ...), not a list"),
    ("typo-did-you-mean", BASE + "    replicas: 3\n",
     "error: chart/values.yaml:5: deployments.web.replicas: unknown key; did you mean replicaCount?"),
    ("proc-key-at-top-level", "appname: dummy\nreplicaCount: 3\n",
     "error: chart/values.yaml:2: replicaCount: unknown key; replicaCount belongs to a proc, "
     "e.g. deployments.<proc>.replicaCount"),
    ("wrong-type", BASE + "    replicaCount: three\n",
     'error: chart/values.yaml:5: deployments.web.replicaCount: expected an integer, got a string ("three")'),
    ("negative-replicas", BASE + "    replicaCount: -1\n",
     "error: chart/values.yaml:5: deployments.web.replicaCount: must be non-negative, got -1"),
    ("port-out-of-range", "appname: dummy\ndeployments:\n  web:\n    containerPort: 70000\n",
     "error: chart/values.yaml:4: deployments.web.containerPort: must be between 1 and 65535, got 70000"),
    ("unknown-deployName", BASE + "ingresses:\n  - host: dummy\n    deployName: wbe\n",
     "error: chart/values.yaml:7: ingresses[0].deployName: 'wbe' is not a proc of this app (procs: web); "
     "did you mean web?"),
    ("deployName-without-port", "appname: dummy\ndeployments:\n  worker: {}\n"
     "ingresses:\n  - host: dummy\n    deployName: worker\n",
     "error: chart/values.yaml:6: ingresses[0].deployName: proc worker has no containerPort, "
     "so there is no Service to route to"),
    ("duplicate-host", BASE + "ingresses:\n  - host: dummy\n    deployName: web\n"
     "  - host: dummy\n    deployName: web\n",
     "error: chart/values.yaml:8: ingresses[1].host: duplicate host dummy with path / (also in ingresses[0])"),
    ("invalid-proc-name", "appname: dummy\ndeployments:\n  Web_1: {}\n",
     "error: chart/values.yaml:3: deployments.Web_1: invalid name 'Web_1': use lowercase letters, digits "
     "and '-', starting and ending with a letter or digit"),
    ("name-too-long", "appname: dummy\ndeployments:\n  " + "w" * 60 + ": {}\n",
     f"error: chart/values.yaml:3: deployments.{'w' * 60}: the deployment would be named dummy-{'w' * 60} "
     "(66 characters); Kubernetes allows at most 63"),
    ("cronjob-name-too-long", "appname: dummy\ncronjobs:\n  " + "c" * 50 + ":\n    schedule: '* * * * *'\n",
     f"error: chart/values.yaml:3: cronjobs.{'c' * 50}: the cronjob would be named dummy-{'c' * 50} "
     "(56 characters); Kubernetes allows at most 52"),
    ("invalid-appname", "appname: Dummy_App\n",
     "error: chart/values.yaml:1: appname: invalid name 'Dummy_App': use lowercase letters, digits and '-', "
     "starting with a letter and ending with a letter or digit"),
    ("missing-appname", "deployments: {}\n",
     "error: chart/values.yaml: appname: required key is missing"),
    ("reserved-lain-key", BASE + "lain: {x: 1}\n",
     "error: chart/values.yaml:5: lain: the key lain is reserved for the values lain computes; rename it"),
    ("hpa-max-below-replicas", BASE + "    replicaCount: 3\n    hpa: {maxReplicas: 2}\n",
     "error: chart/values.yaml:6: deployments.web.hpa.maxReplicas: maxReplicas (2) is less than replicaCount (3)"),
    ("hpa-max-below-min", BASE + "    hpa: {minReplicas: 4, maxReplicas: 2}\n",
     "error: chart/values.yaml:5: deployments.web.hpa.maxReplicas: maxReplicas (2) is less than minReplicas (4)"),
    ("bad-error-regex", BASE + "errorLogPattern: '(unclosed'\n",
     "error: chart/values.yaml:5: errorLogPattern: not a valid regular expression: missing ), "
     "unterminated subpattern at position 0"),
    ("command-as-string", BASE + "    command: /run.sh\n",
     'error: chart/values.yaml:5: deployments.web.command: expected a list of strings, got a string ("/run.sh")'),
    ("memory-millibytes", BASE + "    resources: {limits: {memory: 80m}}\n",
     "error: chart/values.yaml:5: deployments.web.resources.limits.memory: '80m' means 80/1000 of a byte; "
     "did you mean 80Mi?"),
    ("probe-without-handler", BASE + "    readinessProbe: {periodSeconds: 3}\n",
     "error: chart/values.yaml:5: deployments.web.readinessProbe: needs exactly one of httpGet, exec, "
     "tcpSocket, grpc"),
    ("bad-choice", BASE + "    imagePullPolicy: always\n",
     "error: chart/values.yaml:5: deployments.web.imagePullPolicy: must be one of Always, IfNotPresent, Never, "
     "got 'always'; did you mean Always?"),
    ("pdb-both", BASE + "    podDisruptionBudget: {minAvailable: 1, maxUnavailable: 1}\n",
     "error: chart/values.yaml:5: deployments.web.podDisruptionBudget: needs either minAvailable or "
     "maxUnavailable (got minAvailable and maxUnavailable)"),
    ("cronjob-without-schedule", "appname: dummy\ncronjobs:\n  daily: {command: [x]}\n",
     "error: chart/values.yaml:3: cronjobs.daily.schedule: required key is missing"),
    ("uppercase-host", BASE + "ingresses:\n  - host: Dummy.Example.com\n    deployName: web\n",
     "error: chart/values.yaml:6: ingresses[0].host: not a valid host name: 'Dummy.Example.com' "
     "(lowercase letters, digits, '-' and '.')"),
    ("name-used-twice", BASE + "jobs:\n  web: {}\n",
     "error: chart/values.yaml:6: jobs.web: the name web is also used in deployments; names must be unique "
     "across deployments, statefulSets, jobs, cronjobs and tests"),
    ("env-not-a-name", BASE + "env:\n  'MY VAR': x\n",
     "error: chart/values.yaml:6: env.MY VAR: invalid environment variable name 'MY VAR'"),
    ("volume-mount-relative", BASE + "volumeMounts:\n  - subPath: a.txt\n    mountPath: etc/a.txt\n",
     "error: chart/values.yaml:7: volumeMounts[0].mountPath: must be an absolute path, got 'etc/a.txt'"),
    ("float-image-tag", BASE + "    imageTag: 1.10\n",
     "error: chart/values.yaml:5: deployments.web.imageTag: expected a string, got a number (1.1)"),
    ("webhook-not-url", BASE + "webhook: {url: hooks.example.com}\n",
     "error: chart/values.yaml:5: webhook.url: not an http(s) URL: 'hooks.example.com'"),
]


@pytest.mark.parametrize(("content", "first_line"), [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES])
def test_bad_values_exit_2_with_exact_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    content: str, first_line: str,
) -> None:
    make_app(tmp_path, content)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main([PROBE], capsys)
    assert code == 2
    assert out == ""
    assert err.splitlines()[0] == first_line
    assert "Traceback" not in err


def test_there_are_at_least_15_bad_input_cases() -> None:
    assert len({c[0] for c in BAD_VALUES}) >= 15


def test_several_problems_are_reported_together_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    make_app(tmp_path, BASE + "    replicas: 3\n    imagePullPolicy: sometimes\nfoo: 1\n",
             **{"extra.yaml": "deployments:\n  web:\n    replicaCount: x\n"})
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(["-f", "extra.yaml", PROBE], capsys)
    assert code == 2
    assert err.splitlines() == [
        "error: 4 problems in the values",
        "  chart/values.yaml:5: deployments.web.replicas: unknown key; did you mean replicaCount?",
        "  chart/values.yaml:6: deployments.web.imagePullPolicy: must be one of Always, IfNotPresent, Never, "
        "got 'sometimes'",
        "  extra.yaml:3: deployments.web.replicaCount: expected an integer, got a string (\"x\")",
        "  chart/values.yaml:7: foo: unknown key",
        "hint: fix the values and check them with lain lint",
    ]


def test_more_than_ten_problems_are_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    make_app(tmp_path, "appname: dummy\n" + "".join(f"unknown{i}: 1\n" for i in range(12)))
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main([PROBE], capsys)
    lines = err.splitlines()
    assert code == 2
    assert lines[0] == "error: 12 problems in the values"
    assert lines[-2] == "  ... and 2 more"
    assert len(lines) == 13


def test_errors_in_a_set_pair_name_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    make_app(tmp_path, BASE)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main([PROBE, "--set", "deployments.web.replicaCount=[1]"], capsys)
    assert code == 2
    assert err.splitlines()[0] == ("error: --set: deployments.web.replicaCount: expected an integer, got a list")


def test_missing_values_file_hints_lain_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / ".git").mkdir()  # the repo's top: the upward search stops here
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main([PROBE], capsys)
    assert code == 2
    assert err == ("error: chart/values.yaml: not found in this directory or its parents\n"
                   "hint: run lain init to create it, or cd into the app's repo\n")


def test_missing_f_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    make_app(tmp_path, BASE)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(["-f", "chart/values-nope.yaml", PROBE], capsys)
    assert code == 2
    assert err == ("error: chart/values-nope.yaml: file not found\n"
                   "hint: check the path given to -f/--values\n")


def test_non_utf8_and_huge_files_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    make_app(tmp_path, BASE)
    (tmp_path / "latin1.yaml").write_bytes(b"appname: dummy\nenv:\n  A: caf\xe9\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(["-f", "latin1.yaml", PROBE], capsys)
    assert (code, err.splitlines()[0]) == (2, "error: latin1.yaml:3: not valid UTF-8 (byte 0xe9 at offset 28)")
    (tmp_path / "huge.yaml").write_bytes(b"# " + b"x" * (6 * 1024 * 1024))
    code, _, err = run_main(["-f", "huge.yaml", PROBE], capsys)
    assert (code, err.splitlines()[0]) == (2, "error: huge.yaml: file is too large (6.0 MiB; the limit is 5 MiB)")


def test_canary_groups_are_accepted_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    make_app(tmp_path, BASE + "canaryGroups:\n  small:\n    nginx.ingress.kubernetes.io/canary-weight: '10'\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main([PROBE], capsys)
    assert code == 0, err
    assert re.search(r"warning: chart/values.yaml:\d+: canaryGroups: not supported yet; the canary groups are ignored", err)
    assert '"canaryGroups"' in out


# -- valid input --------------------------------------------------------------

SEED_MIGRATION = """\
appname: dummy
deployments:
  web:
    replicaCount: 20
    containerPort: 5000
  web-dev:
    replicaCount: 1
    containerPort: 5000
ingresses:
  - host: dummy-dev
    deployName: web-dev
    paths:
      - /
volumes:
  - name: jfs-backup-dir
    hostPath:
      path: "/jfs/backup/{{ appname }}/"
      type: Directory
jobs:
  init:
    ttlSecondsAfterFinished: 86400
    activeDeadlineSeconds: 3600
    backoffLimit: 0
    initContainers:
      - name: backup
        image: ccr.ccs.tencentyun.com/yashi/ubuntu-python:latest
        command:
          - 'bash'
          - '-c'
          - |
            mysqldump -h$MYSQL_HOST $MYSQL_DB | gzip -c > /jfs/backup/{{ appname }}/$MYSQL_DB-backup.sql.gz
        volumeMounts:
          - name: jfs-backup-dir
            mountPath: /jfs/backup/{{ appname }}/
    annotations:
      "helm.sh/hook": pre-upgrade
      "helm.sh/hook-delete-policy": before-hook-creation
    command:
      - 'bash'
      - '-c'
      - |
        set -e
        alembic upgrade heads
"""

SEED_STRATEGY = """\
deployments:
  web:
    strategy:
      type: RollingUpdate
      rollingUpdate:
        maxSurge: 1
        maxUnavailable: 1
"""

LAIN4_FULL = """\
appname: dummy
releaseName: dummy
prometheus_query_range: 7d
webhook:
  url: https://open.feishu.cn/open-apis/bot/v2/hook/c057c484
  clusters:
    - yashi
env:
  AUTH_TYPE: "basic"
volumeMounts:
  - subPath: topsecret.txt
    mountPath: /lain/app/deploy/topsecret.txt
  - name: juicefs-pvc
    mountPath: /jfs/
persistentVolumeClaims:
  juicefs-pvc:
    accessModes:
      - ReadWriteMany
    resources:
      requests:
        storage: 1Gi
    storageClassName: juicefs-sc
deployments:
  web:
    env:
      FOO: BAR
    replicaCount: 1
    hpa:
      maxReplicas: 10
      metrics: []
      behavior: {}
    image: kibana:7.5.0
    imagePullPolicy: Always
    podSecurityContext: {'runAsUser': 0}
    serviceAccountName: default
    terminationGracePeriodSeconds: 100
    resources:
      limits:
        cpu: 1000m
        memory: 80Mi
      requests:
        cpu: 10m
        memory: 80Mi
    command: ["/lain/app/run.py"]
    workingDir: /lain/app
    containerPort: 5000
    podAnnotations:
      prometheus.io/scrape: 'true'
      prometheus.io/port: '9540'
    nodePort: 32001
    protocol: TCP
    hostNetwork: false
    readinessProbe:
      httpGet:
        path: /my-healthcheck-api
        port: 5000
      initialDelaySeconds: 25
      periodSeconds: 2
      failureThreshold: 1
    livenessProbe:
      exec:
        command:
        - cat
        - /tmp/healthy
    startupProbe:
      httpGet:
        path: /healthz
        port: liveness-port
      failureThreshold: 30
    minReadySeconds: 10
    strategy:
      type: RollingUpdate
      rollingUpdate:
        maxSurge: 25%
        maxUnavailable: 25%
    nodes:
    - node-1
    affinity: {}
    lifecycle:
      preStop:
        exec:
          command: [sleep, "5"]
    podDisruptionBudget:
      maxUnavailable: 1
statefulSets:
  worker:
    imageTag: specific-version
    updateStrategy:
      rollingUpdate:
        partition: 0
      type: RollingUpdate
cronjobs:
  daily:
    ttlSecondsAfterFinished: 86400
    activeDeadlineSeconds: 3600
    successfulJobsHistoryLimit: 1
    failedJobsHistoryLimit: 1
    schedule: "0 17 * * *"
    concurrencyPolicy: Replace
    backoffLimit: 0
    command: ["python3", "manage.py", "process_daily_stats_dag"]
tests:
  simple-test:
    image: docker.io/timfeirg/lain:latest
    command:
      - bash
      - -ecx
      - |
        curl -v {{ appname }}-web
ingresses:
  - host: "{{ appname }}"
    deployName: web
    paths:
      - /
externalIngresses:
  - host: www.example.com
    annotations:
    deployName: web
    paths:
      - /
labels: {}
serviceAnnotations: {}
ingressAnnotations:
  nginx.ingress.kubernetes.io/force-ssl-redirect: "true"
externalIngressAnnotations:
  nginx.ingress.kubernetes.io/server-snippet: |
    location /api/internal {
        return 404;
    }
canaryGroups:
  internal:
    nginx.ingress.kubernetes.io/canary-by-header-value: canary
hostAliases:
  - ip: "127.0.0.1"
    hostnames:
      - "localhost"
extraEnvFrom:
  - secretRef:
      name: another-env
build:
  base: python:latest
  env:
    PATH: "/lain/app/node_modules/.bin:${PATH}"
  prepare:
    keep:
    - treasure.txt
    script:
    - pip3 install -r requirements.txt
  script:
  - pip3 install -r requirements.txt
networkPolicy:
  spec:
    podSelector:
      matchLabels:
        app.kubernetes.io/name: dummy
    policyTypes:
    - Ingress
nodeSelector:
  disk: ssd
tolerations:
  - key: dedicated
    operator: Equal
    value: web
    effect: NoSchedule
secretMountPath: /lain/secrets
errorLogPattern: 'ERROR|Traceback'
imageTag: abc
"""


def _problems(text: str) -> list[schema.Problem]:
    from lain_cli import values

    path = write(Path.cwd() / "v.yaml", text)
    data = values.finalize(values.load_file(path).data)
    return schema.validate_values(values.expand_appname(data, data.get("appname", "")))


@pytest.mark.parametrize("text", [SEED_MIGRATION, "appname: dummy\n" + SEED_STRATEGY, LAIN4_FULL],
                         ids=["seed-migration-and-two-procs", "seed-strategy", "lain4-template"])
def test_seed_and_lain4_values_are_valid(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert [p for p in _problems(text) if p.severity == "error"] == []


def test_seed_values_dev_overriding_appname_alone_is_a_valid_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    make_app(tmp_path, SEED_MIGRATION, **{"chart/values-dev.yaml": "# values-dev.yaml\nappname: dummy-dev\n"})
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["-f", "chart/values-dev.yaml", PROBE], capsys)
    assert code == 0, err
    assert '"appname": "dummy-dev"' in out
    assert "/jfs/backup/dummy-dev/" in out


def test_every_key_is_documented() -> None:
    keys = list(schema.iter_keys())
    paths = {k.path for k in keys}
    for expected in ("appname", "releaseName", "deployments.<proc>.replicaCount", "deployments.<proc>.hpa",
                     "jobs.<job>.ttlSecondsAfterFinished", "cronjobs.<cronjob>.schedule", "ingresses[].deployName",
                     "build.prepare.keep", "webhook.clusters", "statefulSets.<proc>.updateStrategy",
                     "deployments.<proc>.podDisruptionBudget", "secretMountPath", "errorLogPattern"):
        assert expected in paths
    assert all(k.description for k in keys), [k.path for k in keys if not k.description]
    by_path = {k.path: k for k in keys}
    assert by_path["secretMountPath"].default == "/lain/secrets"
    assert by_path["deployments.<proc>.replicaCount"].type == "integer (0..)"
    assert by_path["deployments.<proc>.imagePullPolicy"].type == "Always | IfNotPresent | Never"


def test_env_accepts_a_mapping_or_a_kubernetes_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = BASE + "    env:\n      - name: A\n        valueFrom: {fieldRef: {fieldPath: status.podIP}}\nenv: {B: 1}\n"
    assert _problems(text) == []
    bad = BASE + "    env:\n      - value: x\n"
    assert [(schema.format_path(p.path), p.message) for p in _problems(bad)] == [
        ("deployments.web.env[0].name", "required key is missing")]


def test_kubernetes_pass_through_fields_are_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = BASE + ("    resources: {limits: {nvidia.com/gpu: 1}}\n"
                   "    affinity: {podAntiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: []}}\n"
                   "    readinessProbe: {grpc: {port: 9000}, someFutureField: 1}\n"
                   "volumes:\n  - name: cache\n    emptyDir: {sizeLimit: 1Gi}\n")
    assert _problems(text) == []
