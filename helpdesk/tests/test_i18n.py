"""The Russian catalogue is complete, current and compiled: the `.po` is the only source of
the wording, so a string left untranslated, a fuzzy guess or a stale `.mo` fails the build."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from helpdesk import i18n_check

BASE_DIR = Path(__file__).resolve().parents[2]
PO = BASE_DIR / "locale" / "ru" / "LC_MESSAGES" / "django.po"


def test_every_entry_of_the_committed_catalogues_is_translated_not_fuzzy_and_compiled():
    assert i18n_check.catalogues(), "no catalogue found under locale/"
    found = [problem for path in i18n_check.catalogues() for problem in i18n_check.problems(path)]
    assert not found, "\n".join(found)


def test_the_check_refuses_an_empty_or_fuzzy_entry_and_a_stale_mo(tmp_path):
    po_path = tmp_path / "locale" / "ru" / "LC_MESSAGES" / "django.po"
    po_path.parent.mkdir(parents=True)
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "ru"}
    po.append(polib.POEntry(msgid="Ticket", msgstr="Запрос"))
    po.save(str(po_path))
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    assert i18n_check.problems(po_path) == []

    po.append(polib.POEntry(msgid="Queue", msgstr=""))
    po.append(polib.POEntry(msgid="Line", msgstr="Линия", flags=["fuzzy"]))
    po.save(str(po_path))
    found = i18n_check.problems(po_path)
    assert any("untranslated: 'Queue'" in problem for problem in found)
    assert any("fuzzy: 'Line'" in problem for problem in found)

    po = polib.pofile(str(po_path))
    po.find("Queue").msgstr = "Очередь"
    po.find("Line").flags.remove("fuzzy")
    po.save(str(po_path))
    assert any("run `make compile-messages`" in problem for problem in i18n_check.problems(po_path))


@pytest.mark.slow  # makemessages over a copy of the tree
@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (CI installs it)")
def test_the_catalogue_holds_every_string_of_the_sources(tmp_path):
    """`makemessages` over a copy of the sources adds nothing untranslated to a copy of the
    catalogue: a new string in the code must come with its Russian wording."""
    ignore = shutil.ignore_patterns(".venv", ".data", ".git", "node_modules", "__pycache__", "*.mo", "*.png")
    shutil.copytree(BASE_DIR, tmp_path / "src", ignore=ignore)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "ru",
            "--no-obsolete",
            "--ignore",
            "bench/*",
            "--verbosity",
            "0",
        ],
        cwd=tmp_path / "src",
        check=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test"},
    )
    refreshed = polib.pofile(str(tmp_path / "src" / "locale" / "ru" / "LC_MESSAGES" / "django.po"))
    missing = [entry.msgid for entry in refreshed if not entry.obsolete and not entry.translated()]
    fuzzy = [entry.msgid for entry in refreshed if "fuzzy" in entry.flags]
    assert not missing and not fuzzy, f"add the Russian wording to {PO}: missing {missing}, fuzzy {fuzzy}"
