"""paramsecrets layer entry point: the bundled Python 3.11 runs this file for the extension
(`run.py serve --extension-name NAME`, from /opt/extensions/paramsecrets) and for the client
command (`run.py get-parameter ...`, from /opt/bin/paramsecrets)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

if sys.argv[1:2] in (["dev"], ["layer"]):
    # Not shipped in the layer: dev/ needs moto, and the builder runs on a build machine.
    sys.stderr.write(f"paramsecrets: `{sys.argv[1]}` is not available inside the Lambda layer\n")
    raise SystemExit(2)

if sys.argv[1:2] == ["serve"]:
    from paramsecrets.process.boot import main  # the extension: the shortest path to `register`
else:
    from paramsecrets.cli import main

raise SystemExit(main(sys.argv[1:]))
