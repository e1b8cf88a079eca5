// libseccomp (Debian's libseccomp-dev), used to compile config.json's seccomp profile to BPF.
#include <seccomp.h>
