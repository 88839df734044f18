"""How the Dockerfile and docker-compose.yml start the web server, run for real with a stand-in
`uvicorn` that only records the arguments it was given."""

import json
import os
import subprocess
import tempfile
from pathlib import Path

import yaml

BASE_DIR = Path(__file__).resolve().parents[1]


def dockerfile_web_command() -> list[str]:
    """The image's CMD (exec form)."""
    lines = [line for line in (BASE_DIR / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    return json.loads(lines[-1][len("CMD ") :])


def compose_web_command() -> list[str]:
    """The web service's command, with compose's `$$` escape undone as compose does."""
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    return [part.replace("$$", "$") for part in compose["services"]["web"]["command"]]


def uvicorn_argv(command: list[str], env: dict[str, str] | None = None) -> list[str]:
    """The arguments uvicorn gets when the container runs `command` with `env` set."""
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = Path(tmp)
        record = bin_dir / "argv"
        (bin_dir / "uvicorn").write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > '{record}'\n")
        # The compose command migrates first; the stand-in for python does nothing.
        (bin_dir / "python").write_text("#!/bin/sh\nexit 0\n")
        for name in ("uvicorn", "python"):
            (bin_dir / name).chmod(0o755)
        run_env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **(env or {})}
        subprocess.run(command, env=run_env, check=True, timeout=30)
        return record.read_text().split("\0")[:-1]


def forwarded_allow_ips(argv: list[str], env: dict[str, str] | None = None) -> str:
    """What uvicorn trusts: its --forwarded-allow-ips, else FORWARDED_ALLOW_IPS, else its default."""
    if "--forwarded-allow-ips" in argv:
        return argv[argv.index("--forwarded-allow-ips") + 1]
    return (env or {}).get("FORWARDED_ALLOW_IPS", "127.0.0.1")
