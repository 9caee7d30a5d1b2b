"""Sphinx directive ``.. lain-clusters-reference::``: the keys of a cluster file, from
``lain_cli.clusters.CLUSTER_SCHEMA`` (the schema lain validates cluster files with)."""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList


class ClustersReference(Directive):
    has_content = False

    def run(self) -> list[nodes.Node]:
        from lain_values_ref import table_lines

        from lain_cli import schema
        from lain_cli.clusters import CLUSTER_SCHEMA

        keys = list(schema.iter_keys(CLUSTER_SCHEMA))
        container = nodes.container()
        self.state.nested_parse(StringList(table_lines(keys), source="lain_cli/clusters.py"), 0, container)
        return container.children


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("lain-clusters-reference", ClustersReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
