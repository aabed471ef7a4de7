"""CSV files → row dicts for the import services, streamed (a million lines stay cheap).

A file is UTF-8 (a leading byte-order mark is fine), comma-separated, with a header line
naming the columns (case and surrounding spaces do not matter). The header is checked before
any row is read: unknown, duplicate or missing columns are one error naming them all. Each
row dict carries its line number under ``ROW_KEY`` (the header is line 1, so the first data
row is 2); a row with more or fewer values than the header carries ``ROW_ERROR_KEY``.
Entirely empty lines are skipped (their numbers are still counted).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator

from partnerhub.sales.services import (
    BILLING_COLUMNS,
    BILLING_ONE_OF,
    PRODUCT_COLUMNS,
    ROW_ERROR_KEY,
    ROW_KEY,
)


class CsvError(Exception):
    """The file cannot be read as a CSV import at all (header, encoding, CSV syntax)."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line else message)
        self.message = message
        self.line = line


def _decoded(lines: Iterable[bytes | str]) -> Iterator[str]:
    """Byte lines → text lines (UTF-8, optional BOM); text lines pass (BOM dropped)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    number = 0
    for raw in lines:
        number += 1
        if isinstance(raw, str):
            yield raw.removeprefix("\ufeff") if number == 1 else raw
            continue
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError:
            raise CsvError("the file is not UTF-8 text", line=number) from None
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise CsvError("the file ends in the middle of a UTF-8 character", line=number) from None
    if tail:
        yield tail


class CsvRows:
    """Iterable of row dicts from CSV ``lines`` (a binary file, or any iterable of byte or
    text lines). Raises CsvError at once when the header is wrong."""

    def __init__(
        self,
        lines: Iterable[bytes | str],
        *,
        columns: dict[str, tuple[bool, int]],
        one_of: tuple[tuple[str, ...], ...] = (),
    ):
        self._reader = csv.reader(_decoded(lines), strict=True)
        header = self._next()
        if header is None:
            raise CsvError("the file is empty; expected a header line", line=1)
        self.header = [name.strip().lower() for name in header]
        self._check_header(columns, one_of, raw_header=header)

    def _next(self) -> list[str] | None:
        try:
            return next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise CsvError(f"not valid CSV: {exc}", line=self._reader.line_num) from None

    def _check_header(self, columns, one_of, raw_header) -> None:
        problems = []
        unknown = [name for name in self.header if name not in columns]
        duplicates = sorted({name for name in self.header if self.header.count(name) > 1})
        missing = [
            name for name, (required, _) in columns.items() if required and name not in self.header
        ]
        if unknown:
            problems.append("unknown columns: " + ", ".join(repr(n) for n in unknown))
        if duplicates:
            problems.append("columns given twice: " + ", ".join(duplicates))
        if missing:
            problems.append("missing columns: " + ", ".join(missing))
        for group in one_of:
            if not any(name in self.header for name in group):
                problems.append("missing column: one of " + " or ".join(group))
        if problems:
            hint = ""
            if len(raw_header) == 1 and (";" in raw_header[0] or "\t" in raw_header[0]):
                hint = " (columns must be separated by commas)"
            raise CsvError("; ".join(problems) + hint, line=1)

    def __iter__(self) -> Iterator[dict]:
        width = len(self.header)
        while True:
            start = self._reader.line_num + 1
            record = self._next()
            if record is None:
                return
            if not any(value.strip() for value in record):
                continue
            if len(record) != width:
                yield {
                    ROW_KEY: start,
                    ROW_ERROR_KEY: f"the row has {len(record)} values but the header has "
                    f"{width} columns",
                }
                continue
            row = dict(zip(self.header, record, strict=True))
            row[ROW_KEY] = start
            yield row


def billing_rows(lines: Iterable[bytes | str]) -> CsvRows:
    """Rows of a billing-lines CSV (columns: ``services.BILLING_COLUMNS``)."""
    return CsvRows(lines, columns=BILLING_COLUMNS, one_of=BILLING_ONE_OF)


def product_rows(lines: Iterable[bytes | str]) -> CsvRows:
    """Rows of a products CSV (columns: ``services.PRODUCT_COLUMNS``)."""
    return CsvRows(lines, columns=PRODUCT_COLUMNS)
