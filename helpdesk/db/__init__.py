"""PostgreSQL for the helpdesk: Django's psycopg2 backend with connections kept per process
(`helpdesk.db.base`, the `ENGINE` of every settings module; see docs/architecture.md)."""
