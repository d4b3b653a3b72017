"""Read course folders into validated models, reporting every problem with file and line."""

from __future__ import annotations

import difflib
import hashlib
import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from elearn.content import checks
from elearn.content.problems import Problem
from elearn.content.schema import Course, Module
from elearn.content.yamlpos import Located, YamlSyntaxError, parse

M = TypeVar("M", bound=BaseModel)
COURSE_FILE = "course.yaml"
PARALLEL_FROM = 64  # module files in one course before reading them in parallel pays off
MODULES_DIR = "modules"


def _unwrap(tp: Any) -> Any:
    """Strip Optional[...] and Annotated[...] from a type."""
    while True:
        origin = get_origin(tp)
        if origin in (Union, UnionType):
            tp = next(a for a in get_args(tp) if a is not type(None))
        elif origin is Annotated:
            tp = get_args(tp)[0]
        else:
            return tp


def _keys_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys the format allows at a location, found by walking the models' fields."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        origin = get_origin(current)
        if origin is list:
            current = get_args(current)[0]
        elif origin is dict:
            current = get_args(current)[1]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


@dataclass
class LoadedFile:
    """A parsed YAML file with its positions and content hash."""

    path: Path
    located: Located
    sha256: str

    def where(self, path: tuple[str | int, ...], *, key: bool = False) -> tuple[int, int | None]:
        """Line and column of a value (or of its key), falling back to the nearest parent."""
        table = self.located.keys if key else self.located.values
        if path in table:
            return table[path]
        while path:
            path = path[:-1]
            if path in self.located.values:
                return self.located.values[path]
        return 1, None


@dataclass
class LoadedModule:
    """A valid module and the file it came from."""

    model: Module
    source: LoadedFile


@dataclass
class LoadedCourse:
    """A valid course with its modules, keyed by module id."""

    model: Course
    source: LoadedFile
    modules: dict[str, LoadedModule]


@dataclass
class LoadResult:
    """Everything read in one pass: the valid courses and every problem found."""

    courses: list[LoadedCourse] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    course_count: int = 0
    module_count: int = 0
    course_ids: list[tuple[str, LoadedFile]] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the content unusable."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        """True when nothing is an error (warnings allowed)."""
        return not self.errors


def read_file(path: Path, problems: list[Problem]) -> LoadedFile | None:
    """Parse one YAML file; on failure add a problem and return None."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, 1, None, f"cannot read file: {exc}"))
        return None
    try:
        located = parse(text)
    except YamlSyntaxError as exc:
        problems.append(Problem(path, exc.line, exc.column, exc.message))
        return None
    loaded = LoadedFile(path, located, hashlib.sha256(raw).hexdigest())
    for dup_path, (line, col) in located.duplicates:
        problems.append(Problem(path, line, col, f"duplicate key '{dup_path[-1]}'"))
    return loaded


def _dotted(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"


def _suggest(model: type[BaseModel], loc: tuple[str | int, ...]) -> str | None:
    close = difflib.get_close_matches(str(loc[-1]), _keys_at(model, loc[:-1]), n=1)
    return close[0] if close else None


def validation_problems(
    exc: ValidationError, source: LoadedFile, model: type[BaseModel]
) -> list[Problem]:
    """Turn pydantic's errors into problems at the right line of the YAML."""
    problems = []
    errors = exc.errors()
    suggested: set[tuple[tuple[str | int, ...], str]] = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            guess = _suggest(model, tuple(err["loc"]))
            if guess:
                suggested.add((tuple(err["loc"][:-1]), guess))
    for err in errors:
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "missing" and (loc[:-1], loc[-1]) in suggested:
            continue  # the unknown-key message already says "did you mean ...?"
        if kind == "extra_forbidden":
            line, col = source.where(loc, key=True)
            msg = f"unknown key '{loc[-1]}' in {_dotted(loc[:-1])}"
            guess = _suggest(model, loc)
            if guess:
                msg += f"; did you mean '{guess}'?"
        elif kind == "missing":
            line, col = source.where(loc[:-1])
            msg = f"missing required key '{loc[-1]}' in {_dotted(loc[:-1])}"
        else:
            line, col = source.where(loc)
            text = str(err["msg"]).removeprefix("Value error, ")
            msg = f"{_dotted(loc)}: {text}"
        problems.append(Problem(source.path, line, col, msg))
    return problems


def _validate(model: type[M], source: LoadedFile, problems: list[Problem]) -> M | None:
    try:
        return model.model_validate(source.located.data)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, source, model))
        return None


def _errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


ModuleRead = tuple[LoadedModule | None, list[Problem]]


def read_module(path: Path, use: checks.TrackUse | None = None) -> ModuleRead:
    """Read and check one module file (against its course's tracks when given).

    Returns the module, or None when it has any error, and every problem found.
    """
    found: list[Problem] = []
    source = read_file(path, found)
    module = _validate(Module, source, found) if source else None
    if source is not None:
        found.extend(checks.check_module(source, path.stem))
        if use is not None:
            found.extend(checks.check_module_use(source, path.stem, use))
    loaded = LoadedModule(module, source) if module and source and not _errors(found) else None
    return loaded, found


def load_module_file(path: Path, problems: list[Problem]) -> LoadedModule | None:
    """Read and check one module file on its own; None when it has any error."""
    loaded, found = read_module(path)
    problems.extend(found)
    return loaded


def _check_module(path: Path, use: checks.TrackUse) -> tuple[bool, list[Problem]]:
    loaded, found = read_module(path, use)
    return loaded is not None, found  # only what a parallel check needs to send back


def _read_modules(
    paths: list[Path], use: checks.TrackUse, workers: int
) -> list[tuple[bool, LoadedModule | None, list[Problem]]]:
    """(valid, module if kept, problems) per path; in parallel nothing is kept."""
    if workers <= 1 or len(paths) < PARALLEL_FROM:
        return [(m is not None, m, found) for m, found in (read_module(p, use) for p in paths)]
    context = multiprocessing.get_context("fork")
    chunk = max(1, len(paths) // (workers * 4))
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        checked = pool.map(_check_module, paths, [use] * len(paths), chunksize=chunk)
        return [(ok, None, found) for ok, found in checked]


def load_course_dir(directory: Path, result: LoadResult, *, workers: int = 1) -> None:
    """Read a course folder (course.yaml plus modules/*.yaml) into the result.

    With workers > 1 the modules are only checked, in parallel, and no course is kept.
    """
    module_paths = sorted((directory / MODULES_DIR).glob("*.yaml"))
    result.files += 1 + len(module_paths)
    problems: list[Problem] = [
        Problem(path, 1, None, "this file is not read: module files must end in .yaml", "warning")
        for path in sorted((directory / MODULES_DIR).glob("*.yml"))
    ]
    source = read_file(directory / COURSE_FILE, problems)
    course = _validate(Course, source, problems) if source else None
    use = checks.TrackUse()
    if source is not None:
        found, use = checks.check_tracks(source, {p.stem for p in module_paths})
        problems.extend(found)
    modules: dict[str, LoadedModule] = {}
    for valid, loaded, found in _read_modules(module_paths, use, workers):
        problems.extend(found)
        result.module_count += valid
        if loaded is not None:
            modules[loaded.model.id] = loaded
    result.problems.extend(problems)
    if course is not None and source is not None:
        result.course_count += 1
        result.course_ids.append((course.id, source))
        if not _errors(problems) and workers <= 1:
            result.courses.append(LoadedCourse(course, source, modules))


def course_dirs(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Split paths into course folders and loose module files to check."""
    dirs: list[Path] = []
    loose: list[Path] = []
    for path in paths:
        if path.is_file():
            if path.name == COURSE_FILE:
                dirs.append(path.parent)
            elif path.parent.name == MODULES_DIR and (path.parent.parent / COURSE_FILE).exists():
                dirs.append(path.parent.parent)
            else:
                loose.append(path)
        elif (path / COURSE_FILE).exists():
            dirs.append(path)
        else:
            dirs.extend(sorted(p.parent for p in path.glob(f"*/{COURSE_FILE}")))
    return list(dict.fromkeys(dirs)), loose


def load(paths: Iterable[Path], *, workers: int = 1) -> LoadResult:
    """Load every course under the given paths; never raises for bad content.

    With workers > 1, large courses are checked by that many processes and no courses are
    kept, only problems and counts: that is for the CLI. The server keeps the default of one.
    """
    paths = list(paths)
    result = LoadResult()
    for path in paths:
        if not path.exists():
            result.problems.append(Problem(path, 1, None, "no such file or folder"))
    dirs, loose = course_dirs(p for p in paths if p.exists())
    for directory in dirs:
        load_course_dir(directory, result, workers=workers)
    for path in loose:
        result.files += 1
        load_module_file(path, result.problems)
    result.problems.extend(checks.check_course_ids(result.course_ids))
    result.problems.sort(key=lambda p: (str(p.file), p.line, p.column or 0, p.message))
    return result


def as_data(model: BaseModel) -> Any:
    """A model as plain YAML-ready data, leaving out defaults (for round trips and tools)."""
    return model.model_dump(mode="json", exclude_defaults=True)
