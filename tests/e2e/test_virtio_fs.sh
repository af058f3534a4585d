#!/usr/bin/env bash
# virtio-fs end to end (issue 14's first brick): the default guest with
# `--share DIR:data` mounts the tag, reads a file the host made, writes one
# the host then has, and sees a change the host makes while it runs; a
# symlink in the folder pointing out of it and `..` show nothing of the
# host's files beside the folder. With `,readonly` the guest's write fails
# and nothing appears on the host. virtiofsd ends with the VM. Two shares
# (repeated --share, different tags, one readonly) are two devices served
# by two virtiofsd: both mount, a write through the writable one lands on
# the host, one to the readonly one fails, and both virtiofsd end with it.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
t_kvm_or_lab linux "$0" "$@"
NV=${NESTVM:-build/nestvm}
# scripts/setup installs it (qemu-system-x86 brings qemu-system-common) and
# lab/build carries it: missing, it is a failure, not a skip.
if [ ! -x /usr/lib/qemu/virtiofsd ]; then
	t_not_ok "virtiofsd is here" "no /usr/lib/qemu/virtiofsd (qemu-system-common)"
	t_summary
	exit
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/share"
echo "from the host" >"$tmp/share/hello.txt"
echo "SECRET-BESIDE-THE-FOLDER" >"$tmp/outside"
ln -s ../outside "$tmp/share/link-out"

# virtiofsd_left [DIR]: a virtiofsd serves DIR ($tmp/share). /proc itself,
# not pgrep: the lab has no procps.
virtiofsd_left() {
	local c dir=${1:-$tmp/share}
	for c in /proc/[0-9]*/cmdline; do
		tr '\0' ' ' <"$c" 2>/dev/null | grep -q "virtiofsd.* -o source=$dir " && return 0
	done
	return 1
}
out=$("$NV" run --share "$tmp/share:data" -- sh -c '
	mkdir -p /mnt/s && mount -t virtiofs data /mnt/s || { echo MOUNT-FAILED; exit 1; }
	cat /mnt/s/hello.txt
	echo "from the guest" >/mnt/s/made.txt && echo WROTE
	cat /mnt/s/link-out 2>/dev/null; ls -a /mnt/s/.. /mnt/s/../.. 2>/dev/null
	i=0; while [ ! -e /mnt/s/later.txt ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
	cat /mnt/s/later.txt
	umount /mnt/s && echo UNMOUNTED' 2>&1 &
	pid=$!
	# The host changes the folder while the guest runs.
	for _ in $(seq 600); do [ -e "$tmp/share/made.txt" ] && break; sleep 0.5; done
	! virtiofsd_left || : >"$tmp/virtiofsd-seen"
	echo "made on the host while it ran" >"$tmp/share/later.txt"
	wait "$pid")
st=$?
if [ "$st" = 0 ] && printf '%s\n' "$out" | grep -q '^from the host$'; then t_ok "the guest mounts the tag and reads the host's file"
else t_not_ok "the guest mounts the tag and reads the host's file" "status $st: $(printf '%s' "$out" | tail -n 5 | tr '\n' '|')"; fi
if [ "$(cat "$tmp/share/made.txt" 2>/dev/null)" = "from the guest" ]; then t_ok "the guest's file is on the host"
else t_not_ok "the guest's file is on the host" "$tmp/share/made.txt: $(cat "$tmp/share/made.txt" 2>&1)"; fi
if printf '%s\n' "$out" | grep -q '^made on the host while it ran$'; then t_ok "the host's change shows in the running guest"
else t_not_ok "the host's change shows in the running guest" "$(printf '%s' "$out" | tail -n 3 | tr '\n' '|')"; fi
if printf '%s\n' "$out" | grep -q 'SECRET-BESIDE-THE-FOLDER'; then t_not_ok "nothing beside the folder reaches the guest" "the guest read $tmp/outside"
else t_ok "nothing beside the folder reaches the guest (a symlink out, ..)"; fi
if printf '%s\n' "$out" | grep -q '^UNMOUNTED$'; then t_ok "the guest unmounts it"; else t_not_ok "the guest unmounts it" "no UNMOUNTED"; fi
if [ -e "$tmp/virtiofsd-seen" ]; then t_ok "virtiofsd serves the folder while the VM runs"
else t_not_ok "virtiofsd serves the folder while the VM runs" "no virtiofsd process for $tmp/share"; fi
if virtiofsd_left; then t_not_ok "virtiofsd ends with the VM" "still running"
else t_ok "virtiofsd ends with the VM"; fi

out=$("$NV" run --share "$tmp/share:ro,readonly" -- sh -c '
	mkdir -p /mnt/s && mount -t virtiofs ro /mnt/s || { echo MOUNT-FAILED; exit 1; }
	cat /mnt/s/hello.txt
	if echo no >/mnt/s/refused.txt; then echo WRITE-ACCEPTED; else echo WRITE-REFUSED; fi' 2>&1)
if printf '%s\n' "$out" | grep -q '^WRITE-REFUSED$' && [ ! -e "$tmp/share/refused.txt" ] &&
	printf '%s\n' "$out" | grep -q '^from the host$'; then t_ok "readonly: reads, and the host refuses the write"
else t_not_ok "readonly: reads, and the host refuses the write" "$(printf '%s' "$out" | tail -n 3 | tr '\n' '|')"; fi

mkdir "$tmp/rw" "$tmp/ro"
echo "in the writable one" >"$tmp/rw/rw.txt"
echo "in the readonly one" >"$tmp/ro/ro.txt"
out=$("$NV" run --share "$tmp/rw:rwtag" --share "$tmp/ro:rotag,readonly" -- sh -c '
	mkdir -p /mnt/rw /mnt/ro
	mount -t virtiofs rwtag /mnt/rw || echo RW-MOUNT-FAILED
	mount -t virtiofs rotag /mnt/ro || echo RO-MOUNT-FAILED
	cat /mnt/rw/rw.txt /mnt/ro/ro.txt
	if echo no >/mnt/ro/refused.txt; then echo RO-WRITE-ACCEPTED; else echo RO-WRITE-REFUSED; fi
	echo "through the writable one" >/mnt/rw/made.txt && echo RW-WROTE
	i=0; while [ ! -e /mnt/rw/checked ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
	umount /mnt/rw && umount /mnt/ro && echo UNMOUNTED' 2>&1 &
	pid=$!
	# Both back-ends while the guest still has both mounted.
	for _ in $(seq 600); do [ -e "$tmp/rw/made.txt" ] && break; sleep 0.5; done
	virtiofsd_left "$tmp/rw" && virtiofsd_left "$tmp/ro" && : >"$tmp/two-seen"
	: >"$tmp/rw/checked"
	wait "$pid")
st=$?
if [ "$st" = 0 ] && printf '%s\n' "$out" | grep -q '^in the writable one$' &&
	printf '%s\n' "$out" | grep -q '^in the readonly one$' && ! printf '%s\n' "$out" | grep -q 'MOUNT-FAILED'
then t_ok "two shares: the guest mounts both tags and reads each folder"
else t_not_ok "two shares: the guest mounts both tags and reads each folder" "status $st: $(printf '%s' "$out" | tail -n 5 | tr '\n' '|')"; fi
if [ "$(cat "$tmp/rw/made.txt" 2>/dev/null)" = "through the writable one" ] && [ ! -e "$tmp/ro/made.txt" ]
then t_ok "two shares: a write through the writable one lands in its folder on the host"
else t_not_ok "two shares: a write through the writable one lands in its folder on the host" "$tmp/rw/made.txt: $(cat "$tmp/rw/made.txt" 2>&1)"; fi
if printf '%s\n' "$out" | grep -q '^RO-WRITE-REFUSED$' && [ ! -e "$tmp/ro/refused.txt" ]
then t_ok "two shares: the readonly one refuses the write"
else t_not_ok "two shares: the readonly one refuses the write" "$(printf '%s' "$out" | tail -n 3 | tr '\n' '|')"; fi
if printf '%s\n' "$out" | grep -q '^UNMOUNTED$'; then t_ok "two shares: the guest unmounts both"
else t_not_ok "two shares: the guest unmounts both" "no UNMOUNTED"; fi
if [ -e "$tmp/two-seen" ]; then t_ok "two shares: one virtiofsd each while the VM runs"
else t_not_ok "two shares: one virtiofsd each while the VM runs" "not both of $tmp/rw and $tmp/ro served"; fi
if virtiofsd_left "$tmp/rw" || virtiofsd_left "$tmp/ro"; then t_not_ok "two shares: both virtiofsd end with the VM" "one still runs"
else t_ok "two shares: both virtiofsd end with the VM"; fi
t_summary
