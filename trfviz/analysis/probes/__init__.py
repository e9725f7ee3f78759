"""What hidden states encode: structural and linear probes with control tasks, layer by layer.

- :mod:`~trfviz.analysis.probes.data`: per-layer word states beside gold
  CoNLL-U annotation, split by sentence with a fixed seed (:class:`ProbeData`,
  :func:`extract_probe_data`, :func:`collect_probe_data`);
- :mod:`~trfviz.analysis.probes.trees`: path distances, depths, minimum spanning trees;
- :mod:`~trfviz.analysis.probes.structural`: the distance and depth probes of
  Hewitt & Manning (2019) (:func:`fit_structural_probe`);
- :mod:`~trfviz.analysis.probes.linear`: linear UPOS and relation probes
  (:func:`fit_linear_probe`);
- :mod:`~trfviz.analysis.probes.controls`: control tasks (Hewitt & Liang 2019);
- :mod:`~trfviz.analysis.probes.scores`: UUAS, Spearman, root accuracy, by the papers' conventions;
- :mod:`~trfviz.analysis.probes.run`: every probe and control at every layer as a
  tidy DataFrame (:func:`run_probes`).
"""

# This file only re-exports the public names of the probe modules.

from trfviz.analysis.probes.controls import control_labels, control_tree
from trfviz.analysis.probes.data import (
    SPLITS,
    GoldSentence,
    ProbeData,
    collect_probe_data,
    extract_probe_data,
    gold_sentence,
    split_sentences,
)
from trfviz.analysis.probes.linear import LinearProbe, fit_linear_probe
from trfviz.analysis.probes.run import PROBE_COLUMNS, PROBES, run_probes
from trfviz.analysis.probes.scores import depth_spearman, distance_spearman, root_accuracy, uuas
from trfviz.analysis.probes.structural import StructuralProbe, fit_structural_probe
from trfviz.analysis.probes.trees import minimum_spanning_edges, tree_depths, tree_distances

__all__ = [
    "PROBES",
    "PROBE_COLUMNS",
    "SPLITS",
    "GoldSentence",
    "LinearProbe",
    "ProbeData",
    "StructuralProbe",
    "collect_probe_data",
    "control_labels",
    "control_tree",
    "depth_spearman",
    "distance_spearman",
    "extract_probe_data",
    "fit_linear_probe",
    "fit_structural_probe",
    "gold_sentence",
    "minimum_spanning_edges",
    "root_accuracy",
    "run_probes",
    "split_sentences",
    "tree_depths",
    "tree_distances",
    "uuas",
]
