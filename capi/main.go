// Package main is the C ABI of diskcache-go (placeholder until the engine lands).
package main

import "C"

//export dcg_version
func dcg_version() C.int { return 1 }

func main() {}
