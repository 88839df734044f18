"""`manage.py rebuild_reports [--since DATE] [--until DATE]`: recompute the reports' history."""

from __future__ import annotations

import datetime as dt
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Min

from reports import cube
from tickets.models import Ticket


class Command(BaseCommand):
    help = "Recompute the daily figures of the manager's reports, day by day, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--since", type=dt.date.fromisoformat, help="first local day (default: the first ticket's)")
        parser.add_argument("--until", type=dt.date.fromisoformat, help="last local day (default: yesterday)")

    def handle(self, *args, since=None, until=None, **options):
        if since is None:
            first = Ticket.objects.aggregate(first=Min("created_at"))["first"]
            if first is None:
                self.stdout.write("No tickets: nothing to rebuild.")
                return
            since = cube.local_today(first)
        last = min(until or cube.local_today() - dt.timedelta(days=1), cube.local_today() - dt.timedelta(days=1))
        if since > last:
            raise CommandError("The first day lies after the last one (today is never stored).")
        total = (last - since).days + 1
        started = time.monotonic()
        interactive = sys.stdout.isatty()

        def progress(day: dt.date, rows: int) -> None:
            done = (day - since).days + 1
            width = 30
            filled = width * done // total
            elapsed = time.monotonic() - started
            left = elapsed / done * (total - done)
            line = (
                f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} days, {day.isoformat()}, "
                f"{rows:,} rows, {elapsed:.0f}s, about {left:.0f}s left"
            )
            if interactive:
                self.stdout.write("\r" + line, ending="")
                self.stdout.flush()
            elif done == total or done % 10 == 0:
                self.stdout.write(line)

        rows = cube.rebuild(since=since, until=last, progress=progress)
        if interactive:
            self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"Rebuilt {total} days ({rows:,} rows) in {time.monotonic() - started:.1f}s.")
        )
