/*
 * bcryptprimitives.c - test tooling only, never shipped: a stand-in for
 * Windows' bcryptprimitives.dll for Wine versions that lack it (Wine 8, in
 * Debian bookworm). Go programs since Go 1.22 get their random numbers
 * from ProcessPrng in that DLL and exit at start-up without it. This one
 * exports ProcessPrng and fills the buffer from RtlGenRandom (advapi32's
 * SystemFunction036), which Wine does have.
 */
#include <windows.h>

/* RtlGenRandom's real name; advapi32 exports it under this one. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG length: feed larger requests in pieces. */
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
