"""A folder of CSV files replaced as a whole, for readers outside Python (a CRM import).

The folder's path is a symlink to a hidden sibling that holds one complete set of files. A
save writes the new set into a new sibling, then swaps the symlink with one `os.replace`:
a reader, or a run that fails at any point, sees the previous set or the new one, never a
mix or a half-written file. One writer at a time: a save removes the siblings that no longer
count, among them what a killed save left.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from tier_ml.io.scores import _fsync, _remove


def _check_names(names: list[str]) -> None:
    """A file name must stay in the folder and be seen: no separators, no leading dot."""
    bad = [n for n in names if not re.fullmatch(r"[^/\\.][^/\\]*", n)]
    if bad:
        raise DatasetError(f"File names must be plain names inside the folder, got {bad}")


def replace_folder(path: Path, files: Mapping[str, pd.DataFrame], **to_csv: Any) -> None:
    """Write each frame to `<name>.csv` in a new sibling of `path`, then point `path` at it in
    one step and remove the siblings it replaces."""
    _check_names(list(files))
    if path.exists() and not path.is_symlink():
        raise DatasetError(f"{path} is a folder this dataset did not write; move it away")
    path.parent.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        for name, frame in files.items():
            frame.to_csv(target / f"{name}.csv", **to_csv)
        for item in [*target.iterdir(), target]:
            _fsync(item)
    except BaseException:
        shutil.rmtree(target)
        raise
    target.chmod(0o755)
    link = target.with_name(f"{target.name}.link")
    link.symlink_to(target.name)
    os.replace(link, path)  # the commit
    _fsync(path.parent)
    for stale in path.parent.glob(f".{path.name}-*"):
        if stale != target:
            _remove(stale)


class CsvFolderDataset(AbstractDataset[Mapping[str, pd.DataFrame], dict[str, pd.DataFrame]]):
    """Save `{name: frame}` as `<path>/<name>.csv`, every file replaced at once (see the
    module); load the same mapping back."""

    def __init__(
        self,
        path: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        metadata: dict | None = None,
    ):
        self._path = Path(path)
        self._load_args = load_args or {}
        self._save_args = {"index": False, **(save_args or {})}
        self.metadata = metadata

    def load(self) -> dict[str, pd.DataFrame]:
        return {
            file.stem: pd.read_csv(file, **self._load_args)
            for file in sorted(self._path.glob("*.csv"))
        }

    def save(self, data: Mapping[str, pd.DataFrame]) -> None:
        replace_folder(self._path, data, **self._save_args)

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
