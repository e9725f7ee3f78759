"""Keeping extractions on disk and reading them back, safely, with corruption detected.

File format (``.trfviz``, version 1): an uncompressed ZIP archive holding
``manifest.json`` (:mod:`trfviz.storage.manifest`) and one ``.npy`` file per
array, ``s{i}/{name}.npy``, where ``name`` is ``attention`` ``[layer, head,
query, key]``, ``states`` ``[layer + 1, token, dim]``, ``pairs`` ``[n_pairs, 2]``
(the alignment), ``special``, ``orphan``, ``missing``. Reading treats the file as untrusted: the ZIP
structure is parsed strictly (:mod:`trfviz.storage.archive`), every field of
the manifest is type-checked, every CRC-32 and SHA-256 is checked, nothing is
unpickled and nothing is allocated beyond what the file holds
(:mod:`trfviz.storage.store`, which also holds :class:`ExtractionStore`, a
directory of extractions keyed by model, revision, text and options).

Measures (:class:`~trfviz.measures.MeasureExtraction`: norms, rollout, flow, and
new ones without new code) go in the same kind of file with their own manifest
(:mod:`trfviz.storage.measure_files`: :func:`save_measure`, :func:`load_measure`,
and :meth:`ExtractionStore.put_measure` / :meth:`~ExtractionStore.get_measure`);
the logit lens and the neuron view (:class:`~trfviz.measures.LogitLens`,
:class:`~trfviz.measures.NeuronExtraction`) too, each with its own format
(:mod:`trfviz.storage.result_files`: :func:`save_logit_lens` / :func:`load_logit_lens`,
:func:`save_neurons` / :func:`load_neurons`, and the store's ``put_logit_lens`` /
``get_logit_lens``, ``put_neurons`` / ``get_neurons``). A file given to the wrong
loader is refused with the name of the right one.
"""

from trfviz.storage.archive import MAX_MEMBERS
from trfviz.storage.errors import CorruptExtractionError, UnsafeExtractionError
from trfviz.storage.manifest import MAX_MANIFEST_BYTES
from trfviz.storage.measure_files import load_measure, save_measure
from trfviz.storage.result_files import load_logit_lens, load_neurons, save_logit_lens, save_neurons
from trfviz.storage.store import ExtractionStore, load_extraction, save_extraction

__all__ = [
    "MAX_MANIFEST_BYTES",
    "MAX_MEMBERS",
    "CorruptExtractionError",
    "ExtractionStore",
    "UnsafeExtractionError",
    "load_extraction",
    "load_logit_lens",
    "load_measure",
    "load_neurons",
    "save_extraction",
    "save_logit_lens",
    "save_measure",
    "save_neurons",
]
