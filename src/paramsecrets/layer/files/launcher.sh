#!/bin/sh
# paramsecrets launcher, installed twice in the layer:
# - /opt/extensions/paramsecrets, the extension: Lambda runs every file in /opt/extensions at INIT,
#   whatever the function's runtime; from there it runs `serve` under the extension's name;
# - /opt/bin/paramsecrets, the command on every function's PATH (`paramsecrets get-parameter NAME`,
#   `paramsecrets get-secret ID`, `paramsecrets exec -- ./handler`) for shell and `provided` functions;
# - /opt/paramsecrets/exec-wrapper, for AWS_LAMBDA_EXEC_WRAPPER: the runtime's command line arrives
#   as the arguments and runs as `paramsecrets exec -- <runtime command line>`.
# Either way it starts the layer's own Python 3.11 through the layer's own glibc loader: the
# function's Python (there may be none) and the host's C library are never used, and nothing is looked up on PATH.
# Only shell builtins run before the exec (everything before `register` adds to each cold start).
#   --inhibit-cache   never read the host's /etc/ld.so.cache
#   --library-path    the layer's libraries first (replaces LD_LIBRARY_PATH for this process)
#   LD_PRELOAD        unset: a function's preload is built for the host's C library, not for ours
#   LC_ALL=C.UTF-8    for Python (UTF-8 whatever the host's locales), never LANG's locale of the host;
#                     assigned with stderr closed: bash loads a locale as soon as LC_ALL is assigned
#                     and, on a host without C.UTF-8, would warn `setlocale: LC_ALL: cannot change
#                     locale` at every start (closing needs no /dev/null, and the value is kept)
#   -I -S             isolated mode, no site-packages: PYTHON* variables and the function's own
#                     packages are ignored, and start-up skips the site scan
# The extension's name is this file's name (Lambda refuses a mismatch).

name=${0##*/}
case $0 in
  */*) dir=${0%/*} ;;
  *) dir=. ;;
esac
case $dir in
  */extensions | extensions) set -- serve --extension-name "$name" "$@" ;;
esac
case $name in
  exec-wrapper) set -- exec -- "$@" ;;
esac
rt="$dir/../paramsecrets/runtime"

# `exec` hands the function's own LD_PRELOAD and LC_ALL on to the command it runs.
_PARAMSECRETS_LAUNCHER=1
export _PARAMSECRETS_LAUNCHER
if [ -n "${LD_PRELOAD+set}" ]; then _PARAMSECRETS_SAVED_LD_PRELOAD=$LD_PRELOAD; export _PARAMSECRETS_SAVED_LD_PRELOAD; fi
if [ -n "${LC_ALL+set}" ]; then _PARAMSECRETS_SAVED_LC_ALL=$LC_ALL; export _PARAMSECRETS_SAVED_LC_ALL; fi
unset LD_PRELOAD
{ LC_ALL=C.UTF-8; } 2>&-
export LC_ALL
exec "$rt/lib/@LOADER@" --inhibit-cache --library-path "$rt/lib" "$rt/bin/python3.11" -I -S \
  "$dir/../paramsecrets/run.py" "$@"
