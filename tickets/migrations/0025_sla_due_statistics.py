"""Statistics on the nearest running deadline of a ticket (`tickets.models.OPEN_SLA_DUE`).

The lists that filter by it ("breaching today", "overdue", the managers' "breaching now") read
`tickets_open_due`, an index on that expression over the open tickets. PostgreSQL keeps the
statistics of an index's expression, but does not use those of a partial index to estimate
how many rows a condition on the expression keeps: without statistics of its own it guessed a
third of the open tickets, and read every open ticket (all 25,000 at a million) to count the
few that were due, instead of the index's short range. Statistics on the expression itself
(CREATE STATISTICS, PostgreSQL 14+) give the estimate; ANALYZE fills them at once.
"""

from django.db import migrations

STATISTICS = """
CREATE STATISTICS IF NOT EXISTS tickets_open_due_expression ON (LEAST(
    CASE WHEN first_response_at IS NULL THEN first_response_due ELSE NULL::timestamptz END,
    next_response_due,
    CASE WHEN status IN ('new', 'waiting_agent', 'in_progress') THEN resolution_due ELSE NULL::timestamptz END
)) FROM tickets_ticket;
ANALYZE tickets_ticket;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0024_search_customer_rows"),
    ]

    operations = [
        migrations.RunSQL(sql=STATISTICS, reverse_sql="DROP STATISTICS IF EXISTS tickets_open_due_expression;"),
    ]
