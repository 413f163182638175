"""Shared test setup: offline Hugging Face, a private HF_HOME, repo paths."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# removed when the test session's interpreter exits (a mkdtemp stayed behind in /tmp)
_HF_HOME = tempfile.TemporaryDirectory(prefix="kronika-hf-home-")
os.environ["HF_HOME"] = _HF_HOME.name
os.environ.setdefault("TQDM_DISABLE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SEED_ID = "000_fe6e73957cf0fa67"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
