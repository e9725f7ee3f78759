"""The torch device a model is loaded onto: the one asked for, checked, or the default.

Shared by :func:`~trfviz.loading.load_model` and
:func:`~trfviz.loading.seq2seq.load_seq2seq_model`, so both choose and refuse
devices the same way.
"""

from __future__ import annotations

__all__ = ["checked_device"]


def checked_device(device: str | None) -> str:
    """``device`` if torch knows it; by default CUDA when available, else CPU.

    Raises:
        ValueError: torch does not know the device (``"gpu"``, ``"cuda:x"``).
    """
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"unknown device {device!r}: {error}") from None
    return device
