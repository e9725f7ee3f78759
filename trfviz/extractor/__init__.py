"""Running a transformer over spaCy Docs: per-token attention and hidden states.

Named ``extractor`` (not ``extract``) so that the package never shadows the
function :func:`trfviz.extract`.

- :mod:`trfviz.extractor.api`: :func:`extract`, :func:`extract_docs`,
  :func:`sentences_of`, checking every option before anything loads;
- :mod:`trfviz.extractor.runner`: batching sentences by length, the forward
  pass, pooling each batch (:mod:`trfviz.pooling`);
- :mod:`trfviz.extractor.tokenize`: wordpieces, their alignment to spaCy tokens,
  truncation at the model's maximum length.
"""

from trfviz.extractor.api import extract, extract_docs, sentences_of

__all__ = ["extract", "extract_docs", "sentences_of"]
