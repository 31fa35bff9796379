"""The README and the guides cannot drift: every relative link resolves, every `python run.py` line parses.

Links: `[text](target)` and `![alt](target)` outside code, relative to the file; a `#anchor` must be a
heading of the target file, spelt as GitHub spells it. Commands: every `python run.py ...` line in a
fenced code block (continuations joined, comments dropped) goes through run.py's own parser
(`run.command_parser`), so an unknown flag, a bad value or a removed command fails here.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from functools import cache
from pathlib import Path

import pytest

import run
from installation.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", ROOT / "systemd" / "README.md", *(ROOT / "docs").glob("*.md")])
GUIDES = ("technician", "performer", "artist", "developer")

FENCE = re.compile(r"^ *(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+).*?\1")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SHELL_OPERATORS = {"&&", "||", ";", "|", "&", ">", ">>", "<", "2>", "("}


def split_fences(text: str) -> tuple[list[str], list[str]]:
    """(prose lines with code blocks blanked, the code blocks' lines)."""
    prose, code, inside = [], [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
            prose.append("")
            continue
        (code if inside else prose).append(line)
        if inside:
            prose.append("")
    return prose, code


def github_anchor(heading: str) -> str:
    """GitHub's id for a heading: its text, lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in split_fences(path.read_text(encoding="utf-8"))[0]:
        match = HEADING.match(line)
        if not match:
            continue
        base = github_anchor(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(path: Path) -> list[str]:
    """Each relative link of the file that does not resolve, with the reason."""
    problems = []
    for number, line in enumerate(split_fences(path.read_text(encoding="utf-8"))[0], start=1):
        for target in LINK.findall(CODE_SPAN.sub("", line)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.IGNORECASE):
                continue  # https:, mailto:: not ours to check
            name, _, anchor = target.partition("#")
            where = (path.parent / name).resolve() if name else path
            if not where.exists():
                problems.append(f"{path.name}:{number}: {target}: no such file")
            elif anchor and where.suffix == ".md" and anchor not in anchors(where):
                problems.append(f"{path.name}:{number}: {target}: no heading '#{anchor}' in {where.name}")
    return problems


def command_lines(text: str) -> list[list[str]]:
    """The arguments after `run.py` of every `python run.py ...` line in the fenced code blocks."""
    code = "\n".join(split_fences(text)[1]).replace("\\\n", " ")
    found = []
    for line in code.splitlines():
        if "run.py" not in line:
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
        for index, word in enumerate(words[:-1] if words else []):
            if word.endswith("run.py") and index > 0 and re.search(r"python[0-9.]*$", words[index - 1]):
                rest = words[index + 1:]
                cut = next((i for i, w in enumerate(rest) if w in SHELL_OPERATORS), len(rest))
                found.append([w for w in rest[:cut] if not w.startswith("$")])  # $ARGS: the environment's
        if words and words[-1].endswith("run.py") and len(words) > 1 and "python" in words[-2]:
            found.append([])  # a bare `python run.py`
    return found


@cache
def parser_for(command: str) -> argparse.ArgumentParser:
    """run.py's parser for the command, taking no abbreviations: a renamed flag must not live on as a prefix."""
    parser = run.command_parser(command)[1]
    parser.allow_abbrev = False
    return parser


def parse_error(arguments: list[str]) -> str | None:
    """None when run.py would accept the line, else argparse's one-line reason."""
    _, command, rest = run.split_command(list(arguments))
    if command not in COMMANDS:
        return f"unknown command '{command}'"
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            parser_for(command).parse_args(rest)
    except SystemExit as stop:
        if stop.code not in (0, None):
            return errors.getvalue().strip() or f"exit {stop.code}"
    return None


def test_the_guides_exist_and_the_readme_is_short():
    for guide in GUIDES:
        assert (ROOT / "docs" / f"{guide}.md").is_file(), guide
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 200
    assert "make run" in readme and "make test" in readme
    for guide in GUIDES:
        assert f"(docs/{guide}.md" in readme, f"README links docs/{guide}.md"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path):
    assert broken_links(path) == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_run_py_line_parses_with_the_real_parser(path: Path):
    problems = []
    for arguments in command_lines(path.read_text(encoding="utf-8")):
        error = parse_error(arguments)
        if error:
            problems.append(f"python run.py {shlex.join(arguments)}: {error}")
    assert problems == []


def test_the_guides_show_commands_at_all():
    lines = [args for path in DOCS for args in command_lines(path.read_text(encoding="utf-8"))]
    assert len(lines) >= 40
    assert {run.split_command(list(a))[1] for a in lines} >= {"live", "dream", "render", "presets", "bench"}


# The checks themselves: they must catch what they are for.

def test_a_broken_link_and_a_missing_anchor_are_caught(tmp_path: Path):
    (tmp_path / "other.md").write_text("# A `run.py` guide: the start\n\n## Kiosk operation\n## Kiosk operation\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#a-runpy-guide-the-start) [ok](other.md#kiosk-operation-1)\n"
        "[gone](nowhere.md) ![gone](pic.jpg) [bad anchor](other.md#kiosk) [self](#nothing)\n"
        "`[in code](nowhere.md)` [web](https://example.org/x)\n```\n[in a block](nowhere.md)\n```\n"
    )
    problems = broken_links(page)
    assert [p.split(": ")[1] for p in problems] == ["nowhere.md", "pic.jpg", "other.md#kiosk", "#nothing"]


def test_command_lines_are_found_joined_and_cut():
    text = (
        "python run.py live --hud  # not this\n"  # prose, not code
        "```sh\n"
        "python run.py live --source demo \\\n    --windowed   # a comment\n"
        ".venv/bin/python run.py dream in.jpg -o out.png && echo done\n"
        "python run.py\n"
        "ray start --head  # no run.py\n"
        "```\n"
    )
    assert command_lines(text) == [["live", "--source", "demo", "--windowed"], ["dream", "in.jpg", "-o", "out.png"], []]


def test_an_unknown_flag_a_bad_value_and_an_unknown_command_are_caught():
    assert parse_error(["live", "--source", "demo", "--windowed"]) is None
    assert parse_error([]) is None
    assert "unrecognized arguments: --no-such-flag" in parse_error(["live", "--no-such-flag"])
    assert "unrecognized arguments: --nd" in parse_error(["live", "--nd"])  # a prefix of --ndi is not enough
    assert parse_error(["render", "in.mp4", "-o", "out.mp4", "--size", "big"]) is not None
    assert parse_error(["dreem", "in.jpg"]) == "unknown command 'dreem'"
