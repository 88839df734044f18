"""Checks the message catalogues: every entry translated, none fuzzy, the compiled `.mo`
in step with its `.po`.

The `.po` files under `locale/` are the only place the translations live; `make messages`
adds new source strings to them and `make compile-messages` builds the `.mo` that Django
reads. `make test` runs this check (helpdesk/tests/test_i18n.py), so an entry left empty or
marked fuzzy by `makemessages` fails the build instead of reaching users in English.

    python -m helpdesk.i18n_check      # lists the problems; exit status 1 when there are any
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def _translated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(form.strip() for form in entry.msgstr_plural.values())
    return bool(entry.msgstr.strip())


def problems(po_path: Path) -> list[str]:
    """What is wrong with one catalogue, one line per problem, for people to read."""
    found = []
    po = polib.pofile(str(po_path))
    for entry in po:
        if entry.obsolete:
            continue
        where = f"{po_path.relative_to(po_path.parents[3])}:{entry.linenum}"
        if "fuzzy" in entry.flags:
            found.append(f"{where}: fuzzy: {entry.msgid!r}")
        elif not _translated(entry):
            found.append(f"{where}: untranslated: {entry.msgid!r}")
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists():
        found.append(f"{mo_path}: missing; run `make compile-messages`")
        return found
    compiled = {(entry.msgctxt, entry.msgid): entry for entry in polib.mofile(str(mo_path))}
    for entry in po.translated_entries():
        if "fuzzy" in entry.flags:
            continue
        mo_entry = compiled.get((entry.msgctxt, entry.msgid))
        same = mo_entry is not None and (
            mo_entry.msgstr_plural == entry.msgstr_plural if entry.msgid_plural else mo_entry.msgstr == entry.msgstr
        )
        if not same:
            found.append(f"{mo_path.name} is older than its .po ({entry.msgid!r}); run `make compile-messages`")
            break
    return found


def main() -> int:
    found = [problem for path in catalogues() for problem in problems(path)]
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
