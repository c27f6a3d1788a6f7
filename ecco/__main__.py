"""`python -m ecco` is the `ecco` command."""

import sys

from ecco.cli.main import main

sys.exit(main())
