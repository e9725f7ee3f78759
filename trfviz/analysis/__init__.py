"""Analyses over extractions: cross-model similarity, attention under ambiguity, syntax heads.

Results are tidy pandas DataFrames; streaming reducers (``update``/``merge``/``result``)
let corpus runners compute them without holding every sentence's attention.
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
    parse_stimuli,
)
from trfviz.analysis.cka import (
    FEATURES,
    KERNELS,
    center_gram,
    cka_from_grams,
    compute_cka,
    gram_linear,
    gram_rbf,
    prepare_features,
)
from trfviz.analysis.conllu import doc_from_conllu, iter_conllu, parse_conllu, read_conllu
from trfviz.analysis.corpus import CorpusRun, ModelPair, Reducer, run_corpus
from trfviz.analysis.similarity import (
    HeadSimilarity,
    LayerCKA,
    best_matching_heads,
    compare_heads,
    compare_layers_cka,
    linear_cka,
    summarize_head_similarity,
)
from trfviz.analysis.syntax import (
    AttentionPatterns,
    HeadRelationAccuracy,
    best_heads_per_relation,
    predict_heads,
    score_dependency_heads,
    summarize_attention,
)
