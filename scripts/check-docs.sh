#!/bin/bash
# Fails naming every file path and C name that docs/*.md, README.md and bench/README.md mention but the tree does not have.
#
# Usage: scripts/check-docs.sh [SRCDIR]   (default: this script's tree)
# Checked, outside fenced code blocks too:
#  - paths under a top-level folder (hypervisor/ctl.c, `tests/unit/...`):
#    the path must exist, or be a program built from PATH.c or PATH.sh;
#    globs (hc_*.c, xenbus.[ch]) must match something;
#  - bare file names in backticks (`ctl.c`): some file of that name exists;
#  - backticked C names with an underscore (`kxd_loop_run()`, `struct
#    ctl_req`, `KXCTL_HELLO`): the identifier appears in a *.c, *.h or *.S
#    or any other source of the tree (not the docs), in the Xen public
#    headers (<xen/...>) for ABI names, or in scripts/check-docs.allow
#    (names from Linux, libxc, QEMU that the docs discuss);
#  - other documents and source files named without a folder (DESIGN.md,
#    ctl.c), in backticks or not: a file of that name exists;
#  - docs/architecture.md's "Where is what" table has a row per folder.
# Prints one line per problem, "FILE:LINE: what", and exits 1 if any.
set -u
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 2
xeninc=/usr/include/xen
tops='hypervisor|dom0-tools|pv-drivers|xml|tests|docs|include|bench|scripts|debian|dist|m4|\.ci'
work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT

docs=(README.md docs/*.md bench/README.md)
# The tree's files: git's list in a clone, else what a tarball holds.
if [ -d .git ] || [ -f .git ]; then
	git ls-files > "$work/files"
else
	find . -type f -not -name '*.o' -not -name '*.a' -not -name 'Makefile' -not -name 'Makefile.in' |
		sed 's:^\./::' > "$work/files"
fi
# Identifiers of every file but the docs themselves (C, assembly, shell,
# automake, packaging), and of Xen's public headers.
grep -v '\.md$' "$work/files" | tr '\n' '\0' |
	xargs -0 grep -ohE '\b[A-Za-z_][A-Za-z0-9_]*\b' > "$work/ids.raw" 2>/dev/null
[ -d "$xeninc" ] && grep -rohE '\b[A-Za-z_][A-Za-z0-9_]*\b' "$xeninc" >> "$work/ids.raw"
# Names from other projects the docs discuss (Linux, libxc, QEMU): scripts/check-docs.allow.
grep -oE '^[^# ]+' scripts/check-docs.allow >> "$work/ids.raw" 2>/dev/null
sort -u "$work/ids.raw" > "$work/ids"
{
	sed 's:.*/::' "$work/files"
	[ -d "$xeninc" ] && find "$xeninc" -type f -printf '%f\n'
	grep -oE '^[^# ]+' scripts/check-docs.allow 2>/dev/null
} | sort -u > "$work/names"
grep -oE '^[^# ]+/[^# ]*' scripts/check-docs.allow > "$work/extpaths" 2>/dev/null

bad=0
problem() {
	echo "$1"
	bad=1
}

# "FILE:LINE:token" for each path under a top-level folder.
grep -noE "(^|[^A-Za-z0-9_./-])($tops)/[][A-Za-z0-9_.*+/-]*" "${docs[@]}" |
	sed -E "s/^([^:]*:[0-9]+:)[^A-Za-z.]*/\1/; s/[.,;:)]+$//; s:/+$::" > "$work/paths"
while IFS=: read -r f n p; do
	case $p in
	*\[*) ;;
	*\]) p=${p%]} ;;   # the text of a [docs/x.md](...) link
	esac
	grep -qxF "$p" "$work/extpaths" && continue
	case $p in
	*[\*\[]*)
		# shellcheck disable=SC2086
		set -- $p
		[ -e "$1" ] || problem "$f:$n: no file matches $p"
		;;
	*)
		# A file the build makes (dist/kxl.1) is absent from the sources of a
		# VPATH build: its folder's Makefile.am has a rule for it.
		[ -e "$p" ] || [ -e "$p.c" ] || [ -e "$p.sh" ] || [ -e "$p.in" ] ||
			grep -qF "${p##*/}:" "$(dirname "$p")/Makefile.am" 2>/dev/null ||
			problem "$f:$n: no such file: $p"
		;;
	esac
done < "$work/paths"

# Other documents and source files named without a folder (DESIGN.md,
# ctl.c): some file of that name is in the tree.
grep -noE '(^|[^A-Za-z0-9_/.-])[A-Za-z0-9_-]+\.(md|c|h|S|sh)\b' "${docs[@]}" |
	sed -E 's/^([^:]*:[0-9]+:)[^A-Za-z0-9_-]*/\1/' > "$work/mds"
while IFS=: read -r f n m; do
	grep -qxF "$m" "$work/names" || problem "$f:$n: no file named $m in the tree"
done < "$work/mds"

# Backticked spans, one per line as "FILE:LINE:span".
# shellcheck disable=SC2016 # backticks, not a command
grep -noE '`[^`]+`' "${docs[@]}" | sed -E 's/`//g' > "$work/spans"
while IFS=: read -r f n s; do
	s=${s#struct }
	s=${s#enum }
	s=${s%()}
	case $s in
	*/*) ;;   # a path: checked above when under a top-level folder
	*[\*\[]*.[chS] | *[\*\[]*.sh)
		find . -name "$s" -not -path './.git/*' | grep -q . || problem "$f:$n: no file matches $s in the tree"
		;;
	?*.c | ?*.h | ?*.S | ?*.sh | ?*.md)
		grep -qxF "$s" "$work/names" || problem "$f:$n: no file named $s in the tree"
		;;
	*)
		# A name, not a prefix (`kxd_`) or `__` alone.
		if [[ $s =~ ^[A-Za-z_][A-Za-z0-9_]*_[A-Za-z0-9_]*$ && $s =~ [A-Za-z0-9]$ ]]; then
			# A program is named after its source (fuzz_xml: tests/fuzz/fuzz_xml.c).
			grep -qxF "$s" "$work/ids" || grep -qxE "$s\.(c|sh)" "$work/names" ||
				problem "$f:$n: no name $s in the tree's sources"
		fi
		;;
	esac
done < "$work/spans"
# docs/architecture.md's "Where is what" has a row for every folder: each
# top-level one and each one level down in dom0-tools, pv-drivers, tests
# and include.
awk '/^## Where is what/ { on = 1; next } /^## / { on = 0 } on' docs/architecture.md > "$work/where"
{
	grep / "$work/files" | cut -d/ -f1
	grep -E '^(dom0-tools|pv-drivers|tests|include)/[^/]+/' "$work/files" | cut -d/ -f1-2
} | sort -u | while read -r d; do
	grep -qF "| \`$d/\` |" "$work/where" ||
		echo "docs/architecture.md: \"Where is what\" has no row for $d/"
done > "$work/rows"
[ -s "$work/rows" ] && { cat "$work/rows"; bad=1; }
exit $bad
