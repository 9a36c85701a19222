//go:build !linux

package pipeline

import (
	"fmt"
	"os"
)

// statKey is what tells a file unchanged without reading it: its size and
// mtime.
func statKey(fi os.FileInfo) string {
	return fmt.Sprintf("size=%d mtime=%d", fi.Size(), fi.ModTime().UnixNano())
}
