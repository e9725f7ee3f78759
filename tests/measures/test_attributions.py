"""Gradient attributions: exact identities on hand-made objectives, completeness on real models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests._shared import minilm, nlp, smollm
from tests.tokenizer_fixtures import CORPUS
from trfviz.loading import LoadedModel
from trfviz.measures import (
    MaskedWord,
    Objective,
    OutputFunction,
    Similarity,
    attributions,
    next_word,
    piece_attributions,
)


class _Embedder(torch.nn.Module):
    """Just an embedding table: ``get_input_embeddings`` for a hand-made objective."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding.from_pretrained(weight)

    def get_input_embeddings(self) -> torch.nn.Embedding:
        return self.embedding


def _quadratic(seed: int, n: int = 5, dim: int = 4, n_appended: int = 1) -> tuple:
    """``f(e) = Σ w·e² + c·Σ e_appended``: gradient ``2 w e``, IG from 0 exactly ``w e²``."""
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(10, dim, generator=generator, dtype=torch.float64)
    w = torch.randn(n, dim, generator=generator, dtype=torch.float64)
    ids = torch.randint(0, 10, (n + n_appended,), generator=generator).numpy()

    def score(embeds: torch.Tensor) -> torch.Tensor:
        return (w * embeds[:, :n] ** 2).sum(dim=(1, 2)) + 3.0 * embeds[:, n:].sum(dim=(1, 2))

    objective = Objective(_Embedder(weight), ids, n, np.zeros(n, dtype=bool), score)
    e = weight[torch.as_tensor(ids[:n])]
    return objective, e, w


@pytest.mark.parametrize("seed", range(3))
def test_methods_match_the_gradient_computed_by_hand(seed: int) -> None:
    objective, e, w = _quadratic(seed)
    gradient = 2 * w * e
    saliency, no_delta = piece_attributions(objective, "saliency")
    np.testing.assert_allclose(saliency, gradient.abs().sum(-1).numpy(), rtol=1e-12)
    assert no_delta is None
    input_x_gradient, _ = piece_attributions(objective, "input_x_gradient")
    np.testing.assert_allclose(input_x_gradient, (e * gradient).sum(-1).numpy(), rtol=1e-12)
    # Along the straight path from 0, the integral of 2·w·αe is w·e: exact for Gauss-Legendre.
    integrated, delta = piece_attributions(objective, "integrated_gradients", n_steps=8)
    # (Captum keeps its Gauss-Legendre points in float32: 1e-7.)
    np.testing.assert_allclose(integrated, (w * e**2).sum(-1).numpy(), rtol=1e-6)
    assert delta is not None and abs(delta) < 1e-6
    # Fixed pieces stay at their embedding in the baseline: attribution exactly 0.
    fixed = np.array([True, False, False, True, False])
    held, _ = piece_attributions(objective, "integrated_gradients", n_steps=8, fixed=fixed)
    assert (held[fixed] == 0).all()
    np.testing.assert_allclose(held[~fixed], integrated[~fixed], rtol=1e-6)


# --- a tiny random-weight BERT with an MLM head, its WordPiece tokenizer trained here ---


@pytest.fixture(scope="module")
def tiny_mlm(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    import trfviz

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials)
    backend.train_from_iterator(list(CORPUS), trainer=trainer)
    cls, sep = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tokenizer = BertTokenizerFast(tokenizer_object=backend)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=backend.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    path = tmp_path_factory.mktemp("tiny-mlm")
    BertForMaskedLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return trfviz.load_model(path, device="cpu")


def test_masked_word_on_a_tiny_mlm(tiny_mlm: LoadedModel) -> None:
    doc = nlp()("The horse raced past the barn fell.")
    result = attributions(doc, tiny_mlm, target=MaskedWord(6), keep_pieces=True)
    (sentence,) = result.sentences
    assert result.measure == "attributions" and result.axes == ("token",)
    assert sentence.labels == (*sentence.tokens, "[CLS]", "[SEP]")
    assert sentence.values.shape == (10,) and sentence.values.dtype == np.float32
    # The masked token is held fixed; tokens sum to the pieces.
    assert sentence.values[6] == 0
    assert sentence.piece_values is not None
    np.testing.assert_allclose(sentence.values.sum(), sentence.piece_values.sum(), rtol=1e-6)
    assert sentence.convergence_delta is not None
    # A word of another length is refused with the counts.
    with pytest.raises(ValueError, match="piece"):
        attributions(doc, tiny_mlm, target=MaskedWord(6, "tokenization"))


def test_masked_word_on_the_model_object_itself(tiny_mlm: LoadedModel) -> None:
    from dataclasses import replace

    from transformers import BertForMaskedLM

    head = BertForMaskedLM.from_pretrained(tiny_mlm.model.name_or_path)
    with_head = replace(tiny_mlm, model=head.eval())
    doc = nlp()("The old man the boat.")
    a = attributions(doc, tiny_mlm, target=MaskedWord(1, "old"), method="input_x_gradient")
    b = attributions(doc, with_head, target=MaskedWord(1, "old"), method="input_x_gradient")
    np.testing.assert_allclose(a.sentences[0].values, b.sentences[0].values, rtol=1e-5, atol=1e-6)


def test_special_tokens_dropped_are_held_and_tokens_still_sum(tiny_mlm: LoadedModel) -> None:
    doc = nlp()("Tokenization helps. The boat sank.")
    kept = attributions(doc, tiny_mlm, target=Similarity("A boat."), progress=False)
    dropped = attributions(
        doc, tiny_mlm, target=Similarity("A boat."), special_tokens="drop", keep_pieces=True
    )
    assert len(kept.sentences) == 2
    for sentence in dropped.sentences:
        assert sentence.special_labels == () and len(sentence.values) == sentence.n_tokens
        assert sentence.piece_values is not None
        assert (sentence.piece_values[sentence.alignment.special] == 0).all()
        np.testing.assert_allclose(sentence.values.sum(), sentence.piece_values.sum(), rtol=1e-5)


def test_a_function_of_the_output_and_its_shape_check(tiny_mlm: LoadedModel) -> None:
    doc = nlp()("The old man the boat.")
    result = attributions(
        doc, tiny_mlm, target=lambda out: out.last_hidden_state[:, 0, 5], method="saliency"
    )
    assert (result.sentences[0].values >= 0).all()
    with pytest.raises(ValueError, match="one number per batch row"):
        attributions(doc, tiny_mlm, target=OutputFunction(lambda out: out.last_hidden_state.sum()))
    with pytest.raises(TypeError, match="target must be"):
        attributions(doc, tiny_mlm, target="was")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"method": "gradcam"}, ValueError),
        ({"n_steps": 0}, ValueError),
        ({"special_tokens": "hide"}, ValueError),
        ({"keep_pieces": 1}, TypeError),
    ],
)
def test_bad_options(tiny_mlm: LoadedModel, kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        attributions(nlp()("The boat."), tiny_mlm, target=MaskedWord(1), **kwargs)


# --- the real models: completeness at the default 50 steps, and targets that do not fit ---


def _ig_complete(result_delta: float | None, total: float) -> None:
    assert result_delta is not None
    assert abs(result_delta) <= 0.01 * abs(total - result_delta)


@pytest.mark.model
def test_integrated_gradients_are_complete_on_minilm_similarity() -> None:
    from transformers import AutoModel

    model = minilm()
    doc = nlp()("The old man the boat.")
    other = "An elderly person sails."
    result = attributions(doc, model, target=Similarity(other), keep_pieces=True)
    (sentence,) = result.sentences
    assert sentence.piece_values is not None
    np.testing.assert_allclose(sentence.values.sum(), sentence.piece_values.sum(), rtol=1e-6)
    # f(x) - f(0) computed here, without trfviz: mean-pooled states, cosine.
    base: AutoModel = model.model
    ids = torch.as_tensor(model.tokenizer(doc.text)["input_ids"])[None]
    with torch.no_grad():
        ref = base(**model.tokenizer(other, return_tensors="pt")).last_hidden_state.mean(1)
        embeds = base.get_input_embeddings()(ids)
        f_x = torch.cosine_similarity(base(inputs_embeds=embeds).last_hidden_state.mean(1), ref)
        zeros = torch.zeros_like(embeds)
        f_0 = torch.cosine_similarity(base(inputs_embeds=zeros).last_hidden_state.mean(1), ref)
    difference = float(f_x - f_0)
    assert abs(float(sentence.values.sum()) - difference) <= 0.01 * abs(difference)
    _ig_complete(sentence.convergence_delta, float(sentence.piece_values.sum()))


@pytest.mark.model
def test_integrated_gradients_are_complete_on_smollm2_next_word() -> None:
    model = smollm()
    doc = nlp()("The horse raced past the barn")
    result = attributions(doc, model, target=next_word("was"), keep_pieces=True)
    (sentence,) = result.sentences
    assert sentence.labels == ("The", "horse", "raced", "past", "the", "barn")
    assert sentence.piece_values is not None
    np.testing.assert_allclose(sentence.values.sum(), sentence.piece_values.sum(), rtol=1e-6)
    _ig_complete(sentence.convergence_delta, float(sentence.piece_values.sum()))


@pytest.mark.model
def test_targets_that_do_not_fit_the_model_say_so() -> None:
    doc = nlp()("The horse raced past the barn")
    with pytest.raises(ValueError, match="not a causal"):
        attributions(doc, minilm(), target=next_word("was"))
    with pytest.raises(ValueError, match="no trained masked-LM head"):
        attributions(doc, minilm(), target=MaskedWord(1))
    with pytest.raises(ValueError, match="causal model: it has no masked-word head"):
        attributions(doc, smollm(), target=MaskedWord(1))
