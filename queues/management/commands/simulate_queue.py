"""Replay a month of support load under FIFO, strict weight order and virtual-time order; or
replay a trace file and a shift roster through the product's services on a database of its own."""

from __future__ import annotations

import shlex
import sys
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from queues import replay
from queues.simulation import SimulationConfig, format_load_check, format_report, simulate, with_load

DOC_PATH = Path(settings.BASE_DIR) / "docs" / "queue.md"
BEGIN, END = "<!-- simulate_queue:results -->", "<!-- /simulate_queue:results -->"
REPLAY_BEGIN, REPLAY_END = "<!-- simulate_queue:replay -->", "<!-- /simulate_queue:replay -->"


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
        trace = parser.add_argument_group(
            "trace replay",
            "Replay a trace (CSV, one ticket a row) and a shift roster (CSV) through the services, on a "
            "database of its own; or generate both.",
        )
        trace.add_argument("--trace", type=Path, help="the trace to replay (columns: see docs/queue.md)")
        trace.add_argument("--roster", type=Path, help="the shift roster; without it, --agents around the clock")
        trace.add_argument(
            "--look-every", type=float, default=30, help="minutes between the customer's looks, on average"
        )
        trace.add_argument(
            "--keep-database", action="store_true", help="keep the replay's database afterwards, to look at it"
        )
        trace.add_argument("--generate-trace", type=Path, help="write a generated trace here (and exit)")
        trace.add_argument("--generate-roster", type=Path, help="write the generated roster here")
        trace.add_argument(
            "--utilisation",
            type=float,
            default=replay.TraceConfig.utilisation,
            help="generated trace: handling time over the agent time rostered",
        )
        trace.add_argument(
            "--roster-agents",
            type=int,
            default=replay.TraceConfig.agents,
            help="generated roster: agents across the three shifts",
        )

    def handle(self, *args, **options):
        if options["generate_trace"] or options["generate_roster"]:
            return self._generate(options)
        if options["trace"]:
            return self._replay(options)
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

    def _generate(self, options) -> None:
        if not (options["generate_trace"] and options["generate_roster"]):
            raise CommandError("--generate-trace and --generate-roster go together")
        if not 0 < options["utilisation"] < 2 or options["roster_agents"] < 3:
            raise CommandError("--utilisation must be between 0 and 2 and --roster-agents at least 3")
        config = replay.TraceConfig(
            requests_per_month=options["requests_per_month"],
            days=options["days"],
            seed=options["seed"],
            customers=options["customers"],
            agents=options["roster_agents"],
            utilisation=options["utilisation"],
            boost_share=options["boost_share"],
        )
        roster = replay.make_roster(config)
        trace = replay.make_trace(config, roster)
        replay.write_roster(options["generate_roster"], roster)
        replay.write_trace(options["generate_trace"], trace)
        self.stdout.write(
            f"{len(trace):,} tickets written to {options['generate_trace']}, "
            f"{len({r.agent for r in roster})} agents' shifts to {options['generate_roster']}."
        )

    def _replay(self, options) -> None:
        try:
            trace = replay.read_trace(options["trace"])
            roster = replay.read_roster(options["roster"]) if options["roster"] else []
        except (OSError, replay.TraceError) as error:
            raise CommandError(str(error)) from error
        if not trace:
            raise CommandError(f"{options['trace']} has no tickets")
        if options["look_every"] <= 0:
            raise CommandError("--look-every must be positive")
        with own_database(keep=options["keep_database"], out=self.stderr):
            result = replay.replay(
                trace,
                roster,
                max_credit=options["max_credit"],
                look_every_minutes=options["look_every"],
                agents_without_roster=options["agents"],
                seed=options["seed"],
                progress=lambda line: self.stderr.write(line),
            )
        command = "python manage.py simulate_queue " + " ".join(
            shlex.quote(arg) for arg in sys.argv[2:] if arg != "--write-doc"
        )
        text = replay.format_replay(
            result,
            command=command.strip(),
            trace_name=_shown(options["trace"]),
            roster_name=_shown(options["roster"]) if options["roster"] else "(none: agents around the clock)",
        )
        self.stdout.write(text)
        if options["write_doc"]:
            write_section(DOC_PATH, text, begin=REPLAY_BEGIN, end=REPLAY_END)
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


def write_section(path: Path, text: str, *, begin: str = BEGIN, end: str = END) -> None:
    """Replace what lies between the markers; text outside them is kept."""
    content = path.read_text(encoding="utf-8")
    start, stop = content.find(begin), content.find(end)
    if start < 0 or stop < start:
        raise CommandError(f"{path} has no {begin} ... {end} section")
    content = content[: start + len(begin)] + "\n" + text.rstrip() + "\n" + content[stop:]
    path.write_text(content, encoding="utf-8")


def _shown(path: Path) -> str:
    """The path as the documentation names it: relative to the project when inside it."""
    try:
        return path.resolve().relative_to(Path(settings.BASE_DIR).resolve()).as_posix()
    except ValueError:
        return str(path)


@contextmanager
def own_database(*, keep: bool, out):
    """A database of the replay's own, next to the configured one (its name + "_replay"),
    created and migrated as the tests' is, and dropped afterwards unless kept."""
    db = connections["default"]
    name = f"{db.settings_dict['NAME']}_replay"
    db.settings_dict.setdefault("TEST", {})["NAME"] = name
    out.write(f"Creating the database {name} for the replay ...")
    old_name = db.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    try:
        with db.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")  # a throwaway database: no need to wait for the disk
        yield name
    finally:
        db.creation.destroy_test_db(old_name, verbosity=0, keepdb=keep)
        if keep:
            out.write(f"The replay's database {name} is kept.")
