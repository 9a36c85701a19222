package neo4j

import "syscall"

// sysProcAttr puts a child in its own process group (so that a signal meant
// for the terminal's foreground group does not reach it twice) and, when
// dieWithParent, has the kernel kill it when this process dies.
func sysProcAttr(dieWithParent bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if dieWithParent {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}
