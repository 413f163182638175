#!/usr/bin/env python3
"""Write src/kronika/data/lexicon_forms.tsv: the inflected forms of lexicon.tsv.

Run it after editing lexicon.tsv, the inflection rules or Morfeusz's version
(tests/test_entities.py fails until then). A stale file is never used: its key
line pins the lexicon and Morfeusz it was made from.

    python scripts/make_lexicon_forms.py
"""

from __future__ import annotations

from pathlib import Path

from kronika.lexicon import FORMS_FILE, Lexicon, forms_text
from kronika.morph import Morph

OUT = Path(__file__).resolve().parents[1] / "src" / "kronika" / "data" / FORMS_FILE


def main() -> int:
    lexicon = Lexicon(Morph(), known={})
    OUT.write_text(forms_text(lexicon.computed), encoding="utf-8")
    print(f"{OUT}: {len(lexicon.computed)} base forms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
