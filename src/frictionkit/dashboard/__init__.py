"""The web dashboard and the browser agent, served by ``frictionkit serve``.

* ``GET /``: the dashboard (one HTML page; hash routes; static assets under
  ``/dashboard/static/``, shipped in ``frictionkit/static/dashboard``).
* ``GET /dashboard/vendor/plotly.min.js``: plotly.js, read from the installed
  ``plotly`` Python package (no CDN, nothing copied into this repository).
* ``GET /dashboard/bootstrap``: the generated development key, only when
  serve generated one and the browser is on this machine (see docs/dashboard.md).
* ``GET /dashboard/scopes``: the org/product pairs a read key may see.
* ``GET /sdk.js``: the browser agent (``frictionkit/static/sdk/sdk.js``).

The dashboard reads the JSON API with a key kept in the tab's
sessionStorage; nothing here reads data any other way.
"""

from __future__ import annotations

from .router import mount, router

__all__ = ["mount", "router"]
