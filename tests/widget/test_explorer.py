"""The attention explorer's traits, what it sends, and its export, without a browser."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import traitlets

from tests.browser.widget_data import NASTY, TELESCOPE, make_document, make_extraction, make_parse
from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.palette import ENTITY_COLORS, palette_payload
from trfviz.parse import SentenceParse
from trfviz.widget import AttentionExplorer, explore
from trfviz.widget.compare import compare_rows
from trfviz.widget.payload import (
    HeadChoice,
    LayerChoice,
    count_message_bytes,
    select_attention,
)

Document = tuple[tuple[SentenceParse, ...], dict[str, list[SentenceExtraction]]]


@pytest.fixture()
def data() -> Document:
    return make_document()


@pytest.fixture()
def explorer(data: Document) -> AttentionExplorer:
    parses, extractions = data
    return AttentionExplorer(parses, extractions)


def _matrix(packed: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype("<u2") if packed["bits"] == 16 else np.uint8
    codes = np.frombuffer(packed["data"], dtype=dtype).reshape(packed["shape"])
    return packed["lo"] + codes.astype(np.float32) * packed["scale"]


def _attention_of(sentence: SentenceExtraction) -> np.ndarray:
    assert sentence.attention is not None
    return sentence.attention


def test_initial_state(explorer: AttentionExplorer) -> None:
    assert explorer.models == ["tiny-bert", "tiny-gpt"]
    assert (explorer.model, explorer.compare, explorer.layer, explorer.head) == (
        "tiny-bert",
        "",
        0,
        0,
    )
    assert explorer.n_sentences == 2
    assert explorer._sentence_data["tokens"] == list(TELESCOPE[0])
    assert set(explorer._sentence_data["models"]) == {"tiny-bert"}
    assert explorer._layers["key"] == "s0;tiny-bert/0"
    assert explorer._grid == {}


def test_only_the_current_layer_crosses(explorer: AttentionExplorer, data: Document) -> None:
    n = len(TELESCOPE[0]) + 2
    state = explorer.get_state()
    sent = count_message_bytes({k: v for k, v in state.items() if k not in ("_esm", "_css")})
    # The layer's 3 heads and their mean as 16-bit [query, key] matrices, nothing else binary.
    assert sent["buffers"] == 2 * (3 * n * n + n * n)
    assert sent["json"] < 4000
    # No float lists anywhere in the JSON part.
    assert "0." not in str({k: v for k, v in state["_layers"].items() if k != "panels"})
    explorer.show_grid = True
    grid = count_message_bytes(explorer.get_state("_grid"))
    assert grid["buffers"] == 2 * 3 * n * n  # the grid only once shown: [layer, head, q, k] bytes


def test_the_layer_sent_holds_every_head_shown(explorer: AttentionExplorer, data: Document) -> None:
    _, extractions = data
    attention = _attention_of(extractions["tiny-bert"][0])
    choices: list[tuple[LayerChoice, HeadChoice]] = [
        (1, 2),
        (0, "mean"),
        ("mean", 1),
        ("mean", "mean"),
        (1, "all"),
    ]
    for layer, head in choices:
        explorer.layer, explorer.head = layer, head
        assert explorer._layers["key"] == f"s0;tiny-bert/{layer}"
        (panel,) = explorer._layers["panels"]
        assert panel["layer"] == layer
        heads = select_attention(attention, layer, "all")
        np.testing.assert_allclose(_matrix(panel["heads"]), heads, atol=1 / 255)
        np.testing.assert_allclose(_matrix(panel["mean"]), heads.mean(0), atol=1 / 255)
        # What the browser picks from them is the view Python reports, to a step.
        shown = _matrix(panel["heads"])[head] if isinstance(head, int) else _matrix(panel["mean"])
        np.testing.assert_allclose(explorer.get_view().panels[0].attention, shown, atol=1 / 255)
    assert explorer.get_view().panels[0].heads.shape[0] == 3  # type: ignore[union-attr]


def _record_sends(explorer: AttentionExplorer) -> list[tuple[set[str], int]]:
    """Records each state message to the browser: the traits in it and its buffer bytes."""
    sent: list[tuple[set[str], int]] = []

    def send(msg: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        sent.append((set(msg["state"]), sum(memoryview(b).nbytes for b in buffers or [])))

    explorer._send = send
    return sent


def test_a_head_switch_sends_no_data(explorer: AttentionExplorer) -> None:
    n = len(TELESCOPE[0]) + 2
    layer_bytes = 2 * (3 * n * n + n * n)  # 16 bits a weight
    gpt_bytes = 2 * (2 * 8 * 8 + 8 * 8)
    js_bytes = 2 * (3 + 1) * (2 + 1) * 8  # JS per word for every head pair (and the means)
    sent = _record_sends(explorer)
    # (change, traits sent with data, buffer bytes): heads and the mode are picked in the
    # browser from the layer it holds; a layer, model, comparison or sentence sends data.
    steps: list[tuple[dict[str, Any], set[str], int]] = [
        ({"head": 1}, set(), 0),
        ({"head": "mean"}, set(), 0),
        ({"head": "all"}, set(), 0),
        ({"layer": 1}, {"_layers"}, layer_bytes),
        (
            {"compare": "tiny-gpt"},
            {"_layers", "_sentence_data", "_difference"},
            layer_bytes + gpt_bytes + js_bytes,
        ),
        ({"head": 0}, set(), 0),
        ({"mode": "difference"}, set(), 0),
        ({"link": False, "compare_head": 1}, set(), 0),
        ({"compare_layer": 0}, {"_layers", "_difference"}, layer_bytes + gpt_bytes + js_bytes),
        (
            {"sentence": 1},
            {"_layers", "_sentence_data", "_difference"},
            2 * (3 * 49 + 49 + 2 * 25 + 25) + 2 * 4 * 3 * 5,
        ),
    ]
    for change, data_traits, n_bytes in steps:
        sent.clear()
        for name, value in change.items():
            setattr(explorer, name, value)
        traits = set().union(*(names for names, _ in sent))
        assert traits & {"_layers", "_sentence_data", "_grid", "_difference"} == data_traits, change
        assert sum(size for _, size in sent) == n_bytes, change
        assert set(change) <= traits, change  # and the traits changed, so the views agree
    sent.clear()
    explorer.layer = 1  # unchanged: nothing at all
    assert sent == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("layer", 2),
        ("layer", -1),
        ("layer", "last"),
        ("head", 3),
        ("head", "max"),
        ("model", "gpt2"),
        ("compare", "nope"),
        ("sentence", 2),
        ("mode", "overlay"),
    ],
)
def test_invalid_choices_are_refused(explorer: AttentionExplorer, name: str, value: object) -> None:
    before = explorer._layers
    with pytest.raises(traitlets.TraitError):
        setattr(explorer, name, value)
    assert explorer._layers == before


def test_switching_model_keeps_relative_depth(explorer: AttentionExplorer) -> None:
    explorer.layer, explorer.head = 1, 2
    explorer.model = "tiny-gpt"  # 4 layers x 2 heads
    assert (explorer.layer, explorer.head) == (3, "mean")
    assert explorer._layers["key"] == "s0;tiny-gpt/3"
    assert set(explorer._sentence_data["models"]) == {"tiny-gpt"}


def test_compare_linked_and_unlinked(explorer: AttentionExplorer, data: Document) -> None:
    explorer.layer, explorer.head = 1, 1
    explorer.compare = "tiny-gpt"
    assert (explorer.compare_layer, explorer.compare_head) == (3, 1)
    assert [p["model"] for p in explorer._layers["panels"]] == ["tiny-bert", "tiny-gpt"]
    assert set(explorer._sentence_data["models"]) == {"tiny-bert", "tiny-gpt"}
    explorer.head = 2  # tiny-gpt has no head 2: the linked comparison shows its head mean
    assert explorer.compare_head == "mean"
    explorer.link = False
    explorer.compare_layer, explorer.compare_head = 0, 0
    explorer.layer = 0
    assert explorer._layers["key"] == "s0;tiny-bert/0;tiny-gpt/0"
    assert explorer.get_view().panels[1].attention.shape == (8, 8)
    with pytest.raises(traitlets.TraitError):
        explorer.compare_layer = 4
    # Comparing a model with itself is not a comparison.
    explorer.model = "tiny-gpt"
    assert explorer.compare == ""
    assert len(explorer._layers["panels"]) == 1


def test_difference_mode(explorer: AttentionExplorer, data: Document) -> None:
    _, extractions = data
    n = len(TELESCOPE[0])
    explorer.mode = "difference"  # one model: nothing to subtract, stays a single panel
    assert explorer.get_view().mode == "side"
    explorer.compare = "tiny-gpt"
    # The browser subtracts the two layers it holds (over the spaCy tokens).
    first, second = explorer._layers["panels"]
    a = _attention_of(extractions["tiny-bert"][0])[0, 0, :n, :n]
    b = _attention_of(extractions["tiny-gpt"][0])[0, 0, :n, :n]
    sent = _matrix(first["heads"])[0, :n, :n] - _matrix(second["heads"])[0, :n, :n]
    np.testing.assert_allclose(sent, a - b, atol=2 / 65535)
    # ... after renormalising both over the same words (the first word left out), with the
    # JS divergence per word the kernel sent for this head pair.
    compared = compare_rows(a, b, TELESCOPE[0])
    js = _matrix(explorer._difference["js"])[0, 0]
    np.testing.assert_allclose(js, np.nan_to_num(compared.divergence, nan=-1.0), atol=1e-4)
    explorer.exclude_sink = False
    assert explorer._difference["key"].endswith("sink=0")
    js = _matrix(explorer._difference["js"])[0, 0]
    whole = compare_rows(a, b, TELESCOPE[0], exclude_sink=False)
    np.testing.assert_allclose(js, np.nan_to_num(whole.divergence, nan=-1.0), atol=1e-4)
    view = explorer.get_view()  # what is on screen: the renormalised difference
    assert view.mode == "difference" and view.panels[0].labels == tuple(TELESCOPE[0])
    assert explorer.view_spec().exclude_sink is False
    np.testing.assert_allclose(view.panels[0].attention, whole.difference, atol=1e-6)
    explorer.exclude_sink = True
    np.testing.assert_allclose(
        explorer.get_view().panels[0].attention, compared.difference, atol=1e-6
    )
    explorer.compare = ""
    assert explorer.mode == "side"


def test_sentence_change_resets_token_selection(explorer: AttentionExplorer) -> None:
    explorer.selected, explorer.hovered = 3, 2
    explorer.sentence = 1
    assert (explorer.selected, explorer.hovered) == (-1, -1)
    assert explorer._sentence_data["tokens"] == list(NASTY[0])
    assert explorer._sentence_data["index"] == 1
    explorer.selected = -5
    assert explorer.selected == -1


def test_head_grid_with_scores(data: Document) -> None:
    parses, extractions = data
    scores = {"tiny-bert": np.arange(6.0).reshape(2, 3)}
    explorer = AttentionExplorer(parses, extractions, head_scores=scores, show_grid=True)
    grid = explorer._grid["tiny-bert"]
    assert grid["shape"] == [2, 3]
    assert grid["score_ranges"]["relation accuracy"] == [0.0, 5.0]
    assert list(grid["scores"]) == ["relation accuracy", "entropy (bits)", "attention to specials"]
    explorer.compare = "tiny-gpt"
    assert set(explorer._grid) == {"tiny-bert", "tiny-gpt"}
    # Computed for both models; the JS distance to the other once there is one; tiny-gpt's
    # relation accuracy from the parse shown (no scores given for it).
    assert list(explorer._grid["tiny-gpt"]["scores"]) == [
        "relation accuracy",
        "entropy (bits)",
        "attention to specials",
        "JS distance to tiny-bert",
    ]
    assert "JS distance to tiny-gpt" in explorer._grid["tiny-bert"]["scores"]
    explorer.show_grid = False
    assert explorer._grid == {}
    with pytest.raises(ValueError, match="head_scores"):
        AttentionExplorer(parses, extractions, head_scores={"tiny-bert": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="unknown model"):
        AttentionExplorer(parses, extractions, head_scores={"bert": np.zeros((2, 3))})


def test_inputs_are_checked(data: Document) -> None:
    parses, extractions = data
    with pytest.raises(ValueError, match="sentence extractions"):
        AttentionExplorer(parses[:1], extractions)
    other = make_parse(["A", "b"], [1, 1], ["x", "ROOT"])
    with pytest.raises(ValueError, match="differ from the parse"):
        AttentionExplorer((other, parses[1]), extractions)
    no_attention = {
        "m": [
            make_extraction(TELESCOPE[0]).__class__(
                **{**make_extraction(TELESCOPE[0]).__dict__, "attention": None}
            )
        ]
    }
    with pytest.raises(ValueError, match="no attention"):
        AttentionExplorer(parses[:1], no_attention)
    with pytest.raises(ValueError, match="at least one model"):
        AttentionExplorer(parses, {})
    with pytest.raises(TypeError, match="unexpected option"):
        AttentionExplorer(parses, extractions, colour="red")


def test_explore_from_a_hand_built_doc() -> None:
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    words, heads, deps, _ = TELESCOPE
    doc = Doc(
        Vocab(),
        words=list(words),
        heads=heads,
        deps=deps,
        ents=["B-PERSON"] + ["O"] * (len(words) - 1),
    )
    sentence = make_extraction(words, n_layers=2, n_heads=2)
    extraction = Extraction("org/tiny", "r0", doc.text, (sentence,), n_layers=2, n_heads=2)
    explorer = explore(doc, [extraction], layer=1, head="mean", threshold=0.2)
    assert explorer.models == ["tiny"]
    assert (explorer.layer, explorer.head, explorer.threshold) == (1, "mean", 0.2)
    parse = explorer.get_view().parse
    assert [(a.head, a.dependent, a.label) for a in parse.arcs][:2] == [
        (1, 0, "nsubj"),
        (3, 2, "det"),
    ]
    assert [(e.start, e.end, e.label) for e in parse.entities] == [(0, 1, "PERSON")]
    named = explore(doc, {"Tiny model": extraction})
    assert named.models == ["Tiny model"]


def test_export_saves_the_current_view(explorer: AttentionExplorer, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    explorer.selected = 3
    paths: list[Path] = []
    steps: list[dict[str, object]] = [
        {},
        {"show_heatmap": False},
        {"head": "all"},
        {"head": 0, "compare": "tiny-gpt"},
        {"mode": "difference"},
    ]
    for settings in steps:
        for name, value in settings.items():
            setattr(explorer, name, value)
        path = explorer.save_figure(tmp_path / f"view{len(paths)}.pdf", preset="one-column")
        assert path.read_bytes().startswith(b"%PDF")
        paths.append(path)
    figure = explorer.draw_figure()  # the heatmap is still hidden: the difference's arcs alone
    titles = [
        " ".join(t.get_text().split())
        for ax in figure.axes
        for t in ax.texts
        if t.get_gid() == "title"
    ]
    assert titles == ["tiny-bert L0 H0 attends more (above) vs tiny-gpt L0 H0 (below)"]
    assert not any(ax.collections and ax.get_title() for ax in figure.axes)


def test_export_button_message(explorer: AttentionExplorer, tmp_path: Path) -> None:
    explorer.export_path = str(tmp_path / "button.svg")
    explorer._on_message(explorer, {"type": "export"}, [])
    assert explorer.status == f"Saved {tmp_path / 'button.svg'}"
    assert (tmp_path / "button.svg").read_text().startswith("<?xml")
    explorer.export_path = str(tmp_path / "figure.txt")  # not a figure format
    explorer._on_message(explorer, {"type": "export"}, [])
    assert explorer.status.startswith("Export failed: ValueError")
    explorer._on_message(explorer, {"type": "other"}, [])  # other messages are ignored
    assert explorer.status.startswith("Export failed")


def test_default_export_name_says_what_is_shown(
    explorer: AttentionExplorer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    explorer.layer, explorer.head = 1, "mean"
    path = explorer.save_figure()
    assert path == Path("trfviz-output/attention-s0-tiny-bert-L1-Hmean.pdf")
    assert (tmp_path / path).exists()


def test_front_end_files_are_plain_esm_with_no_network() -> None:
    folder = Path(__file__).resolve().parents[2] / "trfviz" / "widget"
    # The sources are ES modules whose entry exports the render function; the committed
    # bundle (what anywidget loads) exports the same object as its default.
    assert "export default { render }" in (folder / "js" / "main.js").read_text()
    bundle = (folder / "explorer.js").read_text()
    assert re.search(r"export\s*\{\s*\w+ as default\s*\};?\s*$", bundle)
    for path in [folder / "explorer.js", *sorted((folder / "js").glob("*.js"))]:
        js = path.read_text()
        code = "\n".join(line for line in js.splitlines() if not line.lstrip().startswith("//"))
        for forbidden in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "require(",
            "http://",
            "https://",
            "import(",
        ):
            assert forbidden not in code.replace('"http://www.w3.org/2000/svg"', ""), (
                path.name,
                forbidden,
            )
    css = (folder / "explorer.css").read_text()
    assert "@import" not in css and "url(http" not in css


def test_no_colour_is_hard_coded_in_the_front_end() -> None:
    # One palette: every colour the browser draws with comes from trfviz.palette (the
    # _palette trait), so none of its hex values may be written into the JS.
    folder = Path(__file__).resolve().parents[2] / "trfviz" / "widget" / "js"
    code = "\n".join(path.read_text() for path in folder.glob("*.js"))
    payload = palette_payload()
    colours = {c.lower() for stops in payload["scales"].values() for c in stops}
    colours |= {c.lower() for c in payload["entities"].values()}
    colours |= {payload[k].lower() for k in ("from", "to", "attention", "default_entity")}
    assert not {c for c in colours if c in code.lower()}
    assert not re.search(r"#[0-9a-fA-F]{6}\b", code)


def test_the_palette_is_sent_once_with_the_figures_colours(explorer: AttentionExplorer) -> None:
    assert explorer._palette == palette_payload()
    assert explorer._palette["entities"]["PERSON"] == ENTITY_COLORS["PERSON"]  # displaCy's
    sent = _record_sends(explorer)
    for change in ({"layer": 1}, {"sentence": 1}, {"compare": "tiny-gpt"}):
        for name, value in change.items():
            setattr(explorer, name, value)
    assert all("_palette" not in names for names, _ in sent)


def test_importing_trfviz_does_not_import_the_widget() -> None:
    code = (
        "import sys, trfviz, trfviz.extractor, trfviz.parse; "
        "names = ('anywidget', 'trfviz.widget', 'ipywidgets'); "
        "print(any(m.startswith(names) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_view_spec_follows_the_widget_state(explorer: AttentionExplorer) -> None:
    spec = explorer.view_spec()
    assert (spec.models, spec.layers, spec.heads, spec.mode) == (
        ("tiny-bert",),
        (0,),
        (0,),
        "attention",
    )
    assert (spec.focus, spec.threshold, spec.show_heatmap, spec.scale) == (
        None,
        0.05,
        True,
        "sequential",
    )
    explorer.layer, explorer.head, explorer.selected = "mean", "all", 2
    explorer.show_entities, explorer.threshold = False, 0.3
    spec = explorer.view_spec()
    assert (spec.layers, spec.heads, spec.focus) == ((None,), ("all",), 2)
    assert (spec.show_entities, spec.threshold) == (False, 0.3)
    explorer.layer, explorer.head = 1, "mean"
    explorer.compare = "tiny-gpt"  # linked: layer 1 of 2 is layer 3 of 4; head mean stays
    spec = explorer.view_spec()
    assert (spec.models, spec.layers, spec.heads) == (
        ("tiny-bert", "tiny-gpt"),
        (1, 3),
        (None, None),
    )
    explorer.mode = "difference"
    assert (explorer.view_spec().mode, explorer.view_spec().scale) == ("difference", "diverging")
    explorer.link = False
    explorer.compare_layer, explorer.compare_head = 0, 1
    assert explorer.view_spec().per_model == (("tiny-bert", 1, None), ("tiny-gpt", 0, 1))
    explorer.sentence = 1
    assert (explorer.view_spec().sentence, explorer.view_spec().focus) == (1, None)


def test_export_draws_from_the_view_spec(
    explorer: AttentionExplorer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from trfviz.view import ViewSpec

    explorer.layer, explorer.head, explorer.show_heatmap = 1, 2, True
    figure = explorer.draw_figure()
    # The sentence over its heatmap: the title is the arcs' own, in their axes.
    texts = {t.get_text() for ax in figure.axes for t in ax.texts if t.get_gid() == "title"}
    assert texts == {"tiny-bert layer 1, head 2"}
    plt.close(figure)
    # Export reads nothing but the spec: another spec, another figure and file name.
    other = ViewSpec(models=("tiny-bert",), layers=(0,), heads=(None,), show_heatmap=False)
    monkeypatch.setattr(explorer, "view_spec", lambda: other)
    monkeypatch.chdir(tmp_path)
    assert explorer.save_figure() == Path("trfviz-output/attention-s0-tiny-bert-L0-Hmean.pdf")
    assert explorer.get_view().panels[0].head == "mean"
    assert explorer.get_view().panels[0].layer == 0
