import sys

from sdesolve.cli import main

sys.exit(main())
