/* Runs inside a Linux guest: connects to the host (CID 2) on port 5000, sends a line and prints
   the answer, then accepts one connection on port 6000 and greets it. Built static at test time. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

int main(void) {
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm host = { .svm_family = AF_VSOCK, .svm_cid = 2, .svm_port = 5000 };
    if (s < 0 || connect(s, (struct sockaddr *)&host, sizeof host) != 0) { perror("VSOCK-CONNECT-FAILED"); return 1; }
    write(s, "hello-from-linux", 16);
    char buf[64] = {0};
    read(s, buf, sizeof buf - 1);
    printf("VSOCK-GUEST-GOT %s\n", buf);
    close(s);
    int l = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm any = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = 6000 };
    if (bind(l, (struct sockaddr *)&any, sizeof any) != 0 || listen(l, 1) != 0) { perror("VSOCK-LISTEN-FAILED"); return 1; }
    printf("VSOCK-GUEST-LISTENING\n");
    fflush(stdout);
    int c = accept(l, NULL, NULL);
    write(c, "hello-host-from-linux", 21);
    memset(buf, 0, sizeof buf);
    read(c, buf, sizeof buf - 1);
    printf("VSOCK-GUEST-LISTENER-GOT %s\n", buf);
    close(c);
    return 0;
}
