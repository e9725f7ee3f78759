"""Corpus checkpoints: the running totals saved atomically, restored only into the same run.

A checkpoint is a pickle of the reducers merged so far, with what the run was
(models, reducer types, extraction options, chunk size) and how far it got.
Saving is atomic (:func:`trfviz.atomic.atomic_writer`: a temporary file,
fsynced, renamed over the old one), so a process killed at any moment leaves
the previous checkpoint whole. Restoring refuses a checkpoint of another run
or of another version of trfviz. Unpickling runs code chosen by whoever wrote
the file: **load only checkpoints you wrote yourself**.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trfviz.atomic import atomic_writer

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "State", "resume_message"]

CHECKPOINT_FORMAT = "trfviz.corpus-checkpoint"
#: 3: the analysis modules moved into packages (trfviz.analysis.syntax.relations, ...).
CHECKPOINT_VERSION = 3


@dataclass
class State:
    """The running totals: the caller's reducers, merged into chunk by chunk."""

    reducers: list[Any]
    n_docs: int
    n_sentences: int

    def add(self, chunk_reducers: Sequence[Any], n_docs: int, n_sentences: int) -> None:
        for total, part in zip(self.reducers, chunk_reducers, strict=True):
            total.merge(part)
        self.n_docs += n_docs
        self.n_sentences += n_sentences

    def save(self, path: Path, config: dict[str, Any], chunk_size: int) -> None:
        """Pickle the totals to ``path`` atomically: a killed process leaves the old file."""
        payload = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": config,
            "chunk_size": chunk_size,
            "n_docs": self.n_docs,
            "n_sentences": self.n_sentences,
            "reducers": self.reducers,
        }
        with atomic_writer(path) as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, path: Path, config: dict[str, Any], chunk_size: int | None) -> int:
        """Merge the checkpoint's totals in; the checkpoint's chunk size.

        The file is unpickled, which runs code of its writer's choosing: the
        caller's own checkpoints only (see the module docs).
        """
        try:
            with open(path, "rb") as handle:
                payload = pickle.load(handle)  # the caller's own checkpoint only
        except (ModuleNotFoundError, AttributeError) as error:
            raise ValueError(
                f"the checkpoint {path} holds objects this version of trfviz does not have "
                f"({error}); it was written by another version: delete it or pass another path"
            ) from error
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a trfviz corpus checkpoint")
        if payload.get("version") != CHECKPOINT_VERSION:
            raise ValueError(
                f"the checkpoint {path} was written by another version of trfviz (format "
                f"{payload.get('version')}, this one reads {CHECKPOINT_VERSION}); delete it "
                "or pass another path"
            )
        if payload.get("config") != config:
            raise ValueError(
                f"the checkpoint {path} was written by a different run "
                f"({payload.get('config')}, this run: {config}); delete it or pass another path"
            )
        saved_chunk_size = int(payload["chunk_size"])
        if chunk_size is not None and chunk_size != saved_chunk_size:
            raise ValueError(
                f"the checkpoint {path} was written with chunk_size={saved_chunk_size}, this "
                f"run asks for {chunk_size}: pass chunk_size={saved_chunk_size} (or leave it "
                "out) to resume; chunks set how sums are grouped, so another size would not "
                "give the uninterrupted result"
            )
        self.add(payload["reducers"], payload["n_docs"], payload["n_sentences"])
        return saved_chunk_size


def resume_message(
    path: Path | None,
    saved: int,
    done: int,
    *,
    models: Sequence[str],
    reducers: Sequence[Any],
    chunk_size: int,
    client: Any,
    others: Mapping[str, tuple[Any, Any]],
) -> str:
    """What to tell someone who pressed Ctrl-C: what is saved and the call that resumes."""
    if path is None:
        return (
            f"run_corpus was interrupted after {done} documents; nothing was saved because no "
            "checkpoint was given. Pass checkpoint='corpus-checkpoint.pkl' (any file path) to "
            "be able to resume an interrupted run."
        )
    arguments = [
        "documents",
        "reducers",
        f"models={models[0]!r}" if len(models) == 1 else f"models={list(models)!r}",
        f"checkpoint={str(path)!r}",
        f"chunk_size={chunk_size}",
    ]
    if client is not None:
        arguments.append("client=client")
    for name, (value, default) in others.items():
        if value is default or (isinstance(value, (str, int)) and value == default):
            continue
        if isinstance(value, (str, int)):
            arguments.append(f"{name}={value!r}")
        else:  # a function by its name; a loaded pipeline or other object by a placeholder
            arguments.append(f"{name}={getattr(value, '__name__', '...')}")
    kinds = ", ".join(type(r).__name__ for r in reducers)
    held = f"the first {saved} documents" if saved else "no documents yet"
    return (
        f"run_corpus was interrupted after {done} documents; the checkpoint {path} holds "
        f"{held}. To resume, call\n\n    run_corpus({', '.join(arguments)})\n\n"
        f"with the same documents and new, unused reducers ({kinds}) made with the same "
        "settings (the ones passed to this run hold a partial result); it skips the "
        f"{saved} saved documents and gives the result of one uninterrupted run."
    )
