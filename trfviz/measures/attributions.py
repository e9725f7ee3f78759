"""Gradient attributions per spaCy token (Captum): saliency, input × gradient, integrated gradients.

Each method explains one scalar of the model's output (a :mod:`target
<trfviz.measures.targets>`: the next word's log-probability, a similarity, a
masked word ...) by the input embeddings of the sentence's wordpieces:

- ``"saliency"``: ``Σ_d |∂f/∂e_pd|`` (Captum's ``Saliency``, absolute values:
  unsigned);
- ``"input_x_gradient"``: ``Σ_d e_pd · ∂f/∂e_pd`` (signed);
- ``"integrated_gradients"`` (Sundararajan et al. 2017): ``Σ_d (e_pd − b_pd) ·
  ∫₀¹ ∂f/∂e_pd(b + α(e − b)) dα``, by Captum's Gauss–Legendre rule with
  ``n_steps`` points, from the all-zero baseline ``b``. Signed, and complete:
  the pieces' attributions sum to ``f(e) − f(b)`` up to the convergence delta
  Captum reports (stored as :attr:`SentenceMeasure.convergence_delta`).

``e`` is the output of the model's input (word) embedding layer; positions and
token types are added inside the model as usual. A piece's attribution is its
row summed over the embedding dimension; a spaCy token's is the sum over its
pieces (a piece shared by ``k`` tokens gives ``1/k`` to each), so the token
values sum to the piece values exactly. Pieces held fixed have attribution 0:
those a target fixes (a masked word, a causal model's first piece) and, with
``special_tokens="drop"``, the special pieces, which then stay at their own
embeddings in the baseline (so integrated gradients remain complete over the
spaCy tokens alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from trfviz.loading import LoadedModel
from trfviz.measures.encoding import encode_doc
from trfviz.measures.results import MeasureExtraction, SentenceMeasure
from trfviz.measures.targets import Objective, OutputFunction, Target
from trfviz.optional import require
from trfviz.pooling import SPECIAL_TOKEN_MODES, SpecialTokens, attention_weights
from trfviz.validation import check_bool, check_choice, check_int

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["ATTRIBUTION_METHODS", "AttributionMethod", "attributions", "piece_attributions"]

AttributionMethod = Literal["saliency", "input_x_gradient", "integrated_gradients"]
ATTRIBUTION_METHODS: tuple[str, ...] = ("saliency", "input_x_gradient", "integrated_gradients")

#: Most positions (interpolation steps × pieces) in one batch of integrated gradients.
STEP_POSITIONS = 4096


def attributions(
    doc: Doc,
    model: str | LoadedModel,
    *,
    target: Target,
    method: AttributionMethod = "integrated_gradients",
    n_steps: int = 50,
    special_tokens: SpecialTokens = "keep",
    keep_pieces: bool = False,
    max_length: int | None = None,
    progress: bool | None = None,
) -> MeasureExtraction:
    """Attributions of ``target`` to each spaCy token, float32 ``[token]`` per sentence.

    Example (which words make SmolLM2 expect *was*?)::

        from trfviz.measures import attributions, next_word
        result = attributions(nlp("The horse raced past the barn"), "HuggingFaceTB/"
                              "SmolLM2-135M-Instruct", target=next_word("was"))
        result.sentences[0].values  # one number per word; they sum to f(x) − f(0)

    Args:
        doc: a spaCy Doc with sentence boundaries; each sentence is explained alone.
        model: a hub id, local path or :class:`~trfviz.loading.LoadedModel`.
        target: what to explain, see :mod:`trfviz.measures.targets`
            (:func:`~trfviz.measures.targets.next_word`, ``Continuation``,
            ``Similarity``, ``MaskedWord``), or any callable taking the model's
            output and returning a ``[batch]`` tensor.
        method: ``"integrated_gradients"`` (default), ``"input_x_gradient"`` or ``"saliency"``.
        n_steps: integration points of integrated gradients.
        special_tokens: ``"keep"`` special pieces as pseudo-tokens after the words,
            or ``"drop"`` them (held at their embeddings, attribution 0).
        keep_pieces: also keep the attributions over wordpieces (``piece_values``).
        max_length: most wordpieces per sentence, as for :func:`trfviz.extract`.
        progress: a progress bar over sentences (default: when there are several).

    Raises:
        TypeError, ValueError: a bad Doc or option; ValueError also for a target
            the model cannot answer (next word on an encoder, a masked word on a
            causal model or on a checkpoint without a masked-LM head).
        MissingDependencyError: Captum is not installed (``pip install 'trfviz[measures]'``).
    """
    check_choice("method", method, ATTRIBUTION_METHODS)
    check_int("n_steps", n_steps, minimum=1)
    check_choice("special_tokens", special_tokens, SPECIAL_TOKEN_MODES)
    check_bool("keep_pieces", keep_pieces)
    if progress is not None:
        check_bool("progress", progress)
    target = _as_target(target)
    require("captum", extra="measures")
    loaded, encoded, _ = encode_doc(doc, model, max_length)
    bar = None
    if progress or (progress is None and len(encoded) > 1):
        from tqdm.auto import tqdm

        bar = tqdm(total=len(encoded), desc=f"attributions {loaded.name}", unit="sent")
    sentences = []
    try:
        for sentence in encoded:
            objective = target.objective(loaded, sentence)
            fixed = objective.fixed.copy()
            if special_tokens == "drop":
                fixed |= sentence.alignment.special
            pieces, delta = piece_attributions(objective, method, n_steps=n_steps, fixed=fixed)
            _, keys = attention_weights(sentence.alignment, special_tokens=special_tokens)
            values = keys.astype(np.float64) @ pieces
            special = np.flatnonzero(sentence.alignment.special)
            sentences.append(
                SentenceMeasure(
                    start=sentence.start,
                    tokens=sentence.tokens,
                    pieces=sentence.pieces,
                    alignment=sentence.alignment,
                    values=values.astype(np.float32),
                    piece_values=pieces.astype(np.float32) if keep_pieces else None,
                    special_labels=(
                        tuple(sentence.pieces[p] for p in special)
                        if special_tokens == "keep"
                        else ()
                    ),
                    truncated=sentence.truncated,
                    convergence_delta=delta,
                )
            )
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    options: dict[str, object] = {
        "target": repr(target),
        "method": method,
        "n_steps": n_steps if method == "integrated_gradients" else None,
        "baseline": "zeros",
        "special_tokens": special_tokens,
    }
    return MeasureExtraction(
        measure="attributions",
        model=loaded.name,
        revision=loaded.revision,
        text=doc.text,
        sentences=tuple(sentences),
        options=tuple(options.items()),
    )


def piece_attributions(
    objective: Objective,
    method: AttributionMethod = "integrated_gradients",
    *,
    n_steps: int = 50,
    fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, float | None]:
    """float64 ``[n_pieces]`` attributions of the objective's sentence pieces, and IG's delta.

    ``fixed`` (bool ``[n_pieces]``, default ``objective.fixed``) marks pieces
    that are not attributed: integrated gradients keeps them at their embedding
    in the baseline, the other methods give them 0. The delta is Captum's
    ``Σ attributions − (f(e) − f(b))`` for integrated gradients, else None.
    """
    import torch

    attr = require("captum.attr", extra="measures")
    check_choice("method", method, ATTRIBUTION_METHODS)
    n = objective.n_pieces
    held = objective.fixed if fixed is None else np.asarray(fixed, dtype=bool)
    model = objective.model
    embedding = model.get_input_embeddings()
    ids = torch.as_tensor(objective.input_ids, device=embedding.weight.device)[None]
    with torch.no_grad():
        embeds = embedding(ids)
    inputs = embeds[:, :n].detach().clone().requires_grad_(True)
    appended = embeds[:, n:].detach()

    def forward(x: torch.Tensor) -> torch.Tensor:
        full = torch.cat([x, appended.expand(x.shape[0], -1, -1)], dim=1)
        return objective.score(full)

    keep = torch.as_tensor(~held, device=inputs.device)[None, :, None]
    delta: float | None = None
    if method == "integrated_gradients":
        baseline = torch.where(keep, torch.zeros_like(inputs), inputs)
        batch = max(1, STEP_POSITIONS // max(1, embeds.shape[1]))
        result, deltas = attr.IntegratedGradients(forward).attribute(
            inputs,
            baselines=baseline,
            n_steps=n_steps,
            internal_batch_size=batch,
            return_convergence_delta=True,
        )
        delta = float(deltas.sum())
    elif method == "input_x_gradient":
        result = attr.InputXGradient(forward).attribute(inputs)
    else:
        result = attr.Saliency(forward).attribute(inputs, abs=True)
    result = torch.where(keep, result, torch.zeros_like(result))
    return result[0].sum(dim=-1).detach().double().cpu().numpy(), delta


def _as_target(target: object) -> Target:
    if hasattr(target, "objective"):
        return target
    if callable(target):
        return OutputFunction(target)
    raise TypeError(
        "target must be a trfviz.measures target (next_word('was'), Continuation, Similarity, "
        f"MaskedWord) or a function of the model's output; got {type(target).__name__} {target!r}"
    )
