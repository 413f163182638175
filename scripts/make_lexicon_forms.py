#!/usr/bin/env python3
"""Write src/kronika/lang/pl/lexicon_forms.tsv: the inflected forms of lang/pl/lexicon.tsv.

Run it after editing lexicon.tsv, the inflection rules or Morfeusz's version
(tests/test_entities.py fails until then). A stale file is never used: its key
line pins the lexicon and Morfeusz it was made from.

    python scripts/make_lexicon_forms.py
"""

from __future__ import annotations

from pathlib import Path

from kronika.lang.pl.inflect import FORMS_FILE, PolishForms, forms_text, lexicon_text
from kronika.lang.pl.morph import Morph
from kronika.lexicon import Lexicon, read_rows

OUT = Path(__file__).resolve().parents[1] / "src" / "kronika" / "lang" / "pl" / FORMS_FILE


def main() -> int:
    forms = PolishForms(Morph(), known={})
    Lexicon(forms, read_rows(lexicon_text()))
    OUT.write_text(forms_text(forms.computed), encoding="utf-8")
    print(f"{OUT}: {len(forms.computed)} base forms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
