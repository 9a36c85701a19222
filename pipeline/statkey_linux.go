package pipeline

import (
	"fmt"
	"os"
	"syscall"
)

// statKey is what tells a file unchanged without reading it. The ctime
// cannot be set from user space, so a file rewritten with its old size and
// mtime (cp -p, touch -r) still shows; the inode and device catch another
// file moved into its place.
func statKey(fi os.FileInfo) string {
	k := fmt.Sprintf("size=%d mtime=%d", fi.Size(), fi.ModTime().UnixNano())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k += fmt.Sprintf(" ctime=%d.%09d ino=%d dev=%d", st.Ctim.Sec, st.Ctim.Nsec, st.Ino, st.Dev)
	}
	return k
}
