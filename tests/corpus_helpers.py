"""Small corpora built for the release tests (stats, Croissant, diff, release, publish)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT, SEED_ID

# Short articles in the style of the seeds: a dated header, names the annotators find.
EXTRA_SEEDS = {
    "100_warszawa": (
        "date 2024-03-12\n"
        "Prezydent Warszawy Rafał Trzaskowski otworzył we wtorek nowy most na Wiśle. "
        "W uroczystości wzięli udział przedstawiciele Unii Europejskiej.\n\n"
        "Budowa trwała trzy lata i kosztowała ponad miliard złotych.\n"
    ),
    "101_krakow": (
        "date 2024-04-02\n"
        "W Krakowie rozpoczął się festiwal filmowy. Organizatorzy z Krakowskiego Biura Festiwalowego "
        "zapowiadają ponad dwieście pokazów.\n\n"
        "Gościem honorowym będzie Agnieszka Holland.\n"
    ),
    "102_gdansk": (
        "date 2024-05-20\n"
        "Port w Gdańsku przeładował w kwietniu rekordową ilość kontenerów. "
        "Zarząd Morskiego Portu Gdańsk podał, że wzrost wyniósł dwanaście procent.\n"
    ),
}


def write_seeds(folder: Path, ids: list[str] | None = None) -> Path:
    """A seed folder with the repository's first seed (and its gold layer) and the extra articles named."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".txt", ".gold.json"):
        shutil.copy(ROOT / "seeds" / f"{SEED_ID}{suffix}", folder / f"{SEED_ID}{suffix}")
    for seed_id in EXTRA_SEEDS if ids is None else ids:
        (folder / f"{seed_id}.txt").write_text(EXTRA_SEEDS[seed_id], encoding="utf-8")
    return folder


def build_corpus(root: Path, seeds: Path) -> Path:
    """Build ``seeds`` into ``root/corpus`` (card at ``root/README.md``); returns the corpus folder."""
    from kronika.build import build

    build(seeds, root / "corpus", jobs=1, progress=False, cache_dir=None)
    return root / "corpus"
