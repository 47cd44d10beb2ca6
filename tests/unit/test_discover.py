"""Run discovery: ``--logdir`` parsing and listing runs, local and remote.

Run names are checked against TensorBoard's own walker
(``io_wrapper.GetLogdirSubdirectories`` named as ``AddRunsFromDirectory`` does)
on the same tree.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from lumiboard.reader import discover
from lumiboard.reader.discover import EventFile, Run, Source, list_runs, parse_logdir

if TYPE_CHECKING:
    from conftest import S3Server  # the s3_server fixture

# File names as each writer makes them.
TORCH = "events.out.tfevents.1700000000.host.4242.0"  # <ts>.<host>.<pid>.<n>
TBX = "events.out.tfevents.1700000001.host"  # <ts>.<host>
TF2 = "events.out.tfevents.1700000002.host.4242.7.v2"  # TF2 create_file_writer
PROFILE_EMPTY = "events.out.tfevents.1700000003.host.profile-empty"  # Keras profiler marker


def write(path: Path, size: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def names(runs: dict[str, Run]) -> list[str]:
    return list(runs)


def tensorboard_run_names(logdir: Path) -> set[str]:
    """Run names as TensorBoard's multiplexer gives them for ``--logdir logdir``."""
    io_wrapper = pytest.importorskip("tensorboard.backend.event_processing.io_wrapper")
    return {
        os.path.relpath(subdir, str(logdir)).replace(os.sep, "/")
        for subdir in io_wrapper.GetLogdirSubdirectories(str(logdir))
    }


# ---- parse_logdir ---------------------------------------------------------------


def test_plain_path_is_absolute_with_home_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert parse_logdir("logs") == [Source(None, str(tmp_path / "logs"))]
    assert parse_logdir("~/logs") == [Source(None, str(tmp_path / "home" / "logs"))]
    assert parse_logdir(str(tmp_path)) == [Source(None, str(tmp_path))]
    assert parse_logdir(f"file://{tmp_path}/x") == [Source(None, str(tmp_path / "x"))]


def test_comma_list_and_names(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert parse_logdir(f"{a},{b}") == [Source(None, str(a)), Source(None, str(b))]
    assert parse_logdir(f"train:{a}, eval:{b}") == [Source("train", str(a)), Source("eval", str(b))]
    # Split at the first colon only; a name with a path and one without mix.
    assert parse_logdir(f"x:{a}:c,{b}") == [Source("x", f"{a}:c"), Source(None, str(b))]


def test_urls_have_no_name() -> None:
    assert parse_logdir("s3://bucket/x") == [Source(None, "s3://bucket/x")]
    assert parse_logdir("gs://bucket/x/,s3://other") == [
        Source(None, "gs://bucket/x"),
        Source(None, "s3://other"),
    ]
    assert parse_logdir("train:s3://bucket/x") == [Source("train", "s3://bucket/x")]
    assert parse_logdir("simplecache::s3://b/x") == [Source(None, "simplecache::s3://b/x")]
    assert parse_logdir("memory://") == [Source(None, "memory://")]


def test_colons_in_paths_and_windows_drives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # A '/' before the colon: a path (TensorBoard: "/foo:bar/baz" has no name).
    assert parse_logdir("/foo:bar/baz") == [Source(None, "/foo:bar/baz")]
    assert parse_logdir("dir/a:b") == [Source(None, str(tmp_path / "dir" / "a:b"))]
    # A drive letter is a Windows path on every OS, not the group "C".
    (windows,) = parse_logdir("C:\\logs\\run")
    assert windows == Source(None, os.path.abspath("C:\\logs\\run"))
    (named,) = parse_logdir("C:D:\\logs")
    assert named.name == "C"
    # A path object is read literally: no names, no comma lists.
    literal = tmp_path / "a,b:c"
    assert parse_logdir(literal) == [Source(None, str(literal))]
    assert parse_logdir([literal, f"n:{tmp_path}"]) == [
        Source(None, str(literal)),
        Source("n", str(tmp_path)),
    ]
    # A list item is one entry, never split at commas.
    assert parse_logdir([f"{tmp_path}/x,y"]) == [Source(None, str(tmp_path / "x,y"))]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("a,,b", "empty entry"),
        ("a,", "empty entry"),
        ("name:", "no path"),
        (":/x", "empty name"),
        (".:/x", "cannot name"),
        ("x:/a,x:/b", "'x' is given to two"),
        ("/a,/a", "listed twice"),
        ("/a/,/a", "listed twice"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_logdir(spec)


def test_bad_types() -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_logdir([])
    with pytest.raises(TypeError):
        parse_logdir(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_logdir(b"/x")  # type: ignore[arg-type]


def test_is_event_file() -> None:
    for name in (TORCH, TBX, TF2, "my.tfevents", "events.out.tfevents.1.h.gz"):
        assert discover.is_event_file(name), name
    for name in (PROFILE_EMPTY, "events.out.tf_events", "checkpoint", "model.ckpt"):
        assert not discover.is_event_file(name), name


# ---- local trees ----------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A log directory as the usual writers leave it, with things that are not runs."""
    root = tmp_path / "logs"
    write(root / TBX, 5)  # the root is a run: "."
    write(root / "notes.txt")
    write(root / "exp1" / "train" / TORCH, 10)
    write(root / "exp1" / "train" / TF2, 3)
    write(root / "exp1" / "train" / "model.ckpt", 100)
    write(root / "exp1" / "eval" / TBX, 7)
    write(root / "exp1" / "eval" / "plugins" / "profile" / "t" / "host.xplane.pb")
    write(root / "exp2" / "deep" / "er" / "run" / TF2, 1)  # intermediate dirs are not runs
    write(root / "profile_only" / PROFILE_EMPTY)  # not a run (see the module docstring)
    write(root / "ckpt" / "checkpoint")
    (root / "empty" / "nested").mkdir(parents=True)
    write(root / "lr=0.1, bs=32" / TORCH, 2)  # spaces and punctuation
    write(root / "résumé" / "学习率" / TORCH, 4)  # unicode
    return root


def test_local_tree(tree: Path) -> None:
    runs = list_runs(parse_logdir(tree))
    assert names(runs) == [
        ".",
        "exp1/eval",
        "exp1/train",
        "exp2/deep/er/run",
        "lr=0.1, bs=32",
        "résumé/学习率",
    ]
    assert runs["."] == Run(".", str(tree), (EventFile(str(tree / TBX), 5),))
    train = tree / "exp1" / "train"
    # Sorted by basename, sizes from the listing; the checkpoint is not listed.
    assert runs["exp1/train"] == Run(
        "exp1/train",
        str(train),
        (EventFile(str(train / TORCH), 10), EventFile(str(train / TF2), 3)),
    )
    assert runs["résumé/学习率"].location == str(tree / "résumé" / "学习率")


def test_run_names_match_tensorboard(tree: Path) -> None:
    # TensorBoard also lists the directory whose only event file is a
    # .profile-empty marker (a run with nothing to load); we do not.
    (tree / "profile_only" / PROFILE_EMPTY).unlink()
    (tree / "alias").symlink_to(tree / "exp1", target_is_directory=True)
    (tree / "exp2" / "link_to_run").symlink_to(tree / "exp1" / "eval", target_is_directory=True)
    runs = list_runs(parse_logdir(str(tree)))
    expected = tensorboard_run_names(tree)
    assert "alias/train" in expected
    assert "exp2/link_to_run" in expected
    assert set(runs) == expected


def test_profile_empty_alone_is_not_a_run(tmp_path: Path) -> None:
    write(tmp_path / "a" / PROFILE_EMPTY)
    write(tmp_path / "b" / PROFILE_EMPTY)
    write(tmp_path / "b" / TORCH)
    runs = list_runs(parse_logdir(tmp_path))
    assert names(runs) == ["b"]
    assert [f.path for f in runs["b"].files] == [str(tmp_path / "b" / TORCH)]


def test_symlink_cycles_are_not_followed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "logs"
    write(root / "a" / "b" / TORCH)
    write(root / "c" / TBX)
    (root / "a" / "b" / "up").symlink_to(root, target_is_directory=True)  # cycle
    (root / "a" / "self").symlink_to(".", target_is_directory=True)  # cycle of one
    (root / "c" / "to_b").symlink_to(root / "a" / "b", target_is_directory=True)  # no cycle
    # A cycle through a symlink outside the logdir and back in.
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "out").symlink_to(outside, target_is_directory=True)
    (outside / "back").symlink_to(root, target_is_directory=True)
    with caplog.at_level(logging.WARNING, logger=discover.__name__):
        runs = list_runs(parse_logdir(root))
    assert names(runs) == ["a/b", "c", "c/to_b"]
    assert "leads back" in caplog.text
    assert runs["c/to_b"].files == (EventFile(str(root / "c" / "to_b" / TORCH), 0),)


def test_broken_symlinks_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "run" / TORCH)
    (tmp_path / "run" / TBX).symlink_to(tmp_path / "missing")
    (tmp_path / "gone").symlink_to(tmp_path / "missing_dir", target_is_directory=True)
    runs = list_runs(parse_logdir(tmp_path))
    assert [f.path for f in runs["run"].files] == [str(tmp_path / "run" / TORCH)]


def test_unreadable_directory_is_skipped_and_reported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "ok" / TORCH)
    write(tmp_path / "locked" / "inner" / TORCH)
    locked = str(tmp_path / "locked")
    scandir = os.scandir

    def refusing(path: Any) -> Any:
        # chmod 000 would not stop a test run as root; refuse the way the OS does.
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return scandir(path)

    monkeypatch.setattr(discover.os, "scandir", refusing)
    with caplog.at_level(logging.WARNING, logger=discover.__name__):
        assert names(list_runs(parse_logdir(tmp_path))) == ["ok"]
        assert names(list_runs(parse_logdir(tmp_path))) == ["ok"]
    assert [r.getMessage() for r in caplog.records].count(
        f"skipping {locked}: [Errno 13] Permission denied: {locked!r}"
    ) == 1


def test_missing_logdir_has_no_runs_until_created(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "later"
    sources = parse_logdir(root)
    with caplog.at_level(logging.WARNING, logger=discover.__name__):
        assert list_runs(sources) == {}
    assert "does not exist" in caplog.text
    write(root / "first" / TORCH)
    assert names(list_runs(sources)) == ["first"]
    # New runs and files appear in the next listing: nothing is cached.
    write(root / "second" / TBX, 3)
    write(root / "first" / TF2, 2)
    runs = list_runs(sources)
    assert names(runs) == ["first", "second"]
    assert [f.size for f in runs["first"].files] == [0, 2]


def test_logdir_that_is_a_file_has_no_runs(tmp_path: Path) -> None:
    event_file = write(tmp_path / TORCH)
    assert list_runs(parse_logdir(event_file)) == {}


def test_runs_written_by_lumiboard(tmp_path: Path) -> None:
    from lumiboard.writer.summary_writer import SummaryWriter

    with SummaryWriter(tmp_path / "run1") as writer:
        writer.add_scalar("loss", 1.0, 0)
        writer.add_scalars("metrics", {"train": 1.0, "val": 2.0}, 0)
    runs = list_runs(parse_logdir(tmp_path))
    assert names(runs) == ["run1", "run1/metrics_train", "run1/metrics_val"]
    (event_file,) = runs["run1"].files
    assert event_file.size == os.path.getsize(event_file.path) > 0


def test_thousand_runs(tmp_path: Path) -> None:
    # The tree benchmarks/discover.py times; here only the result is checked.
    expected: dict[str, tuple[str, ...]] = {}
    for group in range(10):
        for index in range(100):
            name = f"group{group}/run{index:03d}"
            files = (f"events.out.tfevents.{1700000000 + index}.h", TF2)
            for file_name in files:
                write(tmp_path / name / file_name, index)
            expected[name] = tuple(sorted(files))
    runs = list_runs(parse_logdir(tmp_path))
    assert len(runs) == 1000
    listed = {name: tuple(Path(f.path).name for f in run.files) for name, run in runs.items()}
    assert listed == expected
    assert [f.size for f in runs["group3/run042"].files] == [42, 42]
    assert set(runs) == tensorboard_run_names(tmp_path)


# ---- several sources ------------------------------------------------------------


def test_named_sources_prefix_their_runs(tmp_path: Path) -> None:
    write(tmp_path / "a" / TORCH)
    write(tmp_path / "a" / "sub" / TORCH)
    write(tmp_path / "b" / "x" / TBX)
    runs = list_runs(parse_logdir(f"train:{tmp_path / 'a'},eval:{tmp_path / 'b'}"))
    assert names(runs) == ["eval/x", "train", "train/sub"]
    assert runs["train"].location == str(tmp_path / "a")
    # One named source is prefixed too.
    assert names(list_runs(parse_logdir(f"only:{tmp_path / 'b'}"))) == ["only/x"]


def test_unnamed_sources_are_named_after_their_directory(tmp_path: Path) -> None:
    for parent in ("p", "q", "r"):
        write(tmp_path / parent / "logs" / TORCH)
    write(tmp_path / "p" / "logs" / "sub" / TORCH)
    write(tmp_path / "other" / "run" / TBX)
    spec = ",".join(
        [
            str(tmp_path / "p" / "logs"),
            str(tmp_path / "q" / "logs"),
            f"logs_2:{tmp_path / 'r' / 'logs'}",  # an explicit name is never taken over
            str(tmp_path / "other"),
        ]
    )
    runs = list_runs(parse_logdir(spec))
    assert names(runs) == ["logs", "logs/sub", "logs_2", "logs_3", "other/run"]
    assert runs["logs"].location == str(tmp_path / "p" / "logs")
    assert runs["logs_2"].location == str(tmp_path / "r" / "logs")
    assert runs["logs_3"].location == str(tmp_path / "q" / "logs")


def test_duplicate_sources_made_by_hand_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="listed twice"):
        list_runs([Source(None, str(tmp_path)), Source("x", str(tmp_path))])


# ---- remote: memory://, file://, s3:// -----------------------------------------------


@pytest.fixture
def memory_root() -> Iterator[str]:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    url = f"memory://lumiboard-test/{uuid.uuid4().hex[:12]}"
    yield url
    if memory.exists(url):
        memory.rm(url, recursive=True)


def test_memory_listing(memory_root: str) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    memory.pipe_file(f"{memory_root}/{TBX}", b"abc")
    memory.pipe_file(f"{memory_root}/a/b/{TF2}", b"12345")
    memory.pipe_file(f"{memory_root}/a/b/{TORCH}", b"1")
    memory.pipe_file(f"{memory_root}/a/notes.txt", b"")
    memory.pipe_file(f"{memory_root}/p/{PROFILE_EMPTY}", b"")
    memory.pipe_file(f"{memory_root}x/{TORCH}", b"")  # a sibling with the same prefix
    sources = parse_logdir(memory_root + "/")
    runs = list_runs(sources)
    assert runs == {
        ".": Run(".", memory_root, (EventFile(f"{memory_root}/{TBX}", 3),)),
        "a/b": Run(
            "a/b",
            f"{memory_root}/a/b",
            (
                EventFile(f"{memory_root}/a/b/{TORCH}", 1),
                EventFile(f"{memory_root}/a/b/{TF2}", 5),
            ),
        ),
    }
    memory.pipe_file(f"{memory_root}/new/{TBX}", b"")
    assert names(list_runs(sources)) == [".", "a/b", "new"]


def test_missing_remote_logdir_has_no_runs(
    memory_root: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=discover.__name__):
        assert list_runs(parse_logdir(memory_root)) == {}
    assert "no files under" in caplog.text


def test_fsspec_listing_agrees_with_the_local_walk(tree: Path) -> None:
    pytest.importorskip("fsspec")
    # The same tree through fsspec's local filesystem, as a remote store is listed.
    remote = discover._list_remote(f"file://{tree}")
    local = discover._list_local(str(tree))

    def shape(listing: Any) -> dict[str, list[tuple[str, int]]]:
        return {
            relative: [(Path(f.path).name, f.size) for f in files] for relative, _, files in listing
        }

    assert shape(remote) == shape(local)
    assert len(local) == 6


def test_unknown_scheme_says_what_to_install() -> None:
    with pytest.raises(ValueError, match=r"cannot read 'nosuchfs://b/x'.*lumiboard\[s3\]"):
        list_runs(parse_logdir("nosuchfs://b/x"))


def test_s3_listing(s3_server: S3Server, s3_run: str) -> None:
    client, key = s3_server.client, s3_run.removeprefix("s3://")
    client.pipe_file(f"{key}/{TORCH}", b"12")
    client.pipe_file(f"{key}/exp/train/{TF2}", b"1234")
    client.pipe_file(f"{key}/exp/train/{TBX}", b"1")
    client.pipe_file(f"{key}/exp/train/model.ckpt", b"")
    client.pipe_file(f"{key}/exp/prof/{PROFILE_EMPTY}", b"")
    client.pipe_file(f"{key}/run with space/{TORCH}", b"")
    client.pipe_file(f"{key}-sibling/{TORCH}", b"")  # same key prefix, another logdir
    sources = parse_logdir(f"s3:{s3_run}")
    runs = list_runs(sources)
    assert names(runs) == ["s3", "s3/exp/train", "s3/run with space"]
    assert runs["s3/exp/train"] == Run(
        "s3/exp/train",
        f"{s3_run}/exp/train",
        (EventFile(f"{s3_run}/exp/train/{TBX}", 1), EventFile(f"{s3_run}/exp/train/{TF2}", 4)),
    )
    assert runs["s3"].files == (EventFile(f"{s3_run}/{TORCH}", 2),)
    # No listing cache: a run created since shows up in the next call.
    client.pipe_file(f"{key}/later/{TBX}", b"")
    assert "s3/later" in list_runs(sources)


def test_s3_whole_bucket_and_missing_prefix(s3_server: S3Server) -> None:
    bucket = f"lb-{uuid.uuid4().hex[:10]}"
    s3_server.client.mkdir(bucket)
    sources = parse_logdir(f"s3://{bucket}/")
    assert list_runs(sources) == {}
    s3_server.client.pipe_file(f"{bucket}/r/{TORCH}", b"")
    assert names(list_runs(sources)) == ["r"]
    assert list_runs(parse_logdir(f"s3://{bucket}/nothing/here")) == {}


def test_s3_missing_bucket_has_no_runs(
    s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/logs"
    with caplog.at_level(logging.WARNING, logger=discover.__name__):
        assert list_runs(parse_logdir(url)) == {}
    assert url in caplog.text


def test_local_and_remote_sources_together(tmp_path: Path, memory_root: str) -> None:
    fsspec = pytest.importorskip("fsspec")
    fsspec.filesystem("memory").pipe_file(f"{memory_root}/r/{TBX}", b"")
    write(tmp_path / "r" / TORCH)
    runs = list_runs(parse_logdir(f"{tmp_path},{memory_root}"))
    assert set(runs) == {f"{tmp_path.name}/r", f"{memory_root.rsplit('/', 1)[1]}/r"}


# ---- places that could not be listed (a run there is not gone) ------------------------------


def test_unlisted_places_are_told_apart_from_missing_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "open" / "run" / TORCH)
    write(tmp_path / "closed" / "run" / TORCH)
    closed = str(tmp_path / "closed")
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if os.fspath(path) == closed:
            raise PermissionError(13, "Permission denied", closed)
        return real_scandir(path)

    monkeypatch.setattr(discover.os, "scandir", scandir)
    found = discover.discover_runs(parse_logdir(str(tmp_path)))
    assert names(found.runs) == ["open/run"]
    assert found.unlisted == (closed,)
    assert found.hides(f"{closed}/run")
    assert found.hides(closed)
    assert not found.hides(f"{closed}_other/run")
    assert not found.hides(str(tmp_path / "open" / "run"))
    missing = discover.discover_runs(parse_logdir(str(tmp_path / "nothing")))
    assert missing.unlisted == ()


def test_a_remote_listing_that_fails_is_unlisted(
    memory_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    memory.pipe_file(f"{memory_root}/r/{TBX}", b"")

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("network down")

    monkeypatch.setattr(type(memory), "find", fail)
    found = discover.discover_runs(parse_logdir(memory_root))
    assert found.runs == {}
    assert found.unlisted == (memory_root,)
    assert found.hides(f"{memory_root}/r")
