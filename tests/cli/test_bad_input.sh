#!/usr/bin/env bash
# Bad input to `nestvm run` and `nestvm vm start` gets one line naming the
# problem and exit status 2, never a crash, on any host: all input is checked
# before KVM is opened, so a host without /dev/kvm (or with a paravirtual
# one) names the bad file, not its KVM. Only good input meets the KVM check,
# whose line names the KVM problem and the lab. Needs the default guest (for
# the initrd-size cases).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
K=build/guest/vmlinuz

head -c 3000000 /dev/urandom >"$T/random.bin"
dd if=/dev/urandom of="$T/random-20M.bin" bs=1048576 count=20 2>/dev/null
head -c 20000 "$K" >"$T/truncated-bzImage"
# An ELF for another architecture: the header of an aarch64 executable.
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\002\000\267\000\001\000\000\000' >"$T/arm64.elf"
head -c 4096 /dev/zero >>"$T/arm64.elf"
dd if=/dev/zero of="$T/huge.img" bs=1048576 count=0 seek=600 2>/dev/null # sparse
printf 'x' >"$T/disk.img"

t_bad "missing kernel" "kernel '$T/nope'.*No such file" $NV run --kernel "$T/nope" -- true
t_bad "random bytes as kernel" "not a Linux kernel" $NV run --kernel "$T/random.bin" -- true
t_bad "truncated bzImage" "(truncated|not a Linux kernel)" $NV run --kernel "$T/truncated-bzImage" -- true
t_bad "ELF for another architecture" "(aarch64|AArch64|ARM|not x86-64)" $NV run --kernel "$T/arm64.elf" -- true
t_bad "initrd larger than memory" "initrd.*(larger|fit)" $NV run --memory 256M --initrd "$T/huge.img" -- true
dd if=/dev/zero of="$T/initrd-40M.img" bs=1048576 count=40 2>/dev/null
t_bad "initrd does not fit beside the kernel" "initrd.*does not fit" $NV run --memory 80M --initrd "$T/initrd-40M.img" -- true
t_bad "kernel larger than memory" "kernel.*(larger|fit)" $NV run --memory 16M --kernel "$T/random-20M.bin" -- true
t_bad "memory 0" "memory.*(small|0)" $NV run --memory 0 -- true
t_bad "memory nonsense" "memory 'lots' is not a size" $NV run --memory lots -- true
t_bad "memory with a fraction" "not a size" $NV run --memory 1.5G -- true
t_bad "memory above the 4T limit" "memory 100T must be 16M..4T" $NV run --memory 100T -- true
host_mib=$(awk '/^(MemTotal|SwapTotal):/ { kib += $2 } END { print int(kib / 1024) }' /proc/meminfo)
t_bad "memory beyond 4 times the host's RAM and swap" "more than 4 times what this host has" \
	$NV run --memory "$((host_mib * 4 + 1024))M" -- true
# More than the host's RAM but not absurd: given as touched, so the checks
# go on (to the next bad input here: a switch that does not exist).
t_bad "memory above the host's RAM is not refused for that" "no switch named nosuchswitch" \
	$NV run --memory "$((host_mib + 1024))M" --nic switch=nosuchswitch -- true
t_bad "cpus 0" "cpus '0'" $NV run --cpus 0 -- true
t_bad "cpus above the limit" "cpus '100000'" $NV run --cpus 100000 -- true
t_bad "NESTVM_SECCOMP nonsense" "NESTVM_SECCOMP is .maybe.: it may be enforce .the default., log or off" env NESTVM_SECCOMP=maybe $NV run -- true
t_bad "cpus not a number" "cpus 'two'" $NV run --cpus two -- true
t_bad "missing disk" "cannot open disk image $T/missing.img: No such file" $NV run --disk "$T/missing.img" -- true
t_bad "a folder as a disk" "disk image $T is not a regular file or block device" $NV run --disk "$T,readonly" -- true
# The input decides before the host: with the extensions asked for, a bad
# kernel is still what the user hears about.
t_bad "bad kernel with --nested: the kernel, not the host" "not a Linux kernel" \
	$NV run --nested --kernel "$T/random.bin" -- true
t_bad "missing disk with --nested: the disk, not the host" "cannot open disk image $T/missing.img" \
	$NV run --nested --disk "$T/missing.img" -- true
t_bad "disk with an unknown option" "unknown option 'cache'" $NV run --disk "$T/disk.img,cache" -- true
# --nic: switches live under NESTVM_HOME, an empty one here.
export NESTVM_HOME="$T/home"
t_bad "nic with an unknown key" "unknown key 'model'" $NV run --nic switch=lan,model=e1000 -- true
t_bad "nic with a malformed MAC" "'52:54:00:zz:00:01' is not a MAC" $NV run --nic switch=lan,mac=52:54:00:zz:00:01 -- true
t_bad "nic with a multicast MAC" "multicast" $NV run --nic switch=lan,mac=01:00:5e:00:00:01 -- true
t_bad "nic with a zero MAC" "all zeros" $NV run --nic switch=lan,mac=00:00:00:00:00:00 -- true
t_bad "nic without switch=" "missing switch=" $NV run --nic mac=52:54:00:00:00:01 -- true
t_bad "nic with a bad spoofing flag" "on or off" $NV run --nic switch=lan,mac-spoofing=maybe -- true
t_bad "nic on no such switch" "no switch named nosuch" $NV run --nic switch=nosuch -- true
# A named VM's start checks the same input before its VMM opens KVM.
$NV vm create badkernel --kernel "$T/random.bin" >/dev/null 2>&1
t_bad "vm start with a corrupt kernel" "VM badkernel did not start: not a Linux kernel" $NV vm start badkernel
: >"$T/gone.img" && $NV vm create baddisk --disk "$T/gone.img" >/dev/null 2>&1 && rm "$T/gone.img"
t_bad "vm start with a missing disk" "VM baddisk did not start: cannot open disk image $T/gone.img" $NV vm start baddisk
t_bad "nine nics" "at most 8 --nic" $NV run --nic switch=a --nic switch=a --nic switch=a --nic switch=a \
	--nic switch=a --nic switch=a --nic switch=a --nic switch=a --nic switch=a -- true
t_bad "unknown --device" "--device 'frob': no such device \\(devices: rng" $NV run --device frob -- true
t_bad "--device for a type with its own option" "--device 'blk': blk devices are given with --disk" $NV run --device blk -- true
t_bad "nine --device" "at most 8 --device" $NV run --device rng --device rng --device rng --device rng \
	--device rng --device rng --device rng --device rng --device rng -- true
for i in $(seq 1 9); do truncate -s 1M "$T/d$i.img"; done
t_bad "more virtio devices than windows" "more than the 16 virtio devices" $NV run $(for i in $(seq 1 9); do printf -- '--disk %s ' "$T/d$i.img"; done) \
	--device rng --device rng --device rng --device rng --device rng --device rng --device rng --device rng -- true
t_bad "invalid VM name" "--name '../x' is not a valid VM name" $NV run --name ../x -- true
unset NESTVM_HOME
t_bad "unknown option" "unknown option '--frobnicate'" $NV run --frobnicate -- true
# --share DIR:TAG[,readonly]: a shared folder (virtio-fs through virtiofsd).
mkdir -p "$T/shared"
t_bad "--share without a tag" "--share '$T/shared': give DIR:TAG" $NV run --share "$T/shared" -- true
t_bad "--share of a missing folder" "--share '$T/nope': not an existing folder" $NV run --share "$T/nope:data" -- true
t_bad "--share of a file" "--share '$T/disk.img': not an existing folder" $NV run --share "$T/disk.img:data" -- true
t_bad "--share with a bad tag" "--share '$T/shared:a b': the tag 'a b' is not 1-36 of" $NV run --share "$T/shared:a b" -- true
t_bad "--share with a 37-byte tag" "the tag '$(printf 'a%.0s' $(seq 37))' is not 1-36" \
	$NV run --share "$T/shared:$(printf 'a%.0s' $(seq 37))" -- true
t_bad "--share with an unknown setting" "--share '$T/shared:data,rw': unknown setting 'rw' \\(only readonly\\)" \
	$NV run --share "$T/shared:data,rw" -- true
# Repeatable, up to 8, each with a tag of its own.
mkdir -p "$T/shared2"
t_bad "two --share with one tag" "--share '$T/shared2:a': the tag 'a' is already used by the shared folder $T/shared\$" \
	$NV run --share "$T/shared:a" --share "$T/shared2:a" -- true
shares=()
for i in $(seq 0 8); do mkdir -p "$T/share$i"; shares+=(--share "$T/share$i:t$i"); done
t_bad "nine --share" "--share '$T/share8:t8': at most 8 shared folders\$" $NV run "${shares[@]}" -- true
# Eight pass every check up to virtiofsd's (missing here on purpose).
t_bad "eight --share are taken" "--share needs /nonexistent/virtiofsd, which is missing" \
	env NESTVM_VIRTIOFSD=/nonexistent/virtiofsd $NV run "${shares[@]:0:16}" -- true
devices=()
for i in $(seq 0 7); do devices+=(--device rng); done
t_bad "eight --share and nine other virtio devices" "devices: 0 disks, 1 network adapters and 8 devices with 8 shared folders are more than the 16 virtio devices" \
	$NV run "${shares[@]:0:16}" "${devices[@]}" --nic switch=nope -- true
t_bad "--share and --save-on-exit" "--save-on-exit: a VM with a shared folder cannot be saved yet" \
	$NV run --share "$T/shared:data" --save-on-exit "$T/saved" -- true
t_bad "--share and --restore" "--restore: a VM with a shared folder cannot be saved yet" \
	$NV run --share "$T/shared:data" --restore "$T/saved"
t_bad "--share and --incoming" "--incoming: a VM with a shared folder cannot be saved yet" \
	$NV run --share "$T/shared:data" --incoming unix:"$T/mig.sock"
t_bad "--device fs" "--device 'fs': fs devices are given with --share" $NV run --device fs -- true
t_bad "--share without virtiofsd" "--share needs /nonexistent/virtiofsd, which is missing: install Debian's package qemu-system-common" \
	env NESTVM_VIRTIOFSD=/nonexistent/virtiofsd $NV run --share "$T/shared:data" -- true
t_bad "kvm device missing" "/nonexistent/kvm is missing" $NV run --kvm-device /nonexistent/kvm -- true
# All input good: now the host's KVM decides, and says what it lacks.
if ! t_kvm_meets tiny; then
	t_bad "good input, no usable KVM: the KVM problem and the lab" "nestvm lab" $NV run -- true
elif ! t_kvm_meets linux; then
	t_bad "a stock kernel on a paravirtual KVM is refused at once" "paravirtual KVM.*--pvm-kernel" $NV run -- true
fi
if [ "$(id -u)" = 0 ] && [ -e /dev/kvm ]; then
	# An unprivileged user with a readable copy of everything but /dev/kvm.
	mkdir -p "$T/guest" && cp "$NV" "$T/nestvm" && cp build/guest/vmlinuz build/guest/initrd.img "$T/guest/"
	chmod -R a+rX "$T"
	t_bad "kvm device not permitted" "/dev/kvm is not usable by (nobody|uid 65534) \\(permission denied\\); fix: (usermod -aG kvm nobody|setfacl -m u:65534:rw /dev/kvm)" \
		"$(t_tool run_as)" 65534 65534 "$T/nestvm" run -- true
fi
# Saved state: checked before KVM is opened, so on any host.
mkdir -p "$T/saved-bad"
head -c 5000 /dev/urandom >"$T/saved-bad/vm.state"
t_bad "--restore of a directory without a state" "^nestvm: state file $T/none/vm.state: No such file or directory$" \
	$NV run --restore "$T/none"
t_bad "--restore of random bytes" "^nestvm: state file $T/saved-bad/vm.state: not a nestvm state file \\(bad magic\\)$" \
	$NV run --restore "$T/saved-bad"
t_bad "--restore with settings" "^nestvm: --restore continues a saved VM with its own settings" \
	$NV run --restore "$T/saved-bad" --memory 1G
t_bad "--restore with a command" "^nestvm: --restore continues a saved VM with its own settings" \
	$NV run --restore "$T/saved-bad" -- true
t_bad "--save-on-exit needs a value" "--save-on-exit needs a value" $NV run --save-on-exit
t_bad "unknown subcommand" "unknown command 'frob'" $NV frob
t_summary
