"""The HTTP benchmark's harness: reading wrk's output, the deployment's server command, the report.

No timing is asserted: these check that figures are read and written correctly.
"""

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import http

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:41234/panel/tickets/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    38.21ms   12.40ms 190.02ms   80.11%
    Req/Sec   104.61     20.33   151.00     71.00%
  2094 requests in 10.02s, 20.31MB read
Requests/sec:    209.02
Transfer/sec:      2.03MB
bench-result requests=2094 duration_us=10018000 non_2xx=3 first_non_2xx=302 connect=0 read=2 write=0 timeout=1 \
p50_us=35120 p90_us=51003 p99_us=88754 max_us=190020
"""


def test_parse_wrk_reads_the_script_line():
    run = http.parse_wrk(WRK_OUTPUT, connections=8)

    assert run.connections == 8
    assert run.requests == 2094
    assert run.seconds == pytest.approx(10.018)
    assert run.requests_per_second == pytest.approx(2094 / 10.018)
    assert (run.p50_ms, run.p90_ms, run.p99_ms, run.max_ms) == (35.12, 51.003, 88.754, 190.02)
    assert run.non_2xx == 3
    assert run.first_non_2xx == 302
    assert run.socket_errors == 3
    assert run.errors == 6


@pytest.mark.parametrize(
    "output",
    [
        "Running 10s test @ http://127.0.0.1:1/\n  0 requests in 10.00s, 0B read\n",
        "bench-result requests=10 duration_us=1000000 non_2xx=0\n",  # no percentiles
        "bench-result requests=10 duration_us=1000000 non_2xx=0 p50_us=1.5e3 p99_us=2000\n",
    ],
)
def test_parse_wrk_refuses_output_it_cannot_read(output):
    with pytest.raises(http.BenchmarkError):
        http.parse_wrk(output, connections=1)


def test_lua_string_escapes_quotes_and_non_ascii():
    assert http.lua_string('a"b\\c]]\nд') == '"a\\034b\\092c]]\\010\\208\\180"'


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with the status of the server; remembers what it was sent."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.server.seen.append((self.command, self.path, self.headers["Authorization"], body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen, server.status = [], 201
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
@pytest.mark.parametrize(("status", "failed"), [(201, False), (302, True)])
def test_wrk_script_sends_the_request_and_counts_answers_outside_2xx(recorder, tmp_path, status, failed):
    recorder.status = status
    body = json.dumps({"subject": "a]]b", "body": "x"})
    script = tmp_path / "create.lua"
    script.write_text(http.wrk_script("POST", {"Authorization": "Token abc", "Content-Type": "application/json"}, body))
    url = f"http://127.0.0.1:{recorder.server_address[1]}/api/v1/tickets/"

    run = http.parse_wrk(http.run_wrk(shutil.which("wrk"), url, script, connections=1, seconds=1), connections=1)

    assert run.requests > 0
    assert recorder.seen[0] == ("POST", "/api/v1/tickets/", "Token abc", body)
    assert run.non_2xx == (run.requests if failed else 0)
    assert run.first_non_2xx == (302 if failed else 0)
    assert run.p50_ms <= run.p99_ms <= run.max_ms


def test_server_command_follows_the_compose_file():
    shell, flag, script = http.compose_server_command(8123)

    assert (shell, flag) == ("sh", "-c")
    assert script.startswith("exec uvicorn helpdesk.asgi:application ")
    assert " --workers 2 " in script
    assert " --host 127.0.0.1 --port 8123 " in script
    assert "$$" not in script and "migrate" not in script


def test_server_command_is_read_from_the_web_service(tmp_path):
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        "services:\n"
        "  worker:\n"
        '    command: ["celery", "-A", "helpdesk", "worker"]\n'
        "  web:\n"
        "    <<: *app\n"
        '    command: ["sh", "-c", "exec uvicorn app:x --port=8000 --workers 4 --forwarded-allow-ips \\"$${P:-a}\\""]\n'
    )

    assert http.compose_server_command(9, compose) == [
        "sh", "-c", 'exec uvicorn app:x --port 9 --workers 4 --forwarded-allow-ips "${P:-a}" --host 127.0.0.1'
    ]  # fmt: skip


def test_size_section_reports_goals():
    def run(connections, rps, p50, p99, non_2xx=0):
        return {
            "connections": connections,
            "requests": 100,
            "requests_per_second": rps,
            "p50_ms": p50,
            "p99_ms": p99,
            "non_2xx": non_2xx,
            "socket_errors": 0,
        }

    def call(name, goal, runs):
        return {"name": name, "method": "GET", "path": "/x/", "user": "u", "goal": goal, "queries": 7,
                "inprocess_p50_ms": 12.0, "runs": runs}  # fmt: skip

    data = {
        "tickets": 1_000_000, "command": "python -m bench http", "date": "today", "machine": "m",
        "load_before": "1.0/1/1", "load_after": "1.5/1/1", "cores": 2, "database": "db", "server": "uvicorn",
        "wrk": "wrk 4",
        "warmup": 2, "duration": 10, "tickets_shown": {"customer_ticket": 1, "agent_ticket": 2},
        "users": {"customer": "c", "agent": "a", "manager": "m"}, "created_and_removed": 40,
        "calls": [
            call("fast list", "page", [run(1, 60, 12.0, 40.0), run(8, 200, 30.0, 90.0)]),
            call("slow ticket", "page", [run(1, 20, 45.0, 120.0), run(8, 50, 150.0, 400.0, non_2xx=2)]),
            call("agent home", "agent-home", [run(1, 25, 49.0, 120.0), run(8, 60, 120.0, 200.0)]),
            call("stuck", "page", [run(1, 20, 20.0, 30.0), {**run(8, 0, 0.0, 0.0), "requests": 0}]),
            {**call("create", "create", [run(1, 30, 30.0, 60.0), run(4, 40, 90.0, 150.0), run(8, 50, 160, 240)]),
             "method": "POST"},
        ],
    }  # fmt: skip
    text = http.size_section(data)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}

    assert rows["fast list"].endswith("| yes | yes |")
    assert rows["slow ticket"].endswith("| **no** (p50, p99) | **no** (errors, p99) |")
    assert rows["agent home"].endswith("| yes | yes |")
    assert "| 0 | no answer | no answer |" in rows["stuck"]
    assert rows["stuck"].endswith("| yes | **no** (no answer) |")
    assert rows["create"].endswith("| yes | yes |")
    assert "with 1: met (goal 24.5/s); with 4: missed (goal 48.5/s)" in text
    assert "machine was busy" not in text
    assert "load average of up to 9.5 on 2 cores" in http.size_section({**data, "load_after": "9.5/3/1", "cores": 2})


def test_newest_results_keeps_the_latest_complete_run_per_size(tmp_path):
    for name, size, partial, marker in [
        ("100000-20260101T000000.json", 100_000, False, "old"),
        ("100000-20260102T000000.json", 100_000, False, "new"),
        ("100000-20260103T000000.json", 100_000, True, "partial"),
        ("1000000-20260101T000000.json", 1_000_000, False, "big"),
    ]:
        (tmp_path / name).write_text(json.dumps({"tickets": size, "partial": partial, "marker": marker}))

    assert [data["marker"] for data in http.newest_results(tmp_path)] == ["new", "big"]
