/* A freestanding test guest for the skiff VMM: entered through Linux's 64-bit boot protocol
   (%rsi = boot_params), it runs the test named by "test=" on its command line, reports on the
   serial port and powers off through the i8042 reset line. */
typedef unsigned char u8; typedef unsigned short u16; typedef unsigned int u32; typedef unsigned long u64;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 rd32(u64 a) { return *(volatile u32 *)a; }
static inline void wr32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline void barrier(void) { __asm__ volatile("mfence" ::: "memory"); }

static void putc_(char c) { while (!(inb(0x3fd) & 0x20)) {} outb(0x3f8, (u8)c); }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(u64 v) { char b[17]; for (int i = 15; i >= 0; i--) { b[i] = "0123456789abcdef"[v & 15]; v >>= 4; } b[16] = 0; puts_(b); }
static void poweroff(void) { outb(0x64, 0xfe); for (;;) __asm__ volatile("hlt"); }
static void fail(const char *why) { puts_("FAIL: "); puts_(why); puts_("\n"); poweroff(); }

static void *memset_(void *d, int c, u64 n) { u8 *p = d; while (n--) *p++ = (u8)c; return d; }
static void memcpy_(void *d, const void *s, u64 n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; }
static int memeq(const void *a, const void *b, u64 n) { const u8 *p = a, *q = b; while (n--) if (*p++ != *q++) return 0; return 1; }
static int startswith(const char *s, const char *p) { while (*p) if (*s++ != *p++) return 0; return 1; }
static const char *find(const char *s, const char *needle) { for (; *s; s++) if (startswith(s, needle)) return s; return 0; }
static u64 parsehex(const char *s) { u64 v = 0; for (;; s++) { char c = *s; if (c >= '0' && c <= '9') v = v * 16 + (u64)(c - '0'); else if (c >= 'a' && c <= 'f') v = v * 16 + (u64)(c - 'a' + 10); else return v; } }

/* virtio-mmio and split queues */
enum { MAGIC = 0, VERSION = 4, DEVID = 8, DEVFEAT = 0x10, DEVFEATSEL = 0x14, DRVFEAT = 0x20, DRVFEATSEL = 0x24,
       QSEL = 0x30, QMAX = 0x34, QNUM = 0x38, QREADY = 0x44, QNOTIFY = 0x50, ISR = 0x60, IACK = 0x64, STATUS = 0x70,
       QDESC = 0x80, QDRV = 0x90, QDEV = 0xa0, CONFIG = 0x100 };
#define QSZ 8
struct desc { u64 addr; u32 len; u16 flags, next; };
struct queue { struct desc d[QSZ]; u16 aflags, aidx, aring[QSZ], aevent; u8 pad[4096 - QSZ * 16 - 2 * QSZ - 6];
               u16 uflags, uidx; struct { u32 id, len; } uring[QSZ]; u16 uevent; u16 last_used; } __attribute__((aligned(4096)));
static struct queue queues[3];
static u8 bufs[3][QSZ][2048] __attribute__((aligned(16)));

static u64 devices[8]; static int ndevices;
static void find_devices(const char *cmdline) {
    const char *p = cmdline;
    while ((p = find(p, "virtio_mmio.device=4K@0x")) && ndevices < 8) { p += 24; devices[ndevices++] = parsehex(p); }
}
static u64 device_of_type(u32 type) {
    for (int i = 0; i < ndevices; i++) if (rd32(devices[i] + MAGIC) == 0x74726976 && rd32(devices[i] + DEVID) == type) return devices[i];
    fail("no such virtio device"); return 0;
}
static void setup_queue(u64 base, int q, struct queue *vq) {
    memset_(vq, 0, sizeof *vq);
    wr32(base + QSEL, (u32)q);
    if (rd32(base + QMAX) < QSZ) fail("queue too small");
    wr32(base + QNUM, QSZ);
    u64 d = (u64)vq->d, a = (u64)&vq->aflags, u = (u64)&vq->uflags;
    wr32(base + QDESC, (u32)d); wr32(base + QDESC + 4, (u32)(d >> 32));
    wr32(base + QDRV, (u32)a); wr32(base + QDRV + 4, (u32)(a >> 32));
    wr32(base + QDEV, (u32)u); wr32(base + QDEV + 4, (u32)(u >> 32));
    wr32(base + QREADY, 1);
}
static void init_device(u64 base, int nq) {
    if (rd32(base + VERSION) != 2) fail("not virtio-mmio version 2");
    wr32(base + STATUS, 0);
    wr32(base + STATUS, 1); wr32(base + STATUS, 3);
    wr32(base + DEVFEATSEL, 1);
    if (!(rd32(base + DEVFEAT) & 1)) fail("no VERSION_1");
    wr32(base + DRVFEATSEL, 0); wr32(base + DRVFEAT, 0);
    wr32(base + DRVFEATSEL, 1); wr32(base + DRVFEAT, 1);
    wr32(base + STATUS, 3 | 8);
    if (!(rd32(base + STATUS) & 8)) fail("FEATURES_OK refused");
    for (int q = 0; q < nq; q++) setup_queue(base, q, &queues[q]);
    wr32(base + STATUS, 3 | 8 | 4);
}
/* Posts a chain of up to 3 buffers; returns the head. */
static void post(struct queue *vq, int head, int n, u64 *addr, u32 *len, u16 *flags) {
    for (int i = 0; i < n; i++) {
        vq->d[head + i].addr = addr[i]; vq->d[head + i].len = len[i];
        vq->d[head + i].flags = flags[i] | (i + 1 < n ? 1 : 0); vq->d[head + i].next = (u16)(head + i + 1);
    }
    vq->aring[vq->aidx % QSZ] = (u16)head;
    barrier();
    vq->aidx++;
    barrier();
}
static int wait_used(struct queue *vq, u32 *len) {
    for (u64 spin = 0; spin < 2000000000ul; spin++) {
        barrier();
        if (*(volatile u16 *)&vq->uidx != vq->last_used) {
            int id = (int)vq->uring[vq->last_used % QSZ].id;
            if (len) *len = vq->uring[vq->last_used % QSZ].len;
            vq->last_used++;
            return id;
        }
    }
    fail("timeout waiting for the device");
    return -1;
}

/* tests */
static void test_probe(void) {
    for (int i = 0; i < ndevices; i++) {
        puts_("PROBE "); puthex(devices[i]); puts_(" magic="); puthex(rd32(devices[i] + MAGIC));
        puts_(" version="); puthex(rd32(devices[i] + VERSION)); puts_(" device="); puthex(rd32(devices[i] + DEVID));
        puts_(" vendor="); puthex(rd32(devices[i] + 0xc)); puts_("\n");
    }
}

struct blkreq { u32 type, reserved; u64 sector; };
static struct blkreq req; static u8 blkstatus; static u8 sector[512];
static u8 blk_io(u64 base, u32 type, u64 sec, u8 *data) {
    req.type = type; req.reserved = 0; req.sector = sec; blkstatus = 0xff;
    u64 a[3] = { (u64)&req, (u64)data, (u64)&blkstatus }; u32 l[3] = { 16, 512, 1 };
    u16 f[3] = { 0, (u16)(type == 0 ? 2 : 0), 2 };
    post(&queues[0], 0, 3, a, l, f);
    wr32(base + QNOTIFY, 0);
    wait_used(&queues[0], 0);
    return blkstatus;
}
static void test_blk(void) {
    u64 base = device_of_type(2);
    init_device(base, 1);
    puts_("BLK-CAPACITY "); puthex(*(volatile u64 *)(base + CONFIG)); puts_("\n");
    if (blk_io(base, 0, 0, sector) != 0) fail("read of sector 0");
    puts_("BLK-READ "); for (int i = 0; i < 32 && sector[i] >= 32 && sector[i] < 127; i++) putc_((char)sector[i]); puts_("\n");
    const char *msg = "written-by-the-guest";
    memset_(sector, 0, 512); memcpy_(sector, msg, 20);
    u8 st = blk_io(base, 1, 1, sector);
    puts_(st == 0 ? "BLK-WRITE OK\n" : "BLK-WRITE IOERR\n");
    memset_(sector, 0, 512);
    if (blk_io(base, 0, 1, sector) != 0) fail("read back of sector 1");
    if (st == 0 && !memeq(sector, msg, 20)) fail("read back differs");
    if (blk_io(base, 4, 0, sector) != 0) fail("flush");
    if (blk_io(base, 0, 1ul << 40, sector) != 1) fail("read past the end did not fail");
    puts_("BLK-DONE\n");
}

static u8 nethdr_tx[12];
static void net_post_rx(u64 base, int slot) {
    u64 a[1] = { (u64)bufs[0][slot] }; u32 l[1] = { 2048 }; u16 f[1] = { 2 };
    post(&queues[0], slot, 1, a, l, f);
    wr32(base + QNOTIFY, 0);
}
static void test_net(void) {
    u64 base = device_of_type(1);
    init_device(base, 2);
    u8 mac[6]; for (int i = 0; i < 6; i++) mac[i] = *(volatile u8 *)(base + CONFIG + i);
    puts_("NET-MAC "); for (int i = 0; i < 6; i++) { char h[3] = { "0123456789abcdef"[mac[i] >> 4], "0123456789abcdef"[mac[i] & 15], 0 }; puts_(h); } puts_("\n");
    for (int s = 0; s < QSZ; s++) net_post_rx(base, s);
    puts_("NET-READY\n");
    for (int tries = 0; tries < 64; tries++) {
        u32 len = 0;
        int id = wait_used(&queues[0], &len);
        u8 *frame = bufs[0][id] + 12;
        if (len >= 12 + 14 + 4 && frame[12] == 0x88 && frame[13] == 0xb5) {
            /* Reply: to the sender, from us, same ethertype, payload "skiff-net-pong". */
            u8 *out = bufs[1][0];
            memset_(out, 0, 64);
            memcpy_(out, frame + 6, 6); memcpy_(out + 6, mac, 6); out[12] = 0x88; out[13] = 0xb5;
            memcpy_(out + 14, "skiff-net-pong", 14);
            u64 a[2] = { (u64)nethdr_tx, (u64)out }; u32 l[2] = { 12, 60 }; u16 f[2] = { 0, 0 };
            post(&queues[1], 0, 2, a, l, f);
            wr32(base + QNOTIFY, 1);
            wait_used(&queues[1], 0);
            puts_("NET-REPLIED\n");
            return;
        }
        net_post_rx(base, id);
    }
    fail("no test frame arrived");
}

struct vsockhdr { u64 src_cid, dst_cid; u32 src_port, dst_port, len; u16 type, op; u32 flags, buf_alloc, fwd_cnt; } __attribute__((packed));
static struct vsockhdr txh;
static u8 txdata[64];
static void vsock_send(u64 base, u64 cid, u32 sport, u32 dport, u16 op, const char *data, u32 len, u32 fwd) {
    txh.src_cid = cid; txh.dst_cid = 2; txh.src_port = sport; txh.dst_port = dport; txh.len = len; txh.type = 1; txh.op = op;
    txh.flags = op == 4 ? 3 : 0; txh.buf_alloc = 65536; txh.fwd_cnt = fwd;
    memcpy_(txdata, data, len);
    u64 a[2] = { (u64)&txh, (u64)txdata }; u32 l[2] = { 44, len }; u16 f[2] = { 0, 0 };
    post(&queues[1], 0, len ? 2 : 1, a, l, f);
    wr32(base + QNOTIFY, 1);
    wait_used(&queues[1], 0);
}
static struct vsockhdr *vsock_recv(u64 base) {
    u32 len; int id = wait_used(&queues[0], &len);
    static u8 copy[2048]; memcpy_(copy, bufs[0][id], len < 2048 ? len : 2048);
    u64 a[1] = { (u64)bufs[0][id] }; u32 l[1] = { 2048 }; u16 f[1] = { 2 };
    post(&queues[0], id, 1, a, l, f); wr32(base + QNOTIFY, 0);
    return (struct vsockhdr *)copy;
}
static void test_vsock(const char *cmdline) {
    u64 base = device_of_type(19);
    init_device(base, 3);
    u64 cid = *(volatile u64 *)(base + CONFIG);
    puts_("VSOCK-CID "); puthex(cid); puts_("\n");
    for (int s = 0; s < QSZ; s++) { u64 a[1] = { (u64)bufs[0][s] }; u32 l[1] = { 2048 }; u16 f[1] = { 2 }; post(&queues[0], s, 1, a, l, f); }
    wr32(base + QNOTIFY, 0);
    /* 1: connect out to host port 5000, send, read the answer. */
    vsock_send(base, cid, 1234, 5000, 1, 0, 0, 0);
    struct vsockhdr *h = vsock_recv(base);
    if (h->op != 2) fail("host did not accept the connection");
    vsock_send(base, cid, 1234, 5000, 5, "hello-from-guest", 16, 0);
    for (;;) {
        h = vsock_recv(base);
        if (h->op == 5) { puts_("VSOCK-GOT "); const char *d = (const char *)(h + 1); for (u32 i = 0; i < h->len && i < 64; i++) putc_(d[i]); puts_("\n"); break; }
        if (h->op == 3) fail("connection reset");
    }
    vsock_send(base, cid, 1234, 5000, 4, 0, 0, h->len);
    /* 2: accept a connection from the host on port 6000 and send a greeting. */
    if (find(cmdline, "vsock-listen")) {
        puts_("VSOCK-LISTENING\n");
        for (;;) {
            h = vsock_recv(base);
            if (h->op == 1 && h->dst_port == 6000) break;
        }
        u32 hostport = h->src_port;
        vsock_send(base, cid, 6000, hostport, 2, 0, 0, 0);
        vsock_send(base, cid, 6000, hostport, 5, "hello-host-from-listener", 24, 0);
        for (;;) {
            h = vsock_recv(base);
            if (h->op == 5) { puts_("VSOCK-LISTENER-GOT "); const char *d = (const char *)(h + 1); for (u32 i = 0; i < h->len && i < 64; i++) putc_(d[i]); puts_("\n"); break; }
            if (h->op == 3 || h->op == 4) fail("listener connection ended early");
        }
    }
    puts_("VSOCK-DONE\n");
}

/* What skiff's agent transport sees: the host asks for port 1024 before anything listens (we
   answer the first REQUEST with a reset, as Linux does for a port without a listener), asks
   again, and is accepted; then one greeting each way, with no "OK" line before the host's. */
static void test_agentstream(void) {
    u64 base = device_of_type(19);
    init_device(base, 3);
    u64 cid = *(volatile u64 *)(base + CONFIG);
    for (int s = 0; s < QSZ; s++) { u64 a[1] = { (u64)bufs[0][s] }; u32 l[1] = { 2048 }; u16 f[1] = { 2 }; post(&queues[0], s, 1, a, l, f); }
    wr32(base + QNOTIFY, 0);
    int refused = 0;
    u32 hostport = 0;
    for (;;) {
        struct vsockhdr *h = vsock_recv(base);
        if (h->op != 1 || h->dst_port != 1024) continue;
        hostport = h->src_port;
        if (refused) break;
        refused = 1;
        vsock_send(base, cid, 1024, hostport, 3, 0, 0, 0);
        puts_("VSOCK-REFUSED-ONCE\n");
    }
    vsock_send(base, cid, 1024, hostport, 2, 0, 0, 0);
    vsock_send(base, cid, 1024, hostport, 5, "hello-from-agent", 16, 0);
    for (;;) {
        struct vsockhdr *h = vsock_recv(base);
        if (h->op == 5) { puts_("VSOCK-ACCEPT-GOT "); const char *d = (const char *)(h + 1); for (u32 i = 0; i < h->len && i < 64; i++) putc_(d[i]); puts_("\n"); break; }
        if (h->op == 3 || h->op == 4) fail("the host stream ended early");
    }
}

/* VIRTIO_BLK_T_GET_ID: the serial Linux shows as /sys/block/vdX/serial. */
static u8 idbuf[20];
static void test_diskid(void) {
    u64 base = device_of_type(2);
    init_device(base, 1);
    req.type = 8; req.reserved = 0; req.sector = 0; blkstatus = 0xff;
    u64 a[3] = { (u64)&req, (u64)idbuf, (u64)&blkstatus }; u32 l[3] = { 16, 20, 1 }; u16 f[3] = { 0, 2, 2 };
    post(&queues[0], 0, 3, a, l, f);
    wr32(base + QNOTIFY, 0);
    wait_used(&queues[0], 0);
    if (blkstatus != 0) fail("GET_ID failed");
    puts_("BLK-ID "); for (int i = 0; i < 20 && idbuf[i]; i++) putc_((char)idbuf[i]); puts_("\n");
}

static void test_hostile(void) {
    u64 base = device_of_type(2);
    init_device(base, 1);
    /* A descriptor pointing far outside guest memory. */
    u64 a[1] = { 0x7fff00000000ul }; u32 l[1] = { 4096 }; u16 f[1] = { 2 };
    post(&queues[0], 0, 1, a, l, f);
    wr32(base + QNOTIFY, 0);
    for (int i = 0; i < 1000000 && !(rd32(base + STATUS) & 64); i++) {}
    puts_((rd32(base + STATUS) & 64) ? "HOSTILE-NEEDS-RESET\n" : "HOSTILE-IGNORED\n");
}

/* Reads a line from the serial port (polling LSR data-ready) and echoes it back. */
static void test_echo(void) {
    char line[64]; int n = 0;
    puts_("ECHO-READY\n");
    for (;;) {
        while (!(inb(0x3fd) & 1)) {}
        char c = (char)inb(0x3f8);
        if (c == '\r' || c == '\n' || n == 63) break;
        line[n++] = c;
    }
    line[n] = 0;
    puts_("ECHO:"); puts_(line); puts_("\n");
}

/* A descriptor chain that loops back on itself. */
static void test_loop(void) {
    u64 base = device_of_type(2);
    init_device(base, 1);
    queues[0].d[0].addr = (u64)sector; queues[0].d[0].len = 16; queues[0].d[0].flags = 1; queues[0].d[0].next = 1;
    queues[0].d[1].addr = (u64)sector; queues[0].d[1].len = 16; queues[0].d[1].flags = 1; queues[0].d[1].next = 0;
    queues[0].aring[0] = 0; barrier(); queues[0].aidx = 1; barrier();
    wr32(base + QNOTIFY, 0);
    for (int i = 0; i < 1000000 && !(rd32(base + STATUS) & 64); i++) {}
    puts_((rd32(base + STATUS) & 64) ? "LOOP-NEEDS-RESET\n" : "LOOP-IGNORED\n");
    /* After a reset the device works again. */
    init_device(base, 1);
    puts_(blk_io(base, 0, 0, sector) == 0 ? "AFTER-RESET-READ-OK\n" : "AFTER-RESET-READ-FAILED\n");
}

/* A hostile driver that keeps the block queue full forever: a 256-entry queue in which the same
   512 KiB read is republished whenever fewer than 256 entries are outstanding, never waiting for
   an interrupt, so the device always finds more work (a full queue is tens of milliseconds of
   reads, far longer than the vCPU thread is ever kept off a CPU). The monitor must still serve
   its stop request. */
#define FQ 256
static struct desc flood_desc[FQ] __attribute__((aligned(4096)));
static struct { u16 flags, idx, ring[FQ], event; } flood_avail __attribute__((aligned(4096)));
static struct { u16 flags, idx; struct { u32 id, len; } ring[FQ]; u16 event; } flood_used __attribute__((aligned(4096)));
static u8 flood_data[512 * 1024] __attribute__((aligned(4096)));
static void test_blkflood(void) {
    u64 base = device_of_type(2);
    wr32(base + STATUS, 0);
    wr32(base + STATUS, 1); wr32(base + STATUS, 3);
    wr32(base + DRVFEATSEL, 0); wr32(base + DRVFEAT, 0);
    wr32(base + DRVFEATSEL, 1); wr32(base + DRVFEAT, 1);
    wr32(base + STATUS, 3 | 8);
    wr32(base + QSEL, 0);
    if (rd32(base + QMAX) < FQ) fail("block queue smaller than 256");
    wr32(base + QNUM, FQ);
    u64 d = (u64)flood_desc, a = (u64)&flood_avail, u = (u64)&flood_used;
    wr32(base + QDESC, (u32)d); wr32(base + QDESC + 4, (u32)(d >> 32));
    wr32(base + QDRV, (u32)a); wr32(base + QDRV + 4, (u32)(a >> 32));
    wr32(base + QDEV, (u32)u); wr32(base + QDEV + 4, (u32)(u >> 32));
    wr32(base + QREADY, 1);
    wr32(base + STATUS, 3 | 8 | 4);
    req.type = 0; req.reserved = 0; req.sector = 0;
    flood_desc[0] = (struct desc){ (u64)&req, 16, 1, 1 };
    flood_desc[1] = (struct desc){ (u64)flood_data, sizeof flood_data, 2 | 1, 2 };
    flood_desc[2] = (struct desc){ (u64)&blkstatus, 1, 2, 0 };
    u16 seen = 0;
    for (;;) {
        barrier();
        u16 used = *(volatile u16 *)&flood_used.idx;
        if ((u16)(flood_avail.idx - used) < FQ) {
            flood_avail.ring[flood_avail.idx % FQ] = 0;
            barrier();
            flood_avail.idx++;
            barrier();
            if (flood_avail.idx == FQ) wr32(base + QNOTIFY, 0);
        }
        if (!seen && used != 0) { seen = 1; puts_("BLK-FLOODING\n"); }
    }
}

/* Garbage written to device registers: a read-only register, an unknown one, a bad queue size. */
static void test_garbage(void) {
    u64 base = device_of_type(2);
    init_device(base, 1);
    wr32(base + MAGIC, 0xdeadbeef);
    wr32(base + 0xc8, 0x12345678);
    wr32(base + QSEL, 0); wr32(base + QNUM, 3);
    puts_((rd32(base + STATUS) & 64) ? "GARBAGE-NEEDS-RESET\n" : "GARBAGE-IGNORED\n");
    puts_(rd32(base + MAGIC) == 0x74726976 ? "MAGIC-INTACT\n" : "MAGIC-CHANGED\n");
}

/* Interrupt delivery: the serial port's THRE interrupt (ISA IRQ 4) routed through the IOAPIC to
   vector 0x40 on the boot CPU's local APIC. The handler counts and ends the interrupt at the APIC. */
static volatile u32 irq_count;
extern void irq_stub(void);
__asm__(".text\n.globl irq_stub\nirq_stub:\n"
        "  push %rax\n  lock incl irq_count(%rip)\n"
        "  mov $0xfee000b0, %rax\n  movl $0, (%rax)\n"
        "  pop %rax\n  iretq\n");
struct idt_gate { u16 off0, sel, attr, off1; u32 off2, zero; };
static struct idt_gate idt[256] __attribute__((aligned(16)));
static void test_irq(void) {
    u16 cs; __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    u64 handler = (u64)irq_stub;
    idt[0x40] = (struct idt_gate){ (u16)handler, cs, 0x8E00, (u16)(handler >> 16), (u32)(handler >> 32), 0 };
    struct { u16 limit; u64 base; } __attribute__((packed)) idtr = { sizeof idt - 1, (u64)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
    outb(0x21, 0xff); outb(0xa1, 0xff);  /* mask the 8259 PICs (present with the in-kernel irqchip) */
    wr32(0xfee00080, 0);        /* task priority: accept everything */
    wr32(0xfee000f0, 0x1ff);    /* spurious vector 0xff, APIC software-enabled */
    wr32(0xfec00000, 0x10 + 2 * 4 + 1); wr32(0xfec00010, 0);     /* pin 4: destination APIC 0 */
    wr32(0xfec00000, 0x10 + 2 * 4);     wr32(0xfec00010, 0x40);  /* fixed, edge, unmasked, vector 0x40 */
    outb(0x3fc, 0x08);          /* OUT2: the UART's interrupt output is wired */
    outb(0x3f9, 0x02);          /* THRE interrupt on: the transmitter is empty, so it fires now */
    __asm__ volatile("sti");
    for (u32 i = 0; i < 50000000 && irq_count == 0; i++) __asm__ volatile("pause");
    __asm__ volatile("cli");
    outb(0x3f9, 0x00);
    puts_(irq_count ? "IRQ-DELIVERED\n" : "IRQ-MISSING\n");
}

void guest_main(u8 *boot_params) {
    u64 cmd = *(u32 *)(boot_params + 0x228);
    const char *cmdline = (const char *)cmd;
    find_devices(cmdline);
    puts_("GUEST-START\n");
    if (find(cmdline, "test=probe")) test_probe();
    if (find(cmdline, "test=blk")) test_blk();
    if (find(cmdline, "test=net")) test_net();
    if (find(cmdline, "test=vsock")) test_vsock(cmdline);
    if (find(cmdline, "test=diskid")) test_diskid();
    if (find(cmdline, "test=agentstream")) test_agentstream();
    if (find(cmdline, "test=hostile")) test_hostile();
    if (find(cmdline, "test=loop")) test_loop();
    if (find(cmdline, "test=echo")) test_echo();
    if (find(cmdline, "test=garbage")) test_garbage();
    if (find(cmdline, "test=blkflood")) test_blkflood();
    if (find(cmdline, "test=irq")) test_irq();
    if (find(cmdline, "test=flood")) { for (;;) puts_("FLOOD 0123456789abcdefghijklmnopqrstuvwxyz\n"); }
    if (find(cmdline, "test=spin")) { puts_("SPINNING\n"); for (;;) barrier(); }
    if (find(cmdline, "test=fault")) { static u8 zero_idt[10]; __asm__ volatile("lidt (%0); ud2" : : "r"(zero_idt)); }
    puts_("GUEST-DONE\n");
    poweroff();
}
