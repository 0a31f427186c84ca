"""paramsecrets layer entry point, started by /opt/extensions/paramsecrets as `python -I -S run.py`.

Kept to the syntax of old Pythons on purpose: when the launcher finds a Python older than 3.11
this file must still run far enough to say so clearly instead of dying with a SyntaxError.
"""

# ruff: noqa: UP031, UP036  (old-Python syntax and the version check are the point of this file)

import os
import sys


def _log_error(message):
    import time

    stamp = time.strftime("%Y/%m/%d %H:%M:%S")  # local time, like every other log line (UTC on Lambda)
    sys.stdout.write("[paramsecrets] %s ERROR %s\n" % (stamp, message))
    sys.stdout.flush()


if sys.version_info < (3, 11):
    _log_error(
        "no Python 3.11+ found: %s is Python %d.%d; set PARAMSECRETS_PYTHON to a Python 3.11+ interpreter"
        % (sys.executable, sys.version_info[0], sys.version_info[1])
    )
    sys.exit(1)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from paramsecrets.boot import main  # noqa: E402

raise SystemExit(main(["serve", *sys.argv[1:]]))
