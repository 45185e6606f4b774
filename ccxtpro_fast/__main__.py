import sys

from ccxtpro_fast.cli import main

sys.exit(main())
