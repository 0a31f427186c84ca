#!/bin/sh
# The paramsecrets command (/opt/bin/paramsecrets, on the PATH of every Lambda function): lets
# shell and `provided` functions read values with `paramsecrets get-parameter NAME` and
# `paramsecrets get-secret ID`. It runs on the layer's own Python 3.11 through the layer's own
# loader, like the extension (see extensions/paramsecrets), so it works on every runtime.

case $0 in
  */*) dir=${0%/*} ;;
  *) dir=. ;;
esac
rt="$dir/../paramsecrets/runtime"

unset LD_PRELOAD
LC_ALL=C.UTF-8
export LC_ALL
exec "$rt/lib/@LOADER@" --inhibit-cache --library-path "$rt/lib" "$rt/bin/python3.11" -I -S \
  "$dir/../paramsecrets/run.py" "$@"
