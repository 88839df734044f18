"""Replay a month of support load under FIFO, strict weight order and virtual-time order."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from queues.simulation import SimulationConfig, format_load_check, format_report, simulate, with_load

DOC_PATH = Path(settings.BASE_DIR) / "docs" / "queue.md"
BEGIN, END = "<!-- simulate_queue:results -->", "<!-- /simulate_queue:results -->"


class Command(BaseCommand):
    help = (
        "Simulate a month of requests (daily rhythm, a customer population like the demo's, agents "
        "around the clock) and compare wait times per customer class under FIFO, strict weight order "
        "and the virtual-time order. In memory: the database is not used."
    )

    def add_arguments(self, parser):
        d = SimulationConfig()
        parser.add_argument("--requests-per-month", type=int, default=d.requests_per_month)
        parser.add_argument("--agents", type=int, default=d.agents, help="on duty around the clock")
        parser.add_argument("--days", type=int, default=d.days)
        parser.add_argument("--seed", type=int, default=d.seed)
        parser.add_argument("--max-credit", type=int, default=d.max_credit, help="the starvation bound, minutes")
        parser.add_argument(
            "--boost-share",
            type=float,
            default=d.boost_share,
            help="share of tickets whose customer buys a boost when their position is above 3",
        )
        parser.add_argument("--handling-minutes", type=float, default=d.handling_minutes, help="mean, lognormal")
        parser.add_argument(
            "--availability",
            type=float,
            default=d.availability,
            help="share of an agent's time spent taking tickets from this queue",
        )
        parser.add_argument("--customers", type=int, default=d.customers)
        parser.add_argument(
            "--high-load",
            type=int,
            default=7000,
            help="also run at this many requests a month, everything else equal (0: no second run)",
        )
        parser.add_argument("--write-doc", action="store_true", help=f"rewrite the results section of {DOC_PATH.name}")

    def handle(self, *args, **options):
        config = SimulationConfig(
            requests_per_month=options["requests_per_month"],
            agents=options["agents"],
            days=options["days"],
            seed=options["seed"],
            max_credit=options["max_credit"],
            boost_share=options["boost_share"],
            handling_minutes=options["handling_minutes"],
            availability=options["availability"],
            customers=options["customers"],
        )
        self._validate(config, options["high_load"])
        loads = [config.requests_per_month]
        if options["high_load"] and options["high_load"] != config.requests_per_month:
            loads.append(options["high_load"])
        availabilities = sorted({1.0, config.availability}, reverse=True)
        parts = [
            "### Does a queue form? (FIFO)",
            "",
            format_load_check(config, loads, availabilities),
        ]
        parts += [format_report(simulate(with_load(config, load))) for load in loads]
        text = "\n".join(parts)
        self.stdout.write(text)
        if options["write_doc"]:
            write_section(DOC_PATH, text)
            self.stdout.write(self.style.SUCCESS(f"Results written to {DOC_PATH}."))

    @staticmethod
    def _validate(config: SimulationConfig, high_load: int) -> None:
        if config.requests_per_month < 1 or config.agents < 1 or config.days < 1 or config.customers < 1:
            raise CommandError("--requests-per-month, --agents, --days and --customers must be at least 1")
        if high_load < 0:
            raise CommandError("--high-load must not be negative")
        if config.max_credit < 0:
            raise CommandError("--max-credit must not be negative")
        if not 0 <= config.boost_share <= 1:
            raise CommandError("--boost-share must be between 0 and 1")
        if not 0 < config.availability <= 1:
            raise CommandError("--availability must be above 0 and at most 1")
        if config.handling_minutes <= 0:
            raise CommandError("--handling-minutes must be positive")


def write_section(path: Path, text: str) -> None:
    """Replace what lies between the markers; text outside them is kept."""
    content = path.read_text(encoding="utf-8")
    start, end = content.find(BEGIN), content.find(END)
    if start < 0 or end < start:
        raise CommandError(f"{path} has no {BEGIN} ... {END} section")
    content = content[: start + len(BEGIN)] + "\n" + text.rstrip() + "\n" + content[end:]
    path.write_text(content, encoding="utf-8")
