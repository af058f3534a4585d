/* The machine's device table: every device it has, where it sits (a port,
 * a virtio-mmio window, a GSI) and its lifecycle entry. Platform devices
 * first, then disks, network adapters, --device entries and shared
 * folders, in that order, so guest device names (vda, eth0) depend only on
 * the settings. */
#include "vmm/machine_private.h"
#include "vmm/memory_balancer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/kvm_vm_state.h"
#include "arch/x86/layout.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/uart16550.h"
#include "dev/platform/acpi_sleep.h"
#include "dev/platform/debug_exit.h"
#include "dev/platform/pvpanic.h"
#include "dev/virtio/balloon.h"
#include "dev/virtio/blk.h"
#include "dev/virtio/fs.h"
#include "disk/disk_chain.h"
#include "dev/virtio/net.h"
#include "dev/virtio/virtio_device.h"

static void on_platform_event(void *opaque, enum platform_event ev, int value)
{
	struct machine *m = opaque;
	switch (ev) {
	case PLATFORM_EVENT_EXIT_STATUS:
		machine_request_end(m, MACHINE_END_EXIT_STATUS, value, NULL);
		break;
	case PLATFORM_EVENT_POWEROFF:
		machine_request_end(m, MACHINE_END_POWEROFF, 0, NULL);
		break;
	case PLATFORM_EVENT_PANIC:
		machine_request_end(m, MACHINE_END_PANIC, 0, "the guest kernel panicked");
		break;
	case PLATFORM_EVENT_RESET:
		machine_request_end(m, MACHINE_END_RESET, 0, NULL);
		break;
	case PLATFORM_EVENT_GUEST_READY: {
		uint64_t one = 1;
		ssize_t r = write(m->ready_fd, &one, sizeof(one));
		(void)r; /* nonblocking: a full counter already says it */
		break;
	}
	}
}

static void on_i8042_reset(void *opaque)
{
	on_platform_event(opaque, PLATFORM_EVENT_RESET, 0);
}

/* Writes to a console fd, retrying short writes. A write waiting for a
 * reader that never comes gives up when a kick interrupts it for a stop or
 * a pause (what is left of the line is dropped): the VM ends on SIGTERM
 * though nobody reads its console. */
static void console_write(struct machine *m, int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR) {
			if (atomic_load(&m->ended) || vcpu_self_leaving())
				return;
			continue;
		}
		if (w < 0 && errno == EPIPE) {
			/* Nobody reads the console any more (`nestvm run -- yes | head`):
			 * end like a shell pipeline does, 128 + SIGPIPE. */
			machine_request_end(m, MACHINE_END_STOPPED, SIGPIPE, "console output closed");
			return;
		}
		if (w <= 0)
			return; /* other console errors must not stop the guest */
		buf += w;
		len -= (size_t)w;
	}
}

static void on_demuxed(void *opaque, int stream, const uint8_t *buf, size_t len)
{
	struct machine *m = opaque;
	console_write(m, stream == 2 ? m->res.stderr_fd : m->res.console_fd, buf, len);
}

/* The UART's output: to the console fd, or split into stdout and stderr. */
static void on_uart_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct machine *m = opaque;
	/* After the guest reported how it ended, what it still prints on its
	 * way down (the kernel's "reboot: Power down") is not the user's. */
	if (atomic_load(&m->ended))
		return;
	if (!m->res.stdio_demux) {
		console_write(m, m->res.console_fd, buf, len);
		return;
	}
	pthread_mutex_lock(&m->demux_lock);
	stdio_demux_feed(&m->demux, buf, len, on_demuxed, m);
	size_t granted = (size_t)m->demux.credits * STDIO_MUX_CREDIT_BYTES;
	m->demux.credits = 0;
	pthread_mutex_unlock(&m->demux_lock);
	if (granted) {
		atomic_fetch_add(&m->stdio_credit, granted);
		uint64_t one = 1;
		(void)!write(m->stdio_ready_fd, &one, sizeof(one));
	}
}

static int register_pio(struct machine *m, uint64_t port, uint64_t len, bus_access_fn fn,
			void *opaque, struct nv_err *err)
{
	if (bus_register(&m->vm.pio, port, len, fn, opaque) < 0)
		return nv_err_host(err, "port 0x%llx is claimed twice", (unsigned long long)port);
	return 0;
}

/* The next virtio-mmio window and GSI, in device-table order. */
static uint64_t next_virtio_base(const struct acpi_config *acpi)
{
	return MACHINE_VIRTIO_MMIO_BASE + acpi->nvirtio * MACHINE_VIRTIO_MMIO_STRIDE;
}

static unsigned next_virtio_gsi(const struct acpi_config *acpi)
{
	return MACHINE_VIRTIO_GSI_BASE + acpi->nvirtio;
}

/* Map a transport at the next window and describe it in the DSDT. */
static int add_virtio_window(struct machine *m, struct acpi_config *acpi, struct virtio_mmio *t,
			     struct nv_err *err)
{
	uint64_t base = next_virtio_base(acpi);
	if (bus_register(&m->vm.mmio, base, VIRTIO_MMIO_WINDOW, virtio_mmio_access, t) < 0)
		return nv_err_host(err, "MMIO window 0x%llx is claimed twice", (unsigned long long)base);
	acpi->virtio[acpi->nvirtio].base = base;
	acpi->virtio[acpi->nvirtio].size = VIRTIO_MMIO_WINDOW;
	acpi->virtio[acpi->nvirtio].gsi = next_virtio_gsi(acpi);
	acpi->nvirtio++;
	return 0;
}

static void uart_destroy(void *dev)
{
	uart16550_free(dev);
}

static void i8042_destroy(void *dev)
{
	i8042_free(dev);
}

static int uart_snapshot(void *dev, struct device_snapshot *s, struct nv_err *err)
{
	(void)err;
	return uart16550_snapshot(dev, s);
}

static int i8042_snapshot_hook(void *dev, struct device_snapshot *s, struct nv_err *err)
{
	(void)err;
	return i8042_snapshot(dev, s);
}

static const struct device_ops uart_ops = {
	.kind = "uart16550",
	.snapshot = uart_snapshot,
	.destroy = uart_destroy,
};
static const struct device_ops i8042_ops = {
	.kind = "i8042",
	.snapshot = i8042_snapshot_hook,
	.destroy = i8042_destroy,
};
/* The port devices below report to the machine's sink and keep no state. */
static const struct device_ops debug_exit_ops = { .kind = "debug-exit" };
static const struct device_ops pvpanic_ops = { .kind = "pvpanic" };
static const struct device_ops acpi_sleep_ops = { .kind = "acpi-sleep" };
static int irqchip_snapshot(void *dev, struct device_snapshot *s, struct nv_err *err)
{
	return kvm_vm_snapshot_irqchip(dev, s, err);
}

static int clock_snapshot(void *dev, struct device_snapshot *s, struct nv_err *err)
{
	return kvm_vm_snapshot_clock(dev, s, err);
}

/* KVM's in-kernel IOAPIC, PIC and PIT (created with the VM), and its
 * kvm-clock: first in the table, so a restore gives them their state
 * before any device re-asserts an interrupt line. */
static const struct device_ops irqchip_ops = { .kind = "kvm-irqchip", .snapshot = irqchip_snapshot };
static const struct device_ops clock_ops = { .kind = "kvm-clock", .snapshot = clock_snapshot };

/* One table entry that also answers ports [port, port + len). */
static int add_port_device(struct machine *m, const char *name, const struct device_ops *ops,
			   void *dev, uint64_t port, uint64_t len, bus_access_fn io,
			   struct nv_err *err)
{
	if (device_table_add(&m->devices, ops, dev, name, err) < 0)
		return -1;
	return register_pio(m, port, len, io, dev, err);
}

static int add_platform_devices(struct machine *m, struct acpi_config *acpi, struct nv_err *err)
{
	m->sink = (struct platform_sink){ .event = on_platform_event, .opaque = m };
	acpi->sleep_port = ACPI_SLEEP_PORT;
	acpi->pvpanic = true;
	acpi->power_button_gsi = MACHINE_POWER_BUTTON_GSI;
	acpi->vmgenid_addr = VMGENID_ADDR;
	acpi->vmgenid_gsi = MACHINE_VMGENID_GSI;
	if (device_table_add(&m->devices, &irqchip_ops, &m->vm, "irqchip", err) < 0 ||
	    device_table_add(&m->devices, &clock_ops, &m->vm, "kvmclock", err) < 0)
		return -1;
	struct uart16550 *uart = uart16550_new(kvm_vm_irq_line(&m->vm, MACHINE_UART_GSI), on_uart_tx, m);
	if (!uart)
		return nv_err_host(err, "out of memory creating the UART");
	if (add_port_device(m, "uart0", &uart_ops, uart, MACHINE_UART_PORT, UART16550_NR_PORTS,
			    uart16550_io, err) < 0)
		return -1;
	m->uart = uart;
	struct i8042 *kbd = i8042_new(on_i8042_reset, m);
	if (!kbd)
		return nv_err_host(err, "out of memory creating the i8042");
	if (add_port_device(m, "i8042", &i8042_ops, kbd, MACHINE_I8042_PORT, 5, i8042_io, err) < 0 ||
	    add_port_device(m, "debug-exit", &debug_exit_ops, &m->sink, DEBUG_EXIT_PORT,
			    DEBUG_EXIT_LEN, debug_exit_io, err) < 0 ||
	    add_port_device(m, "pvpanic", &pvpanic_ops, &m->sink, PVPANIC_PORT, 1, pvpanic_io,
			    err) < 0 ||
	    add_port_device(m, "acpi-sleep", &acpi_sleep_ops, &m->sink, ACPI_SLEEP_PORT, 1,
			    acpi_sleep_io, err) < 0)
		return -1;
	return 0;
}

/* One virtio device of type t at the next window and GSI. */
static int add_virtio(struct machine *m, struct acpi_config *acpi,
		      const struct virtio_device_type *t, const void *spec, unsigned index,
		      struct nv_err *err)
{
	if (acpi->nvirtio >= VM_MAX_VIRTIO)
		return nv_err_input(err, "at most %d virtio devices (disks, adapters, --device entries and "
				    "shared folders together)",
				    VM_MAX_VIRTIO);
	void *dev = t->create(&m->vm.mem, kvm_vm_irq_line(&m->vm, next_virtio_gsi(acpi)), spec, err);
	if (!dev)
		return -1;
	char name[DEVICE_NAME_MAX];
	snprintf(name, sizeof(name), "virtio-%s%u", t->name, index);
	if (device_table_add(&m->devices, t->ops, dev, name, err) < 0)
		return -1;
	return add_virtio_window(m, acpi, t->transport(dev), err);
}

/* virtio-fs's kicks as ioeventfds on its window's QueueNotify register. */
struct fs_kick {
	struct machine *m;
	uint64_t notify;
};

static int fs_bind_kick(void *opaque, uint16_t qidx, int fd)
{
	struct fs_kick *k = opaque;
	return kvm_vm_ioeventfd(&k->m->vm, k->notify, qidx, fd);
}

/* Share i's virtio-fs device (virtio-fsI), on its back-end's socket. A
 * back-end that refuses the handshake (a virtiofsd that could not start
 * on its folder) is named by its folder: a VM may have eight. */
static int add_share(struct machine *m, struct acpi_config *acpi, unsigned i, struct nv_err *err)
{
	const struct vm_share *sh = &m->cfg.shares[i];
	struct fs_kick kick = { .m = m, .notify = next_virtio_base(acpi) + VIRTIO_MMIO_QUEUE_NOTIFY };
	struct virtio_fs_spec spec = { .socket_fd = m->res.share_fds[i], .tag = sh->tag,
				       .bind_kick = fs_bind_kick, .bind_opaque = &kick };
	m->res.share_fds[i] = -1; /* the device owns it now, even on failure */
	if (add_virtio(m, acpi, &virtio_fs_type, &spec, i, err) == 0)
		return 0;
	return nv_err_prefix(err, "shared folder %.200s (tag %s)", sh->dir, sh->tag);
}

int machine_add_devices(struct machine *m, struct acpi_config *acpi, struct nv_err *err)
{
	if (add_platform_devices(m, acpi, err) < 0)
		return -1;
	for (unsigned i = 0; i < m->cfg.ndisks; i++) {
		struct virtio_blk_spec spec = { .path = m->cfg.disks[i].path,
						.readonly = m->cfg.disks[i].readonly };
		if (add_virtio(m, acpi, &virtio_blk_type, &spec, i, err) < 0)
			return -1;
	}
	for (unsigned i = 0; i < m->cfg.nnics; i++) {
		const struct machine_nic *nic = &m->res.nics[i];
		struct virtio_net_config spec = {
			.mac = m->cfg.nics[i].mac, .fd = nic->fd,
			.reconnect = nic->reconnect, .reconnect_opaque = nic->reconnect_opaque,
		};
		m->res.nics[i].fd = -1; /* the device owns it now, even on failure */
		if (add_virtio(m, acpi, &virtio_net_type, &spec, i, err) < 0)
			return -1;
	}
	for (unsigned i = 0; i < m->cfg.ndevices; i++) {
		const struct virtio_device_type *t = virtio_device_type_find(m->cfg.devices[i]);
		if (virtio_device_type_check_option(m->cfg.devices[i], err) < 0)
			return -1; /* validated before; a record edited since is still refused */
		unsigned index = 0; /* the n-th of its type */
		for (unsigned j = 0; j < i; j++)
			index += strcmp(m->cfg.devices[j], m->cfg.devices[i]) == 0;
		if (add_virtio(m, acpi, t, NULL, index, err) < 0)
			return -1;
	}
	for (unsigned i = 0; i < m->cfg.nshares; i++)
		if (add_share(m, acpi, i, err) < 0)
			return -1;
	return 0;
}

static struct virtio_blk *disk_device(struct machine *m, unsigned index)
{
	char name[DEVICE_NAME_MAX];
	snprintf(name, sizeof(name), "virtio-%s%u", virtio_blk_type.name, index);
	const struct device *d = index < m->cfg.ndisks ? device_table_find(&m->devices, name) : NULL;
	return d ? d->dev : NULL;
}

struct virtio_blk *machine_disk(struct machine *m, unsigned index)
{
	return disk_device(m, index);
}

/* Disk index back on image path, the overlay made for it gone. */
static void unbranch(struct machine *m, unsigned index, const char *path)
{
	const char *overlay = m->cfg.disks[index].path;
	if (virtio_blk_reopen(disk_device(m, index), path, NULL) == 0) {
		disk_chain_forget(overlay);
		unlink(overlay);
		snprintf(m->cfg.disks[index].path, sizeof(m->cfg.disks[index].path), "%s", path);
	}
}

int machine_disks_branch(struct machine *m, const char (*overlays)[VM_PATH_MAX], unsigned n,
			 struct nv_err *err)
{
	if (!m->paused)
		return nv_err_host(err, "disks are moved only while the VM is paused");
	char(*old)[VM_PATH_MAX] = calloc(VM_MAX_DISKS, VM_PATH_MAX);
	if (!old)
		return nv_err_host(err, "out of memory");
	unsigned i;
	int rc = 0;
	for (i = 0; i < n && rc == 0; i++) {
		if (!overlays[i][0])
			continue;
		struct virtio_blk *b = disk_device(m, i);
		if (!b || m->cfg.disks[i].readonly) {
			rc = nv_err_input(err, "the VM has no writable disk %u", i);
			break;
		}
		memcpy(old[i], m->cfg.disks[i].path, VM_PATH_MAX);
		uint64_t size = virtio_blk_capacity(b) * VIRTIO_BLK_SECTOR;
		if (disk_chain_branch(old[i], size, overlays[i], err) < 0) {
			rc = -1;
			break;
		}
		if (virtio_blk_reopen(b, overlays[i], err) < 0) {
			disk_chain_forget(overlays[i]);
			unlink(overlays[i]);
			rc = -1;
			break;
		}
		snprintf(m->cfg.disks[i].path, VM_PATH_MAX, "%s", overlays[i]);
	}
	/* Paused since the first move: the overlays hold nothing yet, so going
	 * back loses no write. */
	if (rc < 0)
		while (i-- > 0)
			if (overlays[i][0])
				unbranch(m, i, old[i]);
	free(old);
	return rc;
}

static struct virtio_balloon *find_balloon(struct machine *m)
{
	for (unsigned i = 0; i < m->devices.n; i++)
		if (!strcmp(m->devices.items[i].ops->kind, "virtio-balloon"))
			return m->devices.items[i].dev;
	return NULL;
}

int machine_set_memory_target(struct machine *m, uint64_t mib, struct nv_err *err)
{
	struct virtio_balloon *b = find_balloon(m);
	uint64_t ram = vm_config_ram_mib(&m->cfg);
	if (!b)
		return nv_err_input(err, "the VM has no balloon: its memory changes only while it is Off "
				    "(or give it one: --device balloon, or --dynamic-memory on)");
	if (mib > ram)
		return nv_err_input(err, "%llu MiB is more than the VM's %llu MiB of RAM (its %s is its most)",
				    (unsigned long long)mib, (unsigned long long)ram,
				    m->cfg.dynamic_memory_enabled ? "maximum" : "startup memory");
	virtio_balloon_set_target(b, (ram - mib) << 20);
	return 0;
}

void machine_memory_status(struct machine *m, struct machine_memory *out)
{
	struct virtio_balloon *b = find_balloon(m);
	*out = (struct machine_memory){ .has_balloon = b != NULL, .ram_mib = vm_config_ram_mib(&m->cfg) };
	if (!b)
		return;
	struct virtio_balloon_counters c;
	struct virtio_balloon_stats st;
	virtio_balloon_counters(b, &c);
	virtio_balloon_stats(b, &st);
	out->target_mib = out->ram_mib - ((uint64_t)c.target_pages * 4096 >> 20);
	out->balloon_mib = (uint64_t)c.actual_pages * 4096 >> 20;
	out->have_demand = memory_guest_demand(&st, &out->demand_mib);
	out->stats_sample = st.updates;
}

void machine_memory_request_stats(struct machine *m)
{
	struct virtio_balloon *b = find_balloon(m);
	if (b)
		virtio_balloon_request_stats(b);
}
