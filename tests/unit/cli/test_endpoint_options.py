"""``inferhouse endpoints create/update`` read --scaling-metric and --scaling-threshold before talking to a
server: a bad value ends the command with one line and exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from inferhouse.cli import app
from inferhouse.cli.endpoints import _scaling

# Nothing listens here: a command that got as far as calling the server would exit 1, not 2.
NOWHERE = "http://127.0.0.1:9"

runner = CliRunner()


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ((None, None), (None, None)),
        (("hardwareUsage", "75"), ("hardwareUsage", 75.0)),
        (("pendingrequests", None), ("pendingRequests", None)),  # any case, the exact name sent
        ((None, "2.5"), (None, 2.5)),  # the metric is left to the server's record (update) or default
    ],
)
def test_scaling_options_become_what_the_sdk_sends(
    given: tuple[str | None, str | None], sent: tuple[str | None, float | None]
) -> None:
    assert _scaling(*given) == sent


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--scaling-metric", "gpuTemperature"],
            "error: the scaling metric must be pendingRequests or hardwareUsage, got 'gpuTemperature'",
        ),
        (
            ["--scaling-threshold", "lots"],
            "error: the scaling threshold must be a number above 0, got 'lots'",
        ),
        (["--scaling-threshold", "0"], "error: the scaling threshold must be a number above 0, got '0'"),
        (
            ["--scaling-metric", "hardwareUsage", "--scaling-threshold", "250"],
            "error: the scaling threshold of hardwareUsage is a CPU percentage, at most 100, got 250",
        ),
    ],
)
@pytest.mark.parametrize("command", [["create", "e1", "--repository", "org/model"], ["update", "e1"]])
def test_a_bad_scaling_option_exits_2_with_one_line(
    command: list[str], options: list[str], message: str
) -> None:
    result = runner.invoke(app, ["endpoints", *command, *options, "--url", NOWHERE, "--token", "t"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [message]
    assert result.stdout == ""


def test_the_help_names_the_metrics() -> None:
    result = runner.invoke(app, ["endpoints", "create", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--scaling-metric" in result.stdout
    assert "pendingRequests|hardwareUsage" in result.stdout
    assert "--scaling-threshold" in result.stdout
