    .section .text.start, "ax"
    .code64
    .globl _start
_start:
    lea stack_top(%rip), %rsp
    mov %rsi, %rdi
    call guest_main
1:  hlt
    jmp 1b

    /* PVH entry: 32-bit protected mode, paging off, %ebx = start_info. */
    .code32
    .globl pvh_start
pvh_start:
    mov $0x3f8, %dx
    lea pvh_msg, %esi
2:  lodsb
    test %al, %al
    jz 3f
    out %al, %dx
    jmp 2b
3:
#ifdef PVH_SPIN
5:  pause
    jmp 5b
#endif
    /* QEMU's isa-debug-exit (port 0xf4) ends QEMU; our monitor ignores the unclaimed port. */
    xor %al, %al
    out %al, $0xf4
    mov $0xfe, %al
    out %al, $0x64
4:  hlt
    jmp 4b
pvh_msg:
    .asciz "PVH-OK\n"

    .section .bss
    .p2align 12
    .skip 16384
stack_top:

#ifdef WITH_PVH_NOTE
    .section .note.Xen, "a"
    .p2align 2
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .long pvh_start
#endif
