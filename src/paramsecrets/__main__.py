"""`python -m paramsecrets ...`."""

from paramsecrets.cli import main

raise SystemExit(main())
