"""The cross-attention explorer: traits, what reaches the browser, export, and its bundle."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import traitlets

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from trfviz.alignment import Alignment
from trfviz.parse import Arc, SentenceParse
from trfviz.seq2seq import PairExtraction, PairSide, SentencePairExtraction
from trfviz.widget.cross import CrossAttentionExplorer

REPO = Path(__file__).resolve().parents[2]


def side(words: list[str], arcs: tuple[Arc, ...] = ()) -> PairSide:
    n = len(words)
    alignment = Alignment(
        pairs=np.stack([np.arange(n), np.arange(n)], axis=1).astype(np.int32),
        n_tokens=n,
        n_pieces=n + 1,
        special=np.array([False] * n + [True]),
        orphan=np.zeros(n + 1, dtype=bool),
        missing=np.zeros(n, dtype=bool),
    )
    parse = SentenceParse(tuple(words), ("",) * n, arcs, ())
    return PairSide(0, tuple(words), (*words, "</s>"), alignment, parse, ("</s>",))


def synthetic(n_pairs: int = 2, layers: int = 2, heads: int = 3) -> PairExtraction:
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(n_pairs):
        source = side(["the", "cat", "sat"][: 2 + i], (Arc(1, 0, "det"),))
        target = side(["die", "Katze", "saß", "."][: 3 + i], (Arc(1, 0, "det"),))
        s, t = len(source.labels), len(target.labels)
        cross = rng.dirichlet(np.ones(s), size=(layers, heads, t)).astype(np.float32)
        pairs.append(
            SentencePairExtraction(
                source,
                target,
                encoder_attention=np.zeros((layers, heads, s, s), np.float32),
                decoder_attention=np.zeros((layers, heads, t, t), np.float32),
                cross_attention=cross,
            )
        )
    return PairExtraction(
        "tiny-t5", "r", "src", "tgt", tuple(pairs), decoder_layers=layers, decoder_heads=heads
    )


def test_sends_only_the_shown_matrix_rounded() -> None:
    extraction = synthetic()
    widget = CrossAttentionExplorer(extraction)
    pair = extraction.pairs[0]
    assert widget.n_pairs == 2 and widget.n_layers == 2 and widget.n_heads == 3
    expected = pair.cross_attention[-1].mean(axis=0)[:3, :2]  # words only, last layer, mean
    np.testing.assert_allclose(widget._weights, np.round(expected, 4))
    assert widget._pair_data["source"]["words"] == ["the", "cat"]
    assert widget._pair_data["target"]["arcs"] == [{"head": 1, "dependent": 0, "label": "det"}]
    widget.layer, widget.head = 0, 2
    np.testing.assert_allclose(widget._weights, np.round(pair.cross_attention[0, 2, :3, :2], 4))
    np.testing.assert_array_equal(widget.weights(), pair.cross_attention[0, 2, :3, :2])
    widget.selected = 1
    widget.pair = 1  # a new pair clears the selection and sends its words
    assert widget.selected == -1 and widget._pair_data["target"]["words"][-1] == "."
    assert np.asarray(widget._weights).shape == (4, 3)


def test_bad_values_are_refused() -> None:
    widget = CrossAttentionExplorer(synthetic())
    for name, value in [("layer", 2), ("head", 3), ("head", "max"), ("pair", 5), ("selected", 9)]:
        with pytest.raises(traitlets.TraitError, match=name):
            setattr(widget, name, value)
    with pytest.raises(TypeError, match="PairExtraction"):
        CrossAttentionExplorer("not an extraction")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no trait 'colour'"):
        CrossAttentionExplorer(synthetic(), colour="red")


def test_export_draws_the_view_at_full_precision() -> None:
    widget = CrossAttentionExplorer(synthetic(), layer=1, head=0, threshold=0.3)
    fig, ax = widget.to_figure(preset="one-column")
    texts = {t.get_gid(): t.get_text() for t in ax.texts}
    assert texts["title"] == "tiny-t5 · decoder layer 2 · head 1"
    weights = widget.weights()
    assert {line.get_gid() for line in ax.lines} == {
        f"cross-{r}-{c}" for r, c in zip(*np.nonzero(weights >= 0.3), strict=True)
    }
    plt.close(fig)


def test_committed_bundle_is_the_build_of_the_sources(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: install it and run `make js` to check the bundle")
    if not (REPO / "node_modules" / "esbuild" / "package.json").exists():
        pytest.skip("esbuild is not installed: run `make js` (npm ci) to check the bundle")
    build = REPO / "trfviz" / "widget" / "js" / "build.mjs"
    out = tmp_path / "cross.js"
    subprocess.run(
        [node, str(build), str(tmp_path / "explorer.js"), str(out)], check=True, timeout=120
    )
    committed = REPO / "trfviz" / "widget" / "cross.js"
    assert out.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), (
        "trfviz/widget/cross.js is not the build of trfviz/widget/js/: run `make widget-js`"
    )


@pytest.mark.parametrize("suffix", [".pdf", ".svg", ".png"])
def test_export_writes_the_view_to_a_file(suffix: str, tmp_path) -> None:
    widget = CrossAttentionExplorer(synthetic(), layer=1, head=0, threshold=0.3)
    path = widget.export(tmp_path / f"cross{suffix}", preset="one-column")
    assert path == tmp_path / f"cross{suffix}" and path.stat().st_size > 1000
    if suffix == ".svg":  # the view's title and words are in the file
        text = path.read_text()
        assert "decoder layer 2" in text
    with pytest.raises(ValueError):
        widget.export(tmp_path / "cross.docx")
