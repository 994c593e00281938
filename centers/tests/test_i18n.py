"""The Korean catalog is complete: a missing or fuzzy entry shows English on a Korean screen.

locale/ko/LC_MESSAGES/django.po is the one home of the Korean strings (no JSON beside it): `make
messages` extracts new msgids into it and the engineer writes their msgstr there.
"""

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES" / "django.po"
MSGFMT = shutil.which("msgfmt") or "/usr/bin/msgfmt"


def _entries(po: Path = PO) -> list[tuple[str, str, bool]]:
    """(msgid, first msgstr, fuzzy) for every entry; continuation lines are joined."""
    entries = []
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            if line.startswith(("msgid ", "msgid_plural ", "msgstr ", "msgstr[0] ")):
                current, _, rest = line.partition(" ")
                fields[current] = rest.strip()[1:-1]
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
            elif line.startswith("msgstr["):
                current = None
        if "msgid" in fields:
            msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
            entries.append((fields["msgid"], msgstr, "fuzzy" in block.split("msgid", 1)[0]))
    return entries


def test_every_ui_string_has_a_korean_translation():
    entries = [e for e in _entries() if e[0]]
    assert len(entries) > 300
    untranslated = [msgid for msgid, msgstr, _ in entries if not msgstr]
    assert untranslated == []


def test_no_translation_is_a_fuzzy_guess():
    assert [msgid for msgid, _, fuzzy in _entries() if fuzzy and msgid] == []


def test_catalog_passes_msgfmt_check():
    # --check: placeholders of msgid and msgstr agree (a wrong %(name)s crashes the page), header complete.
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [MSGFMT, "--check", "-o", "/dev/null", str(PO)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_committed_mo_is_compiled_from_the_po(tmp_path):
    """Django reads the .mo: a msgstr written into the .po but not compiled never reaches a screen."""
    fresh = tmp_path / "django.mo"
    subprocess.run([MSGFMT, "-o", str(fresh), str(PO)], check=True)  # noqa: S603 - fixed arguments
    with fresh.open("rb") as f, PO.with_suffix(".mo").open("rb") as g:
        assert gettext.GNUTranslations(g)._catalog == gettext.GNUTranslations(f)._catalog


def test_every_marked_string_is_in_the_catalog(tmp_path):
    """A string marked in code or a template but never extracted into the .po stays English in Korean."""
    copy = tmp_path / "src"
    shutil.copytree(
        settings.BASE_DIR,
        copy,
        ignore=shutil.ignore_patterns(".venv", "node_modules", ".git", "staticfiles", "bench", "*.mo", "__pycache__"),
    )
    subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", "makemessages", "-l", "ko", "--no-obsolete", "--ignore=test-artifacts/*"],
        cwd=copy,
        env={**os.environ, "DJANGO_DEBUG": "1"},
        check=True,
        capture_output=True,
    )
    extracted = {msgid for msgid, _, _ in _entries(copy / "locale" / "ko" / "LC_MESSAGES" / "django.po")}
    committed = {msgid for msgid, _, _ in _entries()}
    assert sorted(extracted - committed) == []


def test_marked_only_labels_are_translated_where_shown():
    # Export headers and gender labels are marked with gettext_noop and translated at use.
    from stats.selectors import FIGURES, GENDER_LABELS

    with translation.override("ko"):
        assert translation.gettext(GENDER_LABELS[""]) == "미기재"
        untranslated = [h for _k, h, _kind in FIGURES if translation.gettext(h) == h]
    assert untranslated == []
