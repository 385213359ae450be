#!/bin/sh
# make check's run of scripts/check-docs.sh on the source tree: fails naming each stale path or name in the docs.
exec "${top_srcdir:-$(dirname "$0")/../..}/scripts/check-docs.sh" "${top_srcdir:-$(dirname "$0")/../..}"
