// OpenSSL's libcrypto (Debian's libssl-dev): SHA-256 for content digests, hardware-accelerated.
#include <openssl/evp.h>
