"""`python -m app`: serve the API (see app.serve)."""

import sys

from app.serve import main

sys.exit(main())
