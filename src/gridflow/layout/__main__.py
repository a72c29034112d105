"""`python -m gridflow.layout [--replace] FILE...`: generate diagram information in place."""

import sys

from gridflow.layout.document import main

if __name__ == "__main__":
    sys.exit(main())
