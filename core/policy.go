package core

import "fmt"

// Policy is an eviction policy: the order in which Cull and the automatic
// cull remove entries once Volume reaches SizeLimit.
type Policy uint8

// The policies, named as python-diskcache names them.
const (
	// LeastRecentlyStored removes the oldest store time first (default).
	LeastRecentlyStored Policy = iota
	// NoEviction never removes entries for size; expired ones still go.
	NoEviction
	// LeastRecentlyUsed removes the oldest access time first; reads
	// update the access time (and so take the writer lock).
	LeastRecentlyUsed
	// LeastFrequentlyUsed removes the smallest access count first; reads
	// increment the access count (and so take the writer lock).
	LeastFrequentlyUsed
)

var policyNames = map[string]Policy{
	"least-recently-stored": LeastRecentlyStored,
	"none":                  NoEviction,
	"least-recently-used":   LeastRecentlyUsed,
	"least-frequently-used": LeastFrequentlyUsed,
}

// ParsePolicy returns the policy with python-diskcache's name s.
func ParsePolicy(s string) (Policy, error) {
	p, ok := policyNames[s]
	if !ok {
		return 0, fmt.Errorf("%w: unknown eviction policy %q", ErrInvalid, s)
	}
	return p, nil
}

func (p Policy) String() string {
	for name, q := range policyNames {
		if p == q {
			return name
		}
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// evicts reports whether the policy removes entries for size.
func (p Policy) evicts() bool { return p != NoEviction }

// UpdatesOnRead reports whether reads change the entry (LRU and LFU), so
// they must run as writes.
func (p Policy) UpdatesOnRead() bool { return p == LeastRecentlyUsed || p == LeastFrequentlyUsed }
