"""Replacing the council's child ids by a keyed hash as the files are read.

The same id always gives the same pseudonym under one key, so the three sources still join,
but the council's id cannot be recovered without the key. The key comes from an environment
variable, else from a key file created once with a random key (``configs/data/default.yaml``).
The built-in synthetic example uses a fixed, published key so its results are reproducible.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import overload

import pandas as pd

from care_demand.data.settings import DataConfig
from care_demand.paths import EXAMPLE_DATA_DIR

__all__ = ["EXAMPLE_DATA_DIR", "EXAMPLE_KEY", "PseudonymKeyError", "pseudonymise", "resolve_key"]

# Pseudonyms are "C" followed by this many hex digits of HMAC-SHA256(key, id).
PSEUDONYM_HEX_DIGITS = 12
# The key used for the built-in synthetic example only. It is published on purpose: the
# example holds no real children, and a fixed key keeps its outputs the same on every machine.
EXAMPLE_KEY = b"care_demand synthetic example key (public, not for real data)"


class PseudonymKeyError(ValueError):
    """The pseudonymisation key cannot be read or created."""


@overload
def pseudonymise(ids: pd.Series, key: bytes) -> pd.Series: ...
@overload
def pseudonymise(ids: Iterable[str], key: bytes) -> list[str]: ...


def pseudonymise(ids: pd.Series | Iterable[str], key: bytes) -> pd.Series | list[str]:
    """Replace each id by ``"C"`` + the first 12 hex digits of HMAC-SHA256(key, id).

    Surrounding whitespace is ignored; blank or missing ids stay missing (``<NA>`` in a
    Series, ``None`` in a list). A Series in gives a ``string`` Series with the same index;
    any other iterable gives a list.

    Raises ``ValueError`` if two different ids give the same pseudonym (so a join could
    merge two children); with 48-bit pseudonyms this needs millions of ids.
    """
    if not key:
        raise PseudonymKeyError("the pseudonymisation key is empty")
    series = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    uniques = pd.unique(text.dropna())
    table = {u: _hash(str(u), key) for u in uniques}
    if len(set(table.values())) != len(table):
        raise ValueError("two different child ids have the same pseudonym; use a new key")
    out = text.map(table).astype("string")
    if isinstance(ids, pd.Series):
        return out
    return [None if pd.isna(v) else str(v) for v in out]


def _hash(value: str, key: bytes) -> str:
    digest = hmac.digest(key, value.encode("utf-8"), "sha256")
    return "C" + digest.hex()[:PSEUDONYM_HEX_DIGITS]


def is_example_folder(data_path: str | Path | None) -> bool:
    """True when ``data_path`` is the package's built-in example folder (or inside it)."""
    if data_path is None:
        return False
    path = Path(data_path).expanduser().resolve()
    return path == EXAMPLE_DATA_DIR or path.is_relative_to(EXAMPLE_DATA_DIR)


def resolve_key(config: DataConfig, data_path: str | Path | None = None) -> bytes:
    """The pseudonymisation key for reading ``data_path``.

    Order: the fixed :data:`EXAMPLE_KEY` for the built-in example; else the environment
    variable ``config.pseudonym_key_env``; else the file ``config.pseudonym_key_file``,
    created with a random 256-bit key (mode 0600) if it does not exist. The key file may not
    sit inside the data folder (the key must never travel with the data).

    Raises :class:`PseudonymKeyError` when the key file cannot be read or created, is empty,
    or is inside the data folder.
    """
    if is_example_folder(data_path):
        return EXAMPLE_KEY
    from_env = os.environ.get(config.pseudonym_key_env, "")
    if from_env.strip():
        return from_env.strip().encode("utf-8")
    key_file = Path(config.pseudonym_key_file).expanduser()
    if data_path is not None:
        folder = Path(data_path).expanduser().resolve()
        if key_file.resolve().is_relative_to(folder):
            raise PseudonymKeyError(
                f"the pseudonym key file {key_file} is inside the data folder; keep the key "
                f"elsewhere (set data.pseudonym_key_file or ${config.pseudonym_key_env})"
            )
    try:
        if not key_file.exists():
            _create_key_file(key_file)
        key = key_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise PseudonymKeyError(
            f"cannot read or create the pseudonym key file {key_file} ({exc.strerror}); "
            f"set ${config.pseudonym_key_env} or data.pseudonym_key_file"
        ) from exc
    if not key:
        raise PseudonymKeyError(f"the pseudonym key file {key_file} is empty")
    return key.encode("utf-8")


def _create_key_file(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created meanwhile by another run: use that one
        return
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
