//go:build linux || darwin || freebsd || netbsd

package driver

import (
	"io/fs"
	"syscall"
)

// statStamp is the fileStamp of fi, when the platform says enough.
func statStamp(fi fs.FileInfo) (fileStamp, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStamp{}, false
	}
	return fileStamp{
		Size:  fi.Size(),
		Mtime: fi.ModTime().UnixNano(),
		Ctime: ctimeNano(st),
		Ino:   uint64(st.Ino),
		Dev:   uint64(st.Dev),
		Mode:  uint32(fi.Mode()),
	}, true
}
