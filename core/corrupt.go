package core

import "fmt"

var errIndexFull = fmt.Errorf("%w: index reservation exhausted", ErrFull)

func errCorruptEntry(id uint32) error {
	return fmt.Errorf("%w: entry %d out of range", ErrCorrupted, id)
}
