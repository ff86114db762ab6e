"""The ``credit-platform`` command line: every command and option it had stays, and importing it
stays cheap (no database driver, dbt, Airflow or pandas before a command runs)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from credit_platform.cli import build_parser

ROLES = "{airflow|analyst|loader|public_reader|publisher|transformer}"
CITY = ["--seed:int=42", "--subjects:int=30000", "--defect-rate:float=0.02"]

# Every command with its arguments in order: name, "!" when required, nargs (* + ...), type,
# default and choices. Taken from the command line as it was before it became a package.
COMMANDS = {
    "warehouse": [],
    "warehouse start": [],
    "warehouse stop": [],
    "warehouse status": [],
    "warehouse url": ["--role" + ROLES],
    "warehouse psql": ["--role" + ROLES, "rest..."],
    "warehouse migrate": ["--status"],
    "warehouse rotate": ["component*"],
    "warehouse recipient": ["op{add|remove|authorise}", "name", "uscc*", "--until", "--reference"],
    "airflow": ["action{start|stop|status|env}", "--timeout:float=180"],
    "health": [],
    "check": ["files+", "--kind", "--department", "--format=text{text|json}"],
    "what-if": ["catalogue", "--period", "--out", "--keep"],
    "dbt": ["rest..."],
    "generate": CITY,
    "load": ["paths*", "--again"],
    "demo": CITY,
    "summary": [],
    "bench": ["what=chain{chain|loader|draw}", "--subjects:int", "--keep", "--only", "--compare:int",
              "--rows:int=1000000", "--small:int=100000", "--no-pandas", "--rounds:int=3",
              "--draw-subjects:int=1000000"],  # fmt: skip
    "docs": ["--port:int", "--site", "--no-serve"],
    "explain": ["uscc", "--industry", "--period", "--format=text{text|json}"],
    "close-period": ["period", "--by!", "--reason"],
    "regrade": ["period", "--reason!", "--by!", "--rule-version", "--no-build"],
    "rebuild": ["--yes"],
    "release": ["period", "--reason!", "--by!"],
    "announce-draw": ["round", "--source!", "--draw-at!"],
    "record-draw-value": ["round", "value"],
    "draw-kits": ["round", "--outbox"],
    "verify-draw": ["plan_id", "--export"],
    "overdue-results": ["--today"],
    "measure": [],
    "measure record": ["--department!", "--uscc!", "--measure!", "--date!", "--by", "--document", "--note", "--name"],
    "measure list": ["--department", "--overdue", "--json"],
    "commitments": [],
    "commitments letters": ["--department!", "--uscc", "--date", "--templates", "--out", "--no-pdf"],
    "objection": [],
    "objection file": ["--department!", "--uscc!", "--industry!", "--period!", "--grounds!", "--evidence",
                       "--answer-by=书面{书面|电子邮件|短信|当面}", "--date", "--number", "--name"],  # fmt: skip
    "objection decide": ["number", "--department!", "--to!", "--by!", "--why!",
                         "--reason{out_of_scope|out_of_time|too_early}", "--grade", "--correction", "--date",
                         "--out", "--no-pdf"],  # fmt: skip
    "objection list": ["--department", "--overdue", "--state", "--json"],
    "objection history": ["number", "--department!"],
    "repair": [],
    "repair file": ["--department!", "--uscc!", "--record-type!{penalty|serious_dishonesty}", "--record!",
                    "--grounds!", "--evidence", "--answer-by=书面{书面|电子邮件|短信|当面}", "--date",
                    "--number", "--name"],  # fmt: skip
    "repair decide": ["number", "--department!", "--to!", "--by!", "--why!",
                      "--reason{out_of_scope|out_of_time|too_early}", "--date", "--out", "--no-pdf"],  # fmt: skip
    "repair list": ["--department", "--overdue", "--state", "--json"],
    "repair history": ["number", "--department!"],
    "letter": ["uscc", "--industry", "--period", "--changed", "--department", "--date", "--out", "--no-pdf"],
    "publish": ["--as-of"],
    "screenshot": ["--out"],
    "stop": [],
}


def _describe(action: argparse.Action) -> str:
    if action.option_strings:
        text = action.option_strings[-1] + ("!" if action.required else "")
    else:
        text = action.dest + {"*": "*", "+": "+", argparse.REMAINDER: "..."}.get(action.nargs, "")
    if action.type is not None:
        text += f":{action.type.__name__}"
    if action.default not in (None, False):
        text += f"={action.default}"
    if action.choices:
        text += "{" + "|".join(action.choices) + "}"
    return text


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return {name: sub for a in parser._actions if isinstance(a, argparse._SubParsersAction)
            for name, sub in a.choices.items()}  # fmt: skip


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, list[str]]:
    found = {}
    for name, sub in _subcommands(parser).items():
        path = f"{prefix} {name}".strip()
        found[path] = [_describe(a) for a in sub._actions
                       if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)]  # fmt: skip
        found.update(_commands(sub, path))
    return found


def test_every_command_keeps_its_arguments():
    found = _commands(build_parser())
    assert sorted(found) == sorted(COMMANDS), "commands added or lost"
    for command, arguments in COMMANDS.items():
        assert found[command] == arguments, command


def test_the_top_level_options():
    top = build_parser()._actions
    assert [_describe(a) for a in top if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)] == [
        "--verbose"]  # fmt: skip


@pytest.mark.parametrize("command", sorted(c for c in COMMANDS if " " not in c))
def test_each_command_has_a_handler_and_a_help(command, capsys):
    parser = build_parser()
    sub = _subcommands(parser)[command]
    assert callable(sub.get_default("func")), command
    with pytest.raises(SystemExit) as ended:
        parser.parse_args([command, "--help"])
    assert ended.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: credit-platform {command}")
    for argument in COMMANDS[command]:
        if argument.startswith("-"):
            assert argument.split("{")[0].split(":")[0].split("=")[0].rstrip("!") in out, (command, argument)


def test_the_overview_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "Credit grading platform (信用分级分类监管)" in out
    assert "credit-platform warehouse start" in out  # the module's overview of commands
    for command in (c for c in COMMANDS if " " not in c):
        assert f"\n    {command} " in out, command


def test_importing_the_command_line_stays_cheap():
    code = ("import sys; from credit_platform.cli import build_parser, main; build_parser()\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'psycopg', 'psycopg2', 'sqlalchemy', 'airflow',"
            " 'dbt', 'great_expectations', 'pandas', 'yaml', 'cosmos', 'openpyxl'})\n"
            "print(','.join(heavy))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
