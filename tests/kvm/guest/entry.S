	.section .note.GNU-stack,"",@progbits
/* Entry of a test guest: the host starts us in 64-bit mode with identity
 * paging (nestvm's own boot state). Set a stack, run guest_main, report. */
	.code64
	.section .text.entry, "ax"
	.globl _start
_start:
	mov $0x80000, %rsp
	call guest_main
	mov %eax, %edi
	call guest_done
1:	hlt
	jmp 1b
