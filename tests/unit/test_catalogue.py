"""The English catalogue covers every string the interface shows: each msgid extracted from trading/
and templates/ (the same extraction as `pybabel extract -F babel.cfg`) has a translation, and each
translation keeps the msgid's placeholders. A page added without its English strings fails here, not
in front of an English-speaking bidder."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "trading" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


def _extracted() -> set[str]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found


def _catalogue():
    with open(PO, "rb") as f:
        return read_po(f)


def test_every_interface_string_has_an_english_translation():
    catalogue = _catalogue()
    missing = sorted(m for m in _extracted() if not (catalogue.get(m) and catalogue.get(m).string))
    assert not missing, f"{len(missing)} strings have no English translation, e.g. {missing[:5]}"


def test_translations_keep_their_placeholders():
    wrong = []
    for message in _catalogue():
        if not message.id or not message.string or isinstance(message.id, tuple):
            continue
        names = {a or b for a, b in PLACEHOLDER.findall(message.id)}
        if names != {a or b for a, b in PLACEHOLDER.findall(message.string)}:
            wrong.append(message.id)
    assert not wrong, wrong[:5]
