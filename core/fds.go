package core

// Fds lists the file descriptors the cache holds open. A process that forks
// can not call into this Go runtime from the child; the child closes these
// descriptors so that, for instance, the flock's open file description is not
// kept alive by a child that will never use it.
func (c *Cache) Fds() []int {
	var fds []int
	if c.closed.Load() {
		return nil
	}
	for _, f := range []interface{ Fd() uintptr }{c.lockFile, c.idx.f, c.jrn.f} {
		fds = append(fds, int(f.Fd()))
	}
	c.lock.mu.Lock()
	if c.segs.wf != nil {
		fds = append(fds, int(c.segs.wf.Fd()))
	}
	c.lock.mu.Unlock()
	return fds
}
