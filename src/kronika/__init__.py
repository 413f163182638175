"""Kronika: raw news articles in, a versioned, schema-validated HF dataset out."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kronika")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
