"""The local stack: the whole product on one machine, started with `make run` (`python -m local`).

DESIGN.md asks that a newcomer can run everything with one command and that the end-to-end tests run
the product for real. So this package does what `sam deploy` and AWS would do, but in one process:
it reads template.yaml itself, creates every resource it declares in an embedded moto server, imports
every function's handler, and serves the template's API events over HTTP the way API Gateway (REST)
would, authorizers included, plus the `/_local/*` routes of API.md. Nothing here is part of the
deployed product, and nothing of the product is copied here: what the template says is what runs.
"""

import sys
from pathlib import Path

# Lambda puts the CommonLayer's package on the functions' path; do the same, so that `python -m local`
# works from the repository root without PYTHONPATH.
_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "common")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
