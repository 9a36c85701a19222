//go:build !linux

package neo4j

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: a killed ingest may
// leave its import tool running, and the resumed import then fails on the
// database's lock until the tool ends.
func sysProcAttr(bool) *syscall.SysProcAttr { return nil }
