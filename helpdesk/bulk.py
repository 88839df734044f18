"""Fast bulk loading into PostgreSQL with COPY, for the demo data and the benchmarks.

COPY skips the ORM and per-row round trips: a million tickets load in well under a
minute. Rows are streamed in chunks so memory stays flat whatever the size.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import connection

from tickets.models import TICKET_NUMBER_SEQUENCE

CHUNK_ROWS = 20_000

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _str(value: str) -> str:
    # Most values have nothing to escape: looking costs less than translating.
    return value.translate(_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


def _datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime in a bulk load; use aware datetimes")
    return value.isoformat()


def _array(value) -> str:
    # A PostgreSQL array of simple words (e.g. languages).
    return "{" + ",".join(str(item) for item in value) + "}"


# By exact type: one dictionary look-up per value instead of a chain of isinstance checks
# (a demo load formats a few million values).
_FORMATS = {
    str: _str,
    int: str,
    float: str,
    Decimal: str,
    bool: lambda value: "t" if value else "f",
    type(None): lambda value: "\\N",
    dt.datetime: _datetime,
    dt.date: dt.date.isoformat,
    list: _array,
    tuple: _array,
}


def _format_for(kind: type):
    if issubclass(kind, dt.datetime):
        return _datetime
    if issubclass(kind, dt.date):
        return dt.date.isoformat
    if issubclass(kind, (int, float, Decimal)) and not issubclass(kind, str):
        return str
    if issubclass(kind, (list, tuple)):
        return _array
    return lambda value: _str(str(value))  # text, and str subclasses such as a TextChoices member


def _text(value) -> str:
    format_ = _FORMATS.get(type(value))
    if format_ is None:
        # Another type (a TextChoices member, an IntegerChoices one): worked out once.
        format_ = _FORMATS[type(value)] = _format_for(type(value))
    return format_(value)


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence], *, chunk_rows: int = CHUNK_ROWS) -> int:
    """COPY rows into `table`; returns how many were written. Runs on Django's connection."""
    column_list = ", ".join(f'"{column}"' for column in columns)
    statement = f'COPY "{table}" ({column_list}) FROM STDIN'
    written = 0
    buffer = io.StringIO()
    pending = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg2 cursor under Django's wrapper
        for row in rows:
            buffer.write("\t".join(map(_text, row)))
            buffer.write("\n")
            pending += 1
            if pending >= chunk_rows:
                buffer.seek(0)
                raw.copy_expert(statement, buffer)
                written += pending
                buffer = io.StringIO()
                pending = 0
        if pending:
            buffer.seek(0)
            raw.copy_expert(statement, buffer)
            written += pending
    return written


def reserve_ids(table: str, count: int) -> list[int]:
    """Take `count` primary keys from the table's identity sequence, so related rows can
    be written in the same COPY pass (messages need their ticket's id)."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def reserve_ticket_numbers(count: int) -> list[int]:
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [TICKET_NUMBER_SEQUENCE, count])
        return [row[0] for row in cursor.fetchall()]


@contextlib.contextmanager
def foreign_keys_checked_at_the_end(*tables: str):
    """Load `tables` with their foreign keys checked once, after the load, instead of row by row.

    The constraints are dropped and added again with the same definitions; adding one checks
    every row in one join, which costs far less than a look-up per row (half of a demo load's
    time in the database). Inside the caller's transaction: a row that breaks a constraint
    fails the load and nothing of it stays. Takes the tables' exclusive locks until the commit.
    """
    with connection.cursor() as cursor:
        # Check what the transaction left pending now: a table with pending checks cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [list(tables)],
        )
        constraints = cursor.fetchall()
        for table, name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    with connection.cursor() as cursor:
        for table, name, definition in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys are checked at commit again
