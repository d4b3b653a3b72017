"""Pydantic models of the course format: the one definition of what authors may write."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=1, max_length=80),
    Field(description="Lowercase letters, digits and single hyphens, e.g. `understanding-trauma`."),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Markdown = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]

PRACTICE_LEVELS = ("informed", "skilled", "enhanced", "specialist")
QUESTION_KINDS = ("single", "multiple", "true_false")


class Strict(BaseModel):
    """Base for every content model: unknown keys are errors, so typos are caught."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """A public source the module's facts come from."""

    title: Text
    publisher: Text | None = None
    year: int | None = Field(default=None, ge=1800, le=2100)
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None


class Variant(Strict):
    """Track-specific lesson text: `replace` the shared body, or `add` after it."""

    replace: Markdown | None = None
    add: Markdown | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_text_replaces(cls, value: Any) -> Any:
        return {"replace": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> Variant:
        if (self.replace is None) == (self.add is None):
            raise ValueError("a variant needs exactly one of 'replace' or 'add'")
        return self


class Lesson(Strict):
    """A page of a module: Markdown text, or a private reflection prompt."""

    id: Slug
    title: Text
    kind: Literal["text", "reflection"] = "text"
    body: Markdown | None = None
    prompt: Text | None = None
    variants: dict[Slug, Variant] = Field(
        default_factory=dict, description="Per-track text, keyed by track id."
    )


class Option(Strict):
    """One answer to choose, with the feedback a learner sees for choosing it."""

    text: Text
    correct: bool = False
    feedback: Text


class Question(Strict):
    """A quiz question; `single`, `multiple` and `true_false` differ in the keys they use."""

    id: Slug
    kind: Literal["single", "multiple", "true_false"]
    prompt: Text
    options: list[Option] | None = Field(default=None, min_length=2, max_length=8)
    answer: bool | None = Field(default=None, description="true_false only: the correct answer.")
    feedback_true: Text | None = None
    feedback_false: Text | None = None
    explanation: Text | None = Field(
        default=None, description="Optional general explanation shown after answering."
    )


class Quiz(Strict):
    """The module's quiz, scored on the server."""

    pass_mark: int = Field(default=80, ge=1, le=100, description="Percent needed to pass.")
    shuffle: bool = Field(default=False, description="Shuffle questions and options per attempt.")
    draw: int | None = Field(
        default=None, ge=1, description="Draw this many questions per attempt."
    )
    max_attempts: int | None = Field(default=None, ge=1, description="Omit for unlimited retakes.")
    questions: list[Question] = Field(min_length=1)


class Module(Strict):
    """A module file: lessons, a quiz, and the sources it rests on."""

    id: Slug
    title: Text
    version: int = Field(ge=1)
    minutes: int = Field(ge=1, le=600)
    summary: Text
    content_note: Text | None = None
    sources: list[Source] = Field(min_length=1)
    lessons: list[Lesson] = Field(min_length=1)
    quiz: Quiz | None = None


class Track(Strict):
    """A sector track: an ordered list of module ids."""

    id: Slug
    title: Text
    summary: Text | None = None
    modules: list[Slug] = Field(min_length=1)


class Course(Strict):
    """A course file (`course.yaml`): its tracks and where it is offered."""

    id: Slug
    title: Text
    summary: Text
    practice_level: Literal["informed", "skilled", "enhanced", "specialist"] = Field(
        description="NES practice level of the course."
    )
    partnerships: list[Slug] = Field(min_length=1)
    tracks: list[Track] = Field(min_length=1)


def json_schema(kind: Literal["course", "module", "any"] = "any") -> dict[str, Any]:
    """JSON Schema of a course file, a module file, or either."""
    if kind == "course":
        schema = Course.model_json_schema()
    elif kind == "module":
        schema = Module.model_json_schema()
    else:
        course, module = Course.model_json_schema(), Module.model_json_schema()
        defs = {**course.pop("$defs", {}), **module.pop("$defs", {})}
        defs["Course"], defs["Module"] = course, module
        schema = {
            "title": "Course or module file",
            "anyOf": [{"$ref": "#/$defs/Course"}, {"$ref": "#/$defs/Module"}],
            "$defs": defs,
        }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
