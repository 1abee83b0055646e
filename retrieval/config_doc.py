"""The README's configuration reference, rendered from the settings models' descriptions.

``python -m retrieval.config_doc`` prints the table; ``python -m retrieval.config_doc README.md``
rewrites the part of that file between the two marker comments. tests/test_config_doc.py
fails when the README and the models drift apart.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from retrieval.config import Settings
from retrieval.config_errors import is_secret_field, sections

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"


def reference() -> str:
    """The Markdown table of every setting: key, default, allowed values, meaning."""
    rows = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
    for section, model in sections(Settings).items():
        summary = (model.__doc__ or "").strip().splitlines()[0]
        rows.append(f"| **`{section}`** | | | {_cell(summary)} |")
        for name, field in model.model_fields.items():
            secret = is_secret_field(name, field)
            rows.append(
                f"| `{section}.{name}` | {_default(field, secret)} | {_allowed(field, secret)} "
                f"| {_cell(field.description or '')} |"
            )
    return "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(field: FieldInfo, secret: bool) -> str:
    value: Any = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    if value is None or (secret and not value):
        return "none"
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{json.dumps(value)}`"


def _allowed(field: FieldInfo, secret: bool) -> str:
    annotation = field.annotation
    if get_origin(annotation) is Literal:
        return ", ".join(f"`{choice}`" for choice in get_args(annotation))
    if secret:
        return "secret: from the environment"
    bounds = []
    for m in field.metadata:
        match m:
            case annotated_types.Ge(ge=v):
                bounds.append(f"≥ {v}")
            case annotated_types.Gt(gt=v):
                bounds.append(f"> {v}")
            case annotated_types.Le(le=v):
                bounds.append(f"≤ {v}")
            case annotated_types.Lt(lt=v):
                bounds.append(f"< {v}")
    if len(bounds) == 2 and bounds[0].startswith("≥") and bounds[1].startswith("≤"):
        return f"{bounds[0][2:]} – {bounds[1][2:]}"
    text = ", ".join(bounds)
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        text = f"list of {'integers' if item is int else 'strings'}"
    return text


def update(text: str) -> str:
    """``text`` with the part between the marker comments replaced by :func:`reference`."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers {START} and {END} are missing")
    return text[: start + len(START)] + "\n" + reference() + text[end:]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the reference, or rewrite it in the Markdown file given."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.stdout.write(reference())
        return 0
    path = Path(args[0])
    path.write_text(update(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
