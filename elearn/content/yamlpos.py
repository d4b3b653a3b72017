"""YAML parsing that keeps the line and column of every key and value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # libyaml's parser when present: several times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[str | int, ...]
Pos = tuple[int, int]  # 1-based line and column


@dataclass
class Located:
    """Parsed YAML data with the position of every value and every mapping key."""

    data: Any
    values: dict[Path, Pos] = field(default_factory=dict)
    keys: dict[Path, Pos] = field(default_factory=dict)
    duplicates: list[tuple[Path, Pos]] = field(default_factory=list)


class YamlSyntaxError(Exception):
    """The text is not valid YAML; carries the 1-based position."""

    def __init__(self, message: str, line: int, column: int | None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def _pos(node: yaml.Node) -> Pos:
    return node.start_mark.line + 1, node.start_mark.column + 1


def parse(text: str) -> Located:
    """Parse one YAML document, recording positions; raises YamlSyntaxError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        result = Located(data=None)
        if node is not None:
            result.data = _build(loader, node, (), result)
        return result
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        line = mark.line + 1 if mark else 1
        column = mark.column + 1 if mark else None
        raise YamlSyntaxError("YAML syntax error: " + ", ".join(parts), line, column) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"YAML syntax error: {exc}", 1, None) from None
    finally:
        loader.dispose()


def _build(loader: Any, node: yaml.Node, path: Path, out: Located) -> Any:
    out.values[path] = _pos(node)
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | bool | float) or key is None:
                key = str(key)
            child = (*path, str(key))
            if key in mapping:
                out.duplicates.append((child, _pos(key_node)))
                continue
            out.keys[child] = _pos(key_node)
            mapping[key] = _build(loader, value_node, child, out)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), out) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
