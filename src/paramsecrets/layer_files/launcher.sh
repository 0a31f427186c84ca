#!/bin/sh
# paramsecrets Lambda extension launcher (/opt/extensions/paramsecrets).
#
# Lambda runs every file in /opt/extensions at INIT. This finds a Python for the server and
# execs it; it must stay cheap because everything before `register` adds to each cold start:
# no subprocess, no `python -c` version probe (run.py checks the version itself).
# Order: $PARAMSECRETS_PYTHON, the Lambda runtime's /var/lang/bin/python3, then PATH.
# -I -S: isolated mode without site-packages, so start-up skips the site scan and never picks up
# the function's own packages; run.py puts the layer's lib/ on sys.path.

name=${0##*/}
case $0 in
  */*) dir=${0%/*} ;;
  *) dir=. ;;
esac
run="$dir/../paramsecrets/run.py"

for py in "$PARAMSECRETS_PYTHON" /var/lang/bin/python3; do
  if [ -n "$py" ] && [ -f "$py" ] && [ -x "$py" ]; then
    exec "$py" -I -S "$run" --extension-name "$name" "$@"
  fi
done

IFS=:
for cand in python3.14 python3.13 python3.12 python3.11 python3; do
  for d in $PATH; do
    if [ -f "${d:-.}/$cand" ] && [ -x "${d:-.}/$cand" ]; then
      exec "${d:-.}/$cand" -I -S "$run" --extension-name "$name" "$@"
    fi
  done
done

echo "[paramsecrets] $(date -u '+%Y/%m/%d %H:%M:%S') ERROR no Python 3.11+ found" \
  "(looked at \$PARAMSECRETS_PYTHON, /var/lang/bin/python3 and PATH); set PARAMSECRETS_PYTHON"
exit 1
