"""The data trfviz ships: loaders, licences, a clean clone and the built wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from trfviz import datasets
from trfviz.datasets import (
    read_conllu,
    syntaxgym_dir,
    syntaxgym_suite,
    syntaxgym_suites,
    ud_english_ewt,
    ud_english_ewt_path,
)

REPO = Path(__file__).resolve().parents[2]

#: Every shipped data file a wheel must carry (paths inside the wheel).
SHIPPED = (
    "trfviz/datasets/data/ud/en_ewt-ud-dev.conllu",
    "trfviz/datasets/data/ud/LICENSE.txt",
    "trfviz/datasets/data/ud/SOURCE.md",
    "trfviz/datasets/data/syntaxgym/LICENSE",
    "trfviz/datasets/data/syntaxgym/SOURCE.md",
    "trfviz/datasets/data/syntaxgym/npz_ambig.json",
    "trfviz/datasets/data/syntaxgym/mvrr.json",
    "trfviz/widget/explorer.js",
    "trfviz/widget/explorer.css",
)


def test_ewt_dev_loads_every_sentence_with_its_gold_tree() -> None:
    docs = ud_english_ewt("dev")
    assert len(docs) == 2001
    assert docs[0].text == "From the AP comes this story :"
    assert all(doc.has_annotation("DEP") for doc in docs[:50])
    assert sum(len(doc) for doc in docs) > 25_000


def test_ewt_split_that_does_not_ship_says_how_to_get_it() -> None:
    with pytest.raises(ValueError, match=r"does not ship.*read_conllu"):
        ud_english_ewt("train")


def test_a_users_own_conllu_file_goes_through_the_same_loader(tmp_path) -> None:
    own = tmp_path / "mine.conllu"
    own.write_text(
        "# text = Dogs bark.\n"
        "1\tDogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_\n"
        "2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\tSpaceAfter=No\n"
        "3\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_\n\n",
        encoding="utf-8",
    )
    (doc,) = read_conllu(own)
    assert doc.text == "Dogs bark."
    assert (doc[0].text, doc[0].head.text, doc[0].dep_) == ("Dogs", "bark", "nsubj")


def test_every_shipped_suite_is_listed_and_loads() -> None:
    names = syntaxgym_suites()
    on_disk = sorted(p.stem for p in syntaxgym_dir().glob("*.json"))
    assert list(names) == on_disk
    assert {"npz_ambig", "npz_obj", "mvrr", "subordination"} <= set(names)
    for name in names:
        suite = syntaxgym_suite(name)
        assert suite.name == name and suite.items


def test_a_users_own_suite_json_goes_through_the_same_loader(tmp_path) -> None:
    raw = json.loads((syntaxgym_dir() / "npz_ambig.json").read_text(encoding="utf-8"))
    raw["items"] = raw["items"][:2]
    own = tmp_path / "my_suite.json"
    own.write_text(json.dumps(raw), encoding="utf-8")
    suite = syntaxgym_suite(own)
    assert suite.name == "my_suite"
    assert len(suite.items) == 2
    assert suite.region_names == syntaxgym_suite("npz_ambig").region_names


def test_an_unknown_suite_name_lists_the_shipped_ones() -> None:
    with pytest.raises(FileNotFoundError, match="npz_ambig"):
        syntaxgym_suite("npz_ambigous")


def test_each_dataset_carries_its_licence_and_source_note() -> None:
    ud = ud_english_ewt_path("dev").parent
    assert "Attribution-ShareAlike 4.0" in (ud / "LICENSE.txt").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in (ud / "SOURCE.md").read_text(encoding="utf-8")
    assert "MIT License" in (syntaxgym_dir() / "LICENSE").read_text(encoding="utf-8")
    assert "SyntaxGym" in (syntaxgym_dir() / "SOURCE.md").read_text(encoding="utf-8")
    assert Path(datasets.__file__).resolve().parent / "data" == datasets.DATA_DIR


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return listing.stdout.splitlines()


#: What reading data from beside the checkout looks like (spelt in pieces, so this file
#: does not match itself).
BESIDE_THE_CHECKOUT = ("/".join(("..", "shared")), "shared_data" + "_dir", "TRFVIZ" + "_DATA")


def test_no_project_file_reads_data_from_beside_the_checkout() -> None:
    offenders = []
    for name in _tracked_files():
        if not name.endswith((".py", ".ipynb", ".cfg", ".toml", "Makefile", "run")):
            continue
        text = (REPO / name).read_text(encoding="utf-8", errors="replace")
        if any(marker in text for marker in BESIDE_THE_CHECKOUT):
            offenders.append(name)
    assert offenders == []


@pytest.mark.slow
def test_a_clean_clone_with_nothing_beside_it_loads_the_data_and_builds_a_full_wheel(
    tmp_path,
) -> None:
    """Clone the committed tree alone into an empty folder, load the data, build the wheel."""
    _tracked_files()
    clone = tmp_path / "empty" / "trfviz"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)],
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in clone.parent.iterdir()) == ["trfviz"]
    script = (
        "import trfviz, pathlib, sys\n"
        "assert pathlib.Path(trfviz.__file__).is_relative_to(pathlib.Path(sys.argv[1]))\n"
        "docs = trfviz.datasets.ud_english_ewt('dev')\n"
        "names = trfviz.datasets.syntaxgym_suites()\n"
        "suites = [trfviz.datasets.syntaxgym_suite(n) for n in names]\n"
        "print(len(docs), len(suites))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(clone)}
    run = subprocess.run(
        [sys.executable, "-c", script, str(clone)],
        cwd=clone,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["2001", str(len(syntaxgym_suites()))]

    out = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "-o", str(out), str(clone)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (wheel,) = out.glob("trfviz-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        members = set(archive.namelist())
    missing = [name for name in SHIPPED if name not in members]
    assert missing == []
    suites = {m for m in members if m.startswith("trfviz/datasets/data/syntaxgym/")}
    assert len([m for m in suites if m.endswith(".json")]) == len(syntaxgym_suites())
