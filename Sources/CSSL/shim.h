// OpenSSL's libssl (Debian's libssl-dev): TLS for registry connections, with certificate and
// hostname verification. Only declarations; the macros (SNI, protocol floor) are called through
// SSL_ctrl/SSL_CTX_ctrl from Swift.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
