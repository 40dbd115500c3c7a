// Command capi is the C ABI of diskcache-go, built with
// go build -buildmode=c-shared. It is a thin layer: each export converts its
// arguments, calls one core method, maps the error to a status code and
// writes the results into the caller's buffer.
//
// Every number and layout of the ABI (status codes, operations, flags, the
// request and result headers) is defined once, in diskcache_go.h, and taken
// from there through cgo (C.DCG_*, C.struct_dcg_request). The files:
//
//	abi.go      the constants and header offsets, from diskcache_go.h
//	status.go   errors to status codes; panics to DCG_PANIC
//	handles.go  open, close, limits, mode and the handle table
//	read.go     get, getv, contains, info and the statistics
//	keys.go     the key listings
//	write.go    dcg_write's request and every write operation; check
package main

import "C"

// main is required by -buildmode=c-shared and never runs.
func main() {}
