"""python -m bashflow"""

import sys

from bashflow.cli import main

sys.exit(main())
