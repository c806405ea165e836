"""``python -m bench``: run every benchmark and print one table."""
import sys

from .run import main

sys.exit(main())
