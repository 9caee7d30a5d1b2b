"""Pointing people at the documentation: by page title and URL, never a repository path.

Someone who installed lain with pipx has no ``docs/`` directory, so hints
name the page as it is titled and link it: under the cluster's ``docsUrl``
(a team's own copy of the docs) when the cluster file sets one, else the
published docs.
"""

from __future__ import annotations

PUBLISHED = "https://lain.readthedocs.io/en/latest"

# page (docs/<page>.rst) -> its title; tests/test_docs_hints.py checks them against docs/
PAGES = {
    "clusters": "Clusters",
    "values": "Values reference",
    "deploy": "Deploying, rolling back and following a release",
    "status": "The green light: status, logs and x",
    "tracking": "How lain decides a rollout failed",
    "troubleshooting": "Troubleshooting",
    "coming-from-lain4": "Coming from lain4",
    "coming-from-helm-kubectl": "Coming from helm and kubectl",
}


def url(page: str, docs_url: str = "") -> str:
    return f"{(docs_url or PUBLISHED).rstrip('/')}/{page}.html"


def see(page: str, docs_url: str = "") -> str:
    """``see “Clusters” in the lain docs: https://…/clusters.html`` (a KeyError for an unknown page)."""
    return f"see “{PAGES[page]}” in the lain docs: {url(page, docs_url)}"
