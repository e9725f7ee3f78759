"""SyntaxGym test suites: items x conditions x regions, loaded from SyntaxGym JSON.

A *suite* (SyntaxGym's word for a controlled experiment) has items, each
written in several conditions, each sentence cut into named regions:

>>> suite = load_pp_attachment()
>>> suite.conditions
('verb_attachment', 'noun_attachment')
>>> first = suite.stimuli()[0]
>>> first.text
'I saw the man with the telescope'
>>> first.text[slice(*first.span("pp_noun"))]
'the telescope'

:func:`load_suite` reads a suite's JSON (by name from the suites trfviz ships,
or by path), :func:`suite_from_dict` builds one from the parsed JSON, and
:func:`load_pp_attachment` gives the built-in PP-attachment suite written the
same way. :meth:`Suite.stimuli` writes every item x condition as a sentence
(:class:`Stimulus`) with the character span of every region: as SyntaxGym
does (:func:`join_regions`), region contents are stripped, empty regions
skipped and the rest joined with single spaces.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "PP_ATTACHMENT_ITEMS",
    "Region",
    "Stimulus",
    "Suite",
    "SuiteItem",
    "join_regions",
    "list_suites",
    "load_pp_attachment",
    "load_suite",
    "region_index",
    "suite_from_dict",
]

#: A region, by name or by SyntaxGym number (from 1).
Region = str | int


@dataclass(frozen=True)
class SuiteItem:
    """One item of a suite: the region contents of each condition.

    Attributes:
        number: the item number in the suite.
        contents: ``[condition][region]`` stripped region texts, in the order of
            :attr:`Suite.conditions` and :attr:`Suite.region_names` (``""`` for
            an empty region).
    """

    number: int
    contents: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Stimulus:
    """One sentence of a suite (an item in one condition) with the character span of each region.

    Attributes:
        suite: the suite's name.
        item: the item number.
        condition: the condition name.
        text: the sentence.
        region_names: the suite's region names, in order.
        region_spans: ``(start, end)`` character offsets of each region in
            ``text``; an empty region has ``start == end``.
    """

    suite: str
    item: int
    condition: str
    text: str
    region_names: tuple[str, ...]
    region_spans: tuple[tuple[int, int], ...]

    def span(self, region: Region) -> tuple[int, int]:
        """``(start, end)`` of a region given by name or by SyntaxGym number (1-based)."""
        return self.region_spans[region_index(region, self.region_names)]

    def region_text(self, region: Region) -> str:
        """The text of one region."""
        start, end = self.span(region)
        return self.text[start:end]


@dataclass(frozen=True)
class Suite:
    """A set of items × conditions × regions (a SyntaxGym test suite).

    Attributes:
        name: the suite's name (``"npz_ambig"``).
        region_names: names of the regions in order (SyntaxGym numbers them from 1).
        conditions: condition names in order.
        items: the items.
        predictions: SyntaxGym's prediction formulas, kept as text.
    """

    name: str
    region_names: tuple[str, ...]
    conditions: tuple[str, ...]
    items: tuple[SuiteItem, ...]
    predictions: tuple[str, ...] = ()

    def stimuli(self) -> tuple[Stimulus, ...]:
        """Every item in every condition as a :class:`Stimulus`, item by item."""
        out = []
        for item in self.items:
            for condition, contents in zip(self.conditions, item.contents, strict=True):
                text, spans = join_regions(contents)
                out.append(
                    Stimulus(self.name, item.number, condition, text, self.region_names, spans)
                )
        return tuple(out)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``item, condition, region_number, region, content``, one row per region."""
        rows = [
            (item.number, condition, number, name, content)
            for item in self.items
            for condition, contents in zip(self.conditions, item.contents, strict=True)
            for number, (name, content) in enumerate(
                zip(self.region_names, contents, strict=True), start=1
            )
        ]
        return pd.DataFrame(
            rows, columns=["item", "condition", "region_number", "region", "content"]
        )


def region_index(region: Region, names: Sequence[str]) -> int:
    """The 0-based index of ``region`` (a name, or a SyntaxGym number from 1) in ``names``."""
    if isinstance(region, bool):
        raise TypeError("a region is a name or a 1-based number")
    if isinstance(region, int | np.integer):
        if not 1 <= region <= len(names):
            raise ValueError(f"region number {region} out of range 1..{len(names)}")
        return int(region) - 1
    try:
        return list(names).index(region)
    except ValueError:
        raise ValueError(f"no region {region!r}; regions are {list(names)}") from None


# -- loading ----------------------------------------------------------------------------------


def list_suites(directory: str | os.PathLike[str] | None = None) -> tuple[str, ...]:
    """Names of the SyntaxGym suites in ``directory`` (default: the suites trfviz ships)."""
    return tuple(sorted(p.stem for p in _suite_dir(directory).glob("*.json")))


def load_suite(
    name: str | os.PathLike[str], *, directory: str | os.PathLike[str] | None = None
) -> Suite:
    """A SyntaxGym suite, by name (``"npz_ambig"``) or by path to its JSON file.

    Names are looked up in ``directory``, by default the suites trfviz ships
    (:func:`trfviz.datasets.syntaxgym_dir`).
    """
    path = Path(name)
    if path.suffix != ".json":
        path = _suite_dir(directory) / f"{name}.json"
    if not path.is_file():
        known = ", ".join(list_suites(directory)) if directory or path.parent.is_dir() else ""
        raise FileNotFoundError(f"no suite file {path}" + (f"; suites: {known}" if known else ""))
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    return suite_from_dict(data, name=path.stem)


def suite_from_dict(data: Mapping[str, object], *, name: str | None = None) -> Suite:
    """A :class:`Suite` from SyntaxGym's JSON structure (``meta``, ``region_meta``, ``items``).

    Raises:
        ValueError: the structure is incomplete or inconsistent (an item without a
            condition or region, an unknown region number ...); the message names
            the item, condition and region.
        TypeError: ``data`` is not a mapping.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"a suite is a mapping (SyntaxGym's JSON); got {type(data).__name__}")
    meta = data.get("meta") or {}
    region_meta = data.get("region_meta") or {}
    if not isinstance(meta, Mapping) or not isinstance(region_meta, Mapping):
        raise ValueError("meta and region_meta must be objects")
    if not region_meta:
        raise ValueError('the suite has no region_meta: name its regions, {"1": "Start", ...}')
    try:
        numbers = sorted(int(n) for n in region_meta)
    except (TypeError, ValueError):
        raise ValueError(
            f"region_meta keys must be region numbers from 1; got {list(region_meta)}"
        ) from None
    region_names = tuple(str(region_meta[str(n)]) for n in numbers)
    items_data = data.get("items")
    if not isinstance(items_data, list) or not items_data:
        raise ValueError("the suite has no items")
    conditions: tuple[str, ...] = ()
    items = []
    for position, item in enumerate(items_data):
        label = f"item {position + 1}"
        if not isinstance(item, Mapping):
            raise ValueError(f"{label} is not an object")
        number = item.get("item_number", position + 1)
        label = f"item {number}"
        raw_conditions = item.get("conditions")
        if not isinstance(raw_conditions, list) or not raw_conditions:
            raise ValueError(f"{label} has no conditions")
        by_condition: dict[str, object] = {}
        for entry in raw_conditions:
            if not isinstance(entry, Mapping) or "condition_name" not in entry:
                raise ValueError(f"{label} has a condition without condition_name")
            if "regions" not in entry:
                raise ValueError(f"{label}, condition {entry['condition_name']!r} has no regions")
            by_condition[str(entry["condition_name"])] = entry["regions"]
        if not conditions:
            conditions = tuple(by_condition)
        if set(by_condition) != set(conditions):
            raise ValueError(
                f"{label} has conditions {sorted(by_condition)}; the first item has "
                f"{sorted(conditions)}"
            )
        contents = []
        for condition in conditions:
            where = f"{label}, condition {condition!r}"
            texts = _region_texts(by_condition[condition], where, numbers)
            missing = [n for n in numbers if n not in texts]
            if missing:
                raise ValueError(
                    f"{where} lacks region(s) "
                    + ", ".join(f"{n} ({region_meta[str(n)]})" for n in missing)
                    + '; give every region, an empty one as {"region_number": n, "content": ""}'
                )
            contents.append(tuple(texts[n] for n in numbers))
        try:
            items.append(SuiteItem(int(number), tuple(contents)))
        except (TypeError, ValueError):
            raise ValueError(f"{label}: item_number must be a whole number") from None
    raw_predictions = data.get("predictions")
    predictions = tuple(
        str(p.get("formula", ""))
        for p in (raw_predictions if isinstance(raw_predictions, list) else [])
        if isinstance(p, Mapping)
    )
    return Suite(
        name=str(name or meta.get("name") or "suite"),
        region_names=region_names,
        conditions=conditions,
        items=tuple(items),
        predictions=predictions,
    )


def _region_texts(regions: object, where: str, numbers: Sequence[int]) -> dict[int, str]:
    """Region number to stripped content, for one item in one condition."""
    if not isinstance(regions, list):
        raise ValueError(f"{where}: regions must be a list")
    texts: dict[int, str] = {}
    for region in regions:
        if not isinstance(region, Mapping) or "region_number" not in region:
            raise ValueError(f"{where} has a region without region_number")
        try:
            number = int(region["region_number"])
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}: region_number {region['region_number']!r} is not a number"
            ) from None
        if number not in numbers:
            raise ValueError(
                f"{where}: region {number} is not in region_meta (regions {list(numbers)})"
            )
        content = region.get("content")
        if not isinstance(content, str):
            raise ValueError(f"{where}, region {number} has no text content")
        texts[number] = content.strip()
    return texts


def _suite_dir(directory: str | os.PathLike[str] | None) -> Path:
    if directory is not None:
        return Path(directory)
    from trfviz.datasets import syntaxgym_dir

    return syntaxgym_dir()


#: Built-in PP-attachment minimal pairs: (subject, verb, object, preposition,
#: noun of a PP that attaches to the verb as an instrument, noun of a PP that
#: attaches to the object as a modifier).
PP_ATTACHMENT_ITEMS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("I", "saw", "the man", "with", "the telescope", "the hat"),
    ("The girl", "hit", "the thief", "with", "an umbrella", "a scar"),
    ("We", "ate", "the pizza", "with", "a fork", "the anchovies"),
    ("The chef", "cut", "the bread", "with", "a knife", "the seeds"),
    ("She", "watched", "the bird", "with", "binoculars", "red wings"),
    ("He", "opened", "the door", "with", "a key", "a crack"),
    ("The boy", "painted", "the fence", "with", "a brush", "the gate"),
    ("My aunt", "cleaned", "the table", "with", "a cloth", "the stain"),
    ("The poet", "wrote", "the letter", "with", "a pen", "the stamp"),
    ("The fisherman", "caught", "the fish", "with", "a net", "the spots"),
    ("The farmer", "dug", "the garden", "with", "a shovel", "the roses"),
    ("The waiter", "sliced", "the cake", "with", "a knife", "the candles"),
    ("The player", "hit", "the ball", "with", "a bat", "the stripes"),
    ("The nurse", "tied", "the box", "with", "a string", "the lid"),
    ("The police", "stopped", "the car", "with", "a roadblock", "the dent"),
    ("Anna", "fed", "the cat", "with", "a spoon", "the collar"),
)


def load_pp_attachment() -> Suite:
    """The built-in PP-attachment suite: "I saw the man with the telescope / with the hat".

    Regions ``subject, verb, object, preposition, pp_noun``; conditions
    ``verb_attachment`` (the PP is an instrument of the verb) and
    ``noun_attachment`` (it modifies the object). The two conditions of an item
    differ only in ``pp_noun``.
    """
    items = tuple(
        SuiteItem(
            number,
            (
                (subject, verb, obj, prep, instrument),
                (subject, verb, obj, prep, modifier),
            ),
        )
        for number, (subject, verb, obj, prep, instrument, modifier) in enumerate(
            PP_ATTACHMENT_ITEMS, start=1
        )
    )
    return Suite(
        name="pp_attachment",
        region_names=("subject", "verb", "object", "preposition", "pp_noun"),
        conditions=("verb_attachment", "noun_attachment"),
        items=items,
    )


# -- joining regions -------------------------------------------------------------------------


def join_regions(contents: Sequence[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The sentence made of region texts, and each region's ``(start, end)`` in it.

    As SyntaxGym does: contents are stripped, empty regions skipped, the rest
    joined with one space. An empty region gets a zero-width span where it would be.

    >>> join_regions(["As the criminal", "shot", "", " the woman", "yelled"])
    ('As the criminal shot the woman yelled', ((0, 15), (16, 20), (21, 21), (21, 30), (31, 37)))
    """
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    position = 0
    for content in contents:
        text = content.strip()
        if not text:
            start = position + (1 if parts else 0)
            spans.append((start, start))
            continue
        if parts:
            position += 1  # the joining space
        spans.append((position, position + len(text)))
        parts.append(text)
        position += len(text)
    return " ".join(parts), tuple(spans)
