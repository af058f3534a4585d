#!/usr/bin/env bash
# Named VMs in the store, on this host (no KVM needed): create, list, show,
# set with Hyper-V's rules, delete; a "running" VM simulated by a Running
# record whose vmm.lock a background process holds (tests/tools/hold_lock);
# reaping when that holder dies; corrupt records; concurrent `vm set`;
# `nestvm status VM`; `nestvm enable-nested` through a real terminal.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM_BIN:-build/nestvm}
case $NV in /*) ;; *) NV=$PWD/$NV ;; esac
PTY=${PTY_RUN:-$(dirname "$NV")/tests/tools/pty_run}
PROBE=${NESTVM_SWITCH_PROBE:-$(dirname "$NV")/tests/tools/switch_probe}
T=$(mktemp -d)
export NESTVM_HOME=$T/home
HOLDERS=()
cleanup() {
	for p in "${HOLDERS[@]}"; do kill "$p" 2>/dev/null; done
	"$NV" switch delete live >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# has NAME REGEX: $T_LAST_OUT matches.
has() {
	if printf '%s\n' "$T_LAST_OUT" | grep -Eq -- "$2"; then t_ok "$1"
	else t_not_ok "$1" "no /$2/ in: $(printf '%s' "$T_LAST_OUT" | tail -n 12 | tr '\n' '|')"; fi
}
lacks() {
	if printf '%s\n' "$T_LAST_OUT" | grep -Eq -- "$2"; then t_not_ok "$1" "/$2/ in: $(printf '%s' "$T_LAST_OUT" | tr '\n' '|')"
	else t_ok "$1"; fi
}
one_line() { # NAME: the last output is exactly one line
	if [ "$(printf '%s\n' "$T_LAST_OUT" | wc -l)" = 1 ]; then t_ok "$1"
	else t_not_ok "$1" "$(printf '%s' "$T_LAST_OUT" | tr '\n' '|')"; fi
}
rec() { echo "$NESTVM_HOME/vms/$1/vm.json"; }

# Simulates a running VMM for VM $1: a background process holds its
# vmm.lock; the record says Running with that pid. Sets HOLDER.
simulate_running() {
	local lock=$NESTVM_HOME/vms/$1/vmm.lock
	"$(t_tool hold_lock)" "$lock" >"$T/hold.$1" &
	HOLDER=$!
	HOLDERS+=("$HOLDER")
	for _ in $(seq 100); do grep -q locked "$T/hold.$1" && break; sleep 0.05; done
	sed -i -e 's/"state": "Off"/"state": "Running"/' -e "s/\"pid\": 0/\"pid\": $HOLDER/" \
		-e "s/\"started_at\": 0/\"started_at\": $(($(date +%s) - 312))/" "$(rec "$1")"
}

truncate -s 1M "$T/data.img"
(cd "$T" && "$NV" vm create web1 --memory 1G --cpus 2 --disk data.img --disk "$T/data.img,readonly" --nic switch=wan >"$T/out" 2>&1)
T_LAST_OUT=$(cat "$T/out")
has "create: prints the VM and Off" '^VM web1 created \(Off\)$'
has "create: warns of a switch not created yet" '^nestvm: warning: no switch named wan yet'
t_expect "create with two adapters" 0 '^VM db created \(Off\)$' -- "$NV" vm create db --nic switch=lan --nic switch=wan,mac=52:54:00:00:00:0b,mac-spoofing=on
t_expect "create with the extensions" 0 '^VM app created \(Off\)$' -- "$NV" vm create app --expose-virtualization-extensions on --memory 2G
t_expect "create: an existing name" 2 "^nestvm: a VM named 'web1' already exists" -- "$NV" vm create web1
t_expect "create: a missing disk" 2 '^nestvm: --disk /nonexistent/x.img: No such file or directory' -- "$NV" vm create x1 --disk /nonexistent/x.img
t_expect "create: a missing kernel" 2 '^nestvm: --kernel /nonexistent/bz: No such file' -- "$NV" vm create x2 --kernel /nonexistent/bz
t_expect "create: a bad name" 2 "^nestvm: '../x' is not a valid VM name" -- "$NV" vm create ../x
t_expect "create: a multicast MAC" 2 'multicast' -- "$NV" vm create x3 --nic switch=wan,mac=01:00:5e:00:00:01
t_expect "create: cpus 0" 2 "^nestvm: --cpus '0' must be 1..255" -- "$NV" vm create x4 --cpus 0
t_expect "create: memory too small" 2 '^nestvm: --memory 8M must be 16M..4T' -- "$NV" vm create x5 --memory 8M
t_expect "create: an unknown --device" 2 "^nestvm: --device 'floppy': no such device" -- "$NV" vm create x6 --device floppy
t_expect "create with --device rng" 0 '^VM ent created \(Off\)$' -- "$NV" vm create ent --device rng
t_expect "show lists the device" 0 '^Device 0 +: rng$' -- "$NV" vm show ent
t_expect "the record carries it" 0 '^ +"rng"$' -- "$NV" vm show ent --json
t_expect "vm pause of an Off VM" 2 '^nestvm: VM ent is not running \(it is Off\)$' -- "$NV" vm pause ent
t_expect "vm resume of an Off VM" 2 '^nestvm: VM ent is not running \(it is Off\)$' -- "$NV" vm resume ent
t_expect "vm pause of no VM" 2 "^nestvm: there is no VM named 'nosuch'" -- "$NV" vm pause nosuch
t_expect "delete ent" 0 '' -- "$NV" vm delete ent
t_expect "create --help" 0 '^usage: nestvm vm create NAME' -- "$NV" vm create --help
t_expect "failed creates left nothing" 0 '' -- "$NV" vm list
lacks "no x1..x5 listed" '^x[0-9]'

t_expect "list" 0 '^Name +State +CPUs +Memory +Nested +Uptime$' -- "$NV" vm list
has "list: app" '^app +Off +1 +2G +On$'
has "list: db" '^db +Off +1 +512M +Off$'
has "list: web1" '^web1 +Off +2 +1G +Off$'
if [ "$(printf '%s\n' "$T_LAST_OUT" | sed -n '2p;3p;4p' | awk '{print $1}' | tr '\n' ' ')" = "app db web1 " ]; then t_ok "list: sorted by name"
else t_not_ok "list: sorted by name" "$T_LAST_OUT"; fi
t_expect "list NAME" 0 '^db ' -- "$NV" vm list db
lacks "list NAME: only that VM" '^web1'
t_expect "list: an unknown NAME" 2 "there is no VM named 'nope'" -- "$NV" vm list nope
t_expect "list --json" 0 '"name": "web1"' -- "$NV" vm list --json
got=$(printf '%s' "$T_LAST_OUT" | "$(t_tool json_get)" 0.name 1.name 2.name 0.nested 2.uptime_seconds | tr '\n' '|')
if [ "$got" = "string app|string db|string web1|boolean true|null|" ]; then t_ok "list --json parses"
else t_not_ok "list --json parses" "$got"; fi

t_expect "show" 0 '^Name +: web1$' -- "$NV" vm show web1
has "show: state" '^State +: Off$'
has "show: memory" '^Memory +: 1G$'
has "show: relative disk made absolute" "^Disk 0 +: $T/data.img\$"
has "show: readonly disk" "^Disk 1 +: $T/data.img \(readonly\)\$"
has "show: adapter with a generated MAC" '^Adapter eth0 +: switch wan, MAC 52:54:00:[0-9a-f:]{8}, MacAddressSpoofing Off$'
has "show: extensions" '^ExposeVirtualizationExtensions : False$'
has "show: dynamic memory" '^DynamicMemoryEnabled +: False$'
mac1=$(printf '%s\n' "$T_LAST_OUT" | sed -n 's/^Adapter eth0 .*MAC \([^,]*\),.*/\1/p')
t_expect "show db: the given MAC and spoofing" 0 '^Adapter eth1 +: switch wan, MAC 52:54:00:00:00:0b, MacAddressSpoofing On$' -- "$NV" vm show db
t_expect "show --json" 0 '"uptime_seconds": null' -- "$NV" vm show web1 --json
got=$(printf '%s' "$T_LAST_OUT" | "$(t_tool json_get)" version config.cpus runtime.state | tr '\n' '|')
if [ "$got" = "int 1|int 2|string Off|" ]; then t_ok "show --json parses"; else t_not_ok "show --json parses" "$got"; fi
t_expect "show: unknown VM" 2 "^nestvm: there is no VM named 'nope'" -- "$NV" vm show nope

# Settings while Off.
t_expect "set --cpus while Off" 0 '^VM web1: CPUs 3$' -- "$NV" vm set web1 --cpus 3
t_expect "set --memory while Off" 0 '^VM web1: Memory 2G$' -- "$NV" vm set web1 --memory 2048
t_expect "set --expose on while Off" 0 '^VM web1: ExposeVirtualizationExtensions True$' -- "$NV" vm set web1 --expose-virtualization-extensions on
t_expect "set --expose off while Off" 0 'ExposeVirtualizationExtensions False' -- "$NV" vm set web1 --expose-virtualization-extensions off
# The bounds from its creation (1G: 512M..4G) still fit the 2G startup.
t_expect "set --dynamic-memory on: the stored bounds, 20 %, 50" 0 \
	'^VM web1: MemoryMinimum 512 MiB, MemoryMaximum 4096 MiB, MemoryBuffer 20 %, MemoryWeight 50$' -- "$NV" vm set web1 --dynamic-memory on
t_expect "show: dynamic memory's settings" 0 '^MemoryMaximum +: 4096 MiB$' -- "$NV" vm show web1
t_expect "set --memory-min above the startup memory is refused" 2 'dynamic_memory.min_mib: the minimum must be 16 MiB..the startup memory \(2048 MiB\), not 4096 MiB' -- "$NV" vm set web1 --memory-min 4G
t_expect "set --memory-max below it is refused" 2 'dynamic_memory.max_mib: the maximum must be the startup memory' -- "$NV" vm set web1 --memory-max 1G
t_expect "set --memory-buffer 4 is refused" 2 "^nestvm: --memory-buffer '4' must be 5..2000 \(percent\)$" -- "$NV" vm set web1 --memory-buffer 4
t_expect "set --memory-weight 101 is refused" 2 "^nestvm: --memory-weight '101' must be 0..100$" -- "$NV" vm set web1 --memory-weight 101
t_expect "set the policy while Off" 0 'MemoryMinimum 256 MiB, MemoryMaximum 4096 MiB, MemoryBuffer 50 %, MemoryWeight 90' -- \
	"$NV" vm set web1 --memory-min 256M --memory-max 4G --memory-buffer 50 --memory-weight 90
json_doc=$("$NV" vm show web1 --json)
printf '%s' "$json_doc" | tr -d ' \n' | grep -q '"dynamic_memory":{"min_mib":256,"max_mib":4096,"buffer_percent":50,"weight":90}' &&
	t_ok "show --json: the policy as stored" || t_not_ok "show --json: the policy as stored" "$json_doc"
t_expect "set --dynamic-memory off" 0 'DynamicMemoryEnabled False' -- "$NV" vm set web1 --dynamic-memory off
t_expect "set --append" 0 "^VM web1: Append 'quiet loglevel=3'\$" -- "$NV" vm set web1 --append "quiet loglevel=3"
t_expect "set --add-nic" 0 '^VM web1: added adapter eth1 on switch lan' -- "$NV" vm set web1 --add-nic switch=lan
t_expect "set --remove-nic 0" 0 '^VM web1: removed adapter eth0 \(switch wan\)$' -- "$NV" vm set web1 --remove-nic 0
t_expect "set --add-nic after a removal: a MAC not in use" 0 'added adapter eth1 on switch wan' -- "$NV" vm set web1 --add-nic switch=wan
"$NV" vm show web1 >"$T/out" 2>&1; T_LAST_OUT=$(cat "$T/out")
macs=$(sed -n 's/^Adapter eth[0-9] .*MAC \([^,]*\),.*/\1/p' "$T/out" | sort | uniq -d)
if [ -z "$macs" ]; then t_ok "adapters' MACs stay unique"; else t_not_ok "adapters' MACs stay unique" "$macs"; fi
has "the readded wan adapter gets its old MAC back" "^Adapter eth1 +: switch wan, MAC $mac1,"
t_expect "set --remove-nic out of range" 2 'has no adapter 5 to remove' -- "$NV" vm set web1 --remove-nic 5
t_expect "set --adapter without --mac-spoofing" 2 '^nestvm: --adapter goes with --mac-spoofing$' -- "$NV" vm set web1 --adapter 0
t_expect "set with nothing to set" 2 'nothing to set' -- "$NV" vm set web1
t_expect "set: unknown option" 2 "^nestvm: unknown option '--frob'" -- "$NV" vm set web1 --frob 1
t_expect "set: bad on/off" 2 '^nestvm: --mac-spoofing must be on or off' -- "$NV" vm set web1 --mac-spoofing maybe
t_expect "set: spoofing on one adapter" 0 '^VM db: MacAddressSpoofing On \(eth0, switch lan\)$' -- "$NV" vm set db --mac-spoofing on --adapter 0
t_expect "set: spoofing on a missing adapter" 2 'has no adapter 4' -- "$NV" vm set db --mac-spoofing on --adapter 4
t_expect "set: a refused change saves nothing" 2 '' -- "$NV" vm set web1 --cpus 4 --dynamic-memory on --memory-max 1G
t_expect "  (cpus unchanged)" 0 '^CPUs +: 3$' -- "$NV" vm show web1

# A running VM (simulated): only spoofing may change.
simulate_running web1
t_expect "list: Running with an uptime" 0 '^web1 +Running +3 +2G +Off +00:0[5-6]:[0-9]{2}$' -- "$NV" vm list
t_expect "set --cpus while Running is refused" 2 '^nestvm: VM web1 is Running: --cpus can only be changed while the VM is Off \(nestvm vm stop web1\)$' -- "$NV" vm set web1 --cpus 4
t_expect "set --expose while Running is refused" 2 '^nestvm: VM web1 is Running: --expose-virtualization-extensions can only be changed while the VM is Off \(nestvm vm stop web1\)$' -- "$NV" vm set web1 --expose-virtualization-extensions on
t_expect "set --memory while Running is refused" 2 'VM web1 is Running: --memory can only be changed while the VM is Off' -- "$NV" vm set web1 --memory 4G
t_expect "set --add-nic while Running is refused" 2 'VM web1 is Running: --add-nic can only' -- "$NV" vm set web1 --add-nic switch=x
t_expect "set --append while Running is refused" 2 'VM web1 is Running: --append can only' -- "$NV" vm set web1 --append x
t_expect "set --mac-spoofing while Running is allowed" 0 '^VM web1: MacAddressSpoofing On \(eth0, switch lan\)$' -- "$NV" vm set web1 --mac-spoofing on
has "  and it tries to apply it at once (no switch daemon here: a warning)" 'warning: adapter 0 \(switch lan\): saved, but not applied now'
t_expect "  saved in the record" 0 'MacAddressSpoofing On' -- "$NV" vm show web1
has "show: the VMM's pid" "^Pid +: $HOLDER\$"
t_expect "delete a Running VM is refused" 2 '^nestvm: VM web1 is Running: stop it first \(nestvm vm stop web1\), or --force$' -- "$NV" vm delete web1
t_expect "enable-nested on a Running VM, N to stopping" 1 'was not stopped: nothing changed' -- \
	bash -c "printf 'Y\nN\n' | '$NV' enable-nested web1"
has "  asks to stop it" 'VM web1 is Running and must be stopped. Stop it now\? \(Y/N\)'
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null
t_expect "the VMM died: list shows Off" 0 '^web1 +Off +3 +2G +Off$' -- "$NV" vm list
t_expect "  with the reason" 0 "^LastStop +: the VMM process \\(pid $HOLDER\\) died\$" -- "$NV" vm show web1
t_expect "  and Off settings may change again" 0 'CPUs 4' -- "$NV" vm set web1 --cpus 4

# Spoofing set on a running VM reaches its switch at once: a real switch,
# and switch_probe as the VM's adapter sp/0.
if [ -x "$PROBE" ] && "$NV" switch create live --type private >/dev/null 2>&1; then
	"$NV" vm create sp --nic switch=live,mac=52:54:00:00:00:5a >/dev/null 2>&1
	simulate_running sp
	mkfifo "$T/probe.in"
	"$PROBE" live sp 0 52:54:00:00:00:5a off <"$T/probe.in" >"$T/probe.out" 2>&1 &
	HOLDERS+=($!)
	exec 8>"$T/probe.in"
	for _ in $(seq 100); do grep -q connected "$T/probe.out" && break; sleep 0.05; done
	t_expect "spoofing on a running VM is applied at once" 0 '^VM sp is Running: MAC address spoofing applied now$' -- "$NV" vm set sp --mac-spoofing on
	t_expect "  the switch's port has it" 0 'port sp/0  mac 52:54:00:00:00:5a  mac-spoofing on' -- "$NV" switch show live
	t_expect "  and off again" 0 'applied now' -- "$NV" vm set sp --mac-spoofing off --adapter 0
	t_expect "  the switch's port has it off" 0 'port sp/0  mac 52:54:00:00:00:5a  mac-spoofing off' -- "$NV" switch show live
	echo quit >&8; exec 8>&-
	kill "$HOLDER"; wait "$HOLDER" 2>/dev/null
	"$NV" switch delete live >/dev/null 2>&1
else
	t_not_ok "spoofing reaches a running VM's switch" "no $PROBE or switch create failed"
fi

# delete --force: SIGTERM to the live VMM, then delete.
"$NV" vm create doomed >/dev/null 2>&1
simulate_running doomed
t_expect "delete --force stops the VMM and deletes" 0 '^VM doomed deleted$' -- "$NV" vm delete doomed --force
if kill -0 "$HOLDER" 2>/dev/null; then t_not_ok "  the VMM got SIGTERM" "pid $HOLDER alive"; else t_ok "  the VMM got SIGTERM"; fi
# A record whose pid now belongs to a stranger (the VMM died, the pid was
# given out again) while a VMM holds the lock: the stranger is never
# signalled (issue 16, point 6).
"$NV" vm create reused >/dev/null 2>&1
simulate_running reused
sleep 600 &
stranger=$!
HOLDERS+=("$stranger")
sed -i "s/\"pid\": $HOLDER/\"pid\": $stranger/" "$(rec reused)"
"$NV" vm delete reused --force >/dev/null 2>&1
"$NV" vm stop reused --force >/dev/null 2>&1
if kill -0 "$stranger" 2>/dev/null; then t_ok "vm delete/stop --force never signal a pid that is not the VM's VMM"
else t_not_ok "vm delete/stop --force never signal a pid that is not the VM's VMM" "pid $stranger (sleep) was killed"; fi
kill "$HOLDER" "$stranger" 2>/dev/null
t_expect "delete an Off VM" 0 '^VM db deleted$' -- "$NV" vm delete db
t_expect "  it is gone" 2 "no VM named 'db'" -- "$NV" vm show db

# Concurrent changes under the record lock: none lost.
"$NV" vm create busy >/dev/null 2>&1
pids=()
for i in 1 2 3 4 5 6 7 8; do "$NV" vm set busy --add-nic "switch=s$i" >"$T/set.$i" 2>&1 & pids+=($!); done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
if [ "$fails" = 0 ]; then t_ok "8 concurrent vm set all succeed"; else t_not_ok "8 concurrent vm set all succeed" "$fails failed: $(cat "$T"/set.* | tr '\n' '|')"; fi
got=$("$NV" vm show busy | sed -n 's/^Adapter eth[0-9] .*switch \(s[0-9]\),.*/\1/p' | sort | tr '\n' ' ')
if [ "$got" = "s1 s2 s3 s4 s5 s6 s7 s8 " ]; then t_ok "  all 8 adapters are in the record (no lost update)"
else t_not_ok "  all 8 adapters are in the record (no lost update)" "$got"; fi
t_expect "a 9th adapter is refused" 2 'more than 8 network adapters' -- "$NV" vm set busy --add-nic switch=s9
ls "$NESTVM_HOME/vms/busy" | grep -q tmp && t_not_ok "no temporary files left" "$(ls "$NESTVM_HOME/vms/busy")" || t_ok "no temporary files left"

# Corrupt records: one line naming file and field; the others still list.
for v in trunc wrongtype unknown; do "$NV" vm create "$v" >/dev/null 2>&1; done
head -c 60 "$(rec trunc)" >"$T/t" && cp "$T/t" "$(rec trunc)"
sed -i 's/"cpus": 1,/"cpus": "one",/' "$(rec wrongtype)"
sed -i 's/"cpus": 1,/"cpus": 1, "balloon": true,/' "$(rec unknown)"
t_expect "truncated JSON: show exits 2" 2 "^nestvm: $(rec trunc): not valid JSON" -- "$NV" vm show trunc
one_line "  in one line"
t_expect "wrong type: names the field" 2 "^nestvm: $(rec wrongtype): config.cpus: must be an integer\$" -- "$NV" vm show wrongtype
one_line "  in one line"
t_expect "unknown field: names the field" 2 "^nestvm: $(rec unknown): config.balloon: unknown field\$" -- "$NV" vm show unknown
one_line "  in one line"
t_expect "list with broken records exits 0" 0 '^web1 +Off' -- "$NV" vm list
has "  broken ones show as Broken" '^trunc +Broken$'
has "  each with its error on stderr" "^nestvm: $(rec wrongtype): config.cpus: must be an integer"
has "  the others list" '^app +Off'
t_expect "set on a broken record exits 2" 2 'config.balloon: unknown field' -- "$NV" vm set unknown --cpus 2
t_expect "a broken record can be deleted" 0 'VM trunc deleted' -- "$NV" vm delete trunc
"$NV" vm delete wrongtype >/dev/null 2>&1; "$NV" vm delete unknown >/dev/null 2>&1

# nestvm status VM.
t_expect "status VM without the extensions: NO" 0 '^The virtual machine web1 supports nested virtualization: NO$' -- "$NV" status web1
has "  host report first" '^This host supports nested virtualization: (YES|NO)$'
has "  State" '^State +: Off$'
has "  ExposeVirtualizationExtensions False" '^ExposeVirtualizationExtensions +: False$'
has "  MemoryStartup" '^MemoryStartup +: 2048 MB$'
has "  DynamicMemoryEnabled" '^DynamicMemoryEnabled +: False$'
has "  spoofing per adapter" '^MacAddressSpoofing \(eth0, switch lan\) : On$'
has "  reason" '^Reason +: the virtualization extensions \(VT-x/AMD-V\) are not exposed to VM web1$'
has "  fix" '^Fix +: nestvm vm set web1 --expose-virtualization-extensions on \(while Off\) or nestvm enable-nested web1$'
host_yes=$("$NV" status | head -n 1 | grep -c YES)
t_expect "status VM with the extensions" 0 '^The virtual machine app supports nested virtualization: ' -- "$NV" status app
if [ "$host_yes" = 1 ]; then has "  YES on a host that nests" 'The virtual machine app supports nested virtualization: YES'
else has "  NO with the host's reason on a host that cannot" '^Reason +: this host cannot nest: '; fi
lacks "  no reason about its extensions" 'not exposed to VM app'
"$NV" vm create lowmem --nested --nic switch=wan >/dev/null 2>&1
t_expect "status: low memory is a NO with a fix" 0 '^Fix +: nestvm vm set lowmem --memory 2048M \(while Off\) or nestvm enable-nested lowmem$' -- "$NV" status lowmem
has "  spoofing off everywhere is a warning" '^Warning +: .*nested guests will have no network unless MAC address spoofing is on or they use a NAT switch inside$'
t_expect "status: an unknown VM exits 2" 2 "^nestvm: unexpected 'nope': there is no VM of that name" -- "$NV" status nope
one_line "  in one line"
t_expect "status --json with VMs" 0 '"vms": ' -- "$NV" status app web1 --json
got=$(printf '%s' "$T_LAST_OUT" | "$(t_tool json_get)" supported vms vms.0.name vms.1.name vms.1.supported | cut -d' ' -f1,2 | tr '\n' '|')
case $got in "boolean "*"|array 2|string app|string web1|boolean false|") t_ok "  parses, with the VMs" ;;
*) t_not_ok "  parses, with the VMs" "$got" ;; esac

# enable-nested through a real terminal.
if [ -x "$PTY" ]; then
	mk() { "$NV" vm delete "$1" >/dev/null 2>&1; "$NV" vm create "$1" --nic switch=wan --nic switch=lan >/dev/null 2>&1; }
	mk en1
	t_expect "enable-nested on a pty: Y then N" 0 'VM en1: ExposeVirtualizationExtensions True' -- \
		"$PTY" --expect 'Input Y to accept or N to cancel:' --send Y --expect 'Would you like to enable MAC address spoofing? (Y/N)' --send N -- "$NV" enable-nested en1
	has "  the plan's header" '^This will set the following for VM en1 in order to enable nesting:$'
	has "  the plan: extensions" 'Expose the virtualization extensions'
	has "  the plan: dynamic memory stays" 'Dynamic memory: stays off \(Hyper-V would turn it off'
	has "  the plan: memory" 'Raise the startup memory from 512 MB to 2048 MB'
	has "  the plan: optional spoofing" 'Optional: enable MAC address spoofing on each adapter \(eth0 on switch wan, eth1 on switch lan\)'
	has "  the warning for skipped spoofing" "^Warning: MAC address spoofing isn't enabled: nested guests won't have network unless they use a NAT switch inside VM en1 \\(nestvm switch create NAME --type nat\\)\$"
	t_expect "  extensions on, memory raised" 0 '^en1 +Off +1 +2G +On$' -- "$NV" vm list en1
	t_expect "  spoofing stays off (the No was honoured)" 0 '^Adapter eth0 .*MacAddressSpoofing Off$' -- "$NV" vm show en1
	t_expect "enable-nested again: only the optional step, Y" 0 'VM en1: MacAddressSpoofing On \(eth1, switch lan\)' -- \
		"$PTY" --expect 'spoofing? (Y/N)' --send y -- "$NV" enable-nested en1
	t_expect "enable-nested a third time: already set up" 0 '^None, VM en1 is already set up for nesting$' -- "$PTY" -- "$NV" enable-nested en1
	mk en2
	t_expect "enable-nested on a pty: Y then Y" 0 'VM en2: MacAddressSpoofing On \(eth1, switch lan\)' -- \
		"$PTY" --expect 'Input Y' --send Y --expect 'spoofing? (Y/N)' --send Y -- "$NV" enable-nested en2
	lacks "  no spoofing warning" "MAC address spoofing isn't enabled"
	t_expect "  all set" 0 '^en2 +Off +1 +2G +On$' -- "$NV" vm list en2
	t_expect "  spoofing on" 0 '^Adapter eth0 .*MacAddressSpoofing On$' -- "$NV" vm show en2
	t_expect "  the second run: already set up" 0 '^None, VM en2 is already set up for nesting$' -- "$PTY" -- "$NV" enable-nested en2
	mk en3
	t_expect "enable-nested on a pty: N" 1 '^Cancelled: nothing changed for VM en3' -- \
		"$PTY" --expect 'Input Y' --send N -- "$NV" enable-nested en3
	lacks "  no further question" 'Would you like'
	t_expect "  nothing changed" 0 '^en3 +Off +1 +512M +Off$' -- "$NV" vm list en3
else
	t_not_ok "enable-nested on a pty" "no $PTY (make check-tests builds it)"
fi
mk2() { "$NV" vm create "$1" --nic switch=wan >/dev/null 2>&1; }
mk2 en4
t_expect "enable-nested --yes without a terminal" 0 'VM en4: MacAddressSpoofing On \(eth0, switch wan\)' -- "$NV" enable-nested en4 --yes
has "  extensions" 'VM en4: ExposeVirtualizationExtensions True'
t_expect "  then: already set up" 0 '^None, VM en4 is already set up for nesting$' -- "$NV" enable-nested en4
mk2 en5
t_expect "enable-nested with no input (EOF is No)" 1 'Cancelled: nothing changed' -- "$NV" enable-nested en5
t_expect "enable-nested: unknown VM" 2 "^nestvm: there is no VM named 'nope'" -- "$NV" enable-nested nope

# A state directory another user owns or may write to is refused: what is in
# it (records, sockets, disks) steers VMs and switches (issue 16, point 6).
chmod 777 "$NESTVM_HOME"
t_fails "a state directory writable by others is refused" 2 "state directory $NESTVM_HOME is writable by others \(mode 0777\): fix: chmod go-w" -- "$NV" vm list
chmod 700 "$NESTVM_HOME"
chmod 775 "$NESTVM_HOME/vms"
t_fails "and so is a part of it" 2 "state directory $NESTVM_HOME/vms is writable by others \(mode 0775\)" -- "$NV" vm create w1
chmod 700 "$NESTVM_HOME/vms"
chown 65534 "$NESTVM_HOME" 2>/dev/null && {
	t_fails "one that belongs to another user is refused" 2 "state directory $NESTVM_HOME belongs to uid 65534, not to this user" -- "$NV" switch list
	chown "$(id -u)" "$NESTVM_HOME"
}
t_expect "once fixed, it is used again" 0 '^en5 ' -- "$NV" vm list

# vm receive (live migration's target, no KVM needed until a source comes):
# a Receiving VM with its VMM's pid, gone after --timeout; vm stop ends the
# wait; bad input is refused and leaves no VM.
t_fails "vm receive: a bad address" 2 "^nestvm: --listen: .*expected unix:PATH or tcp:ADDR:PORT" -- \
	"$NV" vm receive rx --listen ftp:x
t_fails "vm receive: a name in use" 2 "a VM named 'en5' already exists here" -- \
	"$NV" vm receive en5 --listen "unix:$T/rx.sock"
t_fails "vm receive: a nonsense timeout" 2 "^nestvm: --timeout 'soon': seconds" -- \
	"$NV" vm receive rx --listen "unix:$T/rx.sock" --timeout soon
t_expect "vm receive rx: Receiving" 0 "^VM rx is Receiving: waiting at unix:$T/rx.sock" -- \
	"$NV" vm receive rx --listen "unix:$T/rx.sock"
t_expect "vm list: rx Receiving" 0 '^rx +Receiving ' -- "$NV" vm list rx
pid=$("$NV" vm show rx | sed -n 's/^Pid *: *//p')
[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && t_ok "rx's VMM ($pid) waits" || t_not_ok "rx's VMM waits" "pid '$pid'"
[ -S "$T/rx.sock" ] && t_ok "it listens at its address" || t_not_ok "it listens at its address" "no socket"
t_fails "a second receive at the same TCP address says why" 2 "cannot receive: cannot listen at tcp:127.0.0.1:.*: Address already in use" -- \
	bash -c '"$1" vm receive rt1 --listen tcp:127.0.0.1:47419 && "$1" vm receive rt2 --listen tcp:127.0.0.1:47419' _ "$NV"
"$NV" vm show rt2 >/dev/null 2>&1 && t_not_ok "the failed receive left no VM" "rt2 exists" || t_ok "the failed receive left no VM"
t_fails "a Receiving VM takes no settings" 2 "Receiving" -- "$NV" vm set rx --cpus 2
t_expect "vm stop ends rx's wait" 0 '' -- "$NV" vm stop rx
t_expect "rx is Off" 0 '^rx +Off ' -- "$NV" vm list rx
t_expect "vm receive --timeout 1" 0 '^VM rq is Receiving' -- "$NV" vm receive rq --listen "unix:$T/rq.sock" --timeout 1
for _ in $(seq 50); do "$NV" vm show rq >/dev/null 2>&1 || break; sleep 0.1; done
"$NV" vm show rq >/dev/null 2>&1 && t_not_ok "no source within --timeout: rq is gone" "$("$NV" vm list rq)" ||
	t_ok "no source within --timeout: rq is gone"
"$NV" vm stop rt1 >/dev/null 2>&1
"$NV" vm delete rt1 >/dev/null 2>&1
"$NV" vm delete rx >/dev/null 2>&1
t_summary
