"""`lain init`: the starter ``chart/values.yaml`` and ``.gitignore`` entries.

``.lain/`` is the app repo's local scratch directory, kept out of git: the
docs suggest ``lain template --output .lain/manifests`` and keeping local
copies of secret files under ``.lain/secrets/`` before ``lain secret add``.
"""

from __future__ import annotations

import re
from pathlib import Path

GITIGNORE_ENTRIES = (".lain/",)

STARTER = """\
# The app's values for lain.  Every key: “Values reference”, https://lain.readthedocs.io/en/latest/values.html
# Merge order: lain defaults, cluster defaults, this file, values-<cluster>.yaml,
# each -f file, then --set.  Mappings merge deeply, lists and scalars replace.

# Names the helm release and every Kubernetes object (<appname>-<proc>), the
# image (<registry>/<appname>:<tag>) and the secrets.  Changing it makes a new app.
appname: __APPNAME__

# Non-secret environment variables, reviewed with the code.  Secrets belong in
# `lain env` (a Kubernetes Secret injected into every container).
# env:
#   AUTH_TYPE: basic

# Files stored with `lain secret add FILE` are mounted like this: an entry
# without `name` mounts the file named by subPath from the app's secret.
# volumeMounts:
#   - subPath: topsecret.txt
#     mountPath: /lain/app/deploy/topsecret.txt

# Long-running processes ("procs"); each becomes a Deployment named
# <appname>-<proc>, and one with containerPort also a Service reachable in the
# cluster as <appname>-<proc>:<containerPort>.
deployments:
  web:
    replicaCount: 1
    command: ["/lain/app/run.py"]
    containerPort: 5000
    resources:
      limits:
        cpu: 1000m
        memory: 256Mi   # Mi or Gi: a lowercase m means thousandths of a byte
      requests:
        cpu: 10m
        memory: 256Mi
    # Tell Kubernetes when a pod can take traffic; lain's rollout tracking uses it.
    # readinessProbe:
    #   httpGet:
    #     path: /healthz
    #     port: 5000
    #   periodSeconds: 5
    # Many replicas?  Roll them out slowly so a bad release hurts less.
    # strategy:
    #   type: RollingUpdate
    #   rollingUpdate:
    #     maxSurge: 1
    #     maxUnavailable: 1
    # Lock this proc to a fixed tag of the app's image, whatever `lain deploy` builds.
    # imageTag: specific-version

# Jobs annotated as helm hooks run before every deploy; a failed migration stops it.
# jobs:
#   migration:
#     ttlSecondsAfterFinished: 86400
#     activeDeadlineSeconds: 3600
#     backoffLimit: 0
#     annotations:
#       "helm.sh/hook": pre-upgrade
#       "helm.sh/hook-delete-policy": before-hook-creation
#     command:
#       - bash
#       - -c
#       - |
#         set -e
#         alembic upgrade heads

# Scheduled jobs.
# cronjobs:
#   daily:
#     schedule: "0 17 * * *"
#     command: ["python3", "manage.py", "daily_report"]

# helm test pods run after `lain deploy`: the automatic green light.
# tests:
#   smoke:
#     image: curlimages/curl:8.8.0
#     command: ["curl", "-fsS", "http://{{ appname }}-web:5000/healthz"]

# Ingress rules: a host without a dot gets the cluster's domain appended.
ingresses:
  - host: __APPNAME__
    deployName: web
    paths:
      - /

# How `lain build` (and `lain deploy --build`) makes the image when the repo has
# no Dockerfile (FROM base, the repo copied to /lain/app, then the script, run as
# user 1001).  With a Dockerfile, it is used.
build:
  base: python:3.12-slim
  # Build arguments (ARG lines and --build-arg); never secrets: this file is in git.
  # `lain build --build-arg NAME` passes one from the environment instead.
  # args:
  #   PIP_INDEX_URL: https://pypi.org/simple
  # A cached dependency layer: prepare.script runs, and only prepare.keep is kept.
  # prepare:
  #   script: ["pip install -r requirements.txt"]
  #   keep: []
  script: []

# Public hosts are cluster specific: put them in chart/values-<cluster>.yaml.
# externalIngresses:
#   - host: www.example.com
#     deployName: web
#     paths:
#       - /
"""


def sanitise_appname(text: str) -> str:
    """A valid appname from a directory name: lowercase, '-' for anything else."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    name = re.sub(r"-{2,}", "-", name).strip("-")
    if not name or not name[0].isalpha():
        name = f"app-{name}" if name else "app"
    return name[:40].rstrip("-")


def render_starter(appname: str) -> str:
    return STARTER.replace("__APPNAME__", appname)


def update_gitignore(path: Path) -> bool:
    """Add lain's entries to ``path``; False when they were all there already."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = {line.strip() for line in existing.splitlines()}
    missing = [entry for entry in GITIGNORE_ENTRIES if entry not in lines]
    if not missing:
        return False
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    block = "# lain's local scratch: rendered manifests, local copies of secret files\n" + "".join(
        f"{entry}\n" for entry in missing
    )
    with path.open("a", encoding="utf-8") as fh:
        fh.write(prefix + block)
    return True


def init_app(root: Path, *, appname: str | None, force: bool) -> list[str]:
    """Write chart/values.yaml and .gitignore entries under ``root``; the paths written."""
    from lain_cli import schema
    from lain_cli.errors import UsageError

    target = root / "chart" / "values.yaml"
    if target.exists() and not force:
        raise UsageError(
            "chart/values.yaml already exists",
            hint="keep editing it, or pass --force to replace it with the starter",
        )
    if appname is None:
        appname = sanitise_appname(root.resolve().name)
    elif not schema.RFC1035_LABEL.match(appname) or len(appname) > schema.MAX_RELEASE_NAME:
        raise UsageError(
            f"invalid appname {appname!r}",
            hint=f"use lowercase letters, digits and '-', starting with a letter (at most "
            f"{schema.MAX_RELEASE_NAME} characters), e.g. {sanitise_appname(appname)}",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_starter(appname), encoding="utf-8")
    written = ["chart/values.yaml"]
    if update_gitignore(root / ".gitignore"):
        written.append(".gitignore")
    return written
