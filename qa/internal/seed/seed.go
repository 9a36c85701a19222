// Package seed derives the seed of an LLM request from the walk the request
// is about, so that a seeded server or a response cache keyed by request
// answers a re-run as it answered the first run, whatever the order in which
// the workers send their requests.
package seed

import "hash/fnv"

// Of is the seed of the requests about walk walkID, kept within 31 bits
// because some servers reject larger seeds.
func Of(walkID string) int {
	h := fnv.New64a()
	h.Write([]byte(walkID))
	return int(h.Sum64() & 0x7fffffff)
}
