"""A site map document as YAML text in the house layout: header comments, `layout: |` block."""

from __future__ import annotations

from typing import Any

import yaml

HEAD_KEYS = ("name", "description", "cell_size_m")


def site_yaml(document: dict[str, Any], header: list[str]) -> str:
    """YAML that `load_site` reads back to `document`; the layout stays one text row per line."""
    parts = [f"# {line}" for line in header]
    head = {k: document[k] for k in HEAD_KEYS if k in document}
    parts.append(yaml.safe_dump(head, sort_keys=False, width=100).rstrip())
    parts.append("layout: |")
    parts += [f"  {row}" for row in document["layout"].splitlines()]
    rest = {k: v for k, v in document.items() if k not in head and k != "layout"}
    if rest:
        parts.append("")
        parts.append(
            yaml.safe_dump(rest, sort_keys=False, default_flow_style=None, width=100).rstrip()
        )
    return "\n".join(parts) + "\n"
