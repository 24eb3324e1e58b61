"""The app's messages: every t(), tn(), N_() and msg() text in the code, and the catalogues.

    python scripts/messages.py          # add new messages to ui/locales/*.po, drop unused ones
    python scripts/messages.py --check  # exit 1 when a catalogue lacks a message or has extras

A message is the first argument of t("..."), N_("...") (ui.i18n) or msg("...") (engine),
or the first two of tn("...", "...", n): always a literal (f-strings would be filled before
the lookup), so that the code can be read for its catalogue, as gettext's xgettext does.
New messages land in each catalogue with an empty translation, which tests/test_i18n.py
reports as missing until someone translates them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["app.py", "pages", "ui", "engine"]
ONE, TWO = {"t", "N_", "msg"}, {"tn"}
CATALOGUES = sorted((ROOT / "ui" / "locales").glob("*.po"))


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def files() -> list[Path]:
    found = []
    for source in SOURCES:
        path = ROOT / source
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return found


def messages() -> dict:
    """msgid (a str, or (singular, plural) for tn) -> where it is used ('path:line', ...)."""
    found: dict = {}
    for path in files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or _name(node.func) not in ONE | TWO:
                continue
            n = 2 if _name(node.func) in TWO else 1
            args = node.args[:n]
            if len(args) < n or not all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args
            ):
                continue  # t(variable): a text marked elsewhere (N_, msg) being shown
            msgid = args[0].value if n == 1 else (args[0].value, args[1].value)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            found.setdefault(msgid, []).append(where)
    return found


def read(path: Path) -> Catalog:
    with open(path, "rb") as f:
        return read_po(f)


def update(path: Path, used: dict) -> tuple[int, int]:
    """Add the messages `path` lacks (untranslated), drop those no longer used."""
    old = read(path)
    new = Catalog(
        locale=old.locale,
        project="makemore playground",
        version="1",
        creation_date=old.creation_date,  # a stable header: no merge conflicts
        revision_date=old.revision_date,
        last_translator=old.last_translator,
        language_team=old.language_team,
        fuzzy=False,
    )
    new.header_comment = old.header_comment
    for msgid, where in used.items():
        kept = old.get(msgid)  # Babel finds a plural by its singular: check which it is
        if kept is not None and isinstance(kept.id, tuple) != isinstance(msgid, tuple):
            kept = None
        string = kept.string if kept else ("", "") if isinstance(msgid, tuple) else ""
        locations = sorted({(w.rsplit(":", 1)[0], None) for w in where})
        new.add(msgid, string, locations=locations, flags=kept.flags if kept else ())
    with open(path, "wb") as f:
        write_po(f, new, width=100, sort_by_file=True, include_lineno=False)
    ids = {m.id for m in old if m.id}
    return len(set(used) - ids), len(ids - set(used))


def main() -> int:
    used = messages()
    status = 0
    for path in CATALOGUES:
        if "--check" in sys.argv:
            ids = {m.id for m in read(path) if m.id}
            missing, extra = set(used) - ids, ids - set(used)
            for msgid in sorted(missing, key=str):
                print(f"{path.name}: missing {msgid!r} ({used[msgid][0]})")
            for msgid in sorted(extra, key=str):
                print(f"{path.name}: unused {msgid!r}")
            status |= bool(missing or extra)
        else:
            added, dropped = update(path, used)
            print(f"{path.relative_to(ROOT)}: {added} added, {dropped} dropped")
    return status


if __name__ == "__main__":
    sys.exit(main())
