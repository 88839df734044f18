import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from helpdesk.tasks import last_heartbeat


class Command(BaseCommand):
    help = "Exit non-zero unless beat scheduled and a worker ran the heartbeat task recently (container health check)."

    def add_arguments(self, parser):
        parser.add_argument("--max-age", type=int, default=180, help="seconds (default 180)")

    def handle(self, *args, **options):
        beat = last_heartbeat()
        if beat is None:
            raise CommandError("no Celery heartbeat recorded yet")
        age = timezone.now() - dt.datetime.fromisoformat(beat)
        if age.total_seconds() > options["max_age"]:
            raise CommandError(f"the last Celery heartbeat is {int(age.total_seconds())}s old")
        self.stdout.write(f"Celery heartbeat {int(age.total_seconds())}s ago")
