// libarchive (Debian's libarchive-dev): tar reading and gzip/zstd decompression for image layers.
#include <archive.h>
#include <archive_entry.h>
