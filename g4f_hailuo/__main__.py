"""``python -m g4f_hailuo``: the ``g4f-hailuo`` command (see ``g4f_hailuo.cli``)."""

import sys

from g4f_hailuo.cli import main

if __name__ == "__main__":
    sys.exit(main())
