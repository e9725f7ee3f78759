"""Gold dependency trees from CoNLL-U files (Universal Dependencies) as spaCy Docs.

Each sentence becomes one ``Doc`` holding its gold words, heads, relations,
UPOS (``pos_``), XPOS (``tag_``), lemmas and features (``morph``), with the
sentence boundary set, so that :func:`trfviz.parse.parse_doc` and
:func:`trfviz.extract` treat it like a parsed Doc.

Conventions:

- **Multiword tokens** (``3-4  don't`` over ``3 do`` and ``4 n't``): the
  syntactic words are the Doc's tokens, since heads and relations are given
  for them. Where the words spell out the surface form ("do" + "n't", true of
  every multiword token of English EWT) they are joined without a space, so
  ``doc.text`` is the sentence's text; where they do not (French "du" = "de"
  "le") they are separated by spaces, so a model reads the words themselves
  ("de le"). The space after the last word follows the multiword token's
  ``SpaceAfter``. The original sentence is kept in
  ``doc.user_data["conllu"]["text"]`` and the multiword tokens in
  ``doc.user_data["conllu"]["multiword_tokens"]`` as ``[start, end, form]``
  (token indices, end exclusive).
- **Spaces** come from ``SpaceAfter=No`` in MISC (``SpacesAfter=...`` counts as
  a space unless it is empty); the sentence's last token has no trailing space,
  so ``doc.text`` matches the ``# text`` comment.
- **Empty nodes** (decimal ids such as ``8.1``, enhanced dependencies only) are
  skipped; the basic tree never points at them.
- **The root** is a token whose head is itself, with its relation as written
  (``root`` in UD, not spaCy's ``ROOT``).
- A sentence without heads (``_`` in HEAD) gets no parse, only its boundary.
- The comment lines (``sent_id``, ``text``, ``newdoc id`` ...) are kept in
  ``doc.user_data["conllu"]["metadata"]``.

Example
-------
>>> docs = parse_conllu('''# text = I don't know.
... 1\\tI\\tI\\tPRON\\tPRP\\t_\\t4\\tnsubj\\t_\\t_
... 2-3\\tdon't\\t_\\t_\\t_\\t_\\t_\\t_\\t_\\t_
... 2\\tdo\\tdo\\tAUX\\tVBP\\t_\\t4\\taux\\t_\\t_
... 3\\tn't\\tnot\\tPART\\tRB\\t_\\t4\\tadvmod\\t_\\t_
... 4\\tknow\\tknow\\tVERB\\tVB\\t_\\t0\\troot\\t_\\tSpaceAfter=No
... 5\\t.\\t.\\tPUNCT\\t.\\t_\\t4\\tpunct\\t_\\t_
... ''')
>>> doc = docs[0]
>>> doc.text, [t.text for t in doc]
("I don't know.", ['I', 'do', "n't", 'know', '.'])
>>> [(t.text, t.head.text, t.dep_) for t in doc][:2]
[('I', 'know', 'nsubj'), ('do', 'know', 'aux')]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

__all__ = ["ConlluFormatError", "doc_from_conllu", "iter_conllu", "parse_conllu", "read_conllu"]


def read_conllu(
    path: str | os.PathLike[str], vocab: Vocab | None = None, *, limit: int | None = None
) -> list[Doc]:
    """One gold-parsed ``Doc`` per sentence of the CoNLL-U file at ``path``.

    Args:
        path: a ``.conllu`` file (UTF-8).
        vocab: the vocabulary the Docs share; a new blank one by default. Pass
            ``nlp.vocab`` to run a pipeline's components on the Docs.
        limit: read at most this many sentences.
    """
    return list(iter_conllu(path, vocab, limit=limit))


def iter_conllu(
    path: str | os.PathLike[str], vocab: Vocab | None = None, *, limit: int | None = None
) -> Iterator[Doc]:
    """Stream one gold-parsed ``Doc`` per sentence of a CoNLL-U file (see :func:`read_conllu`).

    Raises:
        ConlluFormatError: a malformed line; the message names the file and line.
    """
    vocab = _vocab(vocab)
    with open(path, encoding="utf-8") as handle:
        docs = _docs(handle, vocab, str(path))
        for count, doc in enumerate(docs):
            if limit is not None and count >= limit:
                return
            yield doc


def parse_conllu(text: str, vocab: Vocab | None = None) -> list[Doc]:
    """One gold-parsed ``Doc`` per sentence of CoNLL-U ``text`` (see :func:`read_conllu`)."""
    if not isinstance(text, str):
        raise TypeError(f"parse_conllu takes CoNLL-U text (a str); got {type(text).__name__}")
    return list(_docs(text.splitlines(), _vocab(vocab), "CoNLL-U text"))


class ConlluFormatError(ValueError):
    """A CoNLL-U line that cannot be read; the message says where (file, line) and why."""


def _docs(lines: Iterable[str], vocab: Vocab, source: str) -> Iterator[Doc]:
    """The Doc of each sentence block of ``lines``, its token lines checked first."""
    import conllu

    for start, block in _blocks(lines, source):
        try:
            sentences = conllu.parse(block)
        except conllu.exceptions.ParseException as error:
            raise ConlluFormatError(f"{source}, sentence at line {start}: {error}") from None
        for sentence in sentences:
            try:
                yield doc_from_conllu(sentence, vocab)
            except ValueError as error:
                raise ConlluFormatError(f"{source}, sentence at line {start}: {error}") from None


def _blocks(lines: Iterable[str], source: str) -> Iterator[tuple[int, str]]:
    """``(first line number, text)`` of each blank-line separated sentence, after checking it."""
    block: list[str] = []
    start = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            if block:
                yield start, _checked(block, start, source)
                block = []
            continue
        if not block:
            start = number
        block.append(line)
    if block:
        yield start, _checked(block, start, source)


def _checked(block: list[str], start: int, source: str) -> str:
    """``block`` as text, or a :class:`ConlluFormatError` naming the first bad line."""
    words = 0
    heads: list[tuple[int, int]] = []  # (line number, head)
    ranges: list[tuple[int, int, int]] = []  # (line number, first word, last word)
    for offset, line in enumerate(block):
        number = start + offset

        def fail(problem: str, number: int = number) -> ConlluFormatError:
            return ConlluFormatError(f"{source}, line {number}: {problem}")

        if line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) != 10:
            raise fail(
                f"{len(columns)} column(s); a CoNLL-U token line has 10 separated by tabs "
                "(ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC)"
            )
        token_id, head = columns[0], columns[6]
        if "-" in token_id:
            low, _, high = token_id.partition("-")
            if not (low.isdigit() and high.isdigit()) or not 0 < int(low) < int(high):
                raise fail(f"multiword token id {token_id!r} must be a range such as 3-4")
            ranges.append((number, int(low), int(high)))
            continue
        if "." in token_id:
            whole, _, part = token_id.partition(".")
            if not (whole.isdigit() and part.isdigit()):
                raise fail(f"empty node id {token_id!r} must be a decimal such as 8.1")
            continue
        if not token_id.isdigit():
            raise fail(f"token id {token_id!r} is not a whole number")
        if int(token_id) != words + 1:
            raise fail(f"token ids must run 1, 2, 3, ...; found {token_id} after {words}")
        words += 1
        if head != "_":
            if not head.isdigit():
                raise fail(f"HEAD {head!r} is not a whole number (or _)")
            heads.append((number, int(head)))
    for line_number, head_id in heads:
        if head_id > words:
            raise ConlluFormatError(
                f"{source}, line {line_number}: HEAD {head_id} points outside the sentence's "
                f"{words} word(s)"
            )
    for line_number, first, last in ranges:
        if last > words:
            raise ConlluFormatError(
                f"{source}, line {line_number}: multiword token {first}-{last} goes past the "
                f"sentence's {words} word(s)"
            )
    return "\n".join(block) + "\n\n"


def doc_from_conllu(sentence: Iterable[dict[str, Any]], vocab: Vocab | None = None) -> Doc:
    """The ``Doc`` of one sentence given as a ``conllu.TokenList`` (or a list of token dicts).

    Each token dict has the keys of the ``conllu`` package: ``id`` (an int, a
    ``(start, "-", end)`` range for a multiword token, or ``(i, ".", j)`` for an
    empty node), ``form``, ``lemma``, ``upos``, ``xpos``, ``feats``, ``head``,
    ``deprel``, ``misc``.
    """
    from spacy.tokens import Doc

    vocab = _vocab(vocab)
    words: list[str] = []
    spaces: list[bool] = []
    lemmas: list[str] = []
    upos: list[str] = []
    xpos: list[str] = []
    morphs: list[str] = []
    heads: list[int | None] = []
    deps: list[str] = []
    multiword: list[list[Any]] = []
    mwt_end = 0  # last word id of the multiword token being read, 0 if none
    mwt_space = True
    for token in sentence:
        token_id = token["id"]
        if isinstance(token_id, tuple):
            if token_id[1] == "-":
                start, end = int(token_id[0]), int(token_id[2])
                mwt_end, mwt_space = end, _space_after(token.get("misc"))
                multiword.append([start - 1, end, token["form"]])
            # Empty nodes ("8.1") belong to enhanced dependencies only: skipped.
            continue
        word_id = int(token_id)
        if len(words) != word_id - 1:
            raise ValueError(f"word ids must run 1, 2, 3, ...; found {word_id} after {len(words)}")
        words.append(token["form"])
        if mwt_end and word_id < mwt_end:
            spaces.append(False)
        elif mwt_end and word_id == mwt_end:
            spaces.append(mwt_space)
            mwt_end = 0
        else:
            spaces.append(_space_after(token.get("misc")))
        lemmas.append(_field(token.get("lemma")))
        upos.append(_field(token.get("upos")))
        xpos.append(_field(token.get("xpos")))
        morphs.append(_feats(token.get("feats")))
        head = token.get("head")
        heads.append(None if head is None or head == "_" else int(head))
        deps.append(_field(token.get("deprel")))
    for i, head in enumerate(heads):
        if head is not None and not 0 <= head <= len(words):
            raise ValueError(
                f"word {i + 1} has HEAD {head}, outside the sentence's {len(words)} word(s)"
            )
    for start, end, form in multiword:
        if not 0 <= start < end <= len(words):
            raise ValueError(
                f"multiword token {start + 1}-{end} {form!r} is outside the sentence's "
                f"{len(words)} word(s)"
            )
    for start, end, form in multiword:
        if "".join(words[start:end]) != form:
            spaces[start : end - 1] = [True] * (end - 1 - start)
    if spaces:
        spaces[-1] = False
    metadata = dict(getattr(sentence, "metadata", None) or {})
    parsed = bool(words) and all(h is not None for h in heads)
    kwargs: dict[str, Any] = {
        "words": words,
        "spaces": spaces,
        "lemmas": lemmas,
        "pos": [p or None for p in upos] if any(upos) else None,
        "tags": xpos if any(xpos) else None,
        "morphs": morphs,
        "sent_starts": [i == 0 for i in range(len(words))],
    }
    if parsed:
        # CoNLL-U heads are 1-based with 0 for the root; spaCy's are 0-based, the root its own.
        kwargs["heads"] = [i if not h else h - 1 for i, h in enumerate(heads)]
        kwargs["deps"] = deps
    doc = Doc(vocab, **kwargs)
    doc.user_data["conllu"] = {
        "metadata": metadata,
        "text": metadata.get("text", doc.text),
        "multiword_tokens": multiword,
    }
    return doc


def _vocab(vocab: Vocab | None) -> Vocab:
    if vocab is not None:
        return vocab
    from spacy.vocab import Vocab

    return Vocab()


def _field(value: Any) -> str:
    return "" if value is None or value == "_" else str(value)


def _feats(feats: Any) -> str:
    if not feats:
        return ""
    if isinstance(feats, dict):
        return "|".join(f"{key}={value}" for key, value in feats.items())
    return str(feats)


def _space_after(misc: Any) -> bool:
    if not misc:
        return True
    if misc.get("SpaceAfter") == "No":
        return False
    if "SpacesAfter" in misc:
        return bool(misc["SpacesAfter"]) and misc["SpacesAfter"] != "_"
    return True
