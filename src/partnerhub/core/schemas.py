"""Schema building blocks shared by every app's API."""

import datetime as dt
from typing import Annotated, Any

from ninja import Path, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator, Field

MAX_ID = 2**53  # JSON-safe and within every database's bigint


def _no_control_chars(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_control_chars)]


def _utc(value: dt.datetime) -> dt.datetime:
    # Naive times are read as UTC; every time is normalised to UTC so that no database meets
    # an exotic offset (PostgreSQL refuses offsets beyond ±15:59).
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None


UtcDatetime = Annotated[dt.datetime, AfterValidator(_utc)]


def ShortText(max_length: int = 200, min_length: int = 0) -> Any:  # noqa: N802 - type factory
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_control_chars)
    ]


ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]


class ErrorDetail(Schema):
    loc: list[str | int]
    msg: str
    type: str
    line: int | None = None


class ErrorOut(Schema):
    detail: list[ErrorDetail]


class OkOut(Schema):
    ok: bool = True


class Pagination(LimitOffsetPagination):
    """``limit``/``offset`` pagination whose offset stays within what every database accepts
    (an unbounded one overflows SQLite's and PostgreSQL's integers: a 500)."""

    class Input(LimitOffsetPagination.Input):
        offset: int = Field(0, ge=0, le=MAX_ID)
