import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from helpdesk.demo import DemoSize, demo_loaded, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo provider: plans, lines and agents, 2,000 customers, the first line's reply "
        "templates and a year of requests. Deterministic and safe to run again."
    )

    def add_arguments(self, parser):
        defaults = DemoSize()
        parser.add_argument("--customers", type=int, default=defaults.customers)
        parser.add_argument("--months", type=int, default=defaults.months)
        parser.add_argument("--per-month", type=int, default=defaults.requests_per_month, dest="per_month")
        parser.add_argument(
            "--until", type=dt.date.fromisoformat, default=None, help="last day of the history (default: today)"
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the demo data is there")

    def handle(self, *args, **options):
        if options["if_empty"] and demo_loaded():
            self.stdout.write("Demo data already loaded.")
            return
        for name in ("customers", "months", "per_month"):
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must not be negative")
        size = DemoSize(
            customers=options["customers"], months=options["months"], requests_per_month=options["per_month"]
        )
        until = options["until"] or timezone.localdate()
        started = time.monotonic()
        self.stdout.write(
            f"Loading demo data: {size.customers} customers, {size.months} months of "
            f"~{size.requests_per_month} requests up to {until}..."
        )
        written = load_demo(size=size, until=until, progress=lambda text: self.stdout.write(f"  {text}"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready in {time.monotonic() - started:.1f}s "
                f"({written['tickets']} tickets and {written['messages']} messages written)."
            )
        )
