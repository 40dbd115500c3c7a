package main

/*
#include <stdint.h>
*/
import "C"

import "github.com/diskcache-go/diskcache-go/core"

// dcg_others_can_write reports whether an account other than this
// process's user (and root; SYSTEM and Administrators on Windows) could
// write the file or directory path[0:pathlen]: 1 with the reason in out
// (NUL-terminated, cut to outcap), 0 when none could, or a negated status
// (-DCG_NOTFOUND for a missing path, with the error in out). The Python
// layer asks it on Windows, where the owner and the DACL decide
// (core.OthersCanWrite).
//
//export dcg_others_can_write
func dcg_others_can_write(path *C.uchar, pathlen C.int64_t, outp *C.uchar, outcap C.int64_t) (st C.int) {
	out := bytesOf(outp, outcap)
	defer guard(nil, &st)
	return othersCanWrite(string(bytesOf(path, pathlen)), out)
}

// othersCanWrite is dcg_others_can_write over Go values.
func othersCanWrite(path string, out []byte) C.int {
	yes, reason, err := core.OthersCanWrite(path)
	switch {
	case err != nil:
		putText(out, err.Error())
		return -status(err)
	case yes:
		putText(out, reason)
		return 1
	}
	putText(out, "")
	return 0
}

// putText writes s into out NUL-terminated, cut to fit.
func putText(out []byte, s string) {
	if len(out) > 0 {
		out[copy(out[:len(out)-1], s)] = 0
	}
}
