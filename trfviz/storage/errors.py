"""What can be wrong with a stored extraction: the two errors the reader raises."""

from __future__ import annotations

__all__ = ["CorruptExtractionError", "UnsafeExtractionError"]


class CorruptExtractionError(ValueError):
    """A stored extraction is truncated, altered, or not an extraction file."""


class UnsafeExtractionError(CorruptExtractionError):
    """A stored extraction holds what a safe reader must refuse.

    Path traversal in member names, compressed members (zip bombs), or arrays
    of object dtype (pickles): signs of a crafted file rather than of damage.
    """
