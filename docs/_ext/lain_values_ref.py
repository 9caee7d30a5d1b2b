"""Sphinx directive ``.. lain-values-reference::``: a table of values keys, from lain_cli.schema.

Options:

``:section: deployments``
    only keys under that top-level key (the key itself included);
``:top-level:``
    only top-level keys;
``:skip-container-fields:``
    leave out the container fields shared by every workload (documented once,
    under ``deployments``).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList


def _cell(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|") or " "


def _default(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"``{str(value).lower()}``"
    return f"``{value}``"


def select_keys(section: str | None, top_level: bool, skip_container_fields: bool) -> list[Any]:
    from lain_cli import schema

    keys = []
    for key in schema.iter_keys():
        parts = key.path.replace("[]", "").split(".")
        if top_level and len(parts) > 1:
            continue
        if section and parts[0] != section:
            continue
        if skip_container_fields and len(parts) > 2 and parts[2] in schema.CONTAINER_FIELDS:
            continue
        keys.append(key)
    return keys


def table_lines(keys: list[Any]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 30 15 15 40", "",
             "   * - Key", "     - Type", "     - Default", "     - Description"]
    for key in keys:
        description = key.description
        if key.example:
            description += f" Example: ``{key.example}``"
        lines += [f"   * - ``{key.path}``", f"     - {_cell(key.type)}", f"     - {_cell(_default(key.default))}",
                  f"     - {_cell(description)}"]
    return lines


class ValuesReference(Directive):
    has_content = False
    option_spec = {
        "section": directives.unchanged,
        "top-level": directives.flag,
        "skip-container-fields": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        keys = select_keys(self.options.get("section"), "top-level" in self.options,
                           "skip-container-fields" in self.options)
        container = nodes.container()
        self.state.nested_parse(StringList(table_lines(keys), source="lain_cli/schema.py"), 0, container)
        return container.children


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("lain-values-reference", ValuesReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
