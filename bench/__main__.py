"""`python -m bench [all | NAME] [options]`: run benchmarks and record them in docs/benchmarks.md."""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
import time

from bench.registry import BENCHMARKS, Benchmark, BenchmarkError


def load_benchmarks() -> None:
    import django

    from bench import BENCHMARK_MODULES

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")
    django.setup()
    for module in BENCHMARK_MODULES:
        importlib.import_module(module)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--no-write", action="store_true", help="print the results without updating docs/benchmarks.md")
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the helpdesk benchmarks and record them in docs/benchmarks.md. Without a name, runs all.",
    )
    sub = parser.add_subparsers(dest="name", metavar="{all," + ",".join(BENCHMARKS) + "}")
    every = sub.add_parser("all", parents=[common], help="every benchmark in turn (the default)")
    for benchmark in BENCHMARKS.values():
        own = sub.add_parser(benchmark.name, parents=[common], help=benchmark.description)
        if benchmark.add_arguments:
            benchmark.add_arguments(own)
            benchmark.add_arguments(every.add_argument_group(benchmark.name))
    return parser


def with_default_command(argv: list[str]) -> list[str]:
    """`python -m bench --tickets 1000` means `all --tickets 1000`."""
    if argv and (argv[0] in BENCHMARKS or argv[0] in ("all", "-h", "--help")):
        return argv
    return ["all", *argv]


def run_one(benchmark: Benchmark, args: argparse.Namespace, command: str) -> None:
    from bench import report

    print(f"\n=== {benchmark.name}: {benchmark.title} ===", flush=True)
    started = time.monotonic()
    result = benchmark.run(args)
    print(f"=== {benchmark.name} finished in {time.monotonic() - started:.0f}s ===", flush=True)
    if result.skipped:
        for line in result.notes + result.summary:
            print(line)
        print(f"{benchmark.name}: nothing measured, docs/benchmarks.md left as it was")
        return
    machine = report.machine_description()
    section = report.render_section(benchmark, result, command=command, machine=machine)
    print(section)
    if args.no_write:
        return
    report.write_section(benchmark.name, section)
    print(f"{benchmark.name}: section written to {report.DOC_PATH}")


def main(argv: list[str] | None = None) -> int:
    load_benchmarks()
    raw = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(with_default_command(raw))
    command = shlex.join(["python", "-m", "bench", *raw])
    chosen = list(BENCHMARKS.values()) if args.name == "all" else [BENCHMARKS[args.name]]
    for benchmark in chosen:
        try:
            run_one(benchmark, args, command)
        except BenchmarkError as exc:
            print(f"\n{benchmark.name} FAILED: {exc}", file=sys.stderr, flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
