# Xen's own xenstore-control and test-xenstore (Debian's xen-utils-4.17, unpacked by scripts/fetch-xen-utils.sh, never installed) and xenstore-* tools against a private kxenstored and a real guest.
. "$(dirname "$0")/lib.sh"
XU=$(sh "$S/scripts/fetch-xen-utils.sh" 2>"$T/fetch.err") ||
	skip "Xen's xenstore-control (xen-utils-4.17) could not be fetched: $(tail -1 "$T/fetch.err")"
XC=$XU/xenstore-control
missing=$(ldd "$XC" "$XU/test-xenstore" | grep 'not found' | head -1)
[ -z "$missing" ] || skip "Xen's tools need libraries that are not installed (libxen-dev): $missing"
command -v xenstore-write >/dev/null || skip "xenstore-utils is not installed"
dom0_start

# check: "OK", the findings in the daemon's log.
[ "$("$XC" check)" = OK ] || fail "xenstore-control check"
grep -q 'check: [0-9]* nodes, 0 problems' "$T/xs.log" || { cat "$T/xs.log"; fail "check not logged"; }
# quota: Xen's table, then quota set NAME VALUE.
"$XC" quota > "$T/quota.out" || fail "xenstore-control quota"
cat > "$T/quota.want" <<'Q'
Quota settings:
nodes            :     1000 Nodes per domain
watches          :      128 Watches per domain
transactions     :       10 Transactions per domain
outstanding      :       20 Outstanding requests per domain
transaction-nodes:     1024 Max. number of accessed nodes per transaction
memory           :  2621440 Total Xenstore memory per domain (error level)
node-size        :     2048 Max. size of a node
path-max         :     2048 Max. length of a node path
permissions      :        5 Max. number of permissions per node
output-bytes     :   262144 Max. bytes of unread replies and events per connection

Q
diff -u "$T/quota.want" "$T/quota.out" || fail "quota table"
[ "$("$XC" quota set nodes 1234)" = OK ] || fail "quota set nodes 1234"
"$XC" quota | grep -qx 'nodes            :     1234 Nodes per domain' || fail "quota set not applied"
"$XC" quota set nodes 0 2>"$T/err" && fail "quota set nodes 0 accepted"
grep -q '^Command not supported. Valid commands are:' "$T/err" || { cat "$T/err"; fail "quota set nodes 0"; }
"$XC" quota set nodes 1000 >/dev/null || fail "quota set nodes 1000"
# quota-soft: Xen's soft memory quota.
[ "$("$XC" quota-soft | tail -2 | head -1)" = "memory           :  2097152 Total Xenstore memory per domain (warning level)" ] ||
	fail "quota-soft"
# quota DOMID: dom0, a running guest, and a domain that does not exist (ENOENT: "Error 2").
"$XC" quota 0 > "$T/q0.out" || fail "quota 0"
head -2 "$T/q0.out" | tr '\n' ';' | grep -Eq '^Domain 0:;nodes           : +[0-9]+;$' || { cat "$T/q0.out"; fail "quota 0"; }
mkcfg xsc "idle"
id=$(create xsc)
[ -n "$id" ] || fail "no domain id"
"$XC" quota "$id" > "$T/qd.out" || fail "quota $id"
sed -n 1p "$T/qd.out" | grep -qx "Domain $id:" || { cat "$T/qd.out"; fail "quota $id"; }
n=$(sed -n 's/^nodes *: *//p' "$T/qd.out")
[ "${n:-0}" -gt 0 ] || { cat "$T/qd.out"; fail "guest d$id owns no nodes by quota $id"; }
b=$(sed -n 's/^memory *: *//p' "$T/qd.out")
[ "${b:-0}" -gt $((n * 64)) ] || { cat "$T/qd.out"; fail "quota $id: memory $b for $n nodes"; }
"$XC" quota 7777 2>"$T/err"; rc=$?
[ $rc = 3 ] && grep -qx 'Error 2 when trying to execute command.' "$T/err" || { cat "$T/err"; fail "quota 7777 (rc $rc)"; }
# Commands kxenstored does not serve (live-update, logfile): Xen's refusal, listing help.
"$XC" logfile "$T/x" 2>"$T/err"; rc=$?
[ $rc = 3 ] || fail "logfile: rc $rc"
"$XC" help > "$T/help.out" || fail "help"
{ echo 'Command not supported. Valid commands are:'; cat "$T/help.out"; } | diff -u - "$T/err" ||
	fail "refusal does not list help"
grep -qx 'quota	\[set <name> <val>|<domid>\]' "$T/help.out" || fail "help lacks quota"

# SET_PERMS: a created (not yet introduced, or running) domain may own a node; a missing one may not.
xenstore-write /perm/x 1 || fail "write"
xenstore-chmod /perm/x "n$id" || fail "chmod to running d$id"
xenstore-chmod /perm/x n7777 2>"$T/err" && fail "chmod to a missing domain accepted"
grep -q ENOENT "$T/err" || grep -qi 'no such file' "$T/err" || { cat "$T/err"; fail "chmod error: not ENOENT"; }
# Creation order and path limits through Xen's clients.
xenstore-write /ord/c 1 /ord/a 2 /ord/b 3 || fail "write /ord"
[ "$(xenstore-list /ord | tr '\n' ' ')" = "c a b " ] || fail "xenstore-list order: $(xenstore-list /ord | tr '\n' ' ')"
long=/$(head -c 3071 /dev/zero | tr '\0' a)
xenstore-write "$long" v || fail "write of a $((${#long})) byte path"
xenstore-write "${long}b" v 2>/dev/null && fail "write of a $((${#long} + 1)) byte path accepted"

# Xen's own test program (reads, writes, directories, removal, transactions and their conflicts).
"$XU/test-xenstore" -i 10 > "$T/tx.out" 2>&1 || { cat "$T/tx.out"; fail "test-xenstore"; }
"$XU/test-xenstore" -r 2 > "$T/txr.out" 2>&1 || { cat "$T/txr.out"; fail "test-xenstore -r 2 (random order)"; }
kill -0 "$XSPID" || fail "kxenstored died"
pass "Xen's xenstore-control and test-xenstore"
