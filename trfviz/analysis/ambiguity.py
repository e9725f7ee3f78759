"""Attention under syntactic ambiguity: conditions, regions and their contrasts.

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

The analysis runs in four steps, each giving plain data:

1. :func:`load_suite` (SyntaxGym JSON from the shared data directory) or
   :func:`load_pp_attachment` (built in) gives a :class:`Suite`;
   :meth:`Suite.stimuli` writes every item × condition as a sentence
   (:class:`Stimulus`) with the character span of every region. As SyntaxGym
   does, region contents are stripped, empty regions skipped and the rest
   joined with single spaces; so each region maps exactly onto the spaCy
   tokens its characters overlap (:func:`find_region_tokens`).
2. :func:`parse_stimuli` runs spaCy with every stimulus kept as one sentence
   (models run per sentence, so attention between regions needs both in one),
   then :func:`trfviz.extract_docs` runs a model.
3. :func:`measure_region_attention`: per stimulus, layer and head, the
   attention from a *source* region (queries) to a *target* region (keys):
   the attention of each source token, **summed over the target tokens**,
   then **averaged over the source tokens** (Clark et al.'s convention for a
   word made of pieces, applied to a region made of words). By default rows
   are renormalised over the spaCy tokens first (special pseudo-tokens
   dropped), so models with and without ``[CLS]``/``[SEP]`` compare.
4. :func:`contrast_conditions` gives each item's contrast between conditions
   (a difference, or any weighted combination such as an interaction), and
   :func:`estimate_effects` the paired effect size across items per head:
   mean difference / standard deviation of the differences (Cohen's d_z), a
   paired t-test, optionally a sign-flip permutation p-value, and
   Benjamini–Hochberg q-values across heads.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trfviz.extraction import Extraction, SentenceExtraction

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = [
    "PP_ATTACHMENT_ITEMS",
    "Stimulus",
    "Suite",
    "SuiteItem",
    "contrast_conditions",
    "estimate_effects",
    "find_region_tokens",
    "join_regions",
    "list_suites",
    "load_pp_attachment",
    "load_suite",
    "measure_region_attention",
    "parse_stimuli",
    "token_spans",
]

Region = str | int
Contrast = tuple[str, str] | Mapping[str, float]


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
        return self.region_spans[_region_index(region, self.region_names)]

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


def _region_index(region: Region, names: Sequence[str]) -> int:
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


# -- regions and tokens -------------------------------------------------------------------------


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


def token_spans(text: str, tokens: Sequence[str]) -> np.ndarray:
    """int ``[n_tokens, 2]`` character offsets of ``tokens``, found in order in ``text``.

    spaCy tokens are consecutive substrings of the Doc text, so this recovers
    ``(token.idx, token.idx + len(token))`` from an :class:`Extraction`.

    >>> token_spans("I saw  it.", ["I", "saw", " ", "it", "."]).tolist()
    [[0, 1], [2, 5], [6, 7], [7, 9], [9, 10]]
    """
    spans = np.zeros((len(tokens), 2), dtype=np.int64)
    position = 0
    for i, token in enumerate(tokens):
        if i and not token.strip() and text.startswith(" ", position):
            # spaCy gives each token at most one trailing space; extra whitespace becomes a
            # token of its own after it ("the  man" -> "the", " ", "man").
            position += 1
        start = text.find(token, position)
        if start < 0:
            raise ValueError(f"token {token!r} not found in the text after offset {position}")
        spans[i] = start, start + len(token)
        position = start + len(token)
    return spans


def find_region_tokens(
    spans: np.ndarray | Sequence[tuple[int, int]], region: tuple[int, int]
) -> np.ndarray:
    """Indices of the tokens whose characters overlap the region ``(start, end)``.

    >>> find_region_tokens([(0, 1), (2, 5), (6, 9), (10, 14)], (2, 9)).tolist()
    [1, 2]
    >>> find_region_tokens([(0, 1), (2, 5)], (2, 2)).tolist()   # empty region
    []
    """
    array = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    start, end = region
    if end <= start:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((array[:, 0] < end) & (array[:, 1] > start))


def parse_stimuli(nlp: Language, stimuli: Iterable[Stimulus], *, batch_size: int = 64) -> list[Doc]:
    """One spaCy Doc per stimulus, each kept as a single sentence.

    The pipeline's parser is told that no token but the first starts a
    sentence, so a stimulus with inner punctuation (SyntaxGym writes
    ``"... the book . The nurse ..."``) stays one sentence: the models run
    per sentence, and attention between regions needs them in the same one.
    """
    docs = []
    for stimulus in stimuli:
        doc = nlp.make_doc(stimulus.text)
        for token in doc[1:]:
            token.is_sent_start = False
        docs.append(doc)
    return list(nlp.pipe(docs, batch_size=batch_size))


# -- attention between regions ------------------------------------------------------------------


def measure_region_attention(
    stimuli: Sequence[Stimulus],
    extractions: Iterable[Extraction],
    *,
    source: Region,
    target: Region,
    model: str | None = None,
    exclude_special: bool = True,
) -> pd.DataFrame:
    """Attention from one region to another, per stimulus, layer and head.

    Args:
        stimuli: the stimuli, in the order of ``extractions``.
        extractions: one model's :class:`Extraction` of each stimulus's Doc.
        source: the query region (name, or SyntaxGym number from 1).
        target: the key region.
        model: name for the table (default: the extraction's ``model``).
        exclude_special: drop special pseudo-tokens and renormalise each row
            over the spaCy tokens (default); else use rows as extracted.

    Returns:
        Tidy table, one row per stimulus × layer × head: ``model, suite, item,
        condition, source, target, layer, head, attention, n_source, n_target``.
        ``attention`` is, for each source token, its attention summed over the
        target tokens, averaged over the source tokens (tokens a model does not
        cover are left out). It is NaN where a region is empty or the two
        regions fall in different sentences.
    """
    frames = []
    ext_list = list(extractions)
    if len(ext_list) != len(stimuli):
        raise ValueError(f"{len(stimuli)} stimuli but {len(ext_list)} extractions")
    split_warned = False
    for stimulus, extraction in zip(stimuli, ext_list, strict=True):
        if extraction.text != stimulus.text:
            raise ValueError(
                f"extraction text {extraction.text!r} is not stimulus {stimulus.text!r}; "
                "give extractions in the order of the stimuli"
            )
        if not extraction.sentences:
            raise ValueError(f"the extraction of {stimulus.text!r} has no sentences")
        tokens = [t for s in extraction.sentences for t in s.tokens]
        spans = token_spans(extraction.text, tokens)
        src = find_region_tokens(spans, stimulus.span(source))
        tgt = find_region_tokens(spans, stimulus.span(target))
        values, sentence = _region_values(extraction.sentences, src, tgt, exclude_special)
        if sentence is None and len(src) and len(tgt) and not split_warned:
            warnings.warn(
                f"regions {source!r} and {target!r} of {stimulus.text!r} are in different "
                "sentences; build Docs with parse_stimuli() to keep each stimulus one sentence",
                stacklevel=2,
            )
            split_warned = True
        layers, heads = values.shape
        layer_index, head_index = np.divmod(np.arange(layers * heads), heads)
        frames.append(
            pd.DataFrame(
                {
                    "model": model or extraction.model,
                    "suite": stimulus.suite,
                    "item": stimulus.item,
                    "condition": stimulus.condition,
                    "source": _region_name(source, stimulus.region_names),
                    "target": _region_name(target, stimulus.region_names),
                    "layer": layer_index,
                    "head": head_index,
                    "attention": values.ravel(),
                    "n_source": len(src),
                    "n_target": len(tgt),
                }
            )
        )
    if not frames:
        raise ValueError("no stimuli given")
    return pd.concat(frames, ignore_index=True)


def _region_name(region: Region, names: Sequence[str]) -> str:
    return names[_region_index(region, names)]


def _region_values(
    sentences: Sequence[SentenceExtraction],
    src: np.ndarray,
    tgt: np.ndarray,
    exclude_special: bool,
) -> tuple[np.ndarray, SentenceExtraction | None]:
    """``[layer, head]`` region attention, and the sentence it was read from (None: NaN)."""
    first = sentences[0]
    if first.attention is None:
        raise ValueError("the extraction kept no attention (attention=False)")
    shape = first.attention.shape[:2]
    nan = np.full(shape, np.nan)
    if len(src) == 0 or len(tgt) == 0:
        return nan, None
    both = np.concatenate([src, tgt])
    for sentence in sentences:
        inside = (both >= sentence.start) & (both < sentence.end)
        if not inside.any():
            continue
        if not inside.all() or sentence.attention is None:
            return nan, None
        n = sentence.n_tokens
        queries = src - sentence.start
        queries = queries[~np.asarray(sentence.missing)[queries]]
        keys = tgt - sentence.start
        if len(queries) == 0:
            return nan, None
        rows = sentence.attention[:, :, queries].astype(np.float64)  # [L, H, q, labels]
        if exclude_special:
            rows = rows[..., :n]
            sums = rows.sum(-1, keepdims=True)
            rows = np.divide(rows, sums, out=np.zeros_like(rows), where=sums > 0)
        return rows[..., keys].sum(-1).mean(-1), sentence
    return nan, None


# -- contrasts and effects ----------------------------------------------------------------------

_HEAD_KEYS = ["model", "suite", "source", "target", "layer", "head"]


def contrast_conditions(table: pd.DataFrame, contrast: Contrast) -> pd.DataFrame:
    """Each item's contrast between conditions, per head.

    Args:
        table: from :func:`measure_region_attention` (several models may be concatenated).
        contrast: ``(a, b)`` for condition ``a`` minus condition ``b``, or a
            mapping of condition weights, e.g. the NP/Z interaction
            ``{"ambig_nocomma": 1, "ambig_comma": -1, "unambig_nocomma": -1,
            "unambig_comma": 1}``.

    Returns:
        One row per head × item: ``model, suite, source, target, layer, head,
        item``, one column per condition used (its attention), ``difference``
        (the weighted sum) and ``contrast`` (a readable label).
    """
    weights = _contrast_weights(contrast)
    missing = set(weights) - set(table["condition"].unique())
    if missing:
        raise ValueError(f"conditions {sorted(missing)} are not in the table")
    used = table[table["condition"].isin(list(weights))]
    # unstack, not pivot_table: only (model, layer, head, item) rows that exist, NaNs kept.
    wide = used.set_index([*_HEAD_KEYS, "item", "condition"])["attention"].unstack("condition")
    wide = wide.reindex(columns=list(weights))
    wide.columns.name = None
    difference = sum(wide[c].to_numpy() * w for c, w in weights.items())
    out = wide.reset_index()
    out["difference"] = difference
    out["contrast"] = _contrast_label(weights)
    return out


def _contrast_weights(contrast: Contrast) -> dict[str, float]:
    if isinstance(contrast, Mapping):
        weights = {str(k): float(v) for k, v in contrast.items() if v != 0}
    else:
        a, b = contrast
        if a == b:
            raise ValueError("a contrast needs two different conditions")
        weights = {str(a): 1.0, str(b): -1.0}
    if not weights:
        raise ValueError("the contrast has no non-zero weight")
    return weights


def _contrast_label(weights: Mapping[str, float]) -> str:
    parts = []
    for i, (condition, weight) in enumerate(weights.items()):
        sign = "-" if weight < 0 else "+"
        size = abs(weight)
        term = condition if size == 1 else f"{size:g}*{condition}"
        parts.append((f"{sign} " if i or sign == "-" else "") + term)
    return " ".join(parts)


def estimate_effects(
    contrasts: pd.DataFrame, *, permutations: int = 0, seed: int = 0
) -> pd.DataFrame:
    """Paired effect size of a contrast across items, per head.

    Args:
        contrasts: from :func:`contrast_conditions`.
        permutations: sign-flip permutations for ``p_permutation`` (0: skip).
            When ``2 ** n_items <= permutations`` every sign pattern is used
            (an exact test); otherwise a Monte Carlo sample with ``seed``.
        seed: random seed of the Monte Carlo sample.

    Returns:
        One row per head (and model, suite, regions, contrast): ``n_items,
        mean_difference, sd_difference, effect_size`` (mean / sd, Cohen's
        d_z), ``t``, ``p_value`` (two-sided paired t-test), ``q_value``
        (Benjamini–Hochberg over the heads of a model) and, with
        ``permutations``, ``p_permutation`` (two-sided, statistic: mean
        difference). Items with a NaN difference are left out head by head.
    """
    from scipy import stats

    keys = [*_HEAD_KEYS[:4], "contrast"]
    frames = []
    for group_key, group in contrasts.groupby(keys, sort=False):
        wide = group.set_index(["item", "layer", "head"])["difference"].unstack(["layer", "head"])
        diffs = wide.to_numpy(dtype=np.float64)  # [items, heads]
        n = np.sum(np.isfinite(diffs), axis=0)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(diffs, axis=0)
            sd = np.nanstd(diffs, axis=0, ddof=1)
            effect = mean / sd
            t = mean / (sd / np.sqrt(n))
            p = 2.0 * stats.t.sf(np.abs(t), df=np.maximum(n - 1, 1))
        p = np.where(n >= 2, p, np.nan)
        frame = pd.DataFrame(
            {
                **dict(zip(keys[:4], group_key[:4], strict=True)),
                "contrast": group_key[4],
                "layer": wide.columns.get_level_values("layer").to_numpy(),
                "head": wide.columns.get_level_values("head").to_numpy(),
                "n_items": n,
                "mean_difference": mean,
                "sd_difference": sd,
                "effect_size": effect,
                "t": t,
                "p_value": p,
                "q_value": _benjamini_hochberg(p),
            }
        )
        if permutations:
            frame["p_permutation"] = _sign_flip_p(diffs, permutations=permutations, seed=seed)
        frames.append(frame)
    if not frames:
        raise ValueError("no contrasts given")
    return pd.concat(frames, ignore_index=True)


def _benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    q = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        from scipy import stats

        q[finite] = stats.false_discovery_control(p[finite], method="bh")
    return q


def _sign_flip_p(diffs: np.ndarray, *, permutations: int, seed: int) -> np.ndarray:
    """Two-sided sign-flip p-value of the mean difference, per column of ``[items, heads]``."""
    filled = np.where(np.isfinite(diffs), diffs, 0.0)  # a missing item adds 0 under any sign
    n_items = filled.shape[0]
    counts = np.maximum(np.sum(np.isfinite(diffs), axis=0), 1)
    observed = np.abs(filled.sum(0)) / counts
    if n_items <= math.log2(max(permutations, 1)):
        codes = np.arange(2**n_items)[:, None] >> np.arange(n_items)[None, :] & 1
        signs = 1.0 - 2.0 * codes  # every pattern, the identity included
        exact = True
    else:
        signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(permutations, n_items))
        exact = False
    flipped = np.abs(signs @ filled) / counts
    # A relative tolerance so that ties with the observed value count as extreme.
    extreme = np.sum(flipped >= observed * (1 - 1e-12), axis=0)
    if exact:
        return extreme / len(signs)
    return (extreme + 1.0) / (len(signs) + 1.0)
