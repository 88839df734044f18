"""Full-text search: one row of words per ticket (tickets_ticketsearch), kept by triggers.

What a ticket's document holds, each text in its own language (Russian stemming for a text
with Cyrillic letters, English otherwise; both configurations index numbers, addresses, host
names and e-mail addresses whole, as the `simple` dictionary does): the ticket's number, its
subject, description and service (also cut at its dots, so `srv-12` finds
`srv-12.example.com`), the customer's name, login and e-mail (also its domain, and cut),
the organisation, and every message. The ticket's line, customer and organisation are beside
the words in one GIN index (btree_gin), so a search reads only the matches of the user's
lines, or of the customer's own tickets.
`customer_document` leaves the internal notes out; it is null while the ticket has none (the
customer then reads `document`).

The triggers:
- tickets inserted, messages inserted: once per statement, with the statement's rows (a
  transition table), so a COPY of thousands of messages is one grouped UPDATE;
- a ticket transferred: its row's line; its number, subject, description, service, customer
  or organisation changed, a
  message changed, moved to another ticket (a merge, a split) or deleted: the ticket's
  document is built again from its rows;
- a customer's name, login, e-mail or organisation changed, an organisation renamed: the
  documents of their tickets are built again;
- tickets deleted: their rows go.
A document never grows past PostgreSQL's 1 MB for a tsvector: text that would not fit is
left out of the index (the ticket keeps it), so writing a message never fails because of it.

Applying it on an existing database builds every document in one INSERT … SELECT and the GIN
index after it (measured in docs/benchmarks.md, section "search"); writes to tickets and
messages wait for it.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.operations
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

FUNCTIONS = r"""
-- The text search configuration of a text: Russian when it has Cyrillic letters. Both
-- configurations hand numbers, versions (10.0.0.1), hosts and e-mail addresses to the
-- `simple` dictionary, and `russian` stems Latin words as `english` does.
CREATE FUNCTION tickets_search_config(value text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value ~ '[А-яЁё]' THEN 'pg_catalog.russian'::regconfig
                ELSE 'pg_catalog.english'::regconfig END
$$;

CREATE FUNCTION tickets_search_text(value text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector(tickets_search_config(value), coalesce(value, ''))
$$;

-- a || b, or a alone when together they would pass the 1 MB a tsvector may hold.
CREATE FUNCTION tickets_search_concat_checked(a tsvector, b tsvector) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN a || b;
EXCEPTION WHEN program_limit_exceeded THEN
    RETURN a;
END
$$;

-- The same for values in memory (not read from a table, where pg_column_size would give the
-- compressed size): without the exception block while the sizes say it fits.
CREATE FUNCTION tickets_search_concat(a tsvector, b tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN pg_column_size(a) + pg_column_size(b) < 1000000 THEN a || b
                ELSE tickets_search_concat_checked(a, b) END
$$;

CREATE AGGREGATE tickets_search_agg(tsvector) (
    SFUNC = tickets_search_concat, STYPE = tsvector, INITCOND = ''
);

-- The ticket's own words: number, subject, description, service, customer, organisation.
CREATE FUNCTION tickets_search_head_of(
    number bigint, subject text, body text, service text,
    first_name text, last_name text, username text, email text, organisation text
) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('pg_catalog.simple', number::text)
        || tickets_search_text(subject)
        || tickets_search_text(body)
        || tickets_search_text(concat_ws(' ', service, translate(service, '.@/:', '    ')))
        || tickets_search_text(concat_ws(' ', first_name, last_name, username, email, split_part(email, '@', 2),
                                         translate(email, '.@', '  '), organisation))
$$;

CREATE FUNCTION tickets_search_head(
    number bigint, subject text, body text, service text, customer bigint, organisation bigint
) RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT tickets_search_head_of(number, subject, body, service,
                                  u.first_name, u.last_name, u.username, u.email, o.name)
    FROM (SELECT 1) one
    LEFT JOIN accounts_user u ON u.id = customer
    LEFT JOIN accounts_organisation o ON o.id = coalesce(organisation, u.organisation_id)
$$;

-- Build the documents of these tickets again from their rows (a ticket gone: its row goes).
CREATE FUNCTION tickets_search_refresh(ticket_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ticket_ids) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO tickets_ticketsearch AS s (ticket_id, line_id, customer_id, organisation_id, document, customer_document)
    SELECT t.id, t.line_id, t.customer_id, t.organisation_id,
           tickets_search_concat(h.head, coalesce(m.everything, ''::tsvector)),
           CASE WHEN m.notes THEN tickets_search_concat(h.head, coalesce(m.public, ''::tsvector)) END
    FROM tickets_ticket t
    CROSS JOIN LATERAL (
        SELECT tickets_search_head(t.number, t.subject, t.body, t.service, t.customer_id, t.organisation_id) AS head
        OFFSET 0
    ) h
    LEFT JOIN LATERAL (
        SELECT tickets_search_agg(x.words ORDER BY x.created_at, x.id) AS everything,
               tickets_search_agg(x.words ORDER BY x.created_at, x.id) FILTER (WHERE x.kind <> 'note') AS public,
               bool_or(x.kind = 'note') AS notes
        FROM (SELECT tickets_search_text(body) AS words, created_at, id, kind
              FROM tickets_message WHERE ticket_id = t.id) x
    ) m ON true
    WHERE t.id = ANY(ticket_ids)
    ON CONFLICT (ticket_id) DO UPDATE
        SET line_id = EXCLUDED.line_id, customer_id = EXCLUDED.customer_id,
            organisation_id = EXCLUDED.organisation_id, document = EXCLUDED.document,
            customer_document = EXCLUDED.customer_document;
    DELETE FROM tickets_ticketsearch s
    WHERE s.ticket_id = ANY(ticket_ids)
      AND NOT EXISTS (SELECT FROM tickets_ticket t WHERE t.id = s.ticket_id);
END
$$;

CREATE FUNCTION tickets_search_tickets_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tickets_ticketsearch (ticket_id, line_id, customer_id, organisation_id, document)
    SELECT n.id, n.line_id, n.customer_id, n.organisation_id, tickets_search_head(n.number, n.subject, n.body, n.service, n.customer_id, n.organisation_id)
    FROM new_tickets n
    ON CONFLICT (ticket_id) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE FUNCTION tickets_search_tickets_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tickets_ticketsearch s USING old_tickets o WHERE s.ticket_id = o.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION tickets_search_ticket_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.number IS DISTINCT FROM NEW.number OR OLD.subject IS DISTINCT FROM NEW.subject
       OR OLD.body IS DISTINCT FROM NEW.body OR OLD.service IS DISTINCT FROM NEW.service
       OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
       OR OLD.organisation_id IS DISTINCT FROM NEW.organisation_id THEN
        PERFORM tickets_search_refresh(ARRAY[NEW.id]);
    ELSE
        -- Transferred: only the line the search is scoped by.
        UPDATE tickets_ticketsearch SET line_id = NEW.line_id WHERE ticket_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

-- New messages are added to their tickets' documents: one grouped UPDATE per statement.
CREATE FUNCTION tickets_search_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added record;
BEGIN
    BEGIN
        UPDATE tickets_ticketsearch s
        SET document = s.document || a.everything,
            customer_document = CASE WHEN s.customer_document IS NULL AND NOT a.notes THEN NULL
                                     ELSE coalesce(s.customer_document, s.document) || a.public END
        FROM (
            SELECT x.ticket_id,
                   tickets_search_agg(x.words ORDER BY x.created_at, x.id) AS everything,
                   coalesce(tickets_search_agg(x.words ORDER BY x.created_at, x.id) FILTER (WHERE x.kind <> 'note'),
                            ''::tsvector) AS public,
                   bool_or(x.kind = 'note') AS notes
            FROM (SELECT ticket_id, created_at, id, kind, tickets_search_text(body) AS words FROM new_messages) x
            GROUP BY x.ticket_id
        ) a
        WHERE s.ticket_id = a.ticket_id;
    EXCEPTION WHEN program_limit_exceeded THEN
        -- A document would pass 1 MB: message by message, leaving out what does not fit.
        FOR added IN SELECT ticket_id, kind, tickets_search_text(body) AS words FROM new_messages
                     ORDER BY created_at, id LOOP
            UPDATE tickets_ticketsearch s
            SET document = tickets_search_concat_checked(s.document, added.words),
                customer_document = CASE WHEN s.customer_document IS NULL AND added.kind <> 'note' THEN NULL
                    WHEN added.kind = 'note' THEN coalesce(s.customer_document, s.document)
                    ELSE tickets_search_concat_checked(s.customer_document, added.words) END
            WHERE s.ticket_id = added.ticket_id;
        END LOOP;
    END;
    -- A ticket without a row (written while the triggers were disabled): built whole.
    PERFORM tickets_search_refresh(ARRAY(
        SELECT DISTINCT n.ticket_id FROM new_messages n
        WHERE NOT EXISTS (SELECT FROM tickets_ticketsearch s WHERE s.ticket_id = n.ticket_id)
    ));
    RETURN NULL;
END
$$;

CREATE FUNCTION tickets_search_message_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tickets_search_refresh(ARRAY[OLD.ticket_id, NEW.ticket_id]);
    RETURN NULL;
END
$$;

CREATE FUNCTION tickets_search_messages_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tickets_search_refresh(ARRAY(SELECT DISTINCT ticket_id FROM old_messages));
    RETURN NULL;
END
$$;

CREATE FUNCTION tickets_search_customer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tickets_search_refresh(ARRAY(SELECT id FROM tickets_ticket WHERE customer_id = NEW.id));
    RETURN NULL;
END
$$;

CREATE FUNCTION tickets_search_organisation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tickets_search_refresh(ARRAY(
        SELECT t.id FROM tickets_ticket t WHERE t.organisation_id = NEW.id
        UNION
        SELECT t.id FROM tickets_ticket t JOIN accounts_user u ON u.id = t.customer_id
        WHERE t.organisation_id IS NULL AND u.organisation_id = NEW.id
    ));
    RETURN NULL;
END
$$;
"""

POPULATE = r"""
SET LOCAL work_mem = '256MB';
INSERT INTO tickets_ticketsearch (ticket_id, line_id, customer_id, organisation_id, document, customer_document)
SELECT t.id, t.line_id, t.customer_id, t.organisation_id,
       tickets_search_concat(h.head, coalesce(m.everything, ''::tsvector)),
       CASE WHEN m.notes THEN tickets_search_concat(h.head, coalesce(m.public, ''::tsvector)) END
FROM tickets_ticket t
JOIN accounts_user u ON u.id = t.customer_id
LEFT JOIN accounts_organisation o ON o.id = coalesce(t.organisation_id, u.organisation_id)
CROSS JOIN LATERAL (
    SELECT tickets_search_head_of(t.number, t.subject, t.body, t.service,
                                  u.first_name, u.last_name, u.username, u.email, o.name) AS head
    OFFSET 0
) h
LEFT JOIN (
    SELECT x.ticket_id,
           tickets_search_agg(x.words ORDER BY x.created_at, x.id) AS everything,
           tickets_search_agg(x.words ORDER BY x.created_at, x.id) FILTER (WHERE x.kind <> 'note') AS public,
           bool_or(x.kind = 'note') AS notes
    FROM (SELECT ticket_id, created_at, id, kind, tickets_search_text(body) AS words FROM tickets_message) x
    GROUP BY x.ticket_id
) m ON m.ticket_id = t.id;
"""

TRIGGERS = r"""
CREATE TRIGGER tickets_search_tickets_inserted AFTER INSERT ON tickets_ticket
    REFERENCING NEW TABLE AS new_tickets FOR EACH STATEMENT
    EXECUTE FUNCTION tickets_search_tickets_inserted();
CREATE TRIGGER tickets_search_tickets_deleted AFTER DELETE ON tickets_ticket
    REFERENCING OLD TABLE AS old_tickets FOR EACH STATEMENT
    EXECUTE FUNCTION tickets_search_tickets_deleted();
CREATE TRIGGER tickets_search_ticket_changed
    AFTER UPDATE OF number, subject, body, service, customer_id, organisation_id, line_id ON tickets_ticket
    FOR EACH ROW WHEN (
        OLD.line_id IS DISTINCT FROM NEW.line_id OR OLD.number IS DISTINCT FROM NEW.number OR OLD.subject IS DISTINCT FROM NEW.subject
        OR OLD.body IS DISTINCT FROM NEW.body OR OLD.service IS DISTINCT FROM NEW.service
        OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
        OR OLD.organisation_id IS DISTINCT FROM NEW.organisation_id
    )
    EXECUTE FUNCTION tickets_search_ticket_changed();
CREATE TRIGGER tickets_search_messages_inserted AFTER INSERT ON tickets_message
    REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT
    EXECUTE FUNCTION tickets_search_messages_inserted();
CREATE TRIGGER tickets_search_message_changed AFTER UPDATE OF ticket_id, body, kind ON tickets_message
    FOR EACH ROW WHEN (
        OLD.ticket_id IS DISTINCT FROM NEW.ticket_id OR OLD.body IS DISTINCT FROM NEW.body
        OR OLD.kind IS DISTINCT FROM NEW.kind
    )
    EXECUTE FUNCTION tickets_search_message_changed();
CREATE TRIGGER tickets_search_messages_deleted AFTER DELETE ON tickets_message
    REFERENCING OLD TABLE AS old_messages FOR EACH STATEMENT
    EXECUTE FUNCTION tickets_search_messages_deleted();
CREATE TRIGGER tickets_search_customer_changed
    AFTER UPDATE OF first_name, last_name, username, email, organisation_id ON accounts_user
    FOR EACH ROW WHEN (
        OLD.first_name IS DISTINCT FROM NEW.first_name OR OLD.last_name IS DISTINCT FROM NEW.last_name
        OR OLD.username IS DISTINCT FROM NEW.username OR OLD.email IS DISTINCT FROM NEW.email
        OR OLD.organisation_id IS DISTINCT FROM NEW.organisation_id
    )
    EXECUTE FUNCTION tickets_search_customer_changed();
CREATE TRIGGER tickets_search_organisation_changed AFTER UPDATE OF name ON accounts_organisation
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION tickets_search_organisation_changed();
"""

# btree_gin comes with PostgreSQL's contrib package; a server without it (the embedded one of
# `make run` and `make test` on a bare machine) gets the index on the words alone: the same
# searches, answered without the line's filter inside the index.
EXTENSION = r"""
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gin') THEN
        CREATE EXTENSION IF NOT EXISTS btree_gin;
    END IF;
END $$;
"""

INDEX = r"""
SET LOCAL maintenance_work_mem = '1GB';
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'btree_gin') THEN
        CREATE INDEX tickets_search_document ON tickets_ticketsearch
            USING gin (line_id, customer_id, organisation_id, document);
    ELSE
        CREATE INDEX tickets_search_document ON tickets_ticketsearch USING gin (document);
    END IF;
END $$;
ANALYZE tickets_ticketsearch;
"""

DROP = r"""
DROP TRIGGER IF EXISTS tickets_search_organisation_changed ON accounts_organisation;
DROP TRIGGER IF EXISTS tickets_search_customer_changed ON accounts_user;
DROP TRIGGER IF EXISTS tickets_search_messages_deleted ON tickets_message;
DROP TRIGGER IF EXISTS tickets_search_message_changed ON tickets_message;
DROP TRIGGER IF EXISTS tickets_search_messages_inserted ON tickets_message;
DROP TRIGGER IF EXISTS tickets_search_ticket_changed ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_search_tickets_deleted ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_search_tickets_inserted ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_search_organisation_changed();
DROP FUNCTION IF EXISTS tickets_search_customer_changed();
DROP FUNCTION IF EXISTS tickets_search_messages_deleted();
DROP FUNCTION IF EXISTS tickets_search_message_changed();
DROP FUNCTION IF EXISTS tickets_search_messages_inserted();
DROP FUNCTION IF EXISTS tickets_search_ticket_changed();
DROP FUNCTION IF EXISTS tickets_search_tickets_deleted();
DROP FUNCTION IF EXISTS tickets_search_tickets_inserted();
DROP FUNCTION IF EXISTS tickets_search_refresh(bigint[]);
DROP FUNCTION IF EXISTS tickets_search_head(bigint, text, text, text, bigint, bigint);
DROP FUNCTION IF EXISTS tickets_search_head_of(bigint, text, text, text, text, text, text, text, text);
DROP AGGREGATE IF EXISTS tickets_search_agg(tsvector);
DROP FUNCTION IF EXISTS tickets_search_concat(tsvector, tsvector);
DROP FUNCTION IF EXISTS tickets_search_concat_checked(tsvector, tsvector);
DROP FUNCTION IF EXISTS tickets_search_text(text);
DROP FUNCTION IF EXISTS tickets_search_config(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_time_zone"),
        ("tickets", "0020_idempotency_keys"),
    ]

    operations = [
        # The GIN index holds the line beside the words (btree_gin's operator class for bigint).
        migrations.RunSQL(sql=EXTENSION, reverse_sql=migrations.RunSQL.noop),
        migrations.CreateModel(
            name="TicketSearch",
            fields=[
                (
                    "ticket",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search",
                        serialize=False,
                        to="tickets.ticket",
                        verbose_name="ticket",
                    ),
                ),
                ("line_id", models.BigIntegerField(verbose_name="line")),
                ("customer_id", models.BigIntegerField(verbose_name="customer")),
                ("organisation_id", models.BigIntegerField(null=True, verbose_name="organisation")),
                ("document", django.contrib.postgres.search.SearchVectorField(verbose_name="words")),
                (
                    "customer_document",
                    django.contrib.postgres.search.SearchVectorField(null=True, verbose_name="words the customer sees"),
                ),
            ],
            options={
                "verbose_name": "search document",
                "verbose_name_plural": "search documents",
            },
        ),
        # Functions and triggers first, in this transaction: whatever is written after the
        # documents are built waits for the commit and is then kept by the triggers.
        migrations.RunSQL(sql=FUNCTIONS + TRIGGERS, reverse_sql=DROP),
        migrations.RunSQL(sql=POPULATE, reverse_sql=migrations.RunSQL.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="ticketsearch",
                    index=django.contrib.postgres.indexes.GinIndex(
                        fields=["line_id", "customer_id", "organisation_id", "document"], name="tickets_search_document"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(sql=INDEX, reverse_sql="DROP INDEX IF EXISTS tickets_search_document;"),
            ],
        ),
    ]
