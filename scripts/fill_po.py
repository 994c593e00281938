"""Fill msgstr entries of a .po file from JSON dicts {msgid: msgstr}; report what is left.

Usage: python scripts/fill_po.py path/to/django.po a.json [b.json ...]
Each app keeps its Korean strings in <app>/translations_ko.json (project-wide ones in
locale/translations_ko.json); `make messages` extracts, fills and compiles. Plural entries take a
string (Korean has one plural form).
"""

import json
import re
import sys

po_path = sys.argv[1]
tr: dict = {}
for tr_path in sys.argv[2:]:
    tr.update(json.load(open(tr_path, encoding="utf-8")))
text = open(po_path, encoding="utf-8").read()
text = text.replace(
    '"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"', '"Plural-Forms: nplurals=1; plural=0;\\n"'
)
text = text.replace("#, fuzzy\n", "", 1)
blocks = text.split("\n\n")
missing = []


def unquote(lines):
    return "".join(json.loads(line[line.index('"') :]) for line in lines)


def quote(s):
    return json.dumps(s, ensure_ascii=False)


def unfuzzy(head):
    """A string filled from JSON is no longer a guess: drop msgmerge's fuzzy flag and previous msgid."""
    kept = []
    for line in head:
        if line.startswith("#| "):
            continue
        if line.startswith("#,"):
            flags = [f.strip() for f in line[2:].split(",") if f.strip() != "fuzzy"]
            if not flags:
                continue
            line = "#, " + ", ".join(flags)
        kept.append(line)
    return kept


out = []
for block in blocks:
    lines = block.split("\n")
    idx = [i for i, line in enumerate(lines) if line.startswith("msgid ")]
    if not idx:
        out.append(block)
        continue
    i = idx[0]
    j = i + 1
    while j < len(lines) and lines[j].startswith('"'):
        j += 1
    msgid = unquote([lines[i]] + lines[i + 1 : j])
    if msgid == "":
        out.append(block)
        continue
    rest = lines[j:]
    if rest and rest[0].startswith("msgid_plural"):
        value = tr.get(msgid)
        has = any(re.match(r'msgstr\[0\] "(.+)"', line) for line in rest)
        if value is None and not has:
            missing.append(msgid)
            out.append(block)
            continue
        if value is not None:
            single = value if isinstance(value, str) else value[0]
            keep = [line for line in rest if not line.startswith("msgstr")]
            lines = unfuzzy(lines[:i]) + lines[i:j] + keep[:1] + [f"msgstr[0] {quote(single)}"]
    else:
        current = unquote([line for line in rest if line.startswith(("msgstr", '"'))]) if rest else ""
        if msgid in tr:
            lines = unfuzzy(lines[:i]) + lines[i:j] + [f"msgstr {quote(tr[msgid])}"]
        elif not current:
            missing.append(msgid)
    out.append("\n".join(lines))
open(po_path, "w", encoding="utf-8").write("\n\n".join(out))
if missing:
    print("untranslated:", *missing, sep="\n  ")
