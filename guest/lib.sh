# Shared shell functions for guest/build, lab/build, lab/run and scripts/*.
# Source it from bash (it uses arrays and `local`); it sets nothing else up.
# Everything it writes goes under NV_BUILD: build/ (git-ignored) in the
# source tree, or $NESTVM_BUILD_DIR, which an installed nestvm sets to its
# state directory (nestvm guest build, nestvm lab) as these scripts are
# installed read-only in PREFIX/lib/nestvm.

nv_die() { echo "${NV_PROG:-nestvm}: $*" >&2; exit 1; }
# nv_say: progress worth seeing always; nv_log: chatter NV_QUIET=1 hides;
# nv_progress: the steps of long work, on a terminal only (logs stay as
# they were).
nv_say() { echo "${NV_PROG:-nestvm}: $*" >&2; }
nv_log() { [ -n "${NV_QUIET:-}" ] || nv_say "$@"; }
nv_progress() { if [ -t 2 ]; then nv_say "$@"; fi; }

NV_ROOT=${NV_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)}
# NV_TREE: these scripts run from a source tree (or the lab's copy of one),
# not installed in PREFIX/lib/nestvm (make install), whose build/ would be
# a system folder.
NV_TREE=1
case $NV_ROOT in */lib/nestvm) NV_TREE='' ;; esac
if [ -n "${NESTVM_BUILD_DIR:-}" ]; then
	NV_BUILD=$NESTVM_BUILD_DIR
elif [ -n "$NV_TREE" ]; then
	NV_BUILD=$NV_ROOT/build
else
	nv_die "NESTVM_BUILD_DIR is not set: run this through nestvm (nestvm guest build, nestvm lab)"
fi
NV_CACHE=$NV_BUILD/cache
# The nestvm that the nested support disk and the lab carry.
NV_NESTVM=${NESTVM_EXE:-$NV_BUILD/nestvm}
# The kernel flavour: a metapackage that always points at the current
# versioned package (security updates rename it, so never hard-code it).
NV_KERNEL_META=${NV_KERNEL_META:-linux-image-cloud-amd64}
# Initramfs compression: none boots fastest under emulation (measured in
# lab/README.md); gzip is the fallback when size matters.
NV_INITRD_COMPRESS=${NESTVM_INITRD_COMPRESS:-none}

# nv_encode_cmd ARG... -> the value of `nestvm.cmd=`: the argv joined by NUL
# bytes (not terminated), standard base64 with padding, no line breaks.
# The C VMM implements the same encoding; guest/init decodes it.
nv_encode_cmd() {
	[ $# -gt 0 ] || nv_die "nv_encode_cmd: no command"
	{
		printf '%s' "$1"
		shift
		for a in "$@"; do printf '\0%s' "$a"; done
	} | base64 -w0
}

# nv_lock NAME: hold build/.NAME.lock until the script exits, so that
# concurrent builds (parallel lab/run calls) do not trample each other.
nv_lock() {
	mkdir -p "$NV_BUILD"
	exec 9>"$NV_BUILD/.$1.lock"
	flock 9 || nv_die "cannot lock $NV_BUILD/.$1.lock"
}

# nv_manifest FILE_OR_DIR... -> one line per file (path, size, mtime) so
# that a rebuild can be skipped when nothing changed; missing paths are
# listed as such so their later appearance triggers a rebuild.
nv_manifest() {
	local p
	for p in "$@"; do
		if [ -e "$p" ]; then
			find "$p" \( -type f -o -type l \) -printf '%p %s %T@\n' | LC_ALL=C sort
		else
			echo "$p missing"
		fi
	done
}

# nv_up_to_date STAMP OUTPUT...: true when every output exists and STAMP
# holds exactly $NV_MANIFEST (set it from nv_manifest first; nv_stamp
# writes it after a successful build).
nv_up_to_date() {
	local stamp=$1 o
	shift
	for o in "$@"; do [ -e "$o" ] || return 1; done
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$NV_MANIFEST" ]
}
nv_stamp() { printf '%s\n' "$NV_MANIFEST" >"$1"; }

# nv_kernel: makes sure the cloud kernel package is downloaded (cached
# under $NV_CACHE, so reruns work offline) and unpacked with a
# modules.dep; sets NV_KDEB (the .deb), NV_KVER (uname -r), NV_KDIR (the
# unpacked tree). NESTVM_KERNEL_DEB=path.deb overrides the download.
nv_kernel() {
	local pkg='' pkgfile=$NV_CACHE/kernel.pkg lists=/var/lib/apt/lists deb
	mkdir -p "$NV_CACHE"
	if [ -n "${NESTVM_KERNEL_DEB:-}" ]; then
		[ -f "$NESTVM_KERNEL_DEB" ] || nv_die "NESTVM_KERNEL_DEB=$NESTVM_KERNEL_DEB: no such file"
		NV_KDEB=$(cd "$(dirname "$NESTVM_KERNEL_DEB")" && pwd -P)/$(basename "$NESTVM_KERNEL_DEB")
		pkg=$(dpkg-deb -f "$NV_KDEB" Package)
	else
		# Resolve the metapackage again only when apt's lists changed
		# (apt-cache costs ~0.2 s; a no-op rebuild should not).
		if [ -s "$pkgfile" ] && ! [ "$lists" -nt "$pkgfile" ]; then
			pkg=$(cat "$pkgfile")
		else
			nv_progress "resolving $NV_KERNEL_META"
			pkg=$(apt-cache depends "$NV_KERNEL_META" 2>/dev/null |
				sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
			[ -n "$pkg" ] && echo "$pkg" >"$pkgfile"
		fi
		if [ -z "$pkg" ]; then
			# No apt lists (offline, never updated): use what the cache has.
			deb=$(ls -t "$NV_CACHE"/linux-image-*.deb 2>/dev/null | head -n1 || true)
			[ -n "$deb" ] || nv_die "cannot resolve $NV_KERNEL_META (run apt-get update, or scripts/setup)"
			pkg=$(dpkg-deb -f "$deb" Package)
		fi
		deb=$(ls -t "$NV_CACHE/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
		if [ -z "$deb" ]; then
			nv_say "downloading $pkg"
			# As root, apt's download sandbox user (_apt) cannot write
			# here; download as root on purpose, quietly.
			(cd "$NV_CACHE" && apt-get download -q=2 -o APT::Sandbox::User=root "$pkg") ||
				nv_die "apt-get download $pkg failed"
			deb=$(ls -t "$NV_CACHE/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
			[ -n "$deb" ] || nv_die "apt-get download $pkg left no .deb in $NV_CACHE"
		fi
		NV_KDEB=$deb
	fi
	NV_KVER=${pkg#linux-image-}
	NV_KDIR=$NV_CACHE/kernel/$pkg
	if ! [ -f "$NV_KDIR/.done" ] || [ "$NV_KDEB" -nt "$NV_KDIR/.done" ]; then
		command -v depmod >/dev/null || nv_die "depmod not found (apt-get install kmod, or run scripts/setup)"
		nv_say "unpacking $(basename "$NV_KDEB")"
		rm -rf "$NV_KDIR"
		mkdir -p "$NV_KDIR"
		dpkg-deb -x "$NV_KDEB" "$NV_KDIR" || nv_die "dpkg-deb -x $NV_KDEB failed"
		[ -f "$NV_KDIR/boot/vmlinuz-$NV_KVER" ] || nv_die "$NV_KDEB has no boot/vmlinuz-$NV_KVER"
		# The package ships no modules.dep; generate it.
		nv_progress "generating modules.dep"
		depmod -b "$NV_KDIR" "$NV_KVER" || nv_die "depmod failed for $NV_KVER"
		touch "$NV_KDIR/.done"
	fi
}

# nv_mod_order NAME... -> module paths (relative to lib/modules/$NV_KVER/)
# in load order, dependencies first, each once. Names as modinfo knows them
# (kvm_amd or kvm-amd). Needs nv_kernel.
nv_mod_order() {
	NV_SEEN=' '
	local m
	for m in "$@"; do _nv_mod_visit "$(_nv_mod_path "$m")"; done
}
_nv_mod_path() {
	local n=${1//_/[-_]} p
	p=$(grep -m1 -E "(^|/)${n}\.ko(\.[a-z]+)?:" "$NV_KDIR/lib/modules/$NV_KVER/modules.dep" | cut -d: -f1)
	[ -n "$p" ] || nv_die "module $1 not found in $NV_KVER"
	echo "$p"
}
_nv_mod_visit() {
	local p=$1 d deps
	case $NV_SEEN in *" $p "*) return 0 ;; esac
	NV_SEEN="$NV_SEEN$p "
	deps=$(awk -F: -v p="$p" '$1 == p { print $2; exit }' "$NV_KDIR/lib/modules/$NV_KVER/modules.dep")
	for d in $deps; do _nv_mod_visit "$d"; done
	echo "$p"
}

# nv_add_modules STAGE LISTNAME NAME[:PARAMS]... copies the modules and
# their dependencies into STAGE/lib/modules/$NV_KVER/ (decompressed, as
# busybox insmod may not read .xz/.zst) and writes
# STAGE/lib/modules/LISTNAME: "path params" lines in load order, which
# guest/init feeds to insmod. Modules listed in STAGE/lib/modules/*.list
# already are skipped (a lab list only adds what the base lacks).
nv_add_modules() {
	local stage=$1 list=$2 spec name params p out have=''
	shift 2
	local mdir=$stage/lib/modules/$NV_KVER
	mkdir -p "$mdir"
	have=$(cat "$stage"/lib/modules/*.list 2>/dev/null | cut -d' ' -f1 || true)
	: >"$stage/lib/modules/$list.tmp"
	for spec in "$@"; do
		name=${spec%%:*}
		params=''
		[ "$name" = "$spec" ] || params=${spec#*:}
		for p in $(nv_mod_order "$name"); do
			out=${p%.xz}; out=${out%.zst}; out=${out%.gz}
			if printf '%s\n' "$have" | grep -qxF "$NV_KVER/$out"; then continue; fi
			have="$have
$NV_KVER/$out"
			mkdir -p "$mdir/$(dirname "$out")"
			case $p in
			*.xz) xz -dc "$NV_KDIR/lib/modules/$NV_KVER/$p" >"$mdir/$out" ;;
			*.zst) zstd -qdc "$NV_KDIR/lib/modules/$NV_KVER/$p" >"$mdir/$out" ;;
			*.gz) gzip -dc "$NV_KDIR/lib/modules/$NV_KVER/$p" >"$mdir/$out" ;;
			*) cp "$NV_KDIR/lib/modules/$NV_KVER/$p" "$mdir/$out" ;;
			esac
			# Parameters belong to the module named, not to its deps.
			if [ "$(basename "${out%.ko}" | tr - _)" = "$(echo "$name" | tr - _)" ]; then
				echo "$NV_KVER/$out $params" >>"$stage/lib/modules/$list.tmp"
			else
				echo "$NV_KVER/$out" >>"$stage/lib/modules/$list.tmp"
			fi
		done
	done
	mv "$stage/lib/modules/$list.tmp" "$stage/lib/modules/$list"
}

# nv_copy_needed STAGE FILE copies the shared libraries (and the dynamic
# loader) FILE needs into STAGE at the same absolute paths.
nv_copy_needed() {
	local lib
	# ldd prints "name => /path (addr)" and "/lib64/ld-linux... (addr)".
	for lib in $(ldd "$2" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
		[ -e "$1$lib" ] && continue
		mkdir -p "$1$(dirname "$lib")"
		cp -L "$lib" "$1$lib"
	done
}

# nv_copy_libs STAGE FILE... copies the shared libraries (and the dynamic
# loader) of every dynamic ELF among FILEs into STAGE at the same absolute
# paths, so the binaries run unchanged inside an initramfs.
nv_copy_libs() {
	local stage=$1 f
	shift
	for f in "$@"; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		head -c4 "$f" 2>/dev/null | grep -q 'ELF' || continue
		nv_copy_needed "$stage" "$f"
	done
}

# Libraries nestvm loads with dlopen (ldd does not list them): libslirp,
# when a NAT switch starts (src/net/slirp_runtime.c).
NV_DLOPENED=(/lib/x86_64-linux-gnu/libslirp.so.0)

# nv_copy_dlopened STAGE copies NV_DLOPENED and their own libraries into
# STAGE at the same absolute paths. The nestvm binary is static: its
# dlopen finds libc's own dependency, the dynamic loader, by name in the
# library directory (no ld.so.cache in an initramfs), not at /lib64.
nv_copy_dlopened() {
	local lib loader
	for lib in "${NV_DLOPENED[@]}"; do
		[ -e "$lib" ] || nv_die "$lib not found (apt-get install libslirp0, or run scripts/setup)"
		mkdir -p "$1$(dirname "$lib")"
		cp -L "$lib" "$1$lib"
		nv_copy_needed "$1" "$lib"
	done
	loader=$(readlink -f /lib64/ld-linux-x86-64.so.2)
	mkdir -p "$1/lib/x86_64-linux-gnu"
	cp -L "$loader" "$1/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
}

# nv_cpio STAGE -> newc archive on stdout, owned by root, plus a
# dev/console node (made here, not with mknod, so no root is needed): the
# kernel opens /dev/console for init before init can mount devtmpfs.
nv_cpio() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) ||
		nv_die "cpio failed for $1"
	# The kernel reads concatenated archives; this one holds dev/console
	# (char 5:1, mode 0600) and a trailer. Header: magic + 13 hex fields.
	_nv_newc 1 0x2180 5 1 dev/console
	_nv_newc 0 0 0 0 'TRAILER!!!'
}
_nv_newc() {
	local ino=$1 mode=$2 maj=$3 min=$4 name=$5 nl=$((${#5} + 1)) pad
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$mode" 0 0 1 0 0 0 0 "$maj" "$min" "$nl" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + nl) % 4) % 4))
	[ "$pad" -eq 0 ] || head -c "$pad" /dev/zero
}

# nv_compress: stdin -> stdout in $NV_INITRD_COMPRESS (none|gzip|zstd|xz).
nv_compress() {
	case $NV_INITRD_COMPRESS in
	none) cat ;;
	gzip) gzip -6n ;;
	zstd) zstd -q -19 ;;
	xz) xz -q --check=crc32 ;;
	*) nv_die "NESTVM_INITRD_COMPRESS=$NV_INITRD_COMPRESS: use none, gzip, zstd or xz" ;;
	esac
}
