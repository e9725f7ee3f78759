"""HTML views: markup built from plain data, every text escaped, templates and CSS as files.

- :mod:`.tokenization`: the aligned-tokenization grid
  (:func:`render_aligned_tokenization_html`);
- :mod:`.resources`: the templates (``templates/*.html``) and style sheets
  (``css/*.css``) shipped with the package.
"""

from trfviz.html.tokenization import AlignedTokenizationHTML, render_aligned_tokenization_html

__all__ = ["AlignedTokenizationHTML", "render_aligned_tokenization_html"]
