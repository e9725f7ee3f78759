"""The ``trfviz`` command line (the CLI may load models; figures never do).

- :mod:`trfviz.cli.app`: :func:`main`, the parser and its one-line errors;
- :mod:`trfviz.cli.demo`: ``trfviz demo`` and :func:`run_demo`;
- :mod:`trfviz.cli.align`: ``trfviz align``;
- :mod:`trfviz.cli.figure`: ``trfviz figure``, a paper figure from a sentence.
"""

from trfviz.cli.app import main
from trfviz.cli.demo import DEFAULT_MODELS, DEMO_TEXT, run_demo

__all__ = ["DEFAULT_MODELS", "DEMO_TEXT", "main", "run_demo"]
