"""What every benchmark needs in the database: the schema and the support lines."""

from __future__ import annotations

from django.core.management import call_command
from django.db import connection

from queues.models import Line

# (code, name, Russian name, kind, level, next line): the three tiers and two departments.
LINES = (
    ("first-line", "First line", "Первая линия", Line.Kind.TIER, 1, "consultants"),
    ("consultants", "Consultants", "Консультанты", Line.Kind.TIER, 2, "administrators"),
    ("administrators", "Administrators", "Администраторы", Line.Kind.TIER, 3, None),
    ("finance", "Finance", "Финансовый отдел", Line.Kind.DEPARTMENT, None, None),
    ("sales", "Sales", "Отдел продаж", Line.Kind.DEPARTMENT, None, None),
)


def migrate() -> None:
    """Bring the schema up to date, so a freshly created database works as it is."""
    call_command("migrate", interactive=False, verbosity=0)


def ensure_lines() -> dict[str, Line]:
    """The lines by code; existing ones (e.g. from the demo data) are used as they are."""
    lines = {}
    for position, (code, name, name_ru, kind, level, _next) in enumerate(LINES):
        lines[code], _created = Line.objects.get_or_create(
            code=code,
            defaults={"name": name, "name_ru": name_ru, "kind": kind, "level": level, "position": position},
        )
    for code, *_rest, next_code in LINES:
        line = lines[code]
        if next_code and line.next_line_id is None:
            line.next_line = lines[next_code]
            line.save(update_fields=["next_line"])
    return lines


def missing_columns(table: str, columns: list[str] | tuple[str, ...]) -> list[str]:
    """Columns of `table` that COPY would leave NULL although they may not be.

    A model field added later with only a Python-side default has no database default, so
    a COPY that does not name it fails; this names the column instead of a bare error.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = %s
              AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'
            """,
            [table],
        )
        required = {row[0] for row in cursor.fetchall()}
    return sorted(required - set(columns))
