"""``python -m g4f_hailuo.fake``: see :mod:`g4f_hailuo.fake.cli`."""

import sys

from g4f_hailuo.fake.cli import main

sys.exit(main())
