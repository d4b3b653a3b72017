"""YAML parsing that keeps the line and column of every key and value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # libyaml's parser when present: several times faster
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _Loader(_BaseLoader):
    """The safe loader with cheaper tag resolution (no path resolvers are ever used)."""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        """Path resolvers are not used: nothing to track."""

    def ascend_resolver(self) -> None:
        """Path resolvers are not used: nothing to track."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """The same tags as the safe loader, with the common plain-string case first."""
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return str(tag)
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


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
    mark = node.start_mark
    out.values[path] = (mark.line + 1, mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        # plain strings are the common case: skip the constructor's dispatch for them
        return node.value if node.tag == _STR else loader.construct_object(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR:
                key: Any = key_node.value
            else:
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
