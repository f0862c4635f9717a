"""What the disk can do to name resolution: loops, files, permissions, long paths, links.

Each becomes a typed error with a hint instead of pathlib's ``OSError``,
``RuntimeError`` or ``ValueError``, and a refusal for leaving the roots still
comes before any of them, so it cannot tell a caller what lies outside.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from st_cpu_testkit import st_cpu, st_cpu_client

from aegis_llm.errors import ConfigurationError, InvalidRequest, ModelNotFound
from aegis_llm_st_cpu._resolve import ModelSource, resolve
from aegis_llm_st_cpu._settings import StCpuSettings

Deny = Callable[[Path], None]


def resolve_in(roots: list[Path], name: str, **fields: Any) -> ModelSource:
    ctx = st_cpu(st_cpu_client(model_roots=roots, **fields)).ctx
    return resolve(name, ctx.settings_as(StCpuSettings), provider=ctx.name)


@pytest.fixture
def deny(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deny]:
    """Make a folder unreadable and unsearchable (mode 000) for this process.

    Root ignores file modes, so under root the same refusals (EACCES on
    listing the folder, or on looking up anything inside it) are injected
    into the ``os`` calls pathlib and ``os.path.realpath`` use.
    """
    denied: list[Path] = []

    def refuse(path: Path) -> None:
        path.chmod(0)
        denied.append(path)
        if os.geteuid() == 0 and len(denied) == 1:
            _inject_refusals(monkeypatch, denied)

    yield refuse
    for path in denied:
        path.chmod(0o755)


def _inject_refusals(monkeypatch: pytest.MonkeyPatch, denied: list[Path]) -> None:
    """EACCES where the kernel would give it: listing a denied folder, or looking up anything
    below one, after following links (the last one only for calls that follow it)."""
    busy = threading.local()

    def refused(arg: object, *, listing: bool, follows: bool) -> bool:
        if not isinstance(arg, str | os.PathLike):
            return False  # a file descriptor: already opened
        path = Path(os.fspath(arg))
        where = real(path) if follows else real(path.parent) / path.name
        return any((listing and where == f) or f in where.parents for f in denied)

    calls = {"stat": (False, True), "lstat": (False, False), "listdir": (True, True)}
    calls["scandir"] = (True, True)
    for name, (listing, follows) in calls.items():
        original = getattr(os, name)

        def guarded(
            arg: Any = ".",
            *args: Any,
            _original: Any = original,
            _how: tuple[bool, bool] = (listing, follows),
            **kwargs: Any,
        ) -> Any:
            if not getattr(busy, "checking", False):
                busy.checking = True  # os.path.realpath calls lstat itself
                try:
                    denied_here = refused(arg, listing=_how[0], follows=_how[1])
                finally:
                    busy.checking = False
                if denied_here:
                    raise PermissionError(errno.EACCES, "Permission denied", os.fspath(arg))
            return _original(arg, *args, **kwargs)

        monkeypatch.setattr(os, name, guarded)


def real(path: Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


def test_a_name_that_is_a_link_loop_is_model_not_found(root: Path) -> None:
    (root / "loop").symlink_to(root / "loop")
    for name in ("loop", str(root / "loop")):
        with pytest.raises(ModelNotFound, match="leads back to itself") as caught:
            resolve_in([root], name)
        assert "ls -l" in (caught.value.hint or "")
        assert caught.value.__cause__ is None


def test_a_link_loop_inside_a_model_folder_is_model_not_found(root: Path, tiny_model: Path) -> None:
    folder = root / "looped"
    shutil.copytree(tiny_model, folder)
    (folder / "1_Pooling" / "again").symlink_to(folder / "1_Pooling" / "again")
    with pytest.raises(ModelNotFound, match=r"again' is a symbolic link that leads back"):
        resolve_in([root], "looped")


def test_a_root_that_is_a_link_loop_is_model_not_found(tmp_path: Path) -> None:
    (tmp_path / "root").symlink_to(tmp_path / "root")
    with pytest.raises(ModelNotFound, match="leads back to itself"):
        resolve_in([tmp_path / "root"], "some-model")


def test_a_dangling_link_inside_a_model_folder_is_ignored(root: Path, tiny_model: Path) -> None:
    """Nothing is there to load, so nothing is refused (the loader never needs it)."""
    folder = root / "dangling"
    shutil.copytree(tiny_model, folder)
    (folder / "README.md").symlink_to(root / "gone.md")
    assert resolve_in([root], "dangling").folder == folder.resolve()


def test_a_file_where_a_model_folder_is_expected_is_model_not_found(root: Path) -> None:
    (root / "model.tar").write_bytes(b"an archive, not a folder")
    for name in ("model.tar", str(root / "model.tar")):
        with pytest.raises(ModelNotFound, match="is a file, and a model is a folder") as caught:
            resolve_in([root], name)
        assert "modules.json" in (caught.value.hint or "")


def test_an_unreadable_model_folder_is_model_not_found(
    root: Path, tiny_model: Path, deny: Deny
) -> None:
    shutil.copytree(tiny_model, root / "locked")
    deny(root / "locked")
    with pytest.raises(ModelNotFound, match="permission denied") as caught:
        resolve_in([root], "locked")
    assert "chmod" in (caught.value.hint or "")
    assert caught.value.__cause__ is None


def test_a_root_that_cannot_be_searched_is_reported_not_skipped(
    tmp_path: Path, tiny_model: Path, deny: Deny
) -> None:
    """Skipping it would let the hub (or a later root) serve a model the operator mirrored."""
    locked, other = tmp_path / "locked", tmp_path / "other"
    shutil.copytree(tiny_model, locked / "tiny")
    shutil.copytree(tiny_model, other / "tiny")
    deny(locked)
    with pytest.raises(ModelNotFound, match="permission denied"):
        resolve_in([locked, other], "tiny")


def test_outside_the_roots_is_refused_before_permissions_are_seen(
    tmp_path: Path, root: Path, tiny_model: Path, deny: Deny
) -> None:
    """The same refusal for a readable and an unreadable folder: no probing outside."""
    secret = tmp_path / "secret"
    shutil.copytree(tiny_model, secret / "model")
    deny(secret)
    with pytest.raises(InvalidRequest, match="outside the model roots"):
        resolve_in([root], str(secret / "model"))


def test_a_link_out_to_an_unreadable_place_is_refused_as_outside(
    tmp_path: Path, root: Path, deny: Deny
) -> None:
    """A name inside a root that a link leads out of: the refusal says nothing of what is there."""
    secret = tmp_path / "secret"
    secret.mkdir()
    (root / "door").symlink_to(secret, target_is_directory=True)
    deny(secret)
    with pytest.raises(InvalidRequest, match="outside the model roots"):
        resolve_in([root], "door/model")


def test_a_path_too_long_with_its_root_is_invalid(tmp_path: Path) -> None:
    """The name alone passes the length checks; joined to a deep root it cannot exist."""
    deep, fd = tmp_path, os.open(tmp_path, os.O_RDONLY)
    try:
        while len(os.fsencode(deep)) < 4000:  # deeper than a path can be opened by name
            os.mkdir("d" * 200, dir_fd=fd)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd, deep = inner, deep / ("d" * 200)
    finally:
        os.close(fd)
    with pytest.raises(InvalidRequest, match="longer than this system allows") as caught:
        resolve_in([deep], "x" * 200)
    assert "shorter" in (caught.value.hint or "")


def test_a_name_with_lone_surrogates_is_invalid(root: Path) -> None:
    """EmbedRequest refuses such text, but settings (an alias target) reach resolve directly."""
    with pytest.raises(InvalidRequest, match="surrogates"):
        resolve_in([root], "mine", aliases={"mine": f"{root}/\ud800"})


def test_a_pickle_in_a_linked_subfolder_is_refused(root: Path, tiny_model: Path) -> None:
    """The loader follows the link, so the safetensors check must look there too."""
    folder = root / "linked-dense"
    shutil.copytree(tiny_model, folder)
    (root / "shared-dense").mkdir()
    (root / "shared-dense" / "pytorch_model.bin").write_bytes(b"\x80\x04pickled")
    (folder / "2_Dense").symlink_to(root / "shared-dense", target_is_directory=True)
    with pytest.raises(ModelNotFound, match=r"2_Dense/pytorch_model\.bin is a pickle"):
        resolve_in([root], "linked-dense")


def test_roots_expand_home_and_refuse_unknown_users(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = st_cpu(st_cpu_client(model_roots=["~/models"])).ctx.settings_as(StCpuSettings)
    assert settings.model_roots == [tmp_path / "models"]
    with pytest.raises(ConfigurationError, match="home folder this machine does not have"):
        st_cpu(st_cpu_client(model_roots=["~no-such-user-here/models"])).ctx.settings_as(
            StCpuSettings
        )
