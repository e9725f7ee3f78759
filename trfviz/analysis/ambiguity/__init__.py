"""Attention under syntactic ambiguity: attention between regions, contrasts between conditions.

Attributions (:mod:`~trfviz.analysis.ambiguity.attributions`) go through the same
contrasts: how much a region contributes to an output, per condition.

The suites themselves (SyntaxGym JSON, the built-in PP-attachment pairs) are
data, loaded by :mod:`trfviz.datasets.syntaxgym`; they are re-exported here.
"""

# This file only re-exports the public names of the ambiguity modules.

from trfviz.analysis.ambiguity.attributions import (
    ATTRIBUTION_MEASURES,
    measure_region_attribution,
)
from trfviz.analysis.ambiguity.contrasts import Contrast, contrast_conditions, estimate_effects
from trfviz.analysis.ambiguity.regions import (
    find_region_tokens,
    measure_region_attention,
    parse_stimuli,
    token_spans,
)
from trfviz.datasets.syntaxgym import (
    PP_ATTACHMENT_ITEMS,
    Region,
    Stimulus,
    Suite,
    SuiteItem,
    join_regions,
    list_suites,
    load_pp_attachment,
    load_suite,
    suite_from_dict,
)

__all__ = [
    "ATTRIBUTION_MEASURES",
    "PP_ATTACHMENT_ITEMS",
    "Contrast",
    "Region",
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
    "measure_region_attribution",
    "parse_stimuli",
    "suite_from_dict",
    "token_spans",
]
