package tests

import (
	"encoding/binary"
	"os/exec"
)

type execCmd = exec.Cmd

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
