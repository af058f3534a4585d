# bash completion for nestvm: commands, subcommands, options, option values,
# VM names (`nestvm vm list --json`) and switch names (`nestvm switch list`).
# Installed as PREFIX/share/bash-completion/completions/nestvm, which
# bash-completion loads the first time nestvm is completed; also works
# sourced on its own (it needs nothing from bash-completion).
# tests/cli/test_completion.sh checks its options against the parsers'.

# The nestvm being completed (build/nestvm too), so names come from the same
# state directory that command would use.
_nestvm_vms() {
	"$1" vm list --json 2>/dev/null | sed -n 's/^ *"name": "\(.*\)",\{0,1\}$/\1/p'
}
_nestvm_switches() {
	"$1" switch list 2>/dev/null | awk 'NR > 1 { print $1 }'
}

# Options of each command (`nestvm CMD --help`), kept beside the parsers'
# by the test above.
_nestvm_opts() {
	case $1 in
	run) echo --kernel --initrd --append --memory --cpus --disk --nic --device --share --name --kvm-device \
		--dynamic-memory --memory-min --memory-max --memory-buffer --memory-weight \
		--expose-virtualization-extensions --nested --pvm-kernel --cold --save-on-exit --restore --incoming --storage-path --run-as \
		--user-data --ssh-key --hostname --help ;;
	status) echo --json --kvm-device --record --facts --help ;;
	enable-nested) echo --yes --help ;;
	lab) echo --memory --cpus --timeout --disk --link --ip --help ;;
	"guest build") echo --force --help ;;
	"container run") echo --interactive --tty --volume --memory --cpus --hostname --nic --rm --help ;;
	"vm create") echo --memory --cpus --disk --nic --kernel --initrd --append \
		--expose-virtualization-extensions --nested --device --dynamic-memory --memory-min --memory-max \
		--memory-buffer --memory-weight --run-as --user-data --ssh-key --hostname --help ;;
	"vm set") echo --expose-virtualization-extensions --nested --cpus --memory --append --add-nic \
		--remove-nic --dynamic-memory --memory-min --memory-max --memory-buffer --memory-weight \
		--mac-spoofing --adapter --automatic-start-action --automatic-stop-action --run-as \
		--user-data --ssh-key --hostname --help ;;
	"vm list" | "vm show" | "switch show") echo --json --help ;;
	"vm stop") echo --force --timeout --help ;;
	"vm delete") echo --force --help ;;
	"vm migrate") echo --to --downtime-ms --bandwidth --max-rounds --pause-to-converge --copy-disks --progress --help ;;
	"vm receive") echo --listen --timeout --storage-path --help ;;
	"vm ssh") echo --user --adapter --port --help ;;
	"switch create") echo --type --subnet --interface --forward --host-loopback --run-as --help ;;
	"switch port") echo --mac-spoofing --help ;;
	*) echo --help ;;
	esac
}

# Options that take a value (the next word).
_nestvm_takes_value() {
	case $1 in
	--kernel | --initrd | --append | --memory | --cpus | --disk | --nic | --device | --share | --name | --kvm-device | \
		--save-on-exit | --restore | --incoming | --storage-path | --to | --downtime-ms | --bandwidth | --max-rounds | --facts | --timeout | --expose-virtualization-extensions | --add-nic | \
		--remove-nic | --dynamic-memory | --memory-min | --memory-max | --memory-buffer | --memory-weight | \
		--mac-spoofing | --adapter | --type | --subnet | --interface | \
		--forward | --host-loopback | --run-as | --automatic-start-action | --automatic-stop-action | \
		--user-data | --ssh-key | --hostname | --user | --port) return 0 ;;
	--nested) [ "$2" = "vm set" ] ;; # a flag elsewhere, on|off for vm set
	*) return 1 ;;
	esac
}

_nestvm() {
	local nv=${COMP_WORDS[0]} cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]} i w
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	# nv is run below: only a plain path (what was typed, after ~).
	[[ $nv == "~/"* ]] && nv=$HOME/${nv#"~/"}
	# With '=' a word break, "--nic switch=w" comes as --nic switch = w.
	local eq=''
	if [ "$cur" = = ]; then eq=1 cur=''; prev=${COMP_WORDS[cword - 1]}
	elif [ "${COMP_WORDS[cword - 1]}" = = ]; then eq=1 prev=${COMP_WORDS[cword - 2]}
	fi

	if [ "$cword" -eq 1 ]; then
		if [[ $cur == [A-Z]* ]]; then # Hyper-V's cmdlets
			COMPREPLY=($(compgen -W "$("$nv" Get-Help 2>/dev/null | awk '/^  [A-Z]/ { print $1 }')" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "run container status switch vm enable-nested lab guest service help --help --version -Command" -- "$cur"))
		fi
		return
	fi

	# The command, its subcommand, and the positional words after them.
	local cmd=${COMP_WORDS[1]} sub='' pos=() dashdash=''
	if [ "$cmd" = help ]; then
		case $cword in
		2) COMPREPLY=($(compgen -W "run container status switch vm enable-nested lab guest service" -- "$cur")) ;;
		3) case ${COMP_WORDS[2]} in
			vm) COMPREPLY=($(compgen -W "create list show start stop pause resume save delete-saved-state checkpoint restore migrate receive console ssh set delete" -- "$cur")) ;;
			switch) COMPREPLY=($(compgen -W "create list show delete port" -- "$cur")) ;;
			esac ;;
		esac
		return
	fi
	local first=2
	if [ "$cmd" = vm ] || [ "$cmd" = switch ] || [ "$cmd" = guest ] || [ "$cmd" = container ]; then
		if [ "$cword" -eq 2 ]; then
			if [ "$cmd" = vm ]; then
				COMPREPLY=($(compgen -W "create list show start stop pause resume save delete-saved-state checkpoint restore migrate receive console ssh set delete --help" -- "$cur"))
			elif [ "$cmd" = guest ]; then
				COMPREPLY=($(compgen -W "build --help" -- "$cur"))
			elif [ "$cmd" = container ]; then
				COMPREPLY=($(compgen -W "run --help" -- "$cur"))
			else
				COMPREPLY=($(compgen -W "create list show delete port --help" -- "$cur"))
			fi
			return
		fi
		sub=${COMP_WORDS[2]}
		case $sub in ls) sub=list ;; rm) sub=delete ;; esac
		first=3
	fi
	local key=$cmd${sub:+ $sub}
	for ((i = first; i < cword; i++)); do
		w=${COMP_WORDS[i]}
		if [ "$w" = -- ]; then dashdash=1
		elif [ -n "$dashdash" ]; then pos+=("$w")
		elif [ "$w" = = ]; then ((i++))                         # =VALUE: the value too
		elif [ "${COMP_WORDS[i + 1]:-}" = = ]; then ((i += 2)) # --OPTION=VALUE, switch=NAME
		elif [[ $w == -* ]]; then _nestvm_takes_value "$w" "$key" && ((i++))
		else pos+=("$w")
		fi
	done
	# After `--` is the guest's command (run), the lab's or ssh's: nothing to offer.
	[ -n "$dashdash" ] && return

	# An option's value.
	if [[ $prev == -* ]] && _nestvm_takes_value "$prev" "$key"; then
		case $prev in
		--kernel | --initrd | --disk | --facts | --kvm-device) COMPREPLY=($(compgen -f -- "$cur")) ;;
		--user-data | --ssh-key) # none: vm set's way to take it away
			COMPREPLY=($(compgen -f -- "$cur"))
			[ "$key" = "vm set" ] && COMPREPLY+=($(compgen -W "none" -- "$cur")) ;;
		--save-on-exit | --restore | --storage-path | --share) COMPREPLY=($(compgen -d -- "$cur")) ;;
		--expose-virtualization-extensions | --nested | --mac-spoofing | --host-loopback | --dynamic-memory)
			COMPREPLY=($(compgen -W "on off" -- "$cur")) ;;
		--device) COMPREPLY=($(compgen -W "rng balloon" -- "$cur")) ;;
		--type) COMPREPLY=($(compgen -W "private internal external nat" -- "$cur")) ;;
		--interface) COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")) ;;
		--run-as) # none: vm set's way back to the uid that starts the VMM
			COMPREPLY=($(compgen -u -- "$cur"))
			[ "$key" = "vm set" ] && COMPREPLY+=($(compgen -W "none" -- "$cur")) ;;
		--automatic-start-action) COMPREPLY=($(compgen -W "nothing start start-if-running" -- "$cur")) ;;
		--automatic-stop-action) COMPREPLY=($(compgen -W "turn-off shutdown save" -- "$cur")) ;;
		--nic | --add-nic)
			if [[ $cur == switch=* ]]; then # '=' is not a word break here
				COMPREPLY=($(compgen -P switch= -W "$(_nestvm_switches "$nv")" -- "${cur#switch=}"))
			else
				COMPREPLY=($(compgen -W "switch=" -- "$cur")) && compopt -o nospace 2>/dev/null
			fi ;;
		esac
		return
	fi
	# switch=NAME of --nic / --add-nic.
	if [ "$prev" = switch ] && [ -n "$eq" ]; then
		COMPREPLY=($(compgen -W "$(_nestvm_switches "$nv")" -- "$cur"))
		return
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_nestvm_opts "$key")" -- "$cur"))
		return
	fi
	# Positional words: VM and switch names where a command takes them.
	case $key in
	service) [ ${#pos[@]} -eq 0 ] && COMPREPLY=($(compgen -W "start stop" -- "$cur")) ;;
	"vm create") ;;
	"vm checkpoint")
		if [ ${#pos[@]} -eq 0 ]; then
			COMPREPLY=($(compgen -W "list delete $(_nestvm_vms "$nv")" -- "$cur"))
		elif [ ${#pos[@]} -eq 1 ] && { [ "${pos[0]}" = list ] || [ "${pos[0]}" = delete ]; }; then
			COMPREPLY=($(compgen -W "$(_nestvm_vms "$nv")" -- "$cur"))
		fi ;;
	"vm list" | status) # several names: those not given yet
		COMPREPLY=($(compgen -W "$(_nestvm_vms "$nv" | grep -vxF -e "${pos[@]:-}")" -- "$cur")) ;;
	vm\ * | enable-nested) [ ${#pos[@]} -eq 0 ] && COMPREPLY=($(compgen -W "$(_nestvm_vms "$nv")" -- "$cur")) ;;
	"switch show" | "switch delete" | "switch port")
		[ ${#pos[@]} -eq 0 ] && COMPREPLY=($(compgen -W "$(_nestvm_switches "$nv")" -- "$cur")) ;;
	esac
}
complete -F _nestvm nestvm
