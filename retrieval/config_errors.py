"""Configuration errors as one line each: the key, where its value came from, the fix.

A value is never shown when its setting is a secret (a ``SecretStr``, or a name with the
word key, token, secret or password), nor when it is not a plain scalar.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

ENV_PREFIX = "NEWSBOT_"
# Words that make a setting secret; plurals too (api_keys), but not ``*_tokens``, which counts
# word pieces (chunking.max_tokens), and not key-like words such as ``rrf_k``.
_SECRET_WORDS = frozenset({"key", "keys", "token", "secret", "secrets", "password", "passwords"})
_SHOWN = (str, int, float, bool, type(None))


def sections(settings_cls: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The settings' sections by name (``paths``, ``http``, ...), in declaration order."""
    found: dict[str, type[BaseModel]] = {}
    for name, field in settings_cls.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            found[name] = field.annotation
    return found


def env_var(section: str, key: str | None = None) -> str:
    """The environment variable that sets ``section.key`` (or the whole section)."""
    name = f"{ENV_PREFIX}{section.upper()}"
    return f"{name}__{key.upper()}" if key else name


def is_secret_field(name: str, field: FieldInfo | None) -> bool:
    """True when a setting's value must never be shown."""
    words = set(name.lower().split("_"))
    if words & _SECRET_WORDS:
        return True
    return field is not None and _mentions_secret(field.annotation)


def _mentions_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_mentions_secret(arg) for arg in get_args(annotation))


def json_example(field: FieldInfo) -> str | None:
    """An example JSON value for a list setting (environment variables carry lists as JSON)."""
    annotation = field.annotation
    if get_origin(annotation) is not list:
        return None
    (item,) = get_args(annotation) or (str,)
    if item is int:
        return "[123, 456]"
    if item is SecretStr:
        return '["key1", "key2"]'
    return '["first", "second"]'


# NEWSBOT_* variables that are no settings: the config file's path (the CLI's --config) and
# where exported ONNX models are cached (retrieval/onnx_export.py).
# Not NEWSBOT_<SECTION>__<KEY> settings: read by name (config.yaml writes
# ${NEWSBOT_DATABASE_URL} for database.url).
NOT_SETTINGS = {f"{ENV_PREFIX}CONFIG", f"{ENV_PREFIX}CACHE_DIR", f"{ENV_PREFIX}DATABASE_URL"}


def _environment() -> dict[tuple[str, ...], str]:
    """NEWSBOT_* settings variables by their lower-cased path, as pydantic-settings reads them
    (case-insensitively)."""
    found: dict[tuple[str, ...], str] = {}
    for name in os.environ:
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and upper not in NOT_SETTINGS:
            found[tuple(upper[len(ENV_PREFIX) :].lower().split("__"))] = name
    return found


def check_environment(settings_cls: type[BaseModel]) -> list[str]:
    """Problems with NEWSBOT_* variables that pydantic-settings would raise as a traceback
    (a list that is not JSON) or silently ignore (a misspelt section)."""
    known = sections(settings_cls)
    problems = []
    for path, name in sorted(_environment().items()):
        model = known.get(path[0])
        if model is None or len(path) > 2 or "" in path:
            problems.append(
                f"config: {name} names no setting (the form is {ENV_PREFIX}<SECTION>__<KEY>, "
                f"sections: {', '.join(known)}); unset it or check its spelling"
            )
            continue
        value = os.environ[name]
        if len(path) == 1:
            if not isinstance(_json(value), dict):
                problems.append(
                    f"config: {path[0]}: {name} is not a JSON object; set one key at a time "
                    f"with {env_var(path[0])}__<KEY>"
                )
            continue
        section, key = path
        field = model.model_fields.get(key)
        if field is None:
            problems.append(
                f"config: {section}.{key}: unknown key (from {name}); unset {name} or check "
                f"its spelling (keys of {section}: {', '.join(model.model_fields)})"
            )
            continue
        example = json_example(field)
        if example is not None and _json(value) is _NOT_JSON:
            problems.append(
                f"config: {section}.{key}: {name} is not a JSON list; write it as "
                f"{name}='{example}'"
            )
    return problems


_NOT_JSON = object()


def _json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return _NOT_JSON


def explain(
    error: ValidationError,
    settings_cls: type[BaseModel],
    file: Path | None,
    data: Mapping[str, Any],
) -> str:
    """One line per validation error: key, problem, the value's origin and the fix."""
    env = _environment()
    known = sections(settings_cls)
    lines = []
    for err in error.errors(include_url=False):
        loc = err["loc"]
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        section = str(loc[0]) if loc else ""
        name = str(loc[1]) if len(loc) > 1 and isinstance(loc[1], str) else None
        model = known.get(section)
        field = model.model_fields.get(name) if model is not None and name else None
        var = env.get((section, name) if name else (section,)) or env.get((section,))
        where = f"from {var}" if var else (f"in {file}" if file and section in data else "")
        if err["type"] == "extra_forbidden":
            fix = f"unset {var}" if var else f"remove it{f' from {file}' if file else ''}"
            lines.append(f"config: {key}: unknown key; {fix} or check its spelling")
            continue
        problem = str(err["msg"]).removeprefix("Value error, ")
        value = err.get("input")
        secret = any(is_secret_field(str(p), None) for p in loc) or (
            name is not None and is_secret_field(name, field)
        )
        details = [where] if where else []
        if not secret and isinstance(value, _SHOWN) and field is not None:
            details.insert(0, f"got {_short(value)}")
        if details:
            problem += f" ({', '.join(details)})"
        target = env_var(section, name) if section in known else None
        example = json_example(field) if field is not None else None
        if field is None:
            fix = f"fix it {'there' if where else 'in the config file'}"
            if target:
                fix += f" or with {target}__<KEY>"
        elif var and var.upper() == target:
            fix = f"write it as {var}='{example}'" if example else f"fix or unset {var}"
        elif var:
            fix = f"fix or unset {var}, or set {target} instead"
        else:
            fix = f"fix it {'there' if where else 'in the config file'} or set {target}"
        lines.append(f"config: {key}: {problem}; {fix}")
    return "\n".join(lines)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
