"""A resume trusts nothing it has not checked: a work folder that is a link, or kept JSON that is a list or nested
past what Python parses, is refused in one line (exit 2 from the command), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import run
from engine.errors import DreamwallError
from installation.rendering.split.folder import ChunkFolder
from installation.rendering.split.plan import ChunkPlan
from installation.rendering.work_folder import WorkFolder, work_folder
from installation.testing.clips import pattern_clip

FRAMES = 4
QUICK = ["--octaves", "1", "--steps", "1", "--layers", "fire3", "--size", "48x32"]
DEEP_LIST = "[" * 100_000 + "]" * 100_000  # json.loads: RecursionError
DEEP_OBJECT = '{"a":' * 990 + "1" + "}" * 990  # parses, but deeper than a recursive walk through it can go
DEEP_VALUE = "[" * 990 + "]" * 990  # parses; too deep to print whole
PLAN = ChunkPlan(10, 5, 2)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return pattern_clip(tmp_path_factory.mktemp("work_clip") / "clip.mp4", FRAMES)


def one_line_refusal(capsys: pytest.CaptureFixture[str], arguments: list[str], message: str) -> None:
    assert run.main(arguments) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_a_work_folder_that_is_a_link_is_refused_before_any_work(clip, tmp_path, capsys):
    output = tmp_path / "out.mp4"
    elsewhere = WorkFolder(tmp_path / "elsewhere" / "out.mp4")
    elsewhere.path.parent.mkdir()
    elsewhere.start({"frames": FRAMES})
    work_folder(output).symlink_to(elsewhere.path, target_is_directory=True)
    for resume in (["--resume"], []):
        one_line_refusal(capsys, ["render", str(clip), "-o", str(output), *resume, *QUICK],
                         f"{work_folder(output)} is a symbolic link")  # fmt: skip
    assert not output.exists() and work_folder(output).is_symlink() and (elsewhere.path / "manifest.json").exists()
    with pytest.raises(DreamwallError, match="is a symbolic link"):
        ChunkFolder(output).open({"chunks": PLAN.manifest()}, PLAN, (6, 4), resume=True)


def test_a_work_folder_that_is_a_file_is_refused(clip, tmp_path, capsys):
    output = tmp_path / "out.mp4"
    work_folder(output).write_text("not a folder")
    one_line_refusal(capsys, ["render", str(clip), "-o", str(output), *QUICK], "is not a folder")


@pytest.mark.parametrize("text", ["[1, 2]", '"done"', DEEP_LIST, '{"done": ' + DEEP_VALUE + "}"],
                         ids=["list", "string", "deep", "deep-inside"])  # fmt: skip
def test_a_damaged_state_file_is_one_line(tmp_path, text):
    work = WorkFolder(tmp_path / "out.mp4")
    work.start({"frames": FRAMES})
    (work.path / "state.json").write_text(text)
    with pytest.raises(DreamwallError, match=r"state\.json says .* frames are done, expected a whole number"):
        work.done(FRAMES)


@pytest.mark.parametrize("text", ["[1, 2]", DEEP_LIST, DEEP_OBJECT], ids=["list", "deep", "deep-object"])
def test_a_damaged_manifest_is_one_line(clip, tmp_path, capsys, text):
    output = tmp_path / "out.mp4"
    work = WorkFolder(output)
    work.start({"frames": FRAMES})
    work.mark_done(1)
    (work.path / "manifest.json").write_text(text)
    # the work folder, not always the file: whether 990 levels parse depends on the interpreter's recursion
    # limit at the time (the whole suite raises it), and a parsed one is refused for the settings it lacks
    one_line_refusal(capsys, ["render", str(clip), "-o", str(output), "--resume", *QUICK], str(work.path))


@pytest.mark.parametrize("text", ["[0, 1]", DEEP_LIST, '{"finished": ' + DEEP_VALUE + "}"],
                         ids=["list", "deep", "deep-inside"])  # fmt: skip
def test_a_damaged_chunk_state_is_one_line(tmp_path, text):
    folder = ChunkFolder(tmp_path / "out.mp4")
    folder.open({"chunks": PLAN.manifest()}, PLAN, (6, 4), resume=False)
    (folder.path / "chunks.json").write_text(text)
    with pytest.raises(DreamwallError, match=r"chunks\.json says chunks .* are finished, expected numbers"):
        folder.open({"chunks": PLAN.manifest()}, PLAN, (6, 4), resume=True)


@pytest.mark.parametrize("text", ["[1, 2]", DEEP_LIST, DEEP_OBJECT, '{"chunks": 5}',
                                  '{"chunks": {"chunk_frames": "ten"}}', '{"chunks": {"chunk_frames": 0}}'],
                         ids=["list", "deep", "deep-object", "number", "words", "zero"])  # fmt: skip
def test_a_damaged_manifest_keeps_no_cut_and_a_split_resume_refuses_it_in_one_line(tmp_path, text):
    folder = ChunkFolder(tmp_path / "out.mp4")
    folder.open({"chunks": PLAN.manifest()}, PLAN, (6, 4), resume=False)
    folder.finish(PLAN.chunks[0], set())
    (folder.path / "manifest.json").write_text(text)
    assert folder.saved_cut() is None  # the command then cuts afresh, and the manifest check refuses
    with pytest.raises(DreamwallError, match=r"manifest\.json is missing or damaged|cannot resume: chunks\."):
        folder.open({"chunks": PLAN.manifest()}, PLAN, (6, 4), resume=True)


def test_a_saved_cut_is_kept(tmp_path):
    folder = ChunkFolder(tmp_path / "out.mp4")
    folder.open({"chunks": PLAN.manifest()}, PLAN, (6, 4), resume=False)
    assert folder.saved_cut() == json.loads(json.dumps(PLAN.manifest()))
