"""SSDA903 PLACE and PLACE_PROVIDER -> the placement groups a commissioner plans for.

The rules live in ``configs/mappings/placement_groups.yaml`` so a council can change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from care_demand.vocab import PLACEMENT_GROUPS

__all__ = ["MappingError", "PlacementMapping", "load_placement_mapping"]

ANY = "any"


class MappingError(ValueError):
    """The placement-group mapping file is not usable."""


@dataclass(frozen=True)
class PlacementRule:
    """One rule: these PLACE codes with these providers (``None`` = any or none) -> group."""

    group: str
    places: frozenset[str]
    providers: frozenset[str] | None


@dataclass(frozen=True)
class PlacementMapping:
    """Ordered rules; the first rule matching a PLACE / PLACE_PROVIDER pair gives its group."""

    rules: tuple[PlacementRule, ...]
    source: str = ""

    def group_of(self, place: str, provider: str | None) -> str | None:
        """The group for one pair, or ``None`` when no rule covers it."""
        for rule in self.rules:
            if place in rule.places and (rule.providers is None or provider in rule.providers):
                return rule.group
        return None

    def map(self, place: pd.Series, provider: pd.Series) -> pd.Series:
        """Groups for aligned PLACE and PLACE_PROVIDER Series (blank provider = ``""``);
        ``<NA>`` where no rule covers the pair."""
        pairs = pd.DataFrame({"place": place.astype(str), "provider": provider.astype(str)})
        unique = pairs.drop_duplicates()
        table = {
            (pl, pr): self.group_of(pl, pr or None)
            for pl, pr in zip(unique["place"], unique["provider"], strict=True)
        }
        keys = list(zip(pairs["place"], pairs["provider"], strict=True))
        return pd.Series([table[k] for k in keys], index=place.index, dtype="string")


def load_placement_mapping(path: str | Path) -> PlacementMapping:
    """Read and check a placement-group mapping file.

    Raises :class:`MappingError` naming the file and the rule when the file is missing, is
    not valid YAML, or a rule has an unknown group or malformed lists.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the placement mapping ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list) or not raw["rules"]:
        raise MappingError(f"{path}: expected a non-empty list under 'rules'")
    rules = []
    for number, item in enumerate(raw["rules"], start=1):
        where = f"{path}: rule {number}"
        if not isinstance(item, dict) or item.get("group") not in PLACEMENT_GROUPS:
            group = item.get("group") if isinstance(item, dict) else item
            raise MappingError(
                f"{where}: group {group!r} is not one of {', '.join(PLACEMENT_GROUPS)}"
            )
        places = item.get("places")
        if not isinstance(places, list) or not places:
            raise MappingError(f"{where}: 'places' must be a non-empty list of PLACE codes")
        providers = item.get("providers", ANY)
        if providers != ANY and not (isinstance(providers, list) and providers):
            raise MappingError(f"{where}: 'providers' must be 'any' or a list of codes")
        rules.append(
            PlacementRule(
                group=item["group"],
                places=frozenset(str(p).upper() for p in places),
                providers=None
                if providers == ANY
                else frozenset(str(p).upper() for p in providers),
            )
        )
    return PlacementMapping(tuple(rules), source=str(path))
