"""Every probe at every layer of a model, with its control task: one tidy DataFrame.

:func:`run_probes` trains, for each layer of a :class:`ProbeData` (index 0 is
the embedding output), the structural distance and depth probes and the
linear UPOS and relation probes on the training sentences (the structural
probes stop early on the dev sentences), each again on its control task
(:mod:`~trfviz.analysis.probes.controls`), and scores both on the test
sentences. One row per model, layer, probe and metric:

=============  ==========================================================
``model``      the model's name
``layer``      0 (embeddings) … ``n_layers``
``n_layers``   the model's layers (``layer / n_layers`` is the relative depth)
``probe``      ``distance``, ``depth``, ``upos``, ``deprel``
``metric``     ``uuas``, ``spearman`` (distance); ``root_accuracy``,
               ``spearman`` (depth); ``accuracy`` (upos, deprel)
``value``      the probe's score on the real task
``control``    the same probe's score on its control task
``selectivity`` ``value - control`` (Hewitt & Liang 2019)
``n``          test items scored: sentences (structural) or words (linear)
=============  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.analysis.probes.controls import control_labels, control_tree
from trfviz.analysis.probes.data import ProbeData
from trfviz.analysis.probes.linear import fit_linear_probe
from trfviz.analysis.probes.scores import (
    depth_spearman,
    distance_spearman,
    root_accuracy,
    uuas,
)
from trfviz.analysis.probes.structural import fit_structural_probe
from trfviz.analysis.probes.trees import tree_depths, tree_distances
from trfviz.validation import check_choice, check_index, check_int

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PROBES", "PROBE_COLUMNS", "run_probes"]

#: The probes :func:`run_probes` knows, in the order of its rows.
PROBES = ("distance", "depth", "upos", "deprel")

PROBE_COLUMNS = [
    "model",
    "layer",
    "n_layers",
    "probe",
    "metric",
    "value",
    "control",
    "selectivity",
    "n",
]


def run_probes(
    data: ProbeData,
    *,
    layers: Sequence[int] | None = None,
    probes: Sequence[str] = PROBES,
    rank: int = 64,
    max_epochs: int = 20,
    c: float = 1.0,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Train and score every probe and its control at every layer (see the module docs).

    Args:
        data: one model's states and gold annotation (:func:`extract_probe_data`).
        layers: the state indices to probe (0 = embeddings); all by default.
        probes: a subset of :data:`PROBES`.
        rank: rank of the structural probes' map.
        max_epochs: the structural probes' longest training.
        c: inverse L2 strength of the linear probes.
        seed: seeds the control tasks and the structural probes' training.
        progress: show a progress bar over layers.
    """
    import pandas as pd

    if not isinstance(data, ProbeData):
        raise TypeError(f"data must be a ProbeData (extract_probe_data); got {type(data).__name__}")
    chosen = [check_choice("probes", p, PROBES) for p in probes]
    if not chosen:
        raise ValueError(f"probes is empty; choose some of {PROBES}")
    check_int("rank", rank, minimum=1)
    check_int("seed", seed)
    total = data.n_layers + 1
    layer_list = (
        list(range(total))
        if layers is None
        else sorted({check_index("layers", layer, total, negative=False) for layer in layers})
    )
    tasks = _Tasks(data, seed)
    rows: list[dict[str, object]] = []
    bar = _progress(progress, len(layer_list), data.model)
    for layer in layer_list:
        states = [s[layer] for s in data.states]
        for probe in PROBES:
            if probe not in chosen:
                continue
            if probe in ("distance", "depth"):
                scores = tasks.structural(probe, states, rank, max_epochs, seed)
            else:
                scores = tasks.linear(probe, states, c)
            for metric, (value, control, n) in scores.items():
                rows.append(
                    {
                        "model": data.model,
                        "layer": layer,
                        "n_layers": data.n_layers,
                        "probe": probe,
                        "metric": metric,
                        "value": value,
                        "control": control,
                        "selectivity": value - control,
                        "n": n,
                    }
                )
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


class _Tasks:
    """The targets of every probe and control, computed once for all layers."""

    def __init__(self, data: ProbeData, seed: int) -> None:
        self.data = data
        self.train, self.dev, self.test = (data.indices(s) for s in ("train", "dev", "test"))
        gold = data.gold
        self.punctuation = [g.punctuation for g in gold]
        controls = [control_tree(g.heads, g.words, seed=seed) for g in gold]
        self.trees = {
            "real": [g.heads for g in gold],
            "control": controls,
        }
        self.distances = {k: [tree_distances(h) for h in v] for k, v in self.trees.items()}
        self.depths = {k: [tree_depths(h) for h in v] for k, v in self.trees.items()}
        words = [g.words for g in gold]
        self.labels: dict[str, dict[str, np.ndarray]] = {}
        for probe in ("upos", "deprel"):
            real = [getattr(g, probe) for g in gold]
            train_real = [real[i] for i in self.train]
            control = control_labels(words, train_real, seed=seed)
            # Every type gets the same control label wherever it occurs (train or test).
            self.labels[probe] = {
                "real": np.array([label for sentence in real for label in sentence], dtype=object),
                "control": np.array([c for sentence in control for c in sentence], dtype=object),
            }
        lengths = np.array([g.n_words for g in gold])
        owner = np.repeat(np.arange(len(gold)), lengths)
        self.train_words = np.isin(owner, self.train)
        self.test_words = np.isin(owner, self.test)

    def structural(
        self, probe: str, states: list[np.ndarray], rank: int, max_epochs: int, seed: int
    ) -> dict[str, tuple[float, float, int]]:
        results: dict[str, dict[str, float]] = {}
        test = [int(i) for i in self.test]
        punct = [self.punctuation[i] for i in test]
        for task in ("real", "control"):
            targets = self.distances[task] if probe == "distance" else self.depths[task]
            fitted = fit_structural_probe(
                "distance" if probe == "distance" else "depth",
                states,
                targets,
                train=self.train,
                dev=self.dev,
                rank=rank,
                max_epochs=max_epochs,
                seed=seed,
            )
            predicted = [fitted.predict(states[i]) for i in test]
            gold = [targets[i] for i in test]
            if probe == "distance":
                results[task] = {
                    "uuas": uuas(predicted, gold, punct),
                    "spearman": distance_spearman(predicted, gold),
                }
            else:
                roots = [int(np.flatnonzero(self.trees[task][i] == -1)[0]) for i in test]
                results[task] = {
                    "root_accuracy": root_accuracy(predicted, roots, punct),
                    "spearman": depth_spearman(predicted, gold),
                }
        return {
            metric: (results["real"][metric], results["control"][metric], len(test))
            for metric in results["real"]
        }

    def linear(self, probe: str, states: list[np.ndarray], c: float) -> dict[str, tuple]:
        rows = np.concatenate(states, axis=0)
        train, test = rows[self.train_words], rows[self.test_words]
        accuracy = {}
        for task in ("real", "control"):
            labels = self.labels[probe][task]
            fitted = fit_linear_probe(train, labels[self.train_words], c=c)
            accuracy[task] = float((fitted.predict(test) == labels[self.test_words]).mean())
        return {"accuracy": (accuracy["real"], accuracy["control"], int(self.test_words.sum()))}


def _progress(progress: bool, total: int, model: str) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"probes {model}", unit="layer")
