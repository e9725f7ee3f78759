"""Pooling of wordpiece hidden states and attention onto spaCy tokens.

Both poolings are linear maps given by weight matrices built from an
:class:`~trfviz.alignment.Alignment` (:mod:`trfviz.pooling.weights`), so the
same matrices pool one sentence in numpy (:mod:`trfviz.pooling.reference`, the
readable definition) or a whole padded batch in torch
(:mod:`trfviz.pooling.batched`, the fast kernel behind :func:`trfviz.extract`).

Hidden states (``pooling=``):

- ``"weighted"`` (default, the spacy-transformers convention): a piece aligned
  to ``k`` tokens gives ``1/k`` of its row to each; special pieces are aligned
  to every present token of the sentence. Every piece's weights sum to 1, so
  summing the pooled rows gives back the sum of the piece rows: nothing lost.
- ``"mean"``, ``"sum"``, ``"first"``, ``"last"``: over each token's own
  (non-special) pieces.

Attention (Clark et al. 2019, "What does BERT look at?"):

- attention *to* a token is the sum of the attention to its pieces (a piece
  shared by ``k`` tokens gives ``1/k`` to each, so rows still sum to 1);
- attention *from* a token is the mean (``query_pooling="mean"``, default) of its
  pieces' rows, or the first piece's row (``"first"``), or the element-wise
  maximum renormalised to sum to 1 (``"max"``);
- special pieces are kept as named pseudo-tokens appended after the spaCy
  tokens (``special_tokens="keep"``, default) or dropped with each row
  renormalised over the remaining tokens (``"drop"``).

Tokens with no piece (:attr:`Alignment.missing`) get zero rows and columns.
"""

from trfviz.pooling.batched import pool_batch
from trfviz.pooling.reference import pool_attention, pool_states, renormalize_rows
from trfviz.pooling.weights import (
    QUERY_POOLINGS,
    SPECIAL_TOKEN_MODES,
    STATE_POOLINGS,
    QueryPooling,
    SpecialTokens,
    StatePooling,
    attention_rows,
    attention_weights,
    batch_attention_weights,
    batch_state_weights,
    state_weights,
)

__all__ = [
    "QUERY_POOLINGS",
    "SPECIAL_TOKEN_MODES",
    "STATE_POOLINGS",
    "QueryPooling",
    "SpecialTokens",
    "StatePooling",
    "attention_rows",
    "attention_weights",
    "batch_attention_weights",
    "batch_state_weights",
    "pool_attention",
    "pool_batch",
    "pool_states",
    "renormalize_rows",
    "state_weights",
]
