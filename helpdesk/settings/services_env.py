"""The embedded servers' addresses, for development and the tests only.

`make run` and `make test` (helpdesk.embedded) write the addresses of the PostgreSQL and Redis
they started to `<HELPDESK_DATA_DIR>/services.env`, so that a second shell (`manage.py shell`,
`dbshell`) finds them without exporting anything. Importing this module copies them into the
environment, never over a variable that is set, before the settings read it. Only `local` and
`test` import it: a deployment is configured by its own environment, never by a file that a
development supervisor left behind.
"""

from pathlib import Path

import environ

SERVICES_ENV_FILE = (
    Path(environ.Env().str("HELPDESK_DATA_DIR", default=str(Path(__file__).resolve().parents[2] / ".data")))
    / "services.env"
)
if SERVICES_ENV_FILE.exists():
    environ.Env.read_env(str(SERVICES_ENV_FILE), overwrite=False)
