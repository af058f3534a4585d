/* Guest-physical layout of the first megabyte on x86 and where the boot code
 * puts its structures. Shared by the kernel loader, the long-mode register
 * setup and the ACPI tables, so that nothing overlaps.
 *
 *   0x00000 -   0x004ff  untouched (real-mode IVT / BDA area)
 *   0x00500 -   0x0052f  boot GDT
 *   0x07000 -   0x07fff  zero page (struct boot_params)
 *   0x08000 -   0x08fff  boot stack (grows down from BOOT_STACK)
 *   0x09000 -   0x0efff  identity page tables (PML4, PDPT, 4 PDs)
 *   0x20000 -   0x207ff  kernel command line
 *   0x9fc00 -   0xfffff  reserved in the e820 (EBDA, ACPI tables at 0xe0000,
 *                        VM generation ID at 0xff000, warm-start mailbox)
 *  0x100000 -            kernel, then free RAM, initrd at the top of low RAM
 */
#ifndef NESTVM_ARCH_X86_LAYOUT_H
#define NESTVM_ARCH_X86_LAYOUT_H

#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_ZERO_PAGE 0x7000ULL
#define BOOT_STACK 0x8ff0ULL
#define BOOT_PML4 0x9000ULL
#define BOOT_PDPT 0xa000ULL
#define BOOT_PD 0xb000ULL /* BOOT_PD_COUNT consecutive page directories */
#define BOOT_PD_COUNT 4   /* 4 x 1 GiB of 2 MiB pages: the first 4 GiB */
#define BOOT_PAGE_TABLES_END (BOOT_PD + BOOT_PD_COUNT * 0x1000ULL)
#define BOOT_CMDLINE 0x20000ULL
#define BOOT_CMDLINE_MAX 2048 /* bytes including the terminating NUL */

#define EBDA_START 0x9fc00ULL
#define ACPI_TABLES_START 0xe0000ULL
#define ACPI_TABLES_END 0x100000ULL /* exclusive */
/* The VM generation ID's 16 bytes (acpi.h): the ACPI area's last page,
 * which the tables leave alone. */
#define VMGENID_ADDR 0xff000ULL
#define VMGENID_LEN 16
/* A warm start's line for guest/tools/nestvm-warm (vmm/warm_start.h),
 * NUL-terminated, in the rest of that page: the guest reads it through
 * /dev/mem (the first megabyte's reserved pages are readable there), and
 * one newline on the console wakes it, instead of the whole line, a byte
 * and two exits at a time. */
#define WARM_MAILBOX_ADDR 0xff100ULL
#define WARM_MAILBOX_LEN 0xf00

#define KERNEL_LOAD 0x100000ULL

#endif
