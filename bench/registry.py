"""The named benchmarks and what they hand back to the report writer."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Result:
    """What a benchmark measured.

    `rows` become a Markdown table under `columns`; `notes` are paragraphs written before
    the table and `summary` paragraphs after it. A skipped result leaves the benchmark's
    section of the document as it was, so an earlier measurement is not lost.
    """

    columns: Sequence[str] = ()
    rows: list[Sequence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    skipped: bool = False


Runner = Callable[[argparse.Namespace], Result]
ArgumentAdder = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    description: str
    run: Runner
    add_arguments: ArgumentAdder | None = None


BENCHMARKS: dict[str, Benchmark] = {}


class BenchmarkError(RuntimeError):
    """A benchmark cannot give a meaningful number; the CLI prints it and exits non-zero."""


def register(name: str, *, title: str, add_arguments: ArgumentAdder | None = None) -> Callable[[Runner], Runner]:
    """Register `run` as benchmark `name`.

    Option names must be unique across benchmarks: `all` accepts every benchmark's
    options at once.
    """

    def decorator(run: Runner) -> Runner:
        if name in BENCHMARKS or name == "all":
            raise ValueError(f"benchmark name {name!r} is already taken")
        description = (run.__doc__ or title).strip().splitlines()[0]
        BENCHMARKS[name] = Benchmark(name, title, description, run, add_arguments)
        return run

    return decorator
