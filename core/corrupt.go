package core

import "fmt"

var (
	errIndexFull = fmt.Errorf("%w: the index reached its size limit (Options.IndexReserve)", ErrFull)
	errCycle     = fmt.Errorf("%w: an order list loops or leaves the index (run check)", ErrCorrupted)
)

func errCorruptEntry(id uint32) error {
	return fmt.Errorf("%w: entry %d out of range", ErrCorrupted, id)
}
