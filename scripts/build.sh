#!/bin/sh
# Configure and build the whole tree in build/ (out of the source tree) and
# stage the three modules, and the local mock provider's module, in
# build/stage-modules for the run and test commands.  Re-running only rebuilds what changed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ ! -x configure ] || [ configure.ac -nt configure ] || \
   [ -n "$(find . -name Makefile.inc -newer configure 2>/dev/null | head -1)" ] || \
   [ Makefile.am -nt configure ]; then
    autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
mkdir -p build
cd build
if [ ! -f Makefile ] || [ ../configure -nt Makefile ]; then
    ../configure --with-apxs="$(command -v apxs || command -v apxs2)" >configure.log 2>&1 || {
        tail -30 configure.log >&2; exit 1; }
fi
make -j"$(nproc)" >make.log 2>&1 || { grep -E 'error|Error' make.log | head -30 >&2; tail -20 make.log >&2; exit 1; }
mkdir -p stage-modules
for m in scan route audit mock; do
    install -m 755 "modules/mod_llm_$m/.libs/mod_llm_$m.so" stage-modules/
done
