"""Base models and field types shared by every REST domain."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")


def _no_controls(value: str, *, allow_newlines: bool) -> str:
    allowed = {"\n", "\t"} if allow_newlines else set()
    for ch in value:
        if ch not in allowed and unicodedata.category(ch) in ("Cc", "Cs"):
            raise ValueError("must not contain control characters")
    return value


def _single_line(value: str) -> str:
    return _no_controls(value, allow_newlines=False)


def _multi_line(value: str) -> str:
    return _no_controls(value, allow_newlines=True)


Line = Annotated[str, AfterValidator(_single_line)]
"""A single line of human text: no control characters."""

Paragraphs = Annotated[str, AfterValidator(_multi_line)]
"""Human text that may hold newlines and tabs, and no other control characters."""

Id = Annotated[str, Field(min_length=26, max_length=26, pattern=r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
"""A ULID (see ``store.ids``)."""


class RequestModel(BaseModel):
    """A request body: strict types (no "5" for 5), unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class QueryModel(BaseModel):
    """Query-string parameters: strings converted to the declared types; unknown parameters ignored."""

    model_config = ConfigDict(extra="ignore")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageQuery(QueryModel):
    limit: int = Field(20, ge=1, le=100, description="Items per page (1-100).")
    cursor: str | None = Field(None, max_length=512, description="The `next_cursor` of the previous page.")


class Page(ResponseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null at the end.")
