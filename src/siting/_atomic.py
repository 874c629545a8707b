"""Outputs written as one unit: stage every file, then commit all of them or none.

`siting run` writes tables and a report into out/<id>/ and a map into maps/<id>.html. Each file
is first written into a staging folder beside its destination (`.<name>.tmp-p<pid>-XXXX/`, same
filesystem, so a rename is atomic). Only when every file is staged are they moved into place,
with signals held; if any move fails, the files already moved are put back (the previous set is
restored, or the new files removed). Staging folders of crashed runs are removed the next time.
`check_target` runs before any work so a bad --out fails in a second, not after the analysis.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from siting._cache import remove_stale_temporaries
from siting._errors import OutputError
from siting._signals import deferred

__all__ = ["OutputSet", "check_target"]


def _first_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def check_target(path: Path | str, *, folder: bool, what: str, fix: str) -> None:
    """Raise OutputError unless `path` can be created or replaced (as a folder or a file).

    Catches a target that is a file where a folder is needed (or the reverse), one that sits
    under a file, and a place this process cannot write to (probed by creating and removing a
    temporary folder, which also works for root and read-only filesystems).
    """
    path = Path(path).absolute()
    if folder and path.exists() and not path.is_dir():
        raise OutputError(f"{what} {path} is a file, not a folder. {fix}")
    if not folder and path.is_dir():
        raise OutputError(f"{what} {path} is a folder, not a file. {fix}")
    existing = _first_existing(path.parent if not (folder and path.is_dir()) else path)
    if not existing.is_dir():
        raise OutputError(f"{what} {path} cannot be created: {existing} is a file, not a folder. {fix}")
    try:
        probe = tempfile.mkdtemp(prefix=".siting-probe-", dir=existing)
        os.rmdir(probe)
    except OSError as exc:
        raise OutputError(f"{what} {path} cannot be written: {existing} is not writable "
                          f"({exc.strerror or exc}). {fix}") from None


class OutputSet:
    """Files staged for several destinations and committed together (all or none)."""

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []
        self._staging: dict[Path, Path] = {}
        self._created: list[Path] = []
        self.committed = False

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if not self.committed:
            self.discard()

    def _mkdirs(self, folder: Path) -> None:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        self._created.extend(reversed(missing))

    def stage(self, final: Path | str) -> Path:
        """The path to write `final`'s new content to (inside a staging folder beside it)."""
        final = Path(final).absolute()
        if any(f == final for f, _ in self._files):
            raise ValueError(f"{final} is staged twice")
        # Files of one folder share a staging folder placed beside that folder, so that
        # out/<id>/ gets out/.<id>.tmp-p<pid>-XXXX/; a staging folder never sits inside the
        # folder it replaces files of.
        home = final.parent
        staging = self._staging.get(home)
        if staging is None:
            where = home.parent if home.parent != home else home
            self._mkdirs(where)
            remove_stale_temporaries(where, f".{home.name}.tmp-*")
            staging = Path(tempfile.mkdtemp(prefix=f".{home.name}.tmp-p{os.getpid()}-", dir=where))
            self._staging[home] = staging
        staged = staging / final.name
        self._files.append((final, staged))
        return staged

    def write_text(self, final: Path | str, text: str) -> Path:
        """Stage `text` as the new content of `final` (UTF-8, '\\n' line ends)."""
        try:
            staged = self.stage(final)
            staged.write_text(text, encoding="utf-8", newline="\n")
        except OSError as exc:
            raise OutputError(
                f"could not write {final} ({exc.strerror or exc}); nothing was changed. Check the "
                "disk space and permissions of the output folder."
            ) from None
        return staged

    def staged(self, final: Path | str) -> Path:
        """Where `final`'s new content is staged (before commit)."""
        final = Path(final).absolute()
        for target, staged in self._files:
            if target == final:
                return staged
        raise KeyError(final)

    def commit(self) -> list[Path]:
        """Move every staged file into place, or (on any failure) restore what was there."""
        moved: list[tuple[Path, Path | None, bool]] = []
        try:
            with deferred():
                try:
                    for final, staged in self._files:
                        if not staged.is_file():
                            raise OutputError(f"{final}: its new content was never written.")
                        self._mkdirs_for(final)
                        backup = None
                        if os.path.lexists(final):
                            if final.is_dir():
                                raise OutputError(f"{final} is a folder, not a file; move it away.")
                            backup = staged.with_name(f".old-{final.name}")
                            os.replace(final, backup)
                        moved.append((final, backup, False))
                        os.replace(staged, final)
                        moved[-1] = (final, backup, True)
                except BaseException:
                    self._roll_back(moved)
                    raise
        except OSError as exc:
            raise OutputError(
                f"could not write the outputs ({exc.strerror or exc}: {exc.filename or ''}); "
                "nothing was changed, the previous outputs (if any) are as they were. Check the "
                "disk space and permissions of the output folders."
            ) from None
        finally:
            self._cleanup()
        self.committed = True
        return [final for final, _ in self._files]

    def _mkdirs_for(self, final: Path) -> None:
        if not final.parent.is_dir():
            self._mkdirs(final.parent)

    def _roll_back(self, moved: list[tuple[Path, Path | None, bool]]) -> None:
        for final, backup, placed in reversed(moved):
            with contextlib.suppress(OSError):
                if placed:
                    final.unlink()
                if backup is not None:
                    os.replace(backup, final)

    def _cleanup(self) -> None:
        for staging in self._staging.values():
            shutil.rmtree(staging, ignore_errors=True)
        self._staging.clear()

    def discard(self) -> None:
        """Forget everything staged and remove the folders this set created (if still empty)."""
        self._cleanup()
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._created.clear()
