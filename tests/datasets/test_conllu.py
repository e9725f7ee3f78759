"""Gold CoNLL-U trees as spaCy Docs: multiword tokens, spaces, empty nodes, the EWT dev file."""

from __future__ import annotations

import re

import pytest
from spacy.vocab import Vocab

from trfviz.datasets import ud_english_ewt_path
from trfviz.datasets.conllu import iter_conllu, parse_conllu, read_conllu
from trfviz.parse import parse_doc


def _row(*fields: str) -> str:
    return "\t".join(fields)


# "They didn't go, but we're here." with two multiword tokens and an empty node.
SNIPPET = "\n".join(
    [
        "# sent_id = s1",
        "# text = They didn't go, but we're here.",
        _row("1", "They", "they", "PRON", "PRP", "Case=Nom|Number=Plur", "4", "nsubj", "_", "_"),
        _row("2-3", "didn't", "_", "_", "_", "_", "_", "_", "_", "_"),
        _row("2", "did", "do", "AUX", "VBD", "Tense=Past", "4", "aux", "_", "_"),
        _row("3", "n't", "not", "PART", "RB", "_", "4", "advmod", "_", "_"),
        _row("4", "go", "go", "VERB", "VB", "VerbForm=Inf", "0", "root", "_", "SpaceAfter=No"),
        _row("4.1", "go", "go", "VERB", "VB", "_", "_", "_", "4:conj", "CopyOf=4"),
        _row("5", ",", ",", "PUNCT", ",", "_", "10", "punct", "_", "_"),
        _row("6", "but", "but", "CCONJ", "CC", "_", "10", "cc", "_", "_"),
        _row("7-8", "we're", "_", "_", "_", "_", "_", "_", "_", "_"),
        _row("7", "we", "we", "PRON", "PRP", "_", "10", "nsubj", "_", "_"),
        _row("8", "'re", "be", "AUX", "VBP", "_", "10", "cop", "_", "_"),
        _row("9", "here", "here", "ADV", "RB", "_", "10", "advmod", "_", "_"),
        _row("10", "there", "there", "ADV", "RB", "_", "4", "conj", "_", "SpaceAfter=No"),
        _row("11", ".", ".", "PUNCT", ".", "_", "4", "punct", "_", "_"),
        "",
    ]
)


def test_multiword_tokens_become_their_syntactic_words() -> None:
    (doc,) = parse_conllu(SNIPPET)
    words = ["They", "did", "n't", "go", ",", "but", "we", "'re", "here", "there", "."]
    assert [t.text for t in doc] == words
    # Words of one multiword token are glued; SpaceAfter=No is honoured; no trailing space.
    assert doc.text == "They didn't go, but we're here there."
    assert [t.whitespace_ for t in doc][1:3] == ["", " "]
    assert doc.user_data["conllu"]["multiword_tokens"] == [[1, 3, "didn't"], [6, 8, "we're"]]
    assert doc.user_data["conllu"]["metadata"]["sent_id"] == "s1"


def test_heads_relations_and_tags_are_the_gold_ones() -> None:
    (doc,) = parse_conllu(SNIPPET)
    heads = {t.text: t.head.text for t in doc}
    assert heads["They"] == "go" and heads["n't"] == "go" and heads["we"] == "there"
    assert doc[3].head.i == 3 and doc[3].dep_ == "root"  # the root is its own head
    assert [t.dep_ for t in doc][:4] == ["nsubj", "aux", "advmod", "root"]
    assert doc[1].pos_ == "AUX" and doc[1].tag_ == "VBD" and doc[1].lemma_ == "do"
    assert str(doc[0].morph) == "Case=Nom|Number=Plur"
    assert len(list(doc.sents)) == 1


def test_empty_nodes_are_skipped() -> None:
    (doc,) = parse_conllu(SNIPPET)
    assert len(doc) == 11
    assert sum(t.text == "go" for t in doc) == 1


def test_parse_of_the_doc_has_one_arc_per_non_root_word() -> None:
    (doc,) = parse_conllu(SNIPPET)
    (parse,) = parse_doc(doc)
    assert len(parse.arcs) == len(doc) - 1
    arc = next(a for a in parse.arcs if a.label == "cop")
    assert (parse.words[arc.dependent], parse.words[arc.head]) == ("'re", "there")


def test_words_that_do_not_spell_the_surface_form_are_spaced() -> None:
    text = "\n".join(
        [
            "# text = Il parle du livre.",
            _row("1", "Il", "il", "PRON", "_", "_", "2", "nsubj", "_", "_"),
            _row("2", "parle", "parler", "VERB", "_", "_", "0", "root", "_", "_"),
            _row("3-4", "du", "_", "_", "_", "_", "_", "_", "_", "_"),
            _row("3", "de", "de", "ADP", "_", "_", "5", "case", "_", "_"),
            _row("4", "le", "le", "DET", "_", "_", "5", "det", "_", "_"),
            _row("5", "livre", "livre", "NOUN", "_", "_", "2", "obl", "_", "SpaceAfter=No"),
            _row("6", ".", ".", "PUNCT", "_", "_", "2", "punct", "_", "_"),
            "",
        ]
    )
    (doc,) = parse_conllu(text)
    assert doc.text == "Il parle de le livre."
    assert doc.user_data["conllu"]["text"] == "Il parle du livre."
    assert doc[2].head.text == "livre" and doc[2].tag_ == ""


def test_sentence_without_heads_gets_a_boundary_but_no_parse() -> None:
    text = "\n".join(
        [
            _row("1", "Hello", "_", "_", "_", "_", "_", "_", "_", "_"),
            _row("2", "world", "_", "_", "_", "_", "_", "_", "_", "_"),
            "",
        ]
    )
    (doc,) = parse_conllu(text)
    assert [t.text for t in doc] == ["Hello", "world"]
    assert not doc.has_annotation("DEP")
    assert doc[0].is_sent_start
    assert parse_doc(doc)[0].arcs == ()


def test_docs_share_the_vocab_given(tmp_path) -> None:
    path = tmp_path / "two.conllu"
    path.write_text(SNIPPET + "\n" + SNIPPET, encoding="utf-8")
    vocab = Vocab()
    docs = read_conllu(path, vocab)
    assert len(docs) == 2 and all(doc.vocab is vocab for doc in docs)
    assert len(read_conllu(path, limit=1)) == 1
    assert [d.text for d in iter_conllu(path)] == [d.text for d in docs]


@pytest.fixture(scope="module")
def ewt_path():
    return ud_english_ewt_path("dev")


def _plain_rows(path) -> list[list[list[str]]]:
    """Sentences as lists of word rows, read without the conllu package."""
    sentences: list[list[list[str]]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line:
            if sentences[-1]:
                sentences.append([])
        elif re.match(r"^\d+\t", line):
            sentences[-1].append(line.split("\t"))
    return [s for s in sentences if s]


def test_ewt_dev_reads_every_sentence_with_its_text_and_tree(ewt_path) -> None:
    docs = read_conllu(ewt_path)
    rows = _plain_rows(ewt_path)
    texts = [
        line[len("# text = ") :]
        for line in ewt_path.read_text(encoding="utf-8").splitlines()
        if line.startswith("# text = ")
    ]
    assert len(docs) == len(rows) == len(texts) == 2001
    for doc, sentence, text in zip(docs, rows, texts, strict=True):
        assert doc.text == text
        assert [t.text for t in doc] == [r[1] for r in sentence]
        gold_heads = [int(r[6]) for r in sentence]
        assert [0 if t.head.i == t.i else t.head.i + 1 for t in doc] == gold_heads
        assert [t.dep_ for t in doc] == [r[7] for r in sentence]
