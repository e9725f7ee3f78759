"""Structural probes (Hewitt & Manning 2019): a linear map under which geometry is syntax.

The **distance probe** learns ``B`` (``rank × dim``) so that the squared
distance ``‖B(h_i − h_j)‖²`` between two words' states approximates their
path distance in the dependency tree; the **depth probe** learns ``B`` so that
``‖B h_i‖²`` approximates word ``i``'s depth. Both are trained as in the
paper's released code: L1 loss between predicted and gold values, averaged
per sentence over its ``n²`` pairs (``n`` words for depth), Adam, early stopping
on the dev split's loss. States are first divided by each dimension's root mean
square over the training words, times ``√dim`` (so a typical state has norm 1),
which keeps the probe linear (no centring, so depth stays ``‖B h‖²``), stops a
few huge dimensions (decoder models have them) from dominating, and lets one
learning rate serve models of any width.

The scores (:mod:`~trfviz.analysis.probes.scores`) follow the paper: UUAS of the
predicted minimum spanning tree and root accuracy leave punctuation out;
Spearman correlations are averaged per sentence length over lengths 5–50.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from trfviz.validation import check_choice, check_int

if TYPE_CHECKING:
    import torch

__all__ = ["KINDS", "StructuralKind", "StructuralProbe", "fit_structural_probe"]

StructuralKind = Literal["distance", "depth"]
KINDS: tuple[StructuralKind, ...] = ("distance", "depth")


@dataclass(frozen=True)
class StructuralProbe:
    """A trained structural probe.

    Attributes:
        kind: ``"distance"`` or ``"depth"``.
        matrix: float32 ``[rank, dim]``: the learned map, the input scaling folded in.
        epochs: epochs trained (early stopping included).
        dev_loss: the best dev loss (per-sentence mean absolute error).
    """

    kind: StructuralKind
    matrix: np.ndarray
    epochs: int
    dev_loss: float

    def predict(self, states: np.ndarray) -> np.ndarray:
        """float64 ``[n, n]`` squared distances (distance probe) or ``[n]`` squared norms (depth).

        ``states`` is float ``[n, dim]``, one sentence at one layer.
        """
        projected = np.asarray(states, dtype=np.float64) @ self.matrix.T.astype(np.float64)
        if self.kind == "depth":
            return np.einsum("ir,ir->i", projected, projected)
        diff = projected[:, None, :] - projected[None, :, :]
        return np.einsum("ijr,ijr->ij", diff, diff)


def fit_structural_probe(
    kind: StructuralKind,
    states: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    *,
    train: np.ndarray,
    dev: np.ndarray,
    rank: int = 64,
    max_epochs: int = 20,
    patience: int = 3,
    batch_size: int = 20,
    learning_rate: float = 1e-2,
    seed: int = 0,
) -> StructuralProbe:
    """Train a distance or depth probe on one layer's states.

    Args:
        kind: ``"distance"`` (targets: ``[n, n]`` path distances) or ``"depth"``
            (targets: ``[n]`` depths).
        states: per sentence, float ``[n, dim]``.
        targets: per sentence, the gold values.
        train: indices of the training sentences.
        dev: indices of the sentences whose loss stops training (none: train
            ``max_epochs`` epochs).
        rank: rows of the map (at most ``dim`` are useful).
        max_epochs: the most passes over the training sentences.
        patience: epochs without a better dev loss before stopping.
        batch_size: sentences per optimiser step.
        learning_rate: Adam's learning rate.
        seed: seeds the initial map and the order of the batches.
    """
    import torch

    check_choice("kind", kind, KINDS)
    check_int("rank", rank, minimum=1)
    check_int("max_epochs", max_epochs, minimum=1)
    check_int("patience", patience, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    if len(states) != len(targets):
        raise ValueError(f"{len(states)} state arrays for {len(targets)} targets")
    if len(train) == 0:
        raise ValueError("no training sentences")
    dim = int(states[0].shape[1])
    train_rows = np.concatenate([np.asarray(states[i], dtype=np.float64) for i in train])
    scale = np.sqrt((train_rows**2).mean(axis=0))
    scale[scale == 0] = 1.0
    scale *= np.sqrt(dim)
    inverse = torch.as_tensor(1.0 / scale, dtype=torch.float32)

    generator = torch.Generator().manual_seed(seed)
    matrix = torch.nn.Parameter((torch.rand(rank, dim, generator=generator) - 0.5) * 0.1)
    optimizer = torch.optim.Adam([matrix], lr=learning_rate)
    train_batches = _batches(kind, states, targets, train, batch_size, inverse)
    dev_batches = _batches(kind, states, targets, dev, batch_size, inverse)
    order_rng = np.random.default_rng(seed)
    best_loss, best_matrix, stale, epochs = np.inf, matrix.detach().clone(), 0, 0
    with torch.enable_grad():
        for epoch in range(1, max_epochs + 1):
            epochs = epoch
            for index in order_rng.permutation(len(train_batches)):
                optimizer.zero_grad()
                loss = _loss(kind, matrix, *train_batches[index])
                loss.backward()
                optimizer.step()
            if not dev_batches:
                best_matrix = matrix.detach().clone()
                continue
            with torch.no_grad():
                sizes = [len(batch[2]) for batch in dev_batches]
                losses = [float(_loss(kind, matrix, *batch)) for batch in dev_batches]
                dev_loss = float(np.average(losses, weights=sizes))
            if dev_loss < best_loss - 1e-6:
                best_loss, best_matrix, stale = dev_loss, matrix.detach().clone(), 0
            else:
                stale += 1
                if stale >= patience:
                    break
    folded = (best_matrix * inverse[None, :]).numpy().astype(np.float32)
    return StructuralProbe(kind, folded, epochs, float(best_loss))


def _batches(
    kind: StructuralKind,
    states: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    indices: np.ndarray,
    batch_size: int,
    inverse: torch.Tensor,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Padded ``(states, targets, lengths)`` tensors, sentences of similar length together."""
    import torch

    indices = np.asarray(indices, dtype=np.int64)
    by_length = indices[np.argsort([states[i].shape[0] for i in indices], kind="stable")]
    out = []
    for start in range(0, len(by_length), batch_size):
        chunk = by_length[start : start + batch_size]
        longest = max(states[i].shape[0] for i in chunk)
        x = torch.zeros(len(chunk), longest, states[chunk[0]].shape[1])
        shape = (len(chunk), longest, longest) if kind == "distance" else (len(chunk), longest)
        y = torch.zeros(shape)
        lengths = torch.zeros(len(chunk))
        for row, i in enumerate(chunk):
            n = states[i].shape[0]
            x[row, :n] = torch.as_tensor(states[i], dtype=torch.float32) * inverse
            if kind == "distance":
                y[row, :n, :n] = torch.as_tensor(targets[i], dtype=torch.float32)
            else:
                y[row, :n] = torch.as_tensor(targets[i], dtype=torch.float32)
            lengths[row] = n
        out.append((x, y, lengths))
    return out


def _loss(
    kind: StructuralKind,
    matrix: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    lengths: torch.Tensor,
) -> torch.Tensor:
    """The paper's L1 loss: per sentence, mean absolute error over its pairs (or words)."""
    import torch

    projected = x @ matrix.T  # [batch, n, rank]
    positions = torch.arange(x.shape[1])
    valid = positions[None, :] < lengths[:, None]  # [batch, n]
    if kind == "distance":
        norms = (projected**2).sum(-1)
        gram = projected @ projected.transpose(1, 2)
        predicted = norms[:, :, None] + norms[:, None, :] - 2 * gram
        mask = valid[:, :, None] & valid[:, None, :]
        per_sentence = ((predicted - y).abs() * mask).sum((1, 2)) / lengths**2
    else:
        predicted = (projected**2).sum(-1)
        per_sentence = ((predicted - y).abs() * valid).sum(1) / lengths
    return per_sentence.mean()
