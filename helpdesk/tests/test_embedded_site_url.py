"""`make run` points the links of e-mails and notifications at the address it serves."""

import socket

from helpdesk import embedded


def test_site_url_is_the_address_served():
    assert embedded.site_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert embedded.site_url("localhost", 8123) == "http://localhost:8123"
    assert embedded.site_url("::1", 8000) == "http://[::1]:8000"
    assert embedded.site_url("0.0.0.0", 9000) == f"http://{socket.getfqdn()}:9000"  # noqa: S104


def test_run_hands_the_address_to_its_children(monkeypatch, tmp_path):
    seen = {}

    def fake_manage(env, *args):
        seen["env"] = env
        raise embedded.subprocess.CalledProcessError(1, ["manage.py", *args])

    monkeypatch.setattr(embedded, "manage", fake_manage)
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.delenv("HELPDESK_SITE_URL", raising=False)
    args = embedded.argparse.Namespace(data_dir=str(tmp_path), host="127.0.0.1", port=8765, no_demo=True, concurrency=1)
    assert embedded.serve(args) == 1
    assert seen["env"]["HELPDESK_SITE_URL"] == "http://127.0.0.1:8765"
    monkeypatch.setenv("HELPDESK_SITE_URL", "https://support.example.net")
    embedded.serve(args)
    assert seen["env"]["HELPDESK_SITE_URL"] == "https://support.example.net"
