#!/bin/bash
# The Systole demo (`make demo`): three nodes on loopback addresses, no
# root needed, the example configuration loaded, crm_mon live. Ctrl-C
# stops the nodes and removes the lab directory.
#
#   examples/demo.sh [BIN_DIR]        (default: ./bin, as `make build` fills it)
#   DEMO_SECONDS=N examples/demo.sh   watch for N seconds, then clean up (tests)
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${1:-$here/../bin}" && pwd) || exit 1
dir=$(mktemp -d "${TMPDIR:-/tmp}/systole-demo.XXXXXX") || exit 1

cleanup() {
	trap - EXIT INT TERM
	echo
	echo "demo: stopping the nodes and removing $dir"
	"$bin/systole" lab down --dir "$dir" || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$bin/systole" lab up -n 3 --loopback --dir "$dir" --wait 60s --bin-dir "$bin" || exit 1
export CIB_socket=$dir/node1/run/cib.sock
unset CIB_file
"$bin/cibadmin" --replace --scope configuration --xml-file "$here/demo-cib.xml" || exit 1
echo "demo: loaded examples/demo-cib.xml; try in another shell:"
echo "  export CIB_socket=$CIB_socket PATH=$bin:\$PATH"
echo "  systole lab kill node1 --dir $dir       # and watch the group move"
echo "  systole lab fail-resource node2 demo-batch --dir $dir"
echo "  crm_resource --move -r demo-web -N node3"
sleep 2

# DEMO_SECONDS bounds the watch (for tests); otherwise it runs until Ctrl-C.
limit=()
if [ -n "${DEMO_SECONDS:-}" ]; then
	limit=(timeout "$DEMO_SECONDS")
fi
if [ -x "$bin/crm_mon" ]; then
	"${limit[@]}" "$bin/crm_mon" -r -i 2s
else
	# crm_mon is not built: show the CIB's status section instead
	"${limit[@]}" bash -c 'while :; do clear 2>/dev/null; date; "$0/cibadmin" -Q -o status; sleep 2; done' "$bin"
fi
exit 0
