"""`python -m training` is the `reco` command."""

import sys

from training.cli import main

sys.exit(main())
