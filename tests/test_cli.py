"""The command line: --version, help that lists every command in plain text, one-line usage errors."""

from __future__ import annotations

import pytest

from kronika import __version__
from kronika.cli import FORWARDED, main


def test_version(capsys: pytest.CaptureFixture) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"kronika {__version__}"


def test_help_lists_every_command_in_plain_text(capsys: pytest.CaptureFixture) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for command in ["build", "validate", "schema", *FORWARDED]:
        assert f"    {command}" in text, command
    assert "`" not in text


@pytest.mark.parametrize("argv", [["build", "--jobs", "0"], ["build", "--shard-size", "-3"], ["nosuch"]])
def test_usage_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "usage:" not in err


def test_validate_has_a_help_line(capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", "--help"]) == 0
    assert "a corpus folder" in capsys.readouterr().out
