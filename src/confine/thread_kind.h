/* The kinds of thread that confine/ gives a filter of their own. */
#ifndef NESTVM_CONFINE_THREAD_KIND_H
#define NESTVM_CONFINE_THREAD_KIND_H

enum confine_kind {
	CONFINE_VMM_MAIN,  /* the VMM's event loop: console, control socket, save */
	CONFINE_VCPU,      /* KVM_RUN and the devices a vCPU's exits reach */
	CONFINE_DEVICE_IO, /* a device's own thread (virtio-net's frames) */
	CONFINE_SWITCH,    /* a switch's daemon: ports, NAT (libslirp), uplinks */
	CONFINE_KINDS,
};

#endif
