/* The BIOS-style memory map handed to the kernel in the zero page. Low RAM
 * stops at the EBDA so that the ACPI tables (0xe0000-0xfffff) and the legacy
 * hole are never given to the allocator; RAM resumes at 1 MiB. */
#include "arch/x86/kimage.h"

#include "arch/x86/layout.h"

static int add(struct bp_e820_entry *tab, int n, int max, uint64_t addr, uint64_t end,
	       uint32_t type)
{
	if (n >= max || end <= addr)
		return n;
	tab[n] = (struct bp_e820_entry){ .addr = addr, .size = end - addr, .type = type };
	return n + 1;
}

int x86_e820_build(const struct guest_mem *mem, struct bp_e820_entry *tab, int max)
{
	uint64_t low_end = guest_mem_low_end(mem);
	int n = 0;
	n = add(tab, n, max, 0, low_end < EBDA_START ? low_end : EBDA_START, BP_E820_RAM);
	n = add(tab, n, max, EBDA_START, ACPI_TABLES_END, BP_E820_RESERVED);
	n = add(tab, n, max, KERNEL_LOAD, low_end, BP_E820_RAM);
	for (int i = 1; i < mem->nregions; i++)
		n = add(tab, n, max, mem->regions[i].gpa,
			mem->regions[i].gpa + mem->regions[i].size, BP_E820_RAM);
	return n;
}
