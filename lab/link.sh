# lab/link.sh, sourced by lab/run: the lab's --link (a wire to another
# lab) as QEMU arguments. Errors are one line on stderr and status 1.

# lab_link_args LINK IP: sets link_args (the netdev and its virtio-net NIC)
# from --link listen:PATH|connect:PATH and --ip A.B.C.D/PREFIX.
lab_link_args() {
	local link=$1 ip=$2 mode path addr prefix o mac=52:54:00 server
	[ -n "$link" ] || { echo "lab: --ip needs --link (the wire it is an address on)" >&2; return 1; }
	[ -n "$ip" ] || { echo "lab: --link needs --ip IPV4/PREFIX (the lab host's address on it)" >&2; return 1; }
	mode=${link%%:*} path=${link#*:}
	case $mode:$link in
	listen:listen:?* | connect:connect:?*) ;;
	*) echo "lab: --link $link: expected listen:PATH or connect:PATH" >&2; return 1 ;;
	esac
	# QEMU splits its options on commas.
	case $path in *,*) echo "lab: --link $link: the path may not hold a comma" >&2; return 1 ;; esac
	addr=${ip%/*} prefix=${ip#*/}
	if [ "$addr" = "$ip" ] || ! [[ $prefix =~ ^[0-9]{1,2}$ ]] || [ "$prefix" -gt 32 ] ||
		! [[ $addr =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
		echo "lab: --ip $ip: expected IPV4/PREFIX, e.g. 10.99.0.1/24" >&2
		return 1
	fi
	IFS=. read -r -a o <<<"$addr"
	for i in 0 1 2 3; do
		[ "${o[$i]}" -le 255 ] || { echo "lab: --ip $ip: ${o[$i]} is not a byte" >&2; return 1; }
	done
	# 52:54:00 (QEMU's prefix) + the address's last three bytes: the two
	# ends of a wire differ (QEMU would give both 52:54:00:12:34:56).
	for i in 1 2 3; do mac=$mac:$(printf %02x "${o[$i]}"); done
	if [ "$mode" = listen ]; then
		server=on
		# A socket left by an earlier lab: QEMU will not bind over it.
		[ ! -S "$path" ] || rm -f "$path"
		[ ! -e "$path" ] || { echo "lab: --link $link: $path exists and is not a socket" >&2; return 1; }
		[ -d "$(dirname "$path")" ] || { echo "lab: --link $link: no folder $(dirname "$path")" >&2; return 1; }
	else
		server=off
	fi
	link_args=(
		-netdev "stream,id=link,server=$server,addr.type=unix,addr.path=$path"
		-device "virtio-net-pci,netdev=link,mac=$mac"
	)
}

# lab_link_wait LINK: for connect:PATH, until PATH is a socket (60 s).
lab_link_wait() {
	local path=${1#connect:} i
	[ "${1%%:*}" = connect ] || return 0
	for ((i = 0; i < 600; i++)); do
		[ -S "$path" ] && return 0
		sleep 0.1
	done
	echo "lab: --link $1: no lab listens on $path (start the listen: end first)" >&2
	return 1
}
