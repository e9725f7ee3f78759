"""Analyses over extractions: cross-model similarity, syntax heads, attention under ambiguity.

- :mod:`~trfviz.analysis.similarity`: do two models attend to the same words
  (head-to-head) and represent them alike (layer-to-layer CKA)?
- :mod:`~trfviz.analysis.syntax`: which heads track which dependency
  relations, and where heads look;
- :mod:`~trfviz.analysis.ambiguity`: attention (or attributions) between the
  regions of SyntaxGym-style stimuli, contrasts between conditions and their effect sizes;
- :mod:`~trfviz.analysis.measure_inputs`: measures beyond attention weights
  (value-weighted norms, rollout, flow) read where the head analyses read attention;
- :mod:`~trfviz.analysis.probes`: what hidden states encode, layer by layer:
  structural probes (Hewitt & Manning 2019) and linear UPOS and relation probes,
  each with its control task (Hewitt & Liang 2019);
- :mod:`~trfviz.analysis.stats`: statistics the analyses share;
- :mod:`~trfviz.analysis.corpus`: the one reducer protocol and the corpus
  runner (checkpoints, Dask).

Results are tidy pandas DataFrames; streaming reducers (``update``/``merge``/``result``)
let the corpus runner compute them without holding every sentence's attention.
The data they read (CoNLL-U gold trees, SyntaxGym suites) is loaded by
:mod:`trfviz.datasets`; its readers are re-exported here.
"""

# This file only re-exports the public names of the analysis modules.
# ruff: noqa: F401

from trfviz.analysis.ambiguity import (
    Stimulus,
    Suite,
    SuiteItem,
    contrast_conditions,
    estimate_effects,
    find_region_tokens,
    list_suites,
    load_pp_attachment,
    load_suite,
    measure_region_attention,
    measure_region_attribution,
    parse_stimuli,
)
from trfviz.analysis.corpus import CorpusRun, ModelPair, Reducer, run_corpus
from trfviz.analysis.measure_inputs import as_attention
from trfviz.analysis.probes import (
    PROBE_COLUMNS,
    PROBES,
    ProbeData,
    collect_probe_data,
    extract_probe_data,
    run_probes,
)
from trfviz.analysis.similarity import (
    HeadSimilarity,
    LayerCKA,
    best_matching_heads,
    compare_heads,
    compare_layers_cka,
    linear_cka,
    summarize_head_similarity,
)
from trfviz.analysis.similarity.cka import (
    FEATURES,
    KERNELS,
    center_gram,
    cka_from_grams,
    compute_cka,
    gram_linear,
    gram_rbf,
    prepare_features,
)
from trfviz.analysis.syntax import (
    AttentionPatterns,
    HeadRelationAccuracy,
    best_heads_per_relation,
    predict_heads,
    score_dependency_heads,
    summarize_attention,
)
from trfviz.datasets.conllu import doc_from_conllu, iter_conllu, parse_conllu, read_conllu
